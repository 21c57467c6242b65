"""`long-runs` (advisor/long_runs.py): in the scripts the user says run for hours, the run-length
rules report as default rules do; elsewhere their findings are only counted."""

from __future__ import annotations

import json

import pytest
from conftest import GPU_TRAINING

from greenlint.long_runs import NEVER_WORTH, long_run_paths, run_length_codes
from greenlint.selection import PREVIEW_CODES, RuleSelection

# Only preview rules report it: GL101 (float32 on the GPU, 7:5) and GL309 (the same weights copied
# every step, 8:13); GL405-style never-worth rules do not fire on it.
PREVIEW_ONLY = GPU_TRAINING.replace('    data = torch.load("train.pt")\n', "").replace("in data:", "in loader:")
CONV = """import torch

model = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3), torch.nn.BatchNorm2d(64)).cuda()
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(90):
    for x, y in loader:
        loss = torch.nn.functional.mse_loss(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
"""


def _codes(findings: list[dict]) -> list[tuple[str, str]]:
    return sorted((f["filename"], f["code"]) for f in findings)


def test_the_run_length_rules_report_only_in_the_named_script(project):
    project.write("train.py", PREVIEW_ONLY)
    project.write("tools/plot.py", PREVIEW_ONLY)
    code, out, err = project.run("check", "--no-cache", "--long-run", "train.py", "--format", "json")
    assert code == 1
    assert _codes(json.loads(out)) == [("train.py", "GL101"), ("train.py", "GL309")]
    # the other file's findings are counted, as without long-runs
    assert "2 findings of preview rules not shown (GL101, GL309" in err


def test_the_configuration_names_them_with_gitignore_patterns(project):
    project.write("pyproject.toml", '[project]\nname = "p"\n[tool.greenlint]\nlong-runs = ["scripts/pretrain_*.py"]\n')
    project.write("scripts/pretrain_gpt.py", PREVIEW_ONLY)
    project.write("scripts/eval.py", PREVIEW_ONLY)
    findings = project.findings("--no-cache")
    assert {f["filename"] for f in findings} == {"scripts/pretrain_gpt.py"}
    # --long-run adds to the configured patterns
    findings = project.findings("--no-cache", "--long-run", "eval.py")
    assert {f["filename"] for f in findings} == {"scripts/pretrain_gpt.py", "scripts/eval.py"}


def test_never_worth_rules_stay_counted_even_in_a_long_run(project):
    project.write("train.py", CONV)
    code, out, _ = project.run("check", "--no-cache", "--long-run", "train.py", "--format", "json")
    reported = {f["code"] for f in json.loads(out)}
    assert not reported & NEVER_WORTH
    _, out, _ = project.run("check", "--no-cache", "--preview", "--format", "json")
    assert {"GL405", "GL412"} <= {f["code"] for f in json.loads(out)}  # they are there, only not worth it


def test_the_selection_still_applies(project):
    project.write("train.py", PREVIEW_ONLY)
    findings = project.findings("--no-cache", "--long-run", "train.py", "--ignore", "GL101")
    assert [f["code"] for f in findings] == ["GL309"]


def test_fix_applies_the_run_length_rules_fixes_in_the_named_script_only(project):
    train = project.write("train.py", PREVIEW_ONLY)
    other = project.write("other.py", PREVIEW_ONLY)
    project.run("check", "--no-cache", "--fix", "--unsafe-fixes", "--long-run", "train.py", "--ignore", "GL101")
    assert "\nw = weights.cuda()\n" in train.read_text()  # GL309's fix, hoisted above the loops
    assert other.read_text() == PREVIEW_ONLY.lstrip("\n")


def test_a_cached_run_says_the_same(project):
    project.write("train.py", PREVIEW_ONLY)
    project.write("other.py", PREVIEW_ONLY)
    first = project.run("check", "--long-run", "train.py")
    assert project.run("check", "--long-run", "train.py") == first
    assert "train.py:8:13: GL309" in first[1] and "other.py" not in first[1]


def test_a_pattern_that_matches_nothing_is_said(project):
    project.write("train.py", PREVIEW_ONLY)
    code, _, err = project.run("check", "--no-cache", "--long-run", "trian.py")
    assert code == 0
    assert "warning: long-runs (trian.py) matches none of the 1 files checked" in err


@pytest.mark.parametrize("value, message", [
    ("3", "must be a list of file patterns"),
    ('[""]', "an empty pattern matches no file"),
    ("[1]", "must be a list of file patterns"),
])
def test_a_bad_long_runs_value_is_a_clear_error(project, value, message):
    project.write("pyproject.toml", f'[project]\nname = "p"\n[tool.greenlint]\nlong-runs = {value}\n')
    project.write("train.py", PREVIEW_ONLY)
    code, _, err = project.run("check", "--no-cache")
    assert code == 2 and "tool.greenlint.long-runs" in err and message in err


def test_in_preview_mode_long_runs_add_nothing():
    assert run_length_codes(RuleSelection(preview=True)) == frozenset()
    codes = run_length_codes(RuleSelection())
    assert codes == PREVIEW_CODES - NEVER_WORTH


def test_patterns_match_relative_to_the_root_or_by_name(tmp_path):
    paths = [tmp_path / "train.py", tmp_path / "src" / "train.py", tmp_path / "src" / "eval.py", tmp_path / "jobs" / "a.py"]
    assert long_run_paths(paths, tmp_path, ("train.py",)) == {paths[0], paths[1]}
    assert long_run_paths(paths, tmp_path, ("/train.py",)) == {paths[0]}
    assert long_run_paths(paths, tmp_path, ("jobs/",)) == {paths[3]}
    assert long_run_paths(paths, tmp_path, ()) == frozenset()


# float32 on the GPU with nothing in the module saying the step is compute-heavy: GL101's estimate
# scales it down to a "low" impact, under the default min-impact
SMALL_GPU = """import torch

model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(100):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
"""


def test_in_a_named_long_run_the_run_length_rules_ignore_min_impact(project):
    project.write("train.py", SMALL_GPU)
    project.write("other.py", SMALL_GPU)
    [low] = [f for f in project.findings("--no-cache", "--preview", "--min-impact", "low", "other.py") if f["code"] == "GL101"]
    assert low["impact"]["level"] == "low"
    # 100 epochs is a long run that detect-long-runs would find in other.py too: off here, to
    # measure the user's word alone
    code, out, err = project.run("check", "--no-cache", "--no-detect-long-runs", "--long-run", "train.py", "--format", "json")
    # the user's word that the run is long replaces the estimate's guess of the workload's size
    assert ("train.py", "GL101") in _codes(json.loads(out))
    assert ("other.py", "GL101") not in _codes(json.loads(out)) and "GL101" not in err  # hidden, not counted
    path = project.root / "train.py"
    project.run("check", "--no-cache", "--no-detect-long-runs", "--long-run", "train.py", "--fix", "--unsafe-fixes", "--select", "GL1")
    assert "torch.autocast(" in path.read_text() and "torch.autocast(" not in (project.root / "other.py").read_text()


def test_with_preview_too_the_named_file_shows_what_min_impact_would_hide(project):
    project.write("train.py", SMALL_GPU)
    project.write("other.py", SMALL_GPU)
    findings = project.findings("--no-cache", "--no-detect-long-runs", "--preview", "--long-run", "train.py")
    gl101 = {f["filename"] for f in findings if f["code"] == "GL101"}
    assert gl101 == {"train.py"}  # other.py's is below min-impact, as in any preview run
