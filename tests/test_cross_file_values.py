"""Values and facts that live in another file of the project (session 7, helper xfile).

Each test writes a small project shaped like a real one that was missed (the repository is named
in a comment; the code is written here, not copied) and lints it as the CLI does, with a control
showing that the cross-file fact is what decides.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenlint.config import Settings
from greenlint.module_exports import extract_exports
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection


def write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def lint(root: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("ALL",), preview=True))
    return lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings

# An epoch loop that validates every epoch and never stops, over a configured epoch count.
TRAINER = """
import torch

class Trainer:
    def __init__(self, model, config):
        self.config = config
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)

    def fit(self, train_loader, val_loader):
        for epoch in range(self.config.n_epochs):
            self.train_epoch(train_loader)
            val_loss = self.validate(val_loader)

    def train_epoch(self, loader):
        for x, y in loader:
            loss = self.model(x.cuda(), y.cuda())
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()

    def validate(self, loader):
        return 0.0
"""


def gl502(findings: list, filename: str) -> list:
    return [f for f in findings if f.code == "GL502" and f.filename == filename]


@pytest.mark.parametrize("count, expected", [(90, 1), (10, 0)])
def test_epochs_from_an_imported_config_class_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, expected: int
) -> None:
    # huutrinh68/global-wheat-detection 0d87128 project/code/{config,trainer}.py: `class Config:
    # n_epochs = 90`, `config = Config()`; the trainer keeps `self.config = config`
    write(tmp_path, {
        "config.py": f"""
            class Config:
                lr = 0.0004
                n_epochs = {count}

            config = Config()
        """,
        "trainer.py": "from config import config\n" + TRAINER,
    })
    found = gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py")
    assert len(found) == expected
    if expected:
        assert "90 epochs" in found[0].message and "n_epochs" in found[0].message


def test_a_class_default_set_per_instance_is_not_a_constant() -> None:
    exports = extract_exports(
        "class Config:\n    epochs = 90\n    workers = 0\n    def __init__(self, e):\n        self.epochs = e\n"
        "cfg = Config()\nfast = Config(workers=4)\nslow = Config(1)\n",
        "",
    )
    assert "Config.epochs" not in exports.constants and "cfg.epochs" not in exports.constants
    assert exports.constants["Config.workers"] == 0 and exports.constants["cfg.workers"] == 0
    assert exports.constants["fast.workers"] == 4
    assert "slow.workers" not in exports.constants  # positional arguments: unknown


def test_nested_config_class_and_dataclass_defaults() -> None:
    exports = extract_exports(
        "from dataclasses import dataclass\n@dataclass\nclass TrainConfig:\n    epochs: int = 200\n"
        "    name: str = 'x'\nclass Cfg:\n    class train:\n        epochs = 30\n",
        "",
    )
    assert exports.constants["TrainConfig.epochs"] == 200
    assert exports.constants["Cfg.train.epochs"] == 30


def test_a_config_class_imported_and_instantiated_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "settings.py": "from dataclasses import dataclass\n@dataclass\nclass TrainConfig:\n    lr: float = 0.1\n"
        "    n_epochs: int = 120\n",
        "trainer.py": "from settings import TrainConfig\nconfig = TrainConfig()\n" + TRAINER,
    })
    found = gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py")
    assert len(found) == 1 and "120 epochs" in found[0].message


def test_two_bindings_of_a_self_attribute_are_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "config.py": "class Config:\n    lr = 0.1\n    n_epochs = 90\n\nconfig = Config()\n",
        "trainer.py": "from config import config\n" + TRAINER.replace(
            "        self.model = model\n", "        self.model = model\n        if model is None:\n            self.config = None\n"
        ),
    })
    assert gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py") == []


# tmkhang1999/HyRES-Residual-Enhanced-Hybrid-Image-Compression 43ce504 src/training.py: the epoch
# function comes from `from .utils import train_one_epoch`, where utils/__init__.py only does
# `from .engine import *`
@pytest.mark.parametrize("reexport", ["from .engine import *\n", "from .engine import train_one_epoch\n", ""])
def test_a_function_re_exported_by_a_package_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reexport: str) -> None:
    write(tmp_path, {
        "src/__init__.py": "",
        "src/utils/__init__.py": reexport,
        "src/utils/engine.py": """
            def train_one_epoch(model, loader, optimizer):
                for x, y in loader:
                    loss = model(x.cuda(), y.cuda())
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
        """,
        "src/training.py": """
            import torch
            from .utils import train_one_epoch

            EPOCHS = 300

            def main(model, train_loader, val_loader, optimizer):
                for epoch in range(EPOCHS):
                    train_one_epoch(model, train_loader, optimizer)
                    val_loss = evaluate(model, val_loader)

            def evaluate(model, loader):
                return 0.0

            if __name__ == "__main__":
                main(None, [], [], None)
        """,
    })
    found = gl502(lint(tmp_path, monkeypatch=monkeypatch), "src/training.py")
    assert len(found) == (1 if reexport else 0)


# llien30/AnoGAN 1bf2edd train.py: the script builds the DataLoader over a PNG-per-item dataset and
# hands it to `train()` from trainer.py, which picks `torch.device("cuda:0" ...)` itself
@pytest.mark.parametrize("device", ['torch.device("cuda:0" if torch.cuda.is_available() else "cpu")', '"cpu"'])
def test_a_loader_passed_to_an_imported_gpu_training_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, device: str
) -> None:
    write(tmp_path, {
        "images.py": """
            from PIL import Image
            from torch.utils.data import Dataset

            class Images(Dataset):
                def __init__(self, paths):
                    self.paths = paths
                def __len__(self):
                    return len(self.paths)
                def __getitem__(self, i):
                    return Image.open(self.paths[i])
        """,
        "trainer.py": f"""
            import torch

            def train(model, dataloader, num_epochs):
                device = {device}
                model.to(device)
                opt = torch.optim.Adam(model.parameters())
                for epoch in range(num_epochs):
                    for x in dataloader:
                        loss = model(x.to(device)).mean()
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
        """,
        "main.py": """
            from torch.utils.data import DataLoader
            from images import Images
            from trainer import train

            loader = DataLoader(Images(["a.png"]), batch_size=64, shuffle=True)
            train(None, dataloader=loader, num_epochs=100)
        """,
    })
    found = [f for f in lint(tmp_path, monkeypatch=monkeypatch) if f.code == "GL306" and f.filename == "main.py"]
    if "cuda" in device:
        assert len(found) == 1 and "`train()` trains on a CUDA device (trainer.py)" in found[0].message
    else:
        assert found == []


TRAIN_FUNCTION = """
import torch

def validate(model, loader):
    return 0.0

def train(model, loader, val_loader, {param}):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range({count}):
        for x, y in loader:
            loss = model(x.cuda(), y.cuda())
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss = validate(model, val_loader)
"""

MAIN = """
import argparse
{imports}

def get_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default={default})
    parser.add_argument("--lr", type=float, default=0.1)
    return parser.parse_args()

if __name__ == "__main__":
    args = get_args()
    train(None, [], [], {passed})
"""


# share020/dl 73c10db assignments/mp4/src/part-2/src: main.py parses `--epochs` (default 500) and
# calls `train_model(..., args.epochs, ...)` from utils.py (a star import); sotopia-lab/sotopia-rl
# 2ebb14e: the trainer receives the whole namespace of scripts/train_sft.py
@pytest.mark.parametrize("param, count, passed", [
    ("args", "args.epochs", "args"),
    ("epochs", "epochs", "args.epochs"),
    ("epochs", "epochs", "epochs=args.epochs"),
])
@pytest.mark.parametrize("imports", ["from trainer import train", "from trainer import *"])
@pytest.mark.parametrize("default, expected", [(200, 1), (20, 0)])
def test_options_parsed_by_the_calling_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, param: str, count: str, passed: str, imports: str,
    default: int, expected: int,
) -> None:
    write(tmp_path, {
        "trainer.py": TRAIN_FUNCTION.format(param=param, count=count),
        "main.py": MAIN.format(imports=imports, default=default, passed=passed),
    })
    found = gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py")
    assert len(found) == expected
    if expected:
        assert "200 epochs" in found[0].message and "main.py:6" in found[0].message


def test_a_launch_script_of_the_calling_script_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "trainer.py": TRAIN_FUNCTION.format(param="args", count="args.epochs"),
        "main.py": MAIN.format(imports="from trainer import train", default=10, passed="args"),
        "run.sh": "python main.py --epochs 300 --lr 0.01\n",
    })
    found = gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py")
    assert len(found) == 1 and "300 epochs" in found[0].message and "run.sh:1" in found[0].message


def test_callers_that_disagree_leave_the_option_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "trainer.py": TRAIN_FUNCTION.format(param="args", count="args.epochs"),
        "main.py": MAIN.format(imports="from trainer import train", default=200, passed="args"),
        "finetune.py": MAIN.format(imports="from trainer import train", default=300, passed="args"),
    })
    assert gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py") == []


def test_a_namespace_built_from_an_explicit_list_is_not_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = MAIN.format(imports="from trainer import train", default=200, passed="args").replace(
        "return parser.parse_args()", 'return parser.parse_args(["--epochs", "5"])'
    )
    write(tmp_path, {"trainer.py": TRAIN_FUNCTION.format(param="args", count="args.epochs"), "main.py": main})
    assert gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py") == []


# vincent-163/transformer-arithmetic a8372dd: train.py builds `pl.Trainer(gpus=1, ...)` with no
# max_epochs and fits `main.Model()`, whose module defines validation_step and val_dataloader
@pytest.mark.parametrize("extra, expected", [("", 1), ("from pytorch_lightning.callbacks import EarlyStopping\n", 0)])
def test_a_lightning_module_of_another_file_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, expected: int
) -> None:
    write(tmp_path, {
        "main.py": extra + """
import pytorch_lightning as pl

class Model(pl.LightningModule):
    def training_step(self, batch, batch_nb):
        return self(batch).mean()
    def validation_step(self, batch, batch_nb):
        return self(batch).mean()
""",
        "train.py": """
import main
import pytorch_lightning as pl

if __name__ == "__main__":
    m = main.Model()
    trainer = pl.Trainer(gpus=1)
    trainer.fit(m)
""",
    })
    assert len(gl502(lint(tmp_path, monkeypatch=monkeypatch), "train.py")) == expected


def test_a_trainer_that_only_tests_is_not_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # wangzexi/scene-classifier 9f2e4ba test.py: `pl.Trainer(gpus=1)` then `trainer.test(...)` on a
    # checkpoint, with the validating DataModule of dataset.py
    write(tmp_path, {
        "data.py": "import pytorch_lightning as pl\n\nclass Data(pl.LightningDataModule):\n"
        "    def val_dataloader(self):\n        return []\n",
        "test.py": "import pytorch_lightning as pl\nfrom data import Data\n\ntrainer = pl.Trainer(gpus=1)\n"
        "trainer.test(model=None, datamodule=Data())\n",
    })
    assert gl502(lint(tmp_path, monkeypatch=monkeypatch), "test.py") == []


def test_attributes_a_config_module_sets_on_an_object() -> None:
    # Tianxiaomo/pytorch-YOLOv4 a65d219 cfg.py (`Cfg = EasyDict()`, `Cfg.TRAIN_EPOCHS = 300`) and
    # YunYang1994/TensorFlow2.0-Examples core/config.py (`__C = edict()`, `cfg = __C`, nested
    # `__C.TRAIN.EPOCHS`); the yacs style `_C.SOLVER.MAX_ITER` is the same shape
    exports = extract_exports(
        "from easydict import EasyDict\nCfg = EasyDict()\nCfg.TRAIN_EPOCHS = 300\nCfg.lr = 1e-3\nCfg.lr = 1e-4\n"
        "__C = EasyDict()\ncfg = __C\n__C.TRAIN = EasyDict()\n__C.TRAIN.EPOCHS = 30\n"
        "def tune(c):\n    Cfg.batch = 8\nCfg.batch = 64\nother.EPOCHS = 5\n",
        "",
    )
    assert exports.constants["Cfg.TRAIN_EPOCHS"] == 300
    assert exports.constants["__C.TRAIN.EPOCHS"] == 30 and exports.constants["cfg.TRAIN.EPOCHS"] == 30
    assert "Cfg.lr" not in exports.constants  # set twice: the value at run time is not known
    assert "Cfg.batch" not in exports.constants  # a function changes it
    assert "other.EPOCHS" not in exports.constants  # not an object this module binds


@pytest.mark.parametrize("count, expected", [(300, 1), (10, 0)])
def test_epochs_from_an_imported_config_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, expected: int) -> None:
    write(tmp_path, {
        "cfg.py": f"from easydict import EasyDict\nCfg = EasyDict()\nCfg.TRAIN_EPOCHS = {count}\n",
        "trainer.py": "from cfg import Cfg\n" + TRAINER.replace("import torch", "import torch\nconfig = Cfg", 1)
                      .replace("self.config.n_epochs", "Cfg.TRAIN_EPOCHS"),
    })
    found = gl502(lint(tmp_path, monkeypatch=monkeypatch), "trainer.py")
    assert len(found) == expected
    if expected:
        assert "`Cfg.TRAIN_EPOCHS = 300` in module `cfg`" in found[0].message
