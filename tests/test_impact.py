"""How much a finding matters (issue 14): the static impact estimate, the `min-impact` threshold,
and the impact in every output. Rules' own declarations are replaced here (monkeypatched `impact`
on GL402 and GL406, or RuleImpact values built in the test), so these tests do not depend on what
any rule declares."""

from __future__ import annotations

import json
import pickle

import pytest

from greenlint.config import Settings
from greenlint.engine import lint_notebook, lint_source
from greenlint.findings import Finding
from greenlint.impact_filter import Visibility, hidden_sentence
from greenlint.rules import ALL_CODES, Report, get_rule
from greenlint.selection import RuleSelection
from greenlint.rules.impact import FREQUENCIES, Impact, RuleImpact, Scale, WasteSize
from greenlint.rules.impact_estimate import FREQUENCY_WEIGHTS, estimate, rule_impact_json, rule_impact_sentence
from greenlint.runner import lint_files

ALL = frozenset(ALL_CODES)

# GL402 (evaluation without no_grad, a safe fix) and GL406 (zero_grad(set_to_none=False), a safe fix)
TRAIN = """\
import torch


def evaluate(model, loader):
    model.eval()
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum()
    return correct


opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad(set_to_none=False)
    loss = model(x).sum()
    loss.backward()
    opt.step()
"""

# midpoint 0.3 % of the run: low
SMALL = RuleImpact(WasteSize(0.001, 0.005, "of the evaluation's time; test figure"), "run-wide")
# midpoint 4 %: medium
MEDIUM = RuleImpact(WasteSize(0.02, 0.06, "of the step's time; test figure"), "every-step")


@pytest.fixture
def gl402_by_default(monkeypatch):
    """GL402 is a preview rule since issue 14; these tests need it in the default selection, as a
    probe with a safe fix."""
    import greenlint.selection

    monkeypatch.setattr(greenlint.selection, "PREVIEW_CODES", greenlint.selection.PREVIEW_CODES - {"GL402"})
    monkeypatch.setattr(type(get_rule("GL402")), "preview", False)


@pytest.fixture
def declared(monkeypatch, gl402_by_default):
    """GL402 declares a low impact, GL406 a medium one."""
    monkeypatch.setattr(type(get_rule("GL402")), "impact", SMALL)
    monkeypatch.setattr(type(get_rule("GL406")), "impact", MEDIUM)


def _by_code(findings):
    return {f.code: f for f in findings}


# -- computing ------------------------------------------------------------------------------------


def test_frequency_weights_are_the_documented_assumptions():
    assert FREQUENCY_WEIGHTS == {"run-wide": 1.0, "every-step": 1.0, "every-eval": 0.15, "every-epoch": 0.02,
                                 "once": 0.001, "unknown": 1.0}
    assert set(FREQUENCY_WEIGHTS) == set(FREQUENCIES)


@pytest.mark.parametrize(
    ("frequency", "expected_low", "expected_high", "level"),
    [
        ("run-wide", 0.4, 0.6, "high"),
        ("every-step", 0.4, 0.6, "high"),
        ("every-eval", 0.06, 0.09, "medium"),
        ("every-epoch", 0.008, 0.012, "low"),
        ("once", 0.0004, 0.0006, "low"),
        ("unknown", 0.4, 0.6, "high"),
    ],
)
def test_the_report_frequency_overrides_the_rule_default(frequency, expected_low, expected_high, level):
    declared = RuleImpact(WasteSize(0.4, 0.6, "of the step; test"), "run-wide")
    impact = estimate(declared, frequency)
    assert (impact.low, impact.high, impact.level, impact.frequency) == (
        pytest.approx(expected_low), pytest.approx(expected_high), level, frequency
    )
    assert f"frequency {frequency} (this finding; weight {FREQUENCY_WEIGHTS[frequency]:g}, assumed)" in impact.basis


def test_rule_default_frequency_and_scale_and_basis():
    declared = RuleImpact(WasteSize(0.49, 0.82, "of the step's GPU energy; measured, H100 bf16"), "run-wide")
    impact = estimate(declared, scale=Scale(0.05, "model under 1 M parameters"))
    assert impact.low == pytest.approx(0.0245) and impact.high == pytest.approx(0.041)
    assert impact.level == "medium"  # midpoint 3.3 %
    assert impact.basis == (
        "size 49-82 % (of the step's GPU energy; measured, H100 bf16); "
        "frequency run-wide (rule default; weight 1, assumed); scale x0.05: model under 1 M parameters"
    )
    assert estimate(declared).level == "high"


@pytest.mark.parametrize(
    ("low", "high", "level"),
    [(0.10, 0.10, "high"), (0.05, 0.15, "high"), (0.0999, 0.0999, "medium"), (0.02, 0.02, "medium"),
     (0.0, 0.04, "medium"), (0.0199, 0.0199, "low"), (0.0, 0.0, "low")],
)
def test_level_boundaries_compare_the_midpoint(low, high, level):
    assert estimate(RuleImpact(WasteSize(low, high, "test"), "every-step")).level == level


def test_a_large_scale_is_capped_at_the_whole_run():
    impact = estimate(RuleImpact(WasteSize(0.5, 0.9, "test"), "every-step"), scale=Scale(10, "ten models"))
    assert (impact.low, impact.high) == (1.0, 1.0)


def test_a_rule_without_impact_is_unknown_and_says_so():
    impact = estimate(None)
    assert impact.level == "unknown" and impact.low is None and impact.high is None
    assert impact.basis.startswith("Not estimated")
    data = impact.to_json()
    assert data["estimated_saving"] is None and data["kind"] == "estimated"
    assert Impact.from_json(data) == impact
    assert estimate(None, "every-epoch").frequency == "every-epoch"


def test_bad_refinements_are_errors():
    with pytest.raises(ValueError, match="unknown frequency"):
        estimate(SMALL, "per-step")
    with pytest.raises(ValueError, match="positive"):
        Scale(0, "nothing")
    with pytest.raises(ValueError, match="unknown frequency"):
        Report(node=None, message="m", frequency="hourly")  # type: ignore[arg-type]


def test_impact_json_round_trip_and_rejects_bad_levels():
    impact = estimate(MEDIUM, "every-eval", Scale(0.3, "small batch"))
    assert Impact.from_json(json.loads(json.dumps(impact.to_json()))) == impact
    with pytest.raises(ValueError):
        Impact.from_json({**impact.to_json(), "level": "enormous"})


def test_the_engine_attaches_the_estimate(declared):
    found = _by_code(lint_source(TRAIN.encode(), "train.py", ALL))
    assert found["GL402"].impact == estimate(SMALL) and found["GL402"].impact.level == "low"
    assert found["GL406"].impact.level == "medium"


def test_a_rule_without_impact_gives_unknown(monkeypatch):
    monkeypatch.setattr(type(get_rule("GL402")), "impact", None)
    found = _by_code(lint_source(TRAIN.encode(), "train.py", ALL))
    assert found["GL402"].impact.level == "unknown"


def test_engine_findings_carry_no_impact():
    (finding,) = lint_source(b"def f(:\n    pass\n", "bad.py", ALL)
    assert finding.code == "GL001" and finding.impact is None
    assert Visibility("high").shows(finding)


def test_notebook_findings_keep_their_impact(declared):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": TRAIN.splitlines(keepends=True)}
    document = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}, cell],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    found = _by_code(lint_notebook(json.dumps(document).encode(), "train.ipynb", ALL))
    assert found["GL402"].extra["cell"] == 2 and found["GL402"].impact == estimate(SMALL)


def test_impact_survives_pickling_and_the_worker_pool(tmp_path, monkeypatch):
    """Workers may be spawned (a monkeypatch would not reach them), so the pool run is compared
    with an in-process run of the same files: whatever the rules declare, the impacts agree."""
    finding = _by_code(lint_source(TRAIN.encode(), "train.py", ALL))["GL402"]
    assert pickle.loads(pickle.dumps(finding)).impact == finding.impact
    monkeypatch.chdir(tmp_path)
    files = []
    for number in range(8):  # runner.PARALLEL_THRESHOLD: the pool starts at 8 files
        path = tmp_path / f"train_{number}.py"
        path.write_text(TRAIN, encoding="utf-8")
        files.append(path)
    settings = Settings(project_root=tmp_path, selection=RuleSelection(select=("ALL",), preview=True))
    alone = lint_files(files, settings, use_cache=False, jobs=1).findings
    pooled = lint_files(files, settings, use_cache=False, jobs=2).findings
    assert len(alone) >= 16
    assert all(isinstance(f.impact, Impact) for f in pooled)
    assert [(f.filename, f.code, f.impact) for f in pooled] == [(f.filename, f.code, f.impact) for f in alone]


def test_cache_round_trip_gives_identical_impact(tmp_path, monkeypatch, declared):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train.py"
    path.write_text(TRAIN, encoding="utf-8")
    settings = Settings(project_root=tmp_path, cache_dir=tmp_path / "cache")
    first = lint_files([path], settings, use_cache=True, jobs=1)
    second = lint_files([path], settings, use_cache=True, jobs=1)
    assert (first.files_from_cache, second.files_from_cache) == (0, 1)
    assert [f.impact for f in second.findings] == [f.impact for f in first.findings]
    assert {f.impact.level for f in second.findings} == {"low", "medium"}
    assert [f.to_json() for f in second.findings] == [f.to_json() for f in first.findings]


def test_a_cache_entry_without_impact_is_a_miss(tmp_path, monkeypatch):
    from greenlint.cache import _valid_finding

    finding = _by_code(lint_source(TRAIN.encode(), "train.py", ALL))["GL402"].to_json()
    assert _valid_finding(finding)
    assert not _valid_finding({k: v for k, v in finding.items() if k != "impact"})
    assert not _valid_finding({**finding, "impact": {"level": 3}})
    assert Finding.from_json(finding).impact is not None


# -- the threshold --------------------------------------------------------------------------------


def test_low_findings_are_hidden_by_default_and_counted(project, declared):
    project.write("train.py", TRAIN)
    code, out, _ = project.run("check", "--no-cache")
    assert code == 1
    assert "GL406" in out and "GL402" not in out
    assert out.rstrip("\n").splitlines()[-1] == (
        "1 finding below min-impact 'medium' not shown (--min-impact low shows it)."
    )
    code, out, _ = project.run("check", "--no-cache", "--min-impact", "low")
    assert "GL402" in out and "not shown" not in out


def test_hidden_findings_do_not_fail_the_run(project, declared):
    project.write("train.py", TRAIN)
    code, out, _ = project.run("check", "--no-cache", "--select", "GL4", "--ignore", "GL406")
    assert code == 0
    assert "All checks passed!" in out and "1 finding below min-impact" in out


def test_min_impact_high_hides_medium_too(project, declared):
    project.write("train.py", TRAIN)
    code, out, _ = project.run("check", "--no-cache", "--min-impact", "high")
    assert code == 0
    assert "2 findings below min-impact 'high' not shown (--min-impact low shows them)." in out


def test_unknown_impact_is_never_hidden(project, monkeypatch, gl402_by_default):
    monkeypatch.setattr(type(get_rule("GL402")), "impact", None)
    project.write("train.py", TRAIN)
    codes = {f["code"] for f in project.findings("--no-cache", "--min-impact", "high")}
    assert "GL402" in codes


def test_engine_findings_are_never_hidden(project):
    project.write("bad.py", "def f(:\n    pass\n")
    code, out, _ = project.run("check", "--no-cache", "--min-impact", "high")
    assert code == 1 and "GL001" in out


@pytest.mark.parametrize("selection", [["--select", "GL402,GL406"], ["--extend-select", "GL402"],
                                       ["--select", "gl402"]])
def test_an_exact_code_brings_its_findings_back(project, declared, selection):
    project.write("train.py", TRAIN)
    codes = [f["code"] for f in project.findings("--no-cache", *selection)]
    assert "GL402" in codes


@pytest.mark.parametrize("selection", [["--select", "GL4"], ["--select", "GL40"], ["--select", "ALL"]])
def test_a_prefix_does_not_bring_them_back(project, declared, selection):
    project.write("train.py", TRAIN)
    assert "GL402" not in [f["code"] for f in project.findings("--no-cache", *selection)]


@pytest.mark.parametrize("key", ["select", "extend-select"])
def test_an_exact_code_in_the_configuration_brings_them_back(project, declared, key):
    project.write("train.py", TRAIN)
    project.write("pyproject.toml", f'[tool.greenlint]\n{key} = ["GL402", "GL406"]\n')
    assert "GL402" in [f["code"] for f in project.findings("--no-cache")]


def test_the_configuration_sets_the_threshold_and_the_flag_overrides_it(project, declared):
    project.write("train.py", TRAIN)
    project.write("pyproject.toml", '[tool.greenlint]\nmin-impact = "low"\n')
    assert "GL402" in [f["code"] for f in project.findings("--no-cache")]
    assert [f["code"] for f in project.findings("--no-cache", "--min-impact", "high")] == []


def test_a_bad_min_impact_is_a_clear_error(project):
    project.write("train.py", TRAIN)
    project.write("pyproject.toml", '[tool.greenlint]\nmin-impact = "huge"\n')
    code, _, err = project.run("check", "--no-cache")
    assert code == 2
    assert "tool.greenlint.min-impact" in err and '"low", "medium", "high"' in err and "huge" in err
    project.write("pyproject.toml", "[tool.greenlint]\nmin-impact = 1\n")
    assert project.run("check", "--no-cache")[0] == 2


def test_a_bad_flag_value_is_a_usage_error(project, capsys):
    project.write("train.py", TRAIN)
    with pytest.raises(SystemExit) as exit_info:
        project.run("check", "--no-cache", "--min-impact", "huge")
    assert exit_info.value.code == 2
    assert "low" in capsys.readouterr().err


def test_fix_applies_only_the_shown_findings_fixes(project, declared):
    path = project.write("train.py", TRAIN)
    code, out, _ = project.run("check", "--no-cache", "--fix")
    text = path.read_text(encoding="utf-8")
    assert "zero_grad(set_to_none=False)" not in text  # GL406: shown, fixed
    assert "with torch.no_grad()" not in text  # GL402: hidden, left alone
    assert code == 0 and "1 finding below min-impact" in out
    project.run("check", "--no-cache", "--fix", "--min-impact", "low")
    assert "with torch.no_grad()" in path.read_text(encoding="utf-8")


def test_statistics_count_the_shown_findings(project, declared):
    project.write("train.py", TRAIN)
    code, out, err = project.run("check", "--no-cache", "--statistics")
    assert code == 1
    assert "GL406" in out and "GL402" not in out
    assert "1 finding below min-impact 'medium' not shown" in err


# -- outputs --------------------------------------------------------------------------------------


def test_json_findings_carry_their_impact_and_the_summary_the_count(project, declared):
    project.write("train.py", TRAIN)
    code, out, _ = project.run("check", "--no-cache", "--format", "json", "--min-impact", "low")
    assert code == 1
    found = {f["code"]: f for f in json.loads(out)}
    impact = found["GL402"]["impact"]
    assert impact["level"] == "low" and impact["kind"] == "estimated" and impact["frequency"] == "run-wide"
    assert impact["estimated_saving"] == {"low": 0.001, "high": 0.005, "unit": "share of run energy"}
    assert impact["basis"].startswith("size 0.1-0.5 % (of the evaluation's time; test figure)")
    code, out, err = project.run("check", "--no-cache", "--format", "json")
    assert code == 1
    assert isinstance(json.loads(out), list)  # the list shape is kept; the count goes to the summary
    assert "1 finding below min-impact 'medium' not shown" in err


def test_sarif_results_carry_impact_and_the_run_the_hidden_count(project, declared):
    project.write("train.py", TRAIN)
    code, out, _ = project.run("check", "--no-cache", "--format", "sarif")
    assert code == 1
    run = json.loads(out)["runs"][0]
    assert run["properties"] == {"minImpact": "medium", "hiddenBelowMinImpact": 1, "hiddenPreview": 0}
    (result,) = run["results"]
    assert result["ruleId"] == "GL406" and result["properties"]["impact"]["level"] == "medium"


def test_hidden_sentence():
    low = Finding("GL402", "m", "a.py", *(2 * [None]), impact=estimate(SMALL))  # type: ignore[arg-type]
    medium = Finding("GL406", "m", "a.py", *(2 * [None]), impact=estimate(MEDIUM))  # type: ignore[arg-type]
    assert hidden_sentence([], "medium") is None
    assert hidden_sentence([medium, low, low], "high") == (
        "3 findings below min-impact 'high' not shown (--min-impact low shows them)."
    )
    assert hidden_sentence([medium], "high") == "1 finding below min-impact 'high' not shown (--min-impact medium shows it)."


def test_rule_shows_its_impact_basis(project, declared):
    code, out, _ = project.run("rule", "GL406")
    assert code == 0
    assert ("How much it matters. Estimated, not measured. The waste is 2-6 % of the energy of the code it affects "
            "(of the step's time; test figure); that code usually runs every-step (frequency weight 1, an assumption). "
            "At that frequency a finding is estimated to save 2-6 % of the run's energy: impact medium.") in out
    code, out, _ = project.run("rule", "GL406", "--format", "json")
    assert code == 0
    data = json.loads(out)["impact"]
    assert data == rule_impact_json(MEDIUM)
    assert data["size"] == {"low": 0.02, "high": 0.06, "basis": "of the step's time; test figure"}
    assert data["frequency"] == "every-step" and data["at_default_frequency"]["level"] == "medium"


def test_rule_without_impact_says_it_is_not_estimated(project, monkeypatch):
    monkeypatch.setattr(type(get_rule("GL402")), "impact", None)
    code, out, _ = project.run("rule", "GL402")
    assert code == 0
    assert "How much it matters. Not estimated" in out
    assert json.loads(project.run("rule", "GL402", "--format", "json")[1])["impact"] is None
    assert rule_impact_sentence(None).startswith("Not estimated")


def test_every_rule_declares_its_impact_explicitly():
    """Issue 14: every rule says how much its waste matters, or says explicitly (impact = None) that
    no quantified source exists, so `greenlint rule CODE` always shows an impact basis."""
    from greenlint.rules import ALL_RULES
    from greenlint.rules.impact_estimate import rule_impact_sentence

    undeclared = [r.code for r in ALL_RULES if not r.engine_reported and "impact" not in type(r).__dict__]
    assert undeclared == []
    for rule in ALL_RULES:
        if not rule.engine_reported:
            assert rule.impact is None or isinstance(rule.impact, RuleImpact)
            assert rule_impact_sentence(rule.impact)
