"""`greenlint profile --measure-fixes`: the user's files stay byte-identical, scratch copies are
removed, a fix that breaks the script (or changes the step count) is reported as failed, and
Ctrl-C keeps what was measured. The assertions are about outcomes, never about timings."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from greenlint import measure_fixes
from greenlint.measure_fixes import (
    FAILED,
    INTERRUPTED,
    MEASURED,
    NOT_APPLIED,
    Experiment,
    Trial,
    Variant,
)
from greenlint.profiler.runner import ProfileOptions

RELOADING = """
import os, sys, tempfile, torch
torch.set_num_threads(1)
path = os.path.join(tempfile.mkdtemp(), "data.pt")
torch.save(torch.randn(50000, 16), path)
model = torch.nn.Linear(16, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(int(sys.argv[1])):
    data = torch.load(path)
    loss = model(data[:256]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(RELOADING).lstrip(), encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "notes.txt").write_bytes(b"not code\r\n\x00\xff")
    return root


def test_measure_fixes_leaves_the_users_files_byte_identical_and_removes_its_copies(tmp_path):
    project = _project(tmp_path / "proj")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = _snapshot(project)
    env = dict(os.environ, TMPDIR=str(scratch))
    proc = subprocess.run(
        [sys.executable, "-m", "greenlint", "profile", "--steps", "4", "--warmup", "1", "--total-steps", "100",
         "--measure-fixes", "--rounds", "2", "--top", "1", "--no-html", "--format", "json",
         "--output", str(tmp_path / "out.json"), "train.py", "100000"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(project) == before  # nothing changed, nothing added
    assert not [p.name for p in scratch.iterdir() if p.name.startswith(("greenlint-measure-", "greenlint-profile-"))]
    assert "Measuring 1 fix in scratch copies: about" in proc.stderr and "4 runs" in proc.stderr
    [trial] = json.loads((tmp_path / "out.json").read_text())["measured_fixes"]
    assert (trial["code"], trial["status"], trial["rounds"], trial["unit"]) == ("GL301", MEASURED, 2, "step")
    assert len(trial["before"]) == len(trial["after"]) == 2
    assert trial["saving"]["low"] <= trial["saving"]["point"] <= trial["saving"]["high"]
    assert trial["label"] == "estimated" and trial["scale"] == 100 and trial["verdict"]
    assert trial["run_saving_j"] == pytest.approx(trial["saving"]["point"] * 100)


def _experiment(project: Path, rounds: int = 2) -> Experiment:
    options = ProfileOptions(script="train.py", module=None, args=["100000"], steps=3, warmup=1)
    baseline = {"steps": 3, "warmup_steps": 1, "duration_s": 3.0, "step_time_s": 0.01, "energy_how": "estimated",
                "devices": [{"method": "estimate"}], "projection": {"total_steps": 100}}
    return Experiment(options, project, rounds, baseline)


def _trial() -> Trial:
    return Trial(1, "GL301", "train.py", 8, "m", "unsafe", 10.0, 5.0, 20.0)


def test_a_fix_that_breaks_the_script_or_changes_its_steps_is_reported_failed(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    before = _snapshot(project)
    text = (project / "train.py").read_text()
    broken = text.replace("for step in", "raise RuntimeError('broken by the fix')\nfor step in")
    fewer = text.replace("range(int(sys.argv[1]))", "range(2)")
    variants = [Variant(_trial(), "train.py", broken.encode()), Variant(_trial(), "train.py", fewer.encode())]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert measure_fixes.measure_variants(_experiment(project), variants, scratch)
    first, second = (v.trial for v in variants)
    assert first.status == FAILED and "fixed script failed (exit 1)" in first.why and "broken by the fix" in first.why
    assert second.status == FAILED and "steps" in second.why and "not the same work" in second.why
    for trial in (first, second):
        assert trial.saving is None and trial.run_saving_j is None and trial.rounds == 0
    assert _snapshot(project) == before
    assert sorted(p.name for p in scratch.iterdir() if p.is_dir()) == ["a"]  # B copies removed after each fix


def _fake_runs(monkeypatch, rounds: list[tuple]) -> list[Path]:
    """Replaces the real profile runs by made-up results: (original's, fixed copy's) per round, in
    order over the fixes, whichever of the two runs first in a round."""
    roots: list[Path] = []
    queues = {"a": [r[0] for r in rounds], "b": [r[1] for r in rounds if len(r) > 1]}

    def run_copy(experiment, root, log):
        roots.append(root)
        result = queues[root.name].pop(0)
        if isinstance(result, BaseException):
            raise result
        return {"exit_code": 0, "outcome": "stopped", "steps": 3, "steps_seen": 4, "step_energy_j": [], **result}

    monkeypatch.setattr(measure_fixes, "run_copy", run_copy)
    return roots


def test_ctrl_c_stops_the_experiment_and_keeps_the_completed_rounds(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = _snapshot(project)
    roots = _fake_runs(monkeypatch, [({"j_per_step": 1.0}, {"j_per_step": 0.5}), ({"j_per_step": 1.1},
                                     {"j_per_step": 0.6}), ({"j_per_step": 1.0}, {"outcome": "interrupted"})])
    first, second = _trial(), _trial()
    said: list[str] = []
    ranked, completed = measure_fixes.run_experiment(_experiment(project, rounds=5), [first, second], said.append)
    assert not completed
    assert first.status == INTERRUPTED and first.rounds == 2 and first.before == [1.0, 1.1]
    assert first.saving is not None and first.saving["point"] == pytest.approx(0.5)  # two rounds: an interval
    assert second.status == "not run" and "Ctrl-C" in second.why
    assert ranked[0] is first and first.measured_rank == 1
    assert "Measuring 2 fixes" in said[0] and "20 runs" in said[0]
    assert not any(root.exists() for root in roots)  # the scratch folder is gone
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("greenlint-measure-")]
    assert _snapshot(project) == before


def test_a_keyboard_interrupt_between_runs_also_keeps_the_rounds(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    # round 2 runs the fixed copy first (B A): Ctrl-C arrives there
    _fake_runs(monkeypatch, [({"j_per_step": 1.0}, {"j_per_step": 0.5}), ({"j_per_step": 1.0}, KeyboardInterrupt())])
    trial = _trial()
    _, completed = measure_fixes.run_experiment(_experiment(project, rounds=3), [trial], lambda s: None)
    assert not completed and trial.status == INTERRUPTED and trial.rounds == 1 and trial.saving is None


def test_ranking_follows_the_measured_saving_and_failed_variants_are_never_savings(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    # fix 1 saves 0.1 J/step, fix 2 saves 0.4 J/step, fix 3's variant fails
    _fake_runs(monkeypatch, [({"j_per_step": 1.0}, {"j_per_step": 0.9}), ({"j_per_step": 1.0}, {"j_per_step": 0.88}),
                             ({"j_per_step": 1.0}, {"j_per_step": 0.6}), ({"j_per_step": 1.0}, {"j_per_step": 0.62}),
                             ({"j_per_step": 1.0}, {"exit_code": 1, "j_per_step": 0.1})])
    trials = [_trial(), _trial(), _trial()]
    ranked, completed = measure_fixes.run_experiment(_experiment(project, rounds=2), trials, lambda s: None)
    assert completed
    assert [t.measured_rank for t in ranked] == [1, 2, None]
    assert ranked[0] is trials[1] and ranked[2] is trials[2] and trials[2].status == FAILED
    assert trials[2].run_saving_j is None and trials[1].run_saving_j == pytest.approx(0.39 * 100)


def test_a_finding_whose_fix_is_gone_is_not_applied(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    moved = Trial(1, "GL301", "train.py", 3, "m", "unsafe", None, None, None)  # line 3 has no GL301
    outside = Trial(2, "GL301", str(tmp_path / "elsewhere.py"), 8, "m", "unsafe", None, None, None)
    variants = measure_fixes.prepare([moved, outside, _trial()], project)
    assert moved.status == NOT_APPLIED and "no autofix here" in moved.why
    assert outside.status == NOT_APPLIED and "outside the working directory" in outside.why
    [variant] = variants
    assert variant.relative == "train.py" and b"for step in" in variant.data
    assert variant.data.index(b"torch.load(path)") < variant.data.index(b"for step in")


def test_the_reports_show_measured_failed_and_escaped_fixes(monkeypatch, tmp_path):
    from greenlint.reporters.html_measured import measured_fixes_section
    from greenlint.reporters.measured_fixes_text import render_measured_fixes
    from rich.console import Console

    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    _fake_runs(monkeypatch, [({"j_per_step": 1.0}, {"j_per_step": 0.5}), ({"j_per_step": 1.1}, {"j_per_step": 0.6}),
                             ({"j_per_step": 1.0}, {"exit_code": 1, "j_per_step": 0.1})])
    good, bad = _trial(), Trial(2, "GL301", "<script>x.py", 8, "m", "unsafe", None, None, None)
    variants = [Variant(good, "train.py", b"print(1)\n"), Variant(bad, "train.py", b"print(2)\n")]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    measure_fixes.measure_variants(_experiment(project), variants, scratch)
    trials = [t.to_json() for t in measure_fixes.rank_by_measurement([good, bad])]
    html = measured_fixes_section({"measured_fixes": trials})
    assert "Measured fixes" in html and "<script>x.py" not in html and "&lt;script&gt;x.py" in html
    assert "failed" in html and "50 J" in html  # 0.5 J/step x 100 steps, projected
    console = Console(record=True, width=200)
    render_measured_fixes(trials, console)
    text = console.export_text()
    assert "#1 GL301 at train.py:8" in text and "saved per step: 500 mJ" in text  # engineering units (issue 16)
    assert "failed: the fixed script failed (exit 1)" in text
    assert measured_fixes_section({}) == ""


def test_a_fix_to_a_linked_file_is_never_written_through_the_link(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj")
    outside = tmp_path / "shared_train.py"
    outside.write_text("print('the user's shared file')\n", encoding="utf-8")
    (project / "linked.py").symlink_to(outside)
    monkeypatch.chdir(project)
    _fake_runs(monkeypatch, [])
    trial = _trial()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert measure_fixes.measure_variants(_experiment(project), [Variant(trial, "linked.py", b"x = 1\n")], scratch)
    assert trial.status == NOT_APPLIED and "not a file of the scratch copy" in trial.why
    assert outside.read_text(encoding="utf-8") == "print('the user's shared file')\n"
