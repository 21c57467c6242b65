"""GL101 across module lines: the training loop in one module, the GPU decision in another.

Each case is a small project written from the shape of a dev-corpus miss (repo, commit and path in
the test's comment), linted as the CLI lints it (runner.lint_files with the project index), with a
control that shows the cross-module fact is what decides.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import write_project

from greenlint.config import Settings
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

# a training function that names no device type of its own: the caller passes `device`
TRAINING = """
import torch

def fit(model, epochs, optimizer, loss_fn, loader, device):
    for epoch in range(epochs):
        model.train()
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), labels)
            loss.backward()
            optimizer.step()
"""

MAIN = """
import torch
from torch import nn
from training import fit

if __name__ == "__main__":
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU()).to(device)
    optimizer = torch.optim.Adam(model.parameters())
    fit(model, 50, optimizer, nn.MSELoss(), loader, device)
"""



def gl101(root: Path, filename: str, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.chdir(root)
    # GL101 is a preview rule (issue 14): selected with preview on, as `--preview --select GL101`
    settings = Settings(project_root=root, selection=RuleSelection(select=("GL101",), preview=True))
    findings = lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings
    return [f for f in findings if f.code == "GL101" and f.filename == filename]


def test_loop_module_run_on_cuda_by_the_script_that_calls_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # christianmcb/Deep-Learning-Project c1e2779 code/training.py (Train) called by code/main.py
    write_project(tmp_path, {"training.py": TRAINING, "main.py": MAIN})
    [finding] = gl101(tmp_path, "training.py", monkeypatch)
    assert "is trained by `main.py`, which puts the run on a CUDA device" in finding.message
    # control: the same caller on the CPU says nothing about a GPU
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN).replace('"cuda" if torch.cuda.is_available() else "cpu"', '"cpu"'))
    assert gl101(tmp_path, "training.py", monkeypatch) == []


@pytest.mark.parametrize(
    "switch",
    [
        "scaler = torch.amp.GradScaler()",
        "model = model.half()",
        "model = model.to(torch.bfloat16)",
    ],
)
def test_silent_when_the_caller_sets_reduced_precision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, switch: str) -> None:
    main = textwrap.dedent(MAIN).replace("    optimizer =", f"    {switch}\n    optimizer =")
    write_project(tmp_path, {"training.py": TRAINING, "main.py": main})
    assert gl101(tmp_path, "training.py", monkeypatch) == []


def test_silent_when_the_caller_only_imports_the_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = textwrap.dedent(MAIN).replace("    fit(model", "    print(fit, model")
    write_project(tmp_path, {"training.py": TRAINING, "main.py": main})
    assert gl101(tmp_path, "training.py", monkeypatch) == []


def test_entry_point_reexported_by_the_package_and_device_in_a_config_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # paolorechia/common-lit-kaggle 795b53e: modeling/training.py holds train_epoch (the loop) and
    # train_model (calls it per epoch); modeling/__init__.py re-exports train_model; the task script
    # imports it from the package and moves the model to `config.device`, "cuda:0" in settings/config.py
    write_project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/settings.py": """
            class Config:
                def __init__(self):
                    self.device = "cuda:0"
        """,
        "pkg/modeling/__init__.py": "from .training import train_model\n",
        "pkg/modeling/training.py": """
            def train_epoch(loader, model, optimizer, criterion):
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()


            def train_model(loader, model, optimizer, criterion, epochs):
                for epoch in range(epochs):
                    train_epoch(loader, model, optimizer, criterion)
        """,
        "pkg/task.py": """
            from pkg.modeling import train_model
            from pkg.settings import Config

            def run(loader, model, optimizer, criterion):
                config = Config()
                model.to(config.device)
                train_model(loader, model, optimizer, criterion, 10)
        """,
    })
    [finding] = gl101(tmp_path, "pkg/modeling/training.py", monkeypatch)
    assert "`pkg/task.py`" in finding.message
    (tmp_path / "pkg/settings.py").write_text("class Config:\n    device = 'cpu'\n")
    assert gl101(tmp_path, "pkg/modeling/training.py", monkeypatch) == []


def test_device_chosen_in_an_if_of_a_config_class_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # huutrinh68/global-wheat-detection 0d87128 project/code/config.py: the class body picks its
    # device in an if/else; trainer.py's loop reads `config.device`
    write_project(tmp_path, {
        "config.py": """
            import torch

            class Config:
                gpu_ids = [3]
                if len(gpu_ids) > 1:
                    device = torch.device("cuda")
                else:
                    device = torch.device("cuda:3")

            config = Config()
        """,
        "trainer.py": """
            import torch
            from config import config

            def train_epoch(model, optimizer, loader):
                for images, targets in loader:
                    loss = model(images.to(config.device), targets)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
        """,
    })
    [finding] = gl101(tmp_path, "trainer.py", monkeypatch)
    assert "set in config.py" in finding.message


def test_a_test_module_calling_the_loop_on_cuda_is_not_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"training.py": TRAINING, "tests/test_training.py": MAIN})
    assert gl101(tmp_path, "training.py", monkeypatch) == []
    # control: the same caller as a script of the project is the run
    write_project(tmp_path, {"scripts/run.py": MAIN})
    assert len(gl101(tmp_path, "training.py", monkeypatch)) == 1


def test_an_optimizer_stepped_through_a_step_method_passes_the_prefilter() -> None:
    # jadore801120/attention-is-all-you-need-pytorch (blind corpus) train.py: a ScheduledOptim
    # wrapper steps with `optimizer.step_and_update_lr()`, so the file has no "step(" at all and
    # GL101's prefilter skipped it although the analysis recognises the step
    from rule_helpers import findings

    source = """
        import torch

        device = torch.device("cuda")
        model = Transformer().to(device)
        optimizer = ScheduledOptim(torch.optim.Adam(model.parameters()), 2.0, 512, 4000)
        for src, trg in loader:
            optimizer.zero_grad()
            loss = criterion(model(src.to(device)), trg.to(device))
            loss.backward()
            optimizer.step_and_update_lr()
    """
    [finding] = findings(source, "GL101")
    assert "float32" in finding.message
