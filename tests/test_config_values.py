"""Config values (issue 13): values read from argparse defaults, config classes, constants and the
project's YAML/JSON/TOML/Hydra files, each expecting the finding with its source phrase or its
absence. Every project is a few files in tmp_path; nothing is imported or run."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from greenlint.rules.analysis.config_values import ConfigValues
from greenlint.rules.analysis.literals import (
    NOT_LITERAL,
    resolved_value,
    resolving_values,
    value_source,
)

# A GPU training script whose DataLoader prepares images in __getitem__ (GL306), whose autocast has
# a flag (GL101), and whose epoch loop has a configured length (GL503). {header} sets up the config.
_TEMPLATE = """
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
{header}

class Images(Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return Image.open(self.paths[i]).convert("RGB")


def train({param}):
    loader = DataLoader(Images(paths), batch_size=64, num_workers={workers})
    model = torch.nn.Linear(4096, 4096).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range({epochs}):
        for x in loader:
            with torch.autocast("cuda", enabled={amp}):
                loss = model(x.cuda()).mean()
            loss.backward()
            opt.step()
"""


def script(header: str, workers: str, epochs: str, amp: str, param: str = "") -> str:
    text = _TEMPLATE.format(header=textwrap.dedent(header).strip("\n"), workers=workers, epochs=epochs, amp=amp, param=param)
    # the script runs its training function (a `train()` nothing calls is dead code: not reported)
    if "=" in param or "@hydra.main" in header:
        return text  # the test writes its own calls (or Hydra calls the function)
    return text + f"\n\nif __name__ == \"__main__\":\n    train({param})\n"


# The three rules whose findings carry config values here. GL101 is a preview rule (issue 14): it is
# selected with --preview, so that its "by default" findings, and their absence, are still checked.
_RULES = ("--preview", "--select", "GL101,GL306,GL503")


def messages(findings: list[dict], code: str) -> list[str]:
    return [f["message"] for f in findings if f["code"] == code]


YAML_HEADER = """
import yaml

cfg = yaml.safe_load(open("config.yaml"))
"""
YAML_USE = {"workers": 'cfg["data"]["num_workers"]', "epochs": 'cfg["epochs"]', "amp": 'cfg["amp"]'}


def test_yaml_values_are_reported_at_their_default_naming_the_file(project):
    project.write("config.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    project.write("train.py", script(YAML_HEADER, **YAML_USE))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert messages(findings, "GL306") and "`data.num_workers: 0` in config.yaml:2" in messages(findings, "GL306")[0]
    assert "`epochs: 100` in config.yaml:3" in messages(findings, "GL503")[0]
    gl101 = messages(findings, "GL101")
    assert len(gl101) == 1 and "`amp: false` in config.yaml:4" in gl101[0] and "by default" in gl101[0]
    # the fix would wrap the loop in a second autocast: the flag's default is what needs changing
    assert all(f["fix"] is None for f in findings if f["code"] == "GL101")


def test_yaml_values_that_are_not_wasteful_are_silent(project):
    project.write("config.yaml", "data:\n  num_workers: 8\nepochs: 10\namp: true\n")
    project.write("train.py", script(YAML_HEADER, **YAML_USE))
    codes = {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")}
    assert not codes & {"GL306", "GL503", "GL101"}


def test_missing_or_unparsable_config_file_stays_unknown(project):
    project.write("train.py", script(YAML_HEADER, **YAML_USE))
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL503", "GL101"}
    project.write("config.yaml", "data: [unclosed\n")
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL503", "GL101"}


def test_huge_config_file_is_not_read(project):
    project.write("config.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n" + "# padding\n" * 120_000)
    project.write("train.py", script(YAML_HEADER, **YAML_USE))
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL503", "GL101"}


def test_config_path_outside_the_project_root_is_never_read(project):
    project.write("config.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    project.write("proj/pyproject.toml", "[project]\nname = 'p'\n")
    header = YAML_HEADER.replace('"config.yaml"', '"../config.yaml"')
    project.write("proj/train.py", script(header, **YAML_USE))
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", "proj")} & {"GL306", "GL503", "GL101"}


def test_config_at_the_project_root_is_found_from_a_script_in_a_subfolder(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("configs/train.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    header = YAML_HEADER.replace('"config.yaml"', '"configs/train.yaml"')
    project.write("scripts/train.py", script(header, **YAML_USE))
    gl306 = messages(project.findings(*_RULES, "--no-cache", "."), "GL306")
    assert gl306 and "in configs/train.yaml:2" in gl306[0]


def test_path_next_to_the_script_and_a_path_the_cache_cannot_see(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("src/config.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    header = """
    from pathlib import Path

    import yaml

    cfg = yaml.safe_load((Path(__file__).parent / "config.yaml").read_text())
    """
    project.write("src/train.py", script(header, **YAML_USE))
    gl306 = messages(project.findings(*_RULES, "--no-cache", "."), "GL306")
    assert gl306 and "in src/config.yaml:2" in gl306[0]
    # assembled from pieces: resolvable, but the result cache keys only on whole literal paths and
    # on every project file of a name spelled whole (`"train.yaml"`), so a name built from pieces
    # stays unknown rather than risk a stale cached finding
    project.write("src/train.py", script('import os\nimport yaml\ncfg = yaml.safe_load(open(os.path.join("conf", "train" + ".yaml")))\n', **YAML_USE))
    project.write("src/conf/train.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL503", "GL101"}
    # the name spelled whole: every `train.yaml` of the project is a dependency, so it is read
    project.write("src/train.py", script('import os\nimport yaml\ncfg = yaml.safe_load(open(os.path.join("conf", "train.yaml")))\n', **YAML_USE))
    assert "GL306" in {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")}


ARGPARSE_HEADER = """
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--num-workers", type=int, default=0)
parser.add_argument("--epochs", default="100", type=int)
parser.add_argument("--amp", action="store_true")
"""
ARGPARSE_USE = {"workers": "args.num_workers", "epochs": "args.epochs", "amp": "args.amp", "param": "args"}


def test_argparse_defaults_are_reported_naming_the_option_and_line(project):
    header = ARGPARSE_HEADER + "args = parser.parse_args()\n"
    project.write("train.py", script(header, **ARGPARSE_USE))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert "`--num-workers` defaults to 0 (train.py:7)" in messages(findings, "GL306")[0]
    assert "`--epochs` defaults to 100 (train.py:8)" in messages(findings, "GL503")[0]
    assert "`--amp` defaults to False (train.py:9)" in messages(findings, "GL101")[0]


def test_argparse_values_changed_in_the_module_or_parsed_from_a_list_are_unknown(project):
    header = ARGPARSE_HEADER + "args = parser.parse_args()\nargs.amp = True\nargs.num_workers = 4\n"
    project.write("train.py", script(header, **ARGPARSE_USE))
    codes = {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")}
    assert "GL101" not in codes and "GL306" not in codes and "GL503" in codes
    header = ARGPARSE_HEADER + 'args = parser.parse_args(["--amp", "--num-workers", "4", "--epochs", "5"])\n'
    project.write("train.py", script(header, **ARGPARSE_USE))
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL503", "GL101"}


def test_argparse_default_of_a_config_path_leads_to_the_file(project):
    project.write("configs/base.json", '{"data": {"num_workers": 0}, "epochs": 300, "amp": false}')
    header = """
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/base.json")
    args = parser.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    """
    project.write("train.py", script(header, **YAML_USE))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert "`epochs: 300` in configs/base.json" in messages(findings, "GL503")[0]
    assert "`amp: false` in configs/base.json" in messages(findings, "GL101")[0]


@pytest.mark.parametrize(
    "loader",
    [
        "def load_config(path):\n    with open(path) as f:\n        return json.load(f)\n",
        "def load_config(path, mode='r'):\n    c = json.load(open(path, mode))\n    return c\n",
    ],
    ids=["with-open", "local-name"],
)
def test_a_config_loading_function_of_the_module_leads_to_the_file(project, loader):
    project.write("configs/base.json", '{"data": {"num_workers": 0}, "epochs": 300, "amp": false}')
    header = f"""
    import argparse
    import json


{textwrap.indent(loader, "    ")}

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/base.json")
    args = parser.parse_args()
    cfg = load_config(args.config)
    """
    project.write("train.py", script(header, **YAML_USE))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert "`epochs: 300` in configs/base.json" in messages(findings, "GL503")[0]
    # a second definition of the function makes the file it reads unknown
    project.write("train.py", script(header + "\n    def load_config(path):\n        return {}\n", **YAML_USE))
    assert not any("configs/base.json" in m for m in messages(project.findings(*_RULES, "--no-cache", "."), "GL503"))


def test_dataclass_field_defaults_and_constructor_overrides(project):
    header = """
    from dataclasses import dataclass, field

    NUM_EPOCHS = 200


    @dataclass
    class Config:
        num_workers: int = 0
        amp: bool = field(default=False)
        epochs: int = NUM_EPOCHS


    cfg = Config()
    """
    use = {"workers": "cfg.num_workers", "epochs": "NUM_EPOCHS", "amp": "cfg.amp"}
    project.write("train.py", script(header, **use))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert "`Config.num_workers` defaults to 0 (train.py:" in messages(findings, "GL306")[0]
    assert "`Config.amp` defaults to False" in messages(findings, "GL101")[0]
    assert "200 epochs" in messages(findings, "GL503")[0]
    project.write("train.py", script(header.replace("Config()", "Config(num_workers=8, amp=True)"), **use))
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL101"}


def test_module_constants_and_literal_dicts(project):
    header = """
    NUM_WORKERS = 0
    CONFIG = {"amp": False, "epochs": 100}
    """
    use = {"workers": "NUM_WORKERS", "epochs": 'CONFIG["epochs"]', "amp": 'CONFIG["amp"]'}
    project.write("train.py", script(header, **use))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert "`NUM_WORKERS = 0` (train.py:4)" in messages(findings, "GL306")[0]
    assert "`CONFIG['amp']` is False" in messages(findings, "GL101")[0]
    # a constant the module changes is no longer known
    project.write("train.py", script(header + 'CONFIG["amp"] = True\nNUM_WORKERS = 4\n', **use))
    assert not {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")} & {"GL306", "GL101"}


def test_toml_and_omegaconf_attribute_access(project):
    project.write("conf/train.toml", "amp = false\n[data]\nnum_workers = 0\n")
    header = """
    from omegaconf import OmegaConf

    cfg = OmegaConf.load("conf/train.toml")
    """
    project.write("train.py", script(header, workers="cfg.data.num_workers", epochs="10", amp="cfg.amp"))
    findings = project.findings(*_RULES, "--no-cache", ".")
    assert "`data.num_workers: 0` in conf/train.toml" in messages(findings, "GL306")[0]
    assert "`amp: false` in conf/train.toml" in messages(findings, "GL101")[0]


def test_hydra_config_dir_with_a_defaults_list(project):
    project.write("conf/config.yaml", "defaults:\n  - data: images\n  - _self_\nepochs: 150\namp: false\n")
    project.write("conf/data/images.yaml", "num_workers: 0\nbatch_size: 64\n")
    header = """
    import hydra
    """
    text = script(header, workers="cfg.data.num_workers", epochs="cfg.epochs", amp="cfg.amp", param="cfg")
    text = text.replace("def train(cfg):", '@hydra.main(config_path="conf", config_name="config", version_base=None)\ndef train(cfg):')
    project.write("train.py", text)
    findings = project.findings(*_RULES, "--no-cache", ".")
    gl306 = messages(findings, "GL306")[0]
    assert "`data.num_workers: 0` in conf/data/images.yaml:1" in gl306 and "override with `data.num_workers=...`" in gl306
    assert "`epochs: 150` in conf/config.yaml" in messages(findings, "GL503")[0]
    # the primary config overrides its defaults (`_self_` last)
    project.write("conf/config.yaml", "defaults:\n  - data: images\nepochs: 150\namp: false\ndata:\n  num_workers: 8\n")
    assert "GL306" not in {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")}


def test_editing_the_config_file_changes_the_cached_result(project):
    project.write("config.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    project.write("train.py", script(YAML_HEADER, **YAML_USE))
    first = {f["code"] for f in project.findings(*_RULES, ".")}
    assert {"GL306", "GL503", "GL101"} <= first
    assert {f["code"] for f in project.findings(*_RULES, ".")} == first  # served from the cache
    project.write("config.yaml", "data:\n  num_workers: 8\nepochs: 100\namp: true\n")
    second = {f["code"] for f in project.findings(*_RULES, ".")}
    assert "GL503" in second and not second & {"GL306", "GL101"}
    (project.root / "config.yaml").unlink()  # a deleted config is unknown again
    assert not {f["code"] for f in project.findings(*_RULES, ".")} & {"GL306", "GL503", "GL101"}


# -- the resolution itself ----------------------------------------------------------------------


def _lookup(source: str, expression: str, path=None):
    module = cst.parse_module(textwrap.dedent(source))
    node = cst.parse_expression(expression)
    with resolving_values(ConfigValues(module, path)):
        return resolved_value(node), value_source(node)


@pytest.mark.parametrize(
    ("argument", "expression", "expected"),
    [
        ('"--num_workers", default=2', "args.num_workers", 2),
        ('"-j", "--num-workers", default=3', "args.num_workers", 3),
        ('"-j", default=4', "args.j", 4),
        ('"--workers", dest="nw", default=5', "args.nw", 5),
        ('"--no-amp", action="store_false", dest="amp"', "args.amp", True),
        ('"--lr", type=float, default="0.5"', "args.lr", 0.5),
        ('"--size", type=parse_size, default="1k"', "args.size", NOT_LITERAL),  # would run user code
        ('"--epochs", type=int, required=True, default=3', "args.epochs", NOT_LITERAL),
        ('"--epochs", type=int', "args.epochs", NOT_LITERAL),  # argparse's None is no setting
        ('"--epochs", default=3', "args.other", NOT_LITERAL),
    ],
)
def test_argparse_dest_and_default_rules(argument, expression, expected):
    source = f"import argparse\np = argparse.ArgumentParser()\np.add_argument({argument})\nargs = p.parse_args()\n"
    assert _lookup(source, expression)[0] == expected


def test_argument_groups_set_defaults_and_a_parsing_function():
    source = """
    import argparse

    def get_args():
        parser = argparse.ArgumentParser()
        group = parser.add_argument_group("data")
        group.add_argument("--workers", type=int, default=0)
        parser.add_argument("--epochs", type=int, default=10)
        parser.set_defaults(epochs=90)
        return parser.parse_args()

    args = get_args()
    """
    assert _lookup(source, "args.workers") == (0, "`--workers` defaults to 0 (this file:7)")
    assert _lookup(source, "args.epochs")[0] == 90


def test_names_bound_twice_and_unknown_keys_are_never_guessed():
    source = """
    import yaml
    NUM = 0
    if fast:
        NUM = 8
    cfg = {"a": {"b": 1}}
    """
    assert _lookup(source, "NUM") == (NOT_LITERAL, None)
    assert _lookup(source, "cfg['a']['c']") == (NOT_LITERAL, None)
    assert _lookup(source, "cfg['a']['b']")[0] == 1
    # without the file's path (text linted on its own), config files are not looked for
    assert _lookup('import yaml\ncfg = yaml.safe_load(open("config.yaml"))\n', "cfg['x']") == (NOT_LITERAL, None)


def test_literal_value_keeps_its_meaning():
    """`literal_value` is unchanged for every existing caller: only resolved_value opts in."""
    from greenlint.rules.analysis.literals import literal_value

    module = cst.parse_module("NUM = 0\n")
    with resolving_values(ConfigValues(module)):
        assert literal_value(cst.parse_expression("NUM")) is NOT_LITERAL
        assert resolved_value(cst.parse_expression("NUM")) == 0


def test_a_parameter_every_call_fills_from_an_argparse_default(project):
    """milesial/Pytorch-UNet: `def train_model(..., amp=False)` called with `amp=args.amp`, where
    `--amp` is a store_true flag: fp32 unless --amp is passed."""
    text = script(ARGPARSE_HEADER, workers="8", epochs="10", amp="amp", param="amp=False")
    text += "\n\nargs = parser.parse_args()\ntrain(amp=args.amp)\nif args.retry:\n    train(amp=args.amp)\n"
    project.write("train.py", text)
    gl101 = messages(project.findings(*_RULES, "--no-cache", "."), "GL101")
    assert len(gl101) == 1 and "`--amp` defaults to False (train.py:9)" in gl101[0]
    # calls that disagree, or a function nobody in the module calls: the parameter is unknown
    project.write("train.py", text + "train(amp=True)\n")
    assert "GL101" not in {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")}
    project.write("train.py", script(ARGPARSE_HEADER, workers="8", epochs="10", amp="amp", param="amp=False"))
    assert "GL101" not in {f["code"] for f in project.findings(*_RULES, "--no-cache", ".")}


def test_a_notebook_reading_a_config_file_is_relinted_when_the_file_changes(project):
    import json

    cells = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
        for source in (YAML_HEADER.strip(), script("", **YAML_USE))
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    project.write("train.ipynb", json.dumps(notebook, indent=1))
    project.write("config.yaml", "data:\n  num_workers: 0\nepochs: 100\namp: false\n")
    first = {f["code"] for f in project.findings(*_RULES, ".")}
    assert {"GL306", "GL503", "GL101"} <= first
    project.write("config.yaml", "data:\n  num_workers: 8\nepochs: 10\namp: true\n")
    assert not {f["code"] for f in project.findings(*_RULES, ".")} & {"GL306", "GL503", "GL101"}


def test_a_string_joined_from_a_constant_and_a_literal():
    """Vuong02011996/Kaggle_Project's shape: `model_name = path_model + "gemma2-9b-it-cv945"`."""
    module = cst.parse_module('PATH = "/models/"\nNAME = PATH + "gemma2-9b-it"\nN = 1\n')
    with resolving_values(ConfigValues(module)):
        assert resolved_value(cst.parse_expression("NAME")) == "/models/gemma2-9b-it"
        assert resolved_value(cst.parse_expression('PATH + "x" + "y"')) == "/models/xy"
        # a sum that is not two strings, or a part that is unknown, stays unknown
        assert resolved_value(cst.parse_expression("N + 1")) is NOT_LITERAL
        assert resolved_value(cst.parse_expression('unknown + "x"')) is NOT_LITERAL


def test_subcommand_options_are_the_parsers_options():
    """`sub = parser.add_subparsers()`, `train = sub.add_parser("train")`: its options are read
    from the parser's `parse_args()`; an option two subcommands both define stays unknown."""
    source = textwrap.dedent("""
        import argparse
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers(dest="mode")
        train = sub.add_parser("train")
        train.add_argument("--early_stop", type=int, default=1000000)
        train.add_argument("--batch_size", type=int, default=32)
        infer = sub.add_parser("inference")
        infer.add_argument("--batch_size", type=int, default=1)
        args = parser.parse_args()
    """)
    module = cst.parse_module(source)
    with resolving_values(ConfigValues(module)):
        assert resolved_value(cst.parse_expression("args.early_stop")) == 1000000
        assert resolved_value(cst.parse_expression("args.batch_size")) is NOT_LITERAL


FLAG_GUARDED = """
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--fp16", action="store_true")
parser.add_argument("--bf16", action="store_true")
opt = parser.parse_args()
fp16, bf16 = opt.fp16, opt.bf16
if opt.fp16:
    dtype16 = torch.float16
elif opt.bf16:
    dtype16 = torch.bfloat16
scaler = torch.cuda.amp.GradScaler()
model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    if opt.bf16 or opt.fp16:
        with torch.amp.autocast(device_type="cuda", dtype=dtype16):
            loss = model(x.cuda()).sum()
    else:
        loss = model(x.cuda()).sum()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
"""


def test_an_autocast_behind_flags_that_default_off(project):
    """layumi/Person_reID_baseline_pytorch train.py's shape (blind35, post hoc): the autocast (and the
    dtype it picks) runs only under `if opt.bf16 or opt.fp16:`, both `store_true` options: float32
    unless a launch passes one; the unconditional GradScaler alone is no mixed precision."""
    project.write("train.py", FLAG_GUARDED)
    gl101 = messages(project.findings("--preview", "--select", "GL101", "--no-cache", "."), "GL101")
    assert len(gl101) == 1 and "float32 by default" in gl101[0] and "`--bf16` defaults to False" in gl101[0], gl101
    # a launch that passes the flag turns it on; a test the rule cannot read leaves it to the user
    project.write("run.sh", "python train.py --bf16\n")
    assert messages(project.findings("--preview", "--select", "GL101", "--no-cache", "."), "GL101") == []
    (project.root / "run.sh").unlink()
    project.write("train.py", FLAG_GUARDED.replace("if opt.bf16 or opt.fp16:", "if opt.bf16 or use_amp():"))
    assert messages(project.findings("--preview", "--select", "GL101", "--no-cache", "."), "GL101") == []


@pytest.mark.parametrize("use, known", [
    ("yaml.dump(vars(opt), fp)", True),            # Person_reID saves its options: a read
    ("print(opt.__dict__)", True),
    ("vars(opt).update(lr=1)", False),              # changed through the namespace's dict
    ("vars(opt)['epochs'] = 1", False),
    ("opt.__dict__.update(cfg)", False),
    ("d = vars(opt)", False),                       # an alias whose changes are not followed
    ("setattr(opt, name, value)", False),
])
def test_reading_a_namespaces_dict_keeps_its_options_known(use, known):
    """`yaml.dump(vars(opt), fp)` (layumi/Person_reID_baseline_pytorch train.py, blind35) only reads
    the options; treating it as a change hid every default of the script, the off-by-default
    `--fp16` included. A change through `vars(opt)` / `opt.__dict__` still makes them unknown."""
    source = f"import argparse\nparser = argparse.ArgumentParser()\n" \
             f"parser.add_argument('--epochs', type=int, default=60)\nopt = parser.parse_args()\n{use}\n"
    with resolving_values(ConfigValues(cst.parse_module(source))):
        value = resolved_value(cst.parse_expression("opt.epochs"))
    assert (value == 60) if known else (value is NOT_LITERAL), value


APEX_FLAG = """
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--amp", action="store_true")
args = parser.parse_args()
model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
if args.amp:
    from apex import amp
    model, optimizer = amp.initialize(model, optimizer, opt_level="O1")
for x, y in loader:
    loss = model(x.cuda()).sum()
    if args.amp:
        with amp.scale_loss(loss, optimizer) as scaled_loss:
            scaled_loss.backward()
    else:
        loss.backward()
    optimizer.step()
"""


def test_apex_amp_behind_a_flag_that_defaults_off(project):
    """kekmodel/FixMatch-pytorch train.py (blind42, post hoc): apex's `amp.initialize` only under
    `if args.amp:`, a `store_true` option: float32 unless a launch passes `--amp`."""
    project.write("train.py", APEX_FLAG)
    gl101 = messages(project.findings("--preview", "--select", "GL101", "--no-cache", "."), "GL101")
    assert len(gl101) == 1 and "float32 by default" in gl101[0] and "`--amp` defaults to False" in gl101[0], gl101
    project.write("run.sh", "python train.py --amp\n")
    assert messages(project.findings("--preview", "--select", "GL101", "--no-cache", "."), "GL101") == []
