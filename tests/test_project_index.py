"""Project-wide analysis (issue 13): facts that live in another module of the project.

Each test writes a small multi-file project under tmp_path and lints it the way the CLI does
(runner.lint_files with the project index), expecting the finding or its absence, and a control
that shows the cross-module fact is what decides.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import write_project

from greenlint.config import Settings
from greenlint.import_scan import scan_imports
from greenlint.module_exports import extract_exports
from greenlint.project_index import ProjectIndex, find_project_root
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

TRAIN_LOOP = """
def train(loader):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x.to(DEVICE)), y.to(DEVICE))
        opt.zero_grad()
        loss.backward()
        opt.step()
"""



def lint(root: Path, *names: str, monkeypatch: pytest.MonkeyPatch, cache: bool = False) -> list:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("ALL",), preview=True))
    files = [root / n for n in names] if names else sorted(root.rglob("*.py"))
    return lint_files(files, settings, use_cache=cache, jobs=1).findings


def codes(findings: list, filename: str | None = None) -> list[str]:
    return [f.code for f in findings if filename is None or f.filename == filename]


def test_device_chosen_in_a_config_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {
        "tools/__init__.py": "",
        "tools/config.py": """
            import torch
            DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        """,
        "train.py": "import torch\nfrom torch import nn\nfrom tools.config import DEVICE\n"
        "model = nn.Linear(10, 2).to(DEVICE)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        + TRAIN_LOOP + "\nif __name__ == '__main__':\n    train([])\n",
    })
    findings = lint(tmp_path, "train.py", monkeypatch=monkeypatch)  # as pre-commit: one staged file
    [gl101] = [f for f in findings if f.code == "GL101"]
    assert "`DEVICE`, a CUDA device set in tools/config.py" in gl101.message
    # control: the same loop with a CPU device in the config module is not a GPU run
    (tmp_path / "tools/config.py").write_text("import torch\nDEVICE = torch.device('cpu')\n")
    assert "GL101" not in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch))


def test_device_attribute_of_an_imported_config_module_and_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {
        "config.py": """
            class Config:
                def __init__(self):
                    self.device = "cuda:0"
            cfg = Config()
        """,
        "train.py": "import torch\nfrom torch import nn\nimport config\nDEVICE = config.cfg.device\n"
        "model = nn.Linear(10, 2).to(DEVICE)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        + TRAIN_LOOP + "\ntrain([])\n",
    })
    assert "GL101" in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch))


def test_autocast_in_another_modules_forward_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_py = """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(10, 2)

            def forward(self, x):
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    return self.fc(x)
    """
    train_py = "import torch\nfrom torch import nn\nfrom model import Net\nDEVICE = 'cuda'\n" \
        "model = Net().to(DEVICE)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n" + TRAIN_LOOP + "\ntrain([])\n"
    write_project(tmp_path, {"model.py": model_py, "train.py": train_py})
    assert "GL101" not in codes(lint(tmp_path, monkeypatch=monkeypatch), "train.py")
    (tmp_path / "model.py").write_text(textwrap.dedent(model_py).replace('with torch.autocast("cuda", dtype=torch.bfloat16):\n', "if True:\n"))
    assert "GL101" in codes(lint(tmp_path, monkeypatch=monkeypatch), "train.py")


EVAL = """
{decorator}
def evaluate(loader):
    model.eval()
    correct = 0
    for x, y in loader:
        correct += (model(x.to(device)).argmax(1) == y).sum()
    return correct


if __name__ == "__main__":
    evaluate([])
"""


def test_no_grad_decorator_through_a_star_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {
        "common.py": "import torch\nimport torch.nn as nn\ndevice = 'cuda'\nmodel = nn.Linear(2, 2)\n",
        "evaluate.py": "from common import *\n" + EVAL.format(decorator="@torch.no_grad()"),
    })
    assert "GL402" not in codes(lint(tmp_path, monkeypatch=monkeypatch))
    (tmp_path / "evaluate.py").write_text("from common import *\n" + EVAL.format(decorator=""))
    assert "GL402" in codes(lint(tmp_path, monkeypatch=monkeypatch))


@pytest.mark.parametrize(
    "wrapper",
    [
        # yolov5's smart_inference_mode: returns a grad switch applied to the function
        """
        import torch

        def smart_inference_mode(torch_1_9=True):
            def decorate(fn):
                return (torch.inference_mode if torch_1_9 else torch.no_grad)()(fn)
            return decorate
        """,
        # a context manager that yields under no_grad, used as a decorator
        """
        import contextlib
        import torch

        @contextlib.contextmanager
        def smart_inference_mode():
            with torch.no_grad():
                yield
        """,
    ],
)
def test_the_projects_own_inference_mode_wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrapper: str) -> None:
    body = "import torch\nfrom torch import nn\nfrom utils.torch_utils import smart_inference_mode\n" \
        "device = 'cuda'\nmodel = nn.Linear(2, 2)\n"
    write_project(tmp_path, {
        "utils/__init__.py": "",
        "utils/torch_utils.py": wrapper,
        "val.py": body + EVAL.format(decorator="@smart_inference_mode()"),
    })
    assert "GL402" not in codes(lint(tmp_path, monkeypatch=monkeypatch))
    # control: a decorator that does not switch autograd off
    (tmp_path / "utils/torch_utils.py").write_text("def smart_inference_mode():\n    return lambda fn: fn\n")
    assert "GL402" in codes(lint(tmp_path, monkeypatch=monkeypatch))


def test_same_module_wrapper_is_recognised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrapper = "def smart_inference_mode():\n    def decorate(fn):\n        return torch.inference_mode()(fn)\n    return decorate\n"
    write_project(tmp_path, {"val.py": "import torch\nfrom torch import nn\ndevice = 'cuda'\nmodel = nn.Linear(2, 2)\n"
                     + wrapper + EVAL.format(decorator="@smart_inference_mode()")})
    assert "GL402" not in codes(lint(tmp_path, monkeypatch=monkeypatch))


DEAD_TRAIN = """
import torch
from torch import nn
model = nn.Linear(10, 2).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)


def train(loader):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        opt.step()
        print(loss.item())


def predict(x):
    with torch.no_grad():
        return model(x.cuda())

{main}
"""


def test_a_train_function_nothing_calls_is_not_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"infer.py": DEAD_TRAIN.format(main="if __name__ == '__main__':\n    print(predict(torch.zeros(1, 10)))\n")})
    assert codes(lint(tmp_path, monkeypatch=monkeypatch)) == []
    # control: the script calls it
    (tmp_path / "infer.py").write_text(DEAD_TRAIN.format(main="if __name__ == '__main__':\n    train([])\n"))
    assert "GL101" in codes(lint(tmp_path, monkeypatch=monkeypatch))


def test_dead_code_needs_a_script_that_nobody_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a library module: its functions are called from outside
    write_project(tmp_path, {"trainer.py": DEAD_TRAIN.format(main="")})
    assert "GL101" in codes(lint(tmp_path, monkeypatch=monkeypatch))
    # a script that another module of the project imports `train` from
    (tmp_path / "trainer.py").write_text(DEAD_TRAIN.format(main="if __name__ == '__main__':\n    print(predict(1))\n"))
    (tmp_path / "run.py").write_text("from trainer import train\ntrain([])\n")
    assert "GL101" in codes(lint(tmp_path, "trainer.py", monkeypatch=monkeypatch))


def test_dynamic_dispatch_keeps_every_function_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = "if __name__ == '__main__':\n    import sys\n    globals()[sys.argv[1]]([])\n"
    write_project(tmp_path, {"cli.py": DEAD_TRAIN.format(main=main)})
    assert "GL101" in codes(lint(tmp_path, monkeypatch=monkeypatch))


def test_dead_train_cell_in_a_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    cells = [DEAD_TRAIN.format(main=""), "print(predict(torch.zeros(1, 10)))\n"]
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells],
        "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
    }
    write_project(tmp_path, {})
    (tmp_path / "infer.ipynb").write_text(json.dumps(notebook))
    monkeypatch.chdir(tmp_path)
    settings = Settings(project_root=tmp_path, selection=RuleSelection(select=("ALL",)))
    assert codes(lint_files([tmp_path / "infer.ipynb"], settings, use_cache=False, jobs=1).findings) == []


def test_relative_import_inside_a_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/settings.py": "DEVICE = 'cuda'\n",
        "pkg/train.py": "import torch\nfrom torch import nn\nfrom .settings import DEVICE\n"
        "model = nn.Linear(10, 2).to(DEVICE)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n" + TRAIN_LOOP,
    })
    assert "GL101" in codes(lint(tmp_path, "pkg/train.py", monkeypatch=monkeypatch))


def test_an_edit_in_an_imported_module_invalidates_the_cached_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {
        "config.py": "DEVICE = 'cpu'\n",
        "train.py": "import torch\nfrom torch import nn\nfrom config import DEVICE\n"
        "model = nn.Linear(10, 2).to(DEVICE)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n" + TRAIN_LOOP + "train([])\n",
    })
    assert "GL101" not in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch, cache=True))
    (tmp_path / "config.py").write_text("DEVICE = 'cuda'\n")
    assert "GL101" in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch, cache=True))
    assert (tmp_path / ".greenlint_cache" / "project-index.json").is_file()


# ---- the pieces -------------------------------------------------------------------------------


def test_scan_imports_spellings() -> None:
    text = "import os, tools.config as c\nfrom .model import (Net,\n    Head)\nfrom .. import utils\nfrom common import *\n"
    found = {(s.module, s.names) for s in scan_imports(text, "pkg.sub")}
    assert ("tools.config", ()) in found and ("os", ()) in found
    assert ("pkg.sub.model", ("Net", "Head")) in found
    assert ("pkg", ("utils",)) in found  # a module of the package, resolved by the index
    assert ("common", ("*",)) in found


def test_exports_read_without_running_anything() -> None:
    exports = extract_exports(
        "import torch\nimport os\nos.system('rm -rf /')\nDEVICE = 'cuda'\nLR = 0.1\n_PRIVATE = 1\n"
        "class Net:\n    def forward(self, x):\n        return x.half()\n"
        "def helper():\n    pass\n",
        "",
    )
    assert "DEVICE" in exports.devices and exports.constants["LR"] == 0.1
    assert "Net" in exports.autocast and "helper" not in exports.autocast
    assert "_PRIVATE" not in exports.public and "torch" in exports.public
    assert extract_exports("def broken(:\n", "").devices == {}


def test_project_root_is_the_nearest_marker(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text("")
    assert find_project_root([tmp_path / "a" / "b"]) == (tmp_path / "a").resolve()
    assert find_project_root([tmp_path / "x.py"]) in (tmp_path.resolve(), *tmp_path.resolve().parents)


def test_a_damaged_index_cache_is_a_miss(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "project-index.json").write_text('{"format": 1, "modules": {"x": {"devices": 3}, "y": [1]}}')
    (tmp_path / "config.py").write_text("DEVICE = 'cuda'\n")
    index = ProjectIndex(tmp_path, cache)
    context = index.context_for(tmp_path / "train.py", "from config import DEVICE\n")
    assert "config.DEVICE" in context.devices


def _notebook(cells: list[str]) -> str:
    import json

    return json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells],
        "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
    })


NOTEBOOK_CELLS = [
    "import torch\nimport torchvision\nfrom torchvision import models\n",
    "mnist = torchvision.datasets.MNIST('data', train=True, download=True)\n",
    "# forty cells later: a new task\n{data}\n",
    "model = models.vgg16(weights=None).cuda()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "for x, y in loader:\n    loss = model(x.cuda()).sum()\n    loss.backward()\n    opt.step()\n",
]


def test_notebook_facts_follow_cell_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = list(NOTEBOOK_CELLS)
    cells[2] = cells[2].format(data="train = torchvision.datasets.ImageFolder('dogs-vs-cats/train')\n")
    write_project(tmp_path, {})
    (tmp_path / "nb.ipynb").write_text(_notebook(cells))
    assert "GL201" not in codes(lint(tmp_path, "nb.ipynb", monkeypatch=monkeypatch))
    # control: the VGG16 really is trained right after MNIST was loaded
    cells[2] = NOTEBOOK_CELLS[2].format(data="pass")
    (tmp_path / "nb.ipynb").write_text(_notebook(cells))
    gl201 = [f for f in lint(tmp_path, "nb.ipynb", monkeypatch=monkeypatch) if f.code == "GL201"]
    assert gl201 and "MNIST" in gl201[0].message


def test_an_imported_evaluate_under_autocast_does_not_count_for_the_training_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # milesial/Pytorch-UNet's shape: evaluate.py runs evaluation under autocast, the training loop
    # in train.py does not; only a function the training loop calls counts
    evaluate_py = """
        import torch

        def evaluate(model, loader):
            with torch.autocast("cuda"):
                return sum(model(x).sum() for x in loader)
    """
    train_py = "import torch\nfrom torch import nn\nfrom evaluate import evaluate\nDEVICE = 'cuda'\n" \
        "model = nn.Linear(10, 2).to(DEVICE)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n" + TRAIN_LOOP + \
        "\nif __name__ == '__main__':\n    train([])\n    evaluate(model, [])\n"
    write_project(tmp_path, {"evaluate.py": evaluate_py, "train.py": train_py})
    assert "GL101" in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch))
    # control: the same function called on every training step is the training step's autocast
    looped = train_py.replace("        loss.backward()", "        evaluate(model, [x])\n        loss.backward()")
    (tmp_path / "train.py").write_text(looped)
    assert "GL101" not in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch))


def test_the_context_digest_covers_every_field() -> None:
    from dataclasses import fields, replace

    from greenlint.rules.project_context import EMPTY_CONTEXT
    from greenlint.rules.recorded_run import RecordedRun, ShownDataset

    changed = {
        "package": "pkg", "local_modules": frozenset({"m"}), "star_bindings": {"torch": "torch"},
        "star_names": {"d": "m.d"}, "devices": {"m.D": "x"}, "autocast": {"m.N": "x"},
        "autocast_functions": frozenset({"m.f"}), "grad_off": {"m.w": "x"},
        "constants": {"m.C": 1}, "not_imported": True, "notebook": True, "extra_words": "cuda",
        "step_functions": frozenset({"m.s"}), "loop_functions": frozenset({"m.l"}),
        "loader_consumers": {"train_loader": "x"},
        "compiled_in": "model.py", "gpu_caller": "`main.py`", "file_datasets": {"m.D": "x"}, "conv_classes": {"m.Net": "m.py"}, "small_models": {"m.SRCNN": "a small CNN (3 convolutions, at most 64 channels) in m.py"}, "heavy_models": {"m.Cnn14": "a CNN of 6 convolution layers up to 2048 channels in m.py"}, "cudnn_caller": "`main.py`", "cnn_caller": "x",
        "launch_options": {"--epochs": ("100", "train.sh:1")}, "launch_least": {"--steps": ("10", "a.sh:1")}, "launch_configs": {"--config": (("a.yaml", "a.sh:1"), ("b.yaml", "b.sh:1"))},
        "launch_processes": (8, "`torchrun --nproc_per_node=8` in train.sh:1"),
        "gpu_without_tensor_cores": "the project's job scripts request K80 GPUs",
        "stated_gpu_count": "README.md:4 says `4 gpus`",
        "heavy_caller": "a large architecture (`resnet50`) in `main.py`",
        "gpu_trainers": {"m.train": "x"},
        "caller_args": {"args": {"epochs": (500, "x")}}, "validating_classes": frozenset({"m.Model"}),
        "training_importer": "`finetune.py` imports it and trains",
        "recorded_run": RecordedRun(600.0, 600.0, True, "1 progress bar"),
        "fixed_size_inputs": ("uses `t` from t.py, which gives inputs one size (`RandomCrop(288)`)", 288),
        "pinned_versions": {"torch": ("1.13.1", "`torch==1.13.1` in requirements.txt:1")},
        "per_item_work": {"m.g": "calls `PIL.Image.open` (m.py)"}, "batch_generators": frozenset({"m.g"}),
        "shown_dataset": ShownDataset(6, "`num_rows: 6` in the output of cell 9"),
    }
    assert {f.name for f in fields(EMPTY_CONTEXT)} == set(changed)
    digests = {replace(EMPTY_CONTEXT, **{name: value}).digest() for name, value in changed.items()}
    assert len(digests | {EMPTY_CONTEXT.digest()}) == len(changed) + 1


def test_a_constant_of_another_module_is_a_config_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # src/config.py holds NUM_WORKERS = 0; the loader in train.py reads config.NUM_WORKERS
    body = """
        import torch
        from PIL import Image
        from torch.utils.data import DataLoader, Dataset
        {imports}

        class Images(Dataset):
            def __init__(self, paths):
                self.paths = paths

            def __len__(self):
                return len(self.paths)

            def __getitem__(self, i):
                return Image.open(self.paths[i]).convert("RGB")


        def train():
            loader = DataLoader(Images(paths), batch_size=64, num_workers={workers})
            model = torch.nn.Linear(3, 3).cuda()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for x in loader:
                loss = model(x.cuda()).mean()
                loss.backward()
                opt.step()


        if __name__ == "__main__":
            train()
    """
    write_project(tmp_path, {
        "config.py": "NUM_WORKERS = 0\nBATCH_SIZE = 16\n",
        "train.py": body.format(imports="import config", workers="config.NUM_WORKERS"),
    })
    [gl306] = [f for f in lint(tmp_path, "train.py", monkeypatch=monkeypatch) if f.code == "GL306"]
    assert "`NUM_WORKERS = 0` in module `config`" in gl306.message
    (tmp_path / "train.py").write_text(textwrap.dedent(body.format(imports="from config import NUM_WORKERS", workers="NUM_WORKERS")))
    assert "GL306" in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch))
    # control: four workers in the config module
    (tmp_path / "config.py").write_text("NUM_WORKERS = 4\n")
    assert "GL306" not in codes(lint(tmp_path, "train.py", monkeypatch=monkeypatch))


ENGINE_PY = """
    import torch


    def train_step(model, opt, x):
        loss = model(x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
"""


def test_a_loop_that_calls_another_modules_train_step_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the loop in trainer.py only calls engine.train_step: it is the training-step loop (GL101, and
    # the per-step load GL301 is about)
    trainer = """
        import torch
        {imports}

        model = torch.nn.Linear(10, 2).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(10):
            for x in loader:
                {call}(model, opt, x.cuda())
    """
    write_project(tmp_path, {
        "engine.py": ENGINE_PY,
        "trainer.py": trainer.format(imports="from engine import train_step", call="train_step"),
    })
    assert "GL101" in codes(lint(tmp_path, "trainer.py", monkeypatch=monkeypatch))
    for imports, call in (("import engine", "engine.train_step"), ("from engine import *", "train_step")):
        (tmp_path / "trainer.py").write_text(textwrap.dedent(trainer.format(imports=imports, call=call)))
        assert "GL101" in codes(lint(tmp_path, "trainer.py", monkeypatch=monkeypatch)), imports
    # control: a helper that does not train
    (tmp_path / "engine.py").write_text("def train_step(model, opt, x):\n    return model(x)\n")
    (tmp_path / "trainer.py").write_text(textwrap.dedent(trainer.format(imports="from engine import train_step", call="train_step")))
    assert "GL101" not in codes(lint(tmp_path, "trainer.py", monkeypatch=monkeypatch))
