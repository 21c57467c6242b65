"""Edges that an audit found (issue 17): pathological input, bad cache entries, cache folders that
are not greenlint's, unreadable folders. Each test failed before the fix it guards."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GPU_TRAINING
from greenlint.engine import LintRequest, lint_request
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)
DEEP_BRACKETS = "x = " + "(" * 2500 + "1" + ")" * 2500 + "\n"


# --- item 8: nesting that overflows libcst's native parser --------------------------------------

_DEEP_SCRIPT = r"""
import json, sys
from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES
cases = {
    # no rule's trigger words: the syntax-only path
    "brackets": "x = " + "(" * 2500 + "1" + ")" * 2500 + "\n",
    # trigger words: the libcst path
    "brackets_training": "import torch\nmodel.cuda()\nloss.backward()\nopt.step()\n"
                         "x = " + "[" * 3000 + "]" * 3000 + "\n",
    "unary": "import torch\nx.cuda()\nloss.backward()\nopt.step()\ny = " + "-" * 20000 + "1\n",
    "attributes": "import torch\nx.cuda()\nloss.backward()\nopt.step()\ny = a" + ".b" * 20000 + "\n",
    "ternary": "x = " + " if c else ".join(["a"] * 20000) + "\n",
}
out = {}
for name, text in cases.items():
    out[name] = [(f.code, f.location.row, f.message) for f in lint_source(text.encode(), "deep.py", frozenset(ALL_CODES))]
print(json.dumps(out))
"""


def test_nesting_that_crashes_libcst_is_a_syntax_error_not_a_segfault():
    result = subprocess.run([sys.executable, "-c", _DEEP_SCRIPT], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    found = json.loads(result.stdout)
    for name, findings in found.items():
        # CPython rejects each of these files; so does greenlint, with Python's reason
        assert [code for code, _, _ in findings] == ["GL001"], (name, findings)
    assert "too many nested parentheses" in found["brackets"][0][2]
    assert found["brackets_training"][0][1] == 5


def test_deeply_nested_file_among_many_does_not_end_the_run(tmp_path):
    for i in range(9):
        (tmp_path / f"train_{i}.py").write_text(GPU_TRAINING)
    (tmp_path / "deep.py").write_text(DEEP_BRACKETS)
    result = subprocess.run(
        [sys.executable, "-m", "greenlint", "check", "--no-cache", "-j", "2", "--format", "json", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)
    assert [(f["filename"], f["code"]) for f in findings if f["filename"] == "deep.py"] == [("deep.py", "GL001")]
    assert {f["filename"] for f in findings} == {"deep.py", *(f"train_{i}.py" for i in range(9))}


# --- item 9: a notebook whose JSON nests deeper than the recursion limit -------------------------

def _deep_notebook() -> bytes:
    depth = sys.getrecursionlimit() * 20
    return ('{"cells": [], "metadata": {"x": ' + "[" * depth + "]" * depth + "}}").encode()


def test_deeply_nested_notebook_json_is_one_finding():
    findings = lint_request(LintRequest(Path("deep.ipynb"), "deep.ipynb", _deep_notebook(), ALL))
    assert [f.code for f in findings] == ["GL003"]
    assert "nested" in findings[0].message


def test_deeply_nested_notebook_does_not_end_the_run(project):
    (project.root / "deep.ipynb").write_bytes(_deep_notebook())
    project.write("train.py", GPU_TRAINING)
    code, out, err = project.run("check", "--no-cache", "--exit-zero", "--format", "json", ".")
    assert code == 0, err
    assert min({(f["filename"], f["code"]) for f in json.loads(out)}) == ("deep.ipynb", "GL003")
    assert any(f["filename"] == "train.py" for f in json.loads(out))


def test_deeply_nested_notebook_with_fix(project):
    (project.root / "deep.ipynb").write_bytes(_deep_notebook())
    code, _, err = project.run("check", "--fix", "--exit-zero", ".")
    assert code == 0, err
    assert (project.root / "deep.ipynb").read_bytes() == _deep_notebook()


# --- item 10: an unreadable sub-folder ------------------------------------------------------------

def _lock(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """What a folder with mode 000 does for a user who is not root (the suite may run as root)."""
    real_stat, real_scandir = os.stat, os.scandir
    prefix = str(locked) + os.sep

    def denied(path: object) -> OSError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    def stat(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(prefix):
            raise denied(path)
        return real_stat(path, *args, **kwargs)

    def scandir(path="."):
        if os.fspath(path).rstrip(os.sep) == str(locked):
            raise denied(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_sub_folder_is_skipped_with_a_warning(project, monkeypatch):
    project.write("train.py", GPU_TRAINING)
    project.write("locked/inner.py", GPU_TRAINING)
    _lock(monkeypatch, (project.root / "locked").resolve())
    code, out, err = project.run("check", "--no-cache", "--format", "json", ".")
    assert code == 1, err
    assert {f["filename"] for f in json.loads(out)} == {"train.py"}
    assert "locked" in err and "Permission denied" in err and "skipped" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a mode-000 folder")
def test_mode_000_sub_folder_is_skipped_with_a_warning(project):
    project.write("train.py", GPU_TRAINING)
    locked = project.root / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        code, _, err = project.run("check", "--no-cache", "--format", "json", ".")
    finally:
        locked.chmod(0o755)
    assert code == 1, err
    assert "locked" in err and "skipped" in err


# --- item 12: the cache key includes the displayed path ---------------------------------------------

def test_cached_result_depends_on_the_displayed_path(project, monkeypatch):
    project.write("pyproject.toml", "[tool.greenlint]\n")
    project.write("tests/train.py", GPU_TRAINING)
    # shown as "train.py" from inside tests/: not a test file, the energy rules report
    monkeypatch.chdir(project.root / "tests")
    inside = project.findings("train.py")
    assert inside
    # shown as "tests/train.py" from the root: a test file, so the energy rules stay silent
    monkeypatch.chdir(project.root)
    assert project.findings("tests/train.py") == project.findings("--no-cache", "tests/train.py") == []
    monkeypatch.chdir(project.root / "tests")
    assert project.findings("train.py") == inside


# --- item 13: a cache entry that is valid JSON but the wrong shape ---------------------------------

def _mutations(finding: dict) -> list:
    return [
        [finding, ["a", "list"]],
        [{**finding, "code": 7}],
        [{**finding, "location": "1:1"}],
        [{**finding, "location": {"row": "1", "column": 1}}],
        [{**finding, "location": {"row": True, "column": 1}}],
        [{**finding, "end_location": {"row": 1}}],
        [{**finding, "fix": ["not", "a", "fix"]}],
        [{**finding, "fix": {"message": "m", "applicability": "safe", "edits": [5]}}],
        [{**finding, "fix": {"message": "m", "applicability": "safe", "edits": {"a": 1}}}],
        [{**finding, "noqa_row": "x"}],
        [{**finding, "cell": "one"}],
        "findings",
        {"a": "dict"},
        None,
    ]


@pytest.mark.parametrize("index", range(len(_mutations({}))))
def test_wrong_shaped_cache_entry_is_a_miss(project, index):
    path = project.write("train.py", GPU_TRAINING)
    fresh = project.findings()
    (cache_file,) = (project.root / ".greenlint_cache").glob("results-*.json")
    data = json.loads(cache_file.read_text())
    entry = data["files"][str(path.resolve())]
    entry["findings"] = _mutations(entry["findings"][0])[index]
    cache_file.write_text(json.dumps(data))
    code, out, err = project.run("check", "--format", "json", ".")
    assert code == 1, err
    assert json.loads(out) == fresh


@pytest.mark.parametrize("entry", [["list"], "text", {"hash": 5, "findings": []}, {"findings": []}])
def test_wrong_shaped_file_entry_is_a_miss(project, entry):
    path = project.write("train.py", GPU_TRAINING)
    fresh = project.findings()
    (cache_file,) = (project.root / ".greenlint_cache").glob("results-*.json")
    data = json.loads(cache_file.read_text())
    data["files"][str(path.resolve())] = entry
    cache_file.write_text(json.dumps(data))
    assert project.findings() == fresh
