"""What a person reads in the terminal (issue 16): wrapping, `greenlint rule`, `greenlint rules`,
"did you mean", `profile -- SCRIPT`, and a summary line whatever the format."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from greenlint.cli import build_parser
from greenlint.cli_parsing import parse_arguments
from greenlint.findings import Finding, Fix, Location
from greenlint.reporters.text import fix_sentences, render_plain, summary_line
from greenlint.rules import get_rule
from greenlint.terminal import Console

from conftest import GPU_TRAINING, GPU_TRAINING_RULES

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PARAGRAPH = ("estimated: the energy attributed to line 48 (2.1 J, 21.6% of the samples) x (n - 1) / n with "
             "n = 300 iterations (one per training step); a loop-invariant load: the work is the same every "
             "time, so all runs but the first are saved; over the projected run: x 15 = 300 total steps")


def _greenlint(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "greenlint", *args], capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=120)


def _words_intact(paragraph: str, rendered: str) -> bool:
    """Every word of the paragraph appears whole in the rendered text, in order."""
    words = ANSI.sub("", rendered).split()
    return words == paragraph.split()


@pytest.mark.parametrize("soft_wrap", [True, False, None])
def test_on_a_terminal_text_wraps_at_word_boundaries_to_its_width(soft_wrap):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=60, color_system=None)
    kwargs = {} if soft_wrap is None else {"soft_wrap": soft_wrap}
    console.print(PARAGRAPH, style="dim", highlight=False, markup=False, **kwargs)
    lines = out.getvalue().rstrip("\n").split("\n")
    assert len(lines) > 3 and all(len(line) <= 60 for line in lines)
    assert _words_intact(PARAGRAPH, out.getvalue())


def test_piped_text_is_never_wrapped():
    out = io.StringIO()
    console = Console(file=out, width=80)  # not a terminal: a pipe or a file
    console.print(PARAGRAPH, style="dim", highlight=False, markup=False)
    assert out.getvalue() == PARAGRAPH + "\n"


def test_rule_piped_is_plain_text_one_paragraph_per_line(tmp_path):
    proc = _greenlint(tmp_path, "rule", "GL302")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("GL302 per-example-tokenization\n")
    assert "**" not in out and "```" not in out and "\x1b[" not in out
    detects = get_rule("GL302").to_json()["detects"]
    assert f"What it detects. {detects}\n" in out  # one line, however long (> 80 characters)
    assert len(detects) > 80
    assert "\n    def tokenize(example):\n" in out  # code indented, not fenced


def test_rule_on_a_terminal_is_rendered_markdown_wrapped_to_the_width(tmp_path):
    proc = _greenlint(tmp_path, "rule", "GL302", env={"TTY_COMPATIBLE": "1", "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr
    text = ANSI.sub("", proc.stdout)
    assert "**What it detects.**" not in text and "```" not in text
    lines = text.rstrip("\n").split("\n")
    assert all(len(line) <= 120 for line in lines), max(lines, key=len)
    detects = get_rule("GL302").to_json()["detects"]
    start = text.index("What it detects.")
    rendered = " ".join(text[start:].split())
    # no word broken (rich shows `code` as styled text, without the backticks)
    assert rendered.startswith(" ".join(f"What it detects. {detects}".replace("`", "").split()))


def test_rules_piped_columns_align_whatever_the_longest_name(tmp_path):
    proc = _greenlint(tmp_path, "rules")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    starts = set()
    for line in lines:
        code = line[:5]
        rule = get_rule(code)
        assert line[7:].startswith(rule.name)
        starts.add(line.index(rule.summary))
    assert len(lines) > 40 and len(starts) == 1  # every summary starts in the same column


def test_rules_on_a_terminal_fit_its_width(tmp_path):
    proc = _greenlint(tmp_path, "rules", env={"TTY_COMPATIBLE": "1", "COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    lines = ANSI.sub("", proc.stdout).rstrip("\n").split("\n")
    assert all(len(line) <= 100 for line in lines)
    assert any(line.startswith("GL101") for line in lines)


@pytest.mark.parametrize(("args", "usage", "suggestion"), [
    (["check", "--fromat", "json"], "usage: greenlint check", "did you mean '--format'?"),
    (["check", "--fromat=json"], "usage: greenlint check", "did you mean '--format'?"),
    (["chek", "."], "usage: greenlint", "did you mean 'check'?"),
    (["check", "--format", "jsno"], "usage: greenlint check", "did you mean 'json'?"),
    (["--verison"], "usage: greenlint", "did you mean '--version'?"),
])
def test_did_you_mean(args, usage, suggestion, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(build_parser(), args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and suggestion in err


def test_unknown_rule_suggests_the_closest_code(project):
    code, _, err = project.run("rule", "GL31")
    assert code == 2 and "did you mean GL3" in err


@pytest.mark.parametrize(("argv", "script", "module"), [
    (["profile", "--", "train.py", "--lr", "1"], ["train.py", "--lr", "1"], None),
    (["profile", "--steps", "3", "--", "train.py"], ["train.py"], None),
    (["profile", "train.py", "--", "a"], ["train.py", "--", "a"], None),  # the script's own `--` stays
    (["profile", "--", "-m", "pkg.train", "x"], [], ["pkg.train", "x"]),
])
def test_profile_accepts_a_double_dash_before_the_script(argv, script, module):
    args = parse_arguments(build_parser(), argv)
    assert args.script == script and args.module == module


def test_profile_double_dash_runs_the_script(tmp_path):
    (tmp_path / "hello.py").write_text("import sys\nprint('hello', sys.argv[1:])\n", encoding="utf-8")
    proc = _greenlint(tmp_path, "profile", "--no-html", "--no-advice", "--", "hello.py", "--flag")
    assert proc.returncode == 0, proc.stderr
    assert "hello ['--flag']" in proc.stdout and "no such file" not in proc.stderr


def _finding(applicability: str | None) -> Finding:
    fix = Fix("do it", applicability, ()) if applicability else None
    return Finding("GL301", "message", "train.py", Location(1, 1), Location(1, 2), fix=fix)


def test_fixes_that_need_unsafe_fixes_are_never_called_fixable_with_fix():
    unsafe_only = [_finding("unsafe"), _finding("unsafe")]
    assert [s for s, _ in fix_sentences(unsafe_only, unsafe=False)] == [
        "2 hidden fixes can be enabled with the `--unsafe-fixes` option (they change numerics or behaviour)."]
    assert fix_sentences(unsafe_only, unsafe=True) == [
        ("2 fixable with `--fix --unsafe-fixes` (they change numerics or behaviour).", True)]
    mixed = [_finding("safe"), _finding("unsafe"), _finding(None)]
    assert [s for s, _ in fix_sentences(mixed, unsafe=False)] == [
        "1 fixable with the `--fix` option.",
        "1 hidden fix can be enabled with the `--unsafe-fixes` option (they change numerics or behaviour)."]
    out = io.StringIO()
    render_plain(mixed, out, 3, unsafe=False)
    assert "[*] 1 fixable with the `--fix` option.\n1 hidden fix can be enabled" in out.getvalue()
    assert summary_line([], 4) == "All checks passed! (4 files)"
    assert summary_line(mixed, 3).startswith("Found 3 findings in 1 of 3 files. 1 fixable with the `--fix` option.")


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_machine_formats_on_stdout_say_the_summary_on_stderr(project, output_format):
    project.write("train.py", GPU_TRAINING)
    code, out, err = project.run("check", "--no-cache", *GPU_TRAINING_RULES, "--format", output_format)
    assert code == 1
    assert err == "Found 2 findings in 1 of 1 files. 2 hidden fixes can be enabled with the `--unsafe-fixes` option (they change numerics or behaviour).\n"
    assert "Found" not in out
    if output_format != "github":
        json.loads(out)


def test_a_report_in_a_file_leaves_the_summary_on_stdout(project):
    project.write("train.py", GPU_TRAINING)
    code, out, err = project.run("check", "--no-cache", *GPU_TRAINING_RULES, "--output", "report.txt")
    assert code == 1 and err == ""
    assert out.startswith("Found 2 findings in 1 of 1 files.") and out.rstrip().endswith("Report: report.txt")
    assert "train.py:9:13: GL309 " in (project.root / "report.txt").read_text(encoding="utf-8")


def test_quiet_prints_findings_only(project):
    project.write("train.py", GPU_TRAINING)
    code, out, err = project.run("check", "--no-cache", *GPU_TRAINING_RULES, "--quiet", "--format", "json")
    assert code == 1 and err == ""
    code, out, err = project.run("check", "--no-cache", *GPU_TRAINING_RULES, "--quiet")
    assert "Found" not in out and out.count("\n") == 2


def test_clean_machine_format_run_says_so(project):
    project.write("ok.py", "x = 1\n")
    code, out, err = project.run("check", "--no-cache", "--format", "json")
    assert code == 0 and json.loads(out) == [] and err == "All checks passed! (1 file)\n"


def test_check_on_a_terminal_is_coloured_and_wrapped(tmp_path):
    (tmp_path / "train.py").write_text(GPU_TRAINING, encoding="utf-8")
    proc = _greenlint(tmp_path, "check", "--no-cache", *GPU_TRAINING_RULES, "train.py", env={"TTY_COMPATIBLE": "1", "COLUMNS": "80"})
    assert proc.returncode == 1, proc.stderr
    assert "\x1b[" in proc.stdout  # rich's colours: this is the terminal path, not render_plain
    text = ANSI.sub("", proc.stdout)
    assert "train.py:9:13: GL309 " in " ".join(text.split("\n"))
    assert all(len(line) <= 80 for line in text.split("\n"))
    assert "2 hidden fixes can be enabled with the `--unsafe-fixes` option" in " ".join(text.split())
