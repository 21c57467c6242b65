"""The command line: exit codes, selection, suppression, configuration errors, output formats."""

from __future__ import annotations

import json
import textwrap

from conftest import GPU_TRAINING, GPU_TRAINING_RULES
from greenlint.rules import get_rule


def test_findings_exit_1_and_text_format(project):
    project.write("train.py", GPU_TRAINING)
    code, out, _ = project.run("check", "--no-cache", *GPU_TRAINING_RULES)
    assert code == 1
    assert "train.py:9:13: GL309 " in out
    assert "train.py:7:12: GL301 " in out
    assert "Found 2 findings" in out


def test_clean_exit_0(project):
    project.write("ok.py", "import torch\nx = torch.zeros(3)\n")
    code, out, _ = project.run("check", "--no-cache")
    assert code == 0
    assert "All checks passed" in out


def test_exit_zero(project):
    project.write("train.py", GPU_TRAINING)
    assert project.run("check", "--no-cache", "--exit-zero")[0] == 0


def test_json_shape(project):
    project.write("train.py", GPU_TRAINING)
    findings = project.findings("--no-cache", *GPU_TRAINING_RULES)
    assert [f["code"] for f in findings] == ["GL301", "GL309"]
    first = findings[0]
    assert set(first) >= {"code", "message", "filename", "location", "end_location", "fix"}
    assert first["location"] == {"row": 7, "column": 12}
    assert first["end_location"] == {"row": 7, "column": 34}
    assert first["fix"]["applicability"] == "unsafe"
    assert first["fix"]["edits"][0]["content"] == 'data = torch.load("train.pt")\n'
    assert first["filename"] == "train.py"


def test_select_ignore_prefix_specificity(project):
    project.write("train.py", GPU_TRAINING)
    assert {f["code"] for f in project.findings("--no-cache", "--select", "GL301")} == {"GL301"}
    assert {f["code"] for f in project.findings("--no-cache", *GPU_TRAINING_RULES, "--ignore", "GL309")} == {"GL301"}
    # the more specific selector wins: ignore GL3 but select GL309
    one = project.findings("--no-cache", *GPU_TRAINING_RULES, "--ignore", "GL3", "--extend-select", "GL309")
    assert {f["code"] for f in one} == {"GL309"}


def test_unknown_code_is_usage_error(project):
    project.write("train.py", GPU_TRAINING)
    code, _, err = project.run("check", "--no-cache", "--select", "GL999")
    assert code == 2
    assert "GL999" in err


def test_missing_path_is_usage_error(project):
    code, _, err = project.run("check", "nope.py")
    assert code == 2
    assert "nope.py" in err


def test_noqa_specific_and_bare(project):
    source = GPU_TRAINING.replace('data = torch.load("train.pt")', 'data = torch.load("train.pt")  # noqa: GL301')
    source = source.replace("w = weights.cuda()", "w = weights.cuda()  # noqa")
    project.write("train.py", source)
    assert project.findings("--no-cache", *GPU_TRAINING_RULES) == []
    # a noqa for another code does not suppress
    project.write("train.py", GPU_TRAINING.replace('"train.pt")', '"train.pt")  # noqa: GL309'))
    assert {f["code"] for f in project.findings("--no-cache", *GPU_TRAINING_RULES)} == {"GL301", "GL309"}


def test_config_in_pyproject(project):
    project.write("pyproject.toml", '[tool.greenlint]\nignore = ["GL309"]\n')
    project.write("train.py", GPU_TRAINING)
    assert {f["code"] for f in project.findings("--no-cache")} == {"GL301"}


def test_greenlint_toml_and_per_file_ignores(project):
    project.write("greenlint.toml", 'preview = true\nignore = ["GL101"]\n[per-file-ignores]\n"scripts/*.py" = ["GL301"]\n')
    project.write("scripts/train.py", GPU_TRAINING)
    project.write("train.py", GPU_TRAINING)
    findings = project.findings("--no-cache")
    assert sorted((f["filename"], f["code"]) for f in findings) == [
        ("scripts/train.py", "GL309"),
        ("train.py", "GL301"),
        ("train.py", "GL309"),
    ]


def test_unknown_config_key_names_file_and_key(project):
    project.write("pyproject.toml", '[tool.greenlint]\nselct = ["GL1"]\n')
    project.write("train.py", GPU_TRAINING)
    code, _, err = project.run("check")
    assert code == 2
    assert "pyproject.toml" in err and "tool.greenlint.selct" in err


def test_broken_toml_is_usage_error(project):
    project.write("greenlint.toml", "select = [GL1\n")
    project.write("train.py", GPU_TRAINING)
    code, _, err = project.run("check")
    assert code == 2
    assert "greenlint.toml" in err and "invalid TOML" in err


def test_wrong_type_and_unknown_code_in_config(project):
    project.write("greenlint.toml", 'ignore = "GL101"\nselect = ["GL7"]\n')
    code, _, err = project.run("check")
    assert code == 2
    assert "`select`" in err and "GL7" in err


def test_isolated_ignores_config(project):
    project.write("greenlint.toml", 'ignore = ["GL"]\n')
    project.write("train.py", GPU_TRAINING)
    assert len(project.findings("--no-cache", "--isolated", *GPU_TRAINING_RULES)) == 2


def test_statistics_and_output_file(project):
    project.write("train.py", GPU_TRAINING)
    code, out, _ = project.run("check", "--no-cache", *GPU_TRAINING_RULES, "--statistics")
    assert code == 1
    assert "     1  GL309  loop-invariant-host-to-device-copy" in out
    code, out, _ = project.run("check", "--no-cache", *GPU_TRAINING_RULES, "--format", "json", "--output", "report.json")
    # the report goes to the file; the terminal gets the one-line summary (issue 16)
    assert code == 1 and out.startswith("Found 2 findings in 1 of 1 files.") and out.count("\n") == 1
    assert len(json.loads((project.root / "report.json").read_text())) == 2


def test_rules_listing_and_rule_doc(project):
    code, out, _ = project.run("rules", "--format", "json")
    rules = json.loads(out)
    codes = [r["code"] for r in rules]
    assert {"GL001", "GL002", "GL101", "GL102", "GL201", "GL301"} <= set(codes)
    assert codes == sorted(codes)
    code, out, _ = project.run("rule", "GL101")
    # piped: plain text, not Markdown (tests/test_terminal.py checks both renderings)
    assert code == 0 and out.startswith("GL101 mixed-precision-missing\n") and "Evidence" in out and "**" not in out
    assert project.run("rule", "GL999")[0] == 2


def test_no_command_prints_help_and_exits_2(project):
    assert project.run()[0] == 2


def test_preview_rules_run_only_in_preview_mode(project, monkeypatch):
    import greenlint.selection as selection

    monkeypatch.setattr(selection, "PREVIEW_CODES", frozenset({"GL309"}))
    project.write("train.py", GPU_TRAINING)
    gl3 = ("--no-cache", "--select", "GL3")  # GL309 as the one preview rule; the real ones are left out
    assert {f["code"] for f in project.findings(*gl3)} == {"GL301"}
    assert {f["code"] for f in project.findings(*gl3, "--preview")} == {"GL301", "GL309"}
    project.write("greenlint.toml", "preview = true\n")
    assert {f["code"] for f in project.findings(*gl3)} == {"GL301", "GL309"}
    assert {f["code"] for f in project.findings(*gl3, "--no-preview")} == {"GL301"}


def test_gl101_is_a_preview_rule_that_preview_brings_back(project):
    """Issue 14: GL101 measured 33 % and 4 % blind precision, under the 80 % of the default set. As in
    ruff, naming it is not enough: it runs with --preview (or `preview = true`), alone when selected."""
    project.write("train.py", textwrap.dedent(get_rule("GL101").bad_example))
    # (the example's one small Linear layer is estimated low impact: shown with --min-impact low)
    codes = lambda *args: {f["code"] for f in project.findings("--no-cache", "--min-impact", "low", *args)}  # noqa: E731
    assert "GL101" not in codes()
    code, _, err = project.run("check", "--no-cache", "--min-impact", "low", "--select", "GL101")
    assert code == 0 and "GL101 is a preview rule; selecting it has no effect without --preview" in err
    assert "GL101" in codes("--preview")
    assert codes("--preview", "--select", "GL101") == {"GL101"}
    project.write("greenlint.toml", 'preview = true\nselect = ["GL101"]\n')
    assert codes() == {"GL101"}
    project.write("greenlint.toml", 'select = ["GL101"]\n')
    assert codes("--preview") == {"GL101"} and codes() == set()


def test_selecting_a_preview_rule_without_preview_warns(project, monkeypatch):
    import greenlint.selection as selection

    monkeypatch.setattr(selection, "PREVIEW_CODES", frozenset({"GL301"}))
    project.write("train.py", GPU_TRAINING)
    code, out, err = project.run("check", "--no-cache", "--select", "GL301")
    assert code == 0
    assert "GL301 is a preview rule" in err


def test_preview_must_be_a_boolean(project):
    project.write("greenlint.toml", 'preview = "yes"\n')
    project.write("ok.py", "x = 1\n")
    code, _, err = project.run("check", "--no-cache")
    assert code == 2
    assert "`preview` must be true or false" in err
