"""A long run spans the project modules its script runs (advisor/long_run_spread.py): the
run-length findings of `engine.py` report when `train.py`, which imports it, shows a long run.
The shape of DETR's and torchvision's references (`main.py` + `engine.py: train_one_epoch`) and
pytorch-template's `train.py` -> `trainer/trainer.py` -> `base/base_trainer.py`."""

from __future__ import annotations

import json
import pickle

from greenlint.findings import Finding, LintedFile, Location

TRAIN = """import argparse
import torch
import torchvision
from engine import train_one_epoch

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=EPOCHS)
args = parser.parse_args()
model = torchvision.models.resnet50().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(args.epochs):
    train_one_epoch(model, loader, optimizer)
"""

ENGINE = """import torch


def train_one_epoch(model, loader, optimizer):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(loss.item())
"""


def _shown(project, *args: str) -> dict[str, dict[str, str]]:
    """filename -> {code: long-run evidence} of the findings `check` shows."""
    code, out, err = project.run("check", "--format", "json", "--cache-dir", str(project.root / ".cache"), *args)
    assert code in (0, 1), err
    shown: dict[str, dict[str, str]] = {}
    for finding in json.loads(out):
        shown.setdefault(finding["filename"], {})[finding["code"]] = finding["impact"].get("long_run", "")
    return shown


def test_the_imported_training_module_reports_in_its_importers_long_run(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN.replace("EPOCHS", "300"))
    project.write("engine.py", ENGINE)
    engine = _shown(project)["engine.py"]
    assert "GL504" in engine  # a loss printed on every step: a preview, run-length rule
    assert "300 epochs" in engine["GL504"] and "in `train.py`, which runs this module" in engine["GL504"]
    # the importer's run becomes short: the module's cached findings are hidden again
    project.write("train.py", TRAIN.replace("EPOCHS", "3"))
    assert "engine.py" not in _shown(project)
    # detection off: only named files show run-length findings
    project.write("train.py", TRAIN.replace("EPOCHS", "300"))
    assert "engine.py" not in _shown(project, "--no-detect-long-runs")


def test_two_import_steps_reach_a_base_module(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN.replace("EPOCHS", "300"))
    project.write("engine.py", "from steps import train_one_epoch\n")
    project.write("steps.py", ENGINE)
    assert "in `train.py`, which runs this module" in _shown(project)["steps.py"]["GL504"]


def test_a_module_nobody_long_running_imports_stays_hidden(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN.replace("EPOCHS", "300").replace("from engine import", "from other import"))
    project.write("other.py", ENGINE)
    project.write("engine.py", ENGINE)  # imported by no one
    shown = _shown(project)
    assert "other.py" in shown and "engine.py" not in shown
    # an evaluation module is left out as the detection leaves it out
    project.write("train.py", TRAIN.replace("EPOCHS", "300").replace("from engine import", "from evaluate import"))
    project.write("evaluate.py", ENGINE)
    assert "evaluate.py" not in _shown(project)


def test_the_evidence_travels_with_the_findings_across_processes():
    finding = Finding("GL401", "m", "a.py", Location(1, 1), Location(1, 2))
    copied = pickle.loads(pickle.dumps(LintedFile([finding], "300 epochs")))
    assert copied == [finding] and copied.long_run == "300 epochs"
    assert LintedFile([finding]).long_run == ""


def test_a_modules_main_block_is_not_part_of_the_importers_run(project):
    # pytorch-semseg's model modules try their code under `if __name__ == "__main__":`
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN.replace("EPOCHS", "300"))
    project.write("engine.py", ENGINE.replace("        print(loss.item())\n", "") + GUARDED_TRY_OUT)
    assert "GL504" not in _shown(project).get("engine.py", {})  # the guarded loop's print stays hidden
    assert "GL504" in _shown(project, "--preview")["engine.py"]  # though the rule finds it
    project.write("engine.py", ENGINE + GUARDED_TRY_OUT)
    assert "GL504" in _shown(project)["engine.py"]  # the function's print (row 10) reports


GUARDED_TRY_OUT = """

if __name__ == "__main__":
    # a quick try-out when the module is run by itself
    net = torch.nn.Linear(4, 2).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(net(x.cuda()), y.cuda())
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(loss.item())
"""


def test_fix_applies_what_check_shows_in_the_imported_module(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN.replace("EPOCHS", "300"))
    engine = project.write("engine.py", ENGINE)
    code, out, err = project.run("check", "--fix", "--unsafe-fixes", "--no-cache", "--format", "json")
    assert "torch.autocast" in engine.read_text()  # GL101's fix, shown only through the spread
    remaining = {f["code"]: f["impact"]["long_run"] for f in json.loads(out) if f["filename"] == "engine.py"}
    assert "in `train.py`, which runs this module" in remaining["GL504"]
    # a short importer: nothing in the module is fixed
    project.write("train.py", TRAIN.replace("EPOCHS", "3"))
    project.write("engine.py", ENGINE)
    project.run("check", "--fix", "--unsafe-fixes", "--no-cache")
    assert engine.read_text() == ENGINE


def test_evaluation_without_no_grad_is_not_spread(tmp_path):
    # seungwonpark/melgan (blind24): utils/train.py calls validate() inside `with torch.no_grad():`,
    # which utils/validation.py cannot see; its GL402 keeps to the module's own evidence, while a
    # per-step print (GL504) of the same module spreads
    from dataclasses import replace as copy_with

    from greenlint.long_run_spread import spread_long_runs
    from greenlint.project_index import ProjectIndex
    from greenlint.rules.impact import Impact

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "train.py").write_text("from validation import validate\n")
    (tmp_path / "validation.py").write_text("def validate(model, loader):\n    pass\n")
    impact = Impact("low", 0.0, 0.01, "every-step", "x")
    found = [copy_with(Finding(code, "m", "validation.py", Location(row, 1), Location(row, 2)), impact=impact)
             for code, row in (("GL402", 1), ("GL504", 2))]
    results = {tmp_path / "train.py": LintedFile([], "300 epochs"), tmp_path / "validation.py": LintedFile(found)}
    spread = spread_long_runs(results, ProjectIndex(tmp_path))[tmp_path / "validation.py"]
    assert {f.code: f.impact.long_run for f in spread} == {
        "GL402": "", "GL504": "300 epochs, in `train.py`, which runs this module"}
