"""The engine's promises: bad input becomes a finding, never a crash; user code is never run."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
import hypothesmith

from conftest import GPU_TRAINING, GPU_TRAINING_RULES
from greenlint.engine import is_test_path, lint_source
from greenlint.rules import ALL_CODES, PREVIEW_CODES, get_rule

ALL = frozenset(ALL_CODES)
DEFAULT = ALL - PREVIEW_CODES  # the rules a plain `greenlint check` runs
WITH_GL309 = DEFAULT | {"GL309"}  # GPU_TRAINING's two findings: GL301 (default) and GL309 (preview)


def codes(source: bytes | str) -> list[tuple[str, int]]:
    data = source.encode() if isinstance(source, str) else source
    return [(f.code, f.location.row) for f in lint_source(data, "x.py", WITH_GL309)]


def test_syntax_error_is_gl001_at_its_position():
    assert codes("import torch\n\ndef f(:\n    pass\n") == [("GL001", 3)]


def test_syntax_error_in_a_file_the_prefilter_would_parse():
    assert codes(GPU_TRAINING + "\nfor x in :\n") == [("GL001", 14)]


def test_invalid_utf8_is_gl002_with_position():
    findings = lint_source(b"x = 1\ny = '\xe9t\xe9'\n", "x.py", ALL)
    assert [(f.code, f.location.row, f.location.column) for f in findings] == [("GL002", 2, 6)]
    assert "not valid UTF-8" in findings[0].message


def test_latin1_with_coding_line_is_linted_normally():
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + GPU_TRAINING
    assert codes(source.encode("latin-1")) == [("GL301", 9), ("GL309", 11)]
    assert "# caf\xe9" in source


def test_unknown_codec_is_gl002():
    assert codes(b"# -*- coding: klingon -*-\nx = 1\n") == [("GL002", 1)]


def test_utf8_bom_and_crlf():
    data = codecs.BOM_UTF8 + GPU_TRAINING.replace("\n", "\r\n").encode()
    assert codes(data) == [("GL301", 7), ("GL309", 9)]


def test_null_bytes_and_empty_files_do_not_crash():
    assert codes(b"") == []
    assert [c for c, _ in codes(b"x = 1\x00\n")] == ["GL001"]


def test_rule_exception_is_gl000_and_other_rules_still_run(monkeypatch):
    rule = get_rule("GL301")

    def explode(analysis):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(type(rule), "check", lambda self, analysis: explode(analysis))
    findings = lint_source(GPU_TRAINING.encode(), "x.py", WITH_GL309)
    assert [f.code for f in findings] == ["GL000", "GL309"]
    assert "GL301" in findings[0].message and "boom" in findings[0].message


def test_gl000_makes_the_cli_exit_2(project, monkeypatch):
    monkeypatch.setattr(type(get_rule("GL301")), "check", lambda self, analysis: 1 / 0)
    project.write("train.py", GPU_TRAINING)
    code, out, _ = project.run("check", "--no-cache")
    assert code == 2 and "GL000" in out


def test_static_analysis_never_imports_user_code(tmp_path):
    marker = tmp_path / "imported.txt"
    script = tmp_path / "train.py"
    script.write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n" + GPU_TRAINING
        + "\nimport sitecustomize_side_effect\n",
        encoding="utf-8",
    )
    (tmp_path / "sitecustomize_side_effect.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "greenlint", "check", "--no-cache", *GPU_TRAINING_RULES, "--format", "json", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert {f["code"] for f in json.loads(proc.stdout)} == {"GL301", "GL309"}
    assert not marker.exists()


def test_parallel_and_serial_runs_agree(project):
    for i in range(12):
        project.write(f"pkg/train_{i:02}.py", GPU_TRAINING if i % 2 else "x = 1\n")
    serial = project.findings("--no-cache", *GPU_TRAINING_RULES, "--jobs", "1")
    parallel = project.findings("--no-cache", *GPU_TRAINING_RULES, "--jobs", "2")
    assert serial == parallel
    assert len(serial) == 12


def test_cache_is_used_and_invalidated_by_content(project):
    path = project.write("train.py", GPU_TRAINING)
    first = project.findings(*GPU_TRAINING_RULES)
    assert len(first) == 2
    cache_files = list((project.root / ".greenlint_cache").glob("results-*.json"))
    assert len(cache_files) == 1
    # poison the cached entry: a warm run must return what the cache says
    data = json.loads(cache_files[0].read_text())
    entry = data["files"][str(path.resolve())]
    entry["findings"] = entry["findings"][:1]
    cache_files[0].write_text(json.dumps(data))
    assert len(project.findings(*GPU_TRAINING_RULES)) == 1
    # a content change invalidates the entry
    project.write("train.py", GPU_TRAINING + "\n# edited\n")
    assert project.findings(*GPU_TRAINING_RULES) == first


def test_corrupt_cache_is_ignored(project):
    project.write("train.py", GPU_TRAINING)
    project.findings(*GPU_TRAINING_RULES)
    for cache_file in (project.root / ".greenlint_cache").glob("results-*.json"):
        cache_file.write_bytes(b"\x00not json")
    assert len(project.findings(*GPU_TRAINING_RULES)) == 2


def test_unwritable_cache_dir_is_not_fatal(project):
    project.write("train.py", GPU_TRAINING)
    (project.root / "blocked").write_text("a file, not a directory")
    assert len(project.findings(*GPU_TRAINING_RULES, "--cache-dir", "blocked/cache")) == 2


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(hypothesmith.from_grammar())
def test_no_exception_escapes_the_engine(source):
    findings = lint_source(source.encode("utf-8", "surrogatepass"), "gen.py", ALL)
    assert all(f.code != "GL000" for f in findings), findings


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(hypothesmith.from_node())
def test_no_exception_escapes_the_engine_on_valid_trees(source):
    # from_node() builds syntactically valid modules; prepend training words so rules run on them
    prefix = "import torch\nx.cuda()\nloss.backward()\nopt.step()\nfrom transformers import Trainer\n"
    findings = lint_source((prefix + source).encode("utf-8", "surrogatepass"), "gen.py", ALL)
    assert all(f.code not in ("GL000",) for f in findings), findings


@pytest.mark.parametrize("text", ["def f(:\n", "x = (\n", "class C:\n  def f(self):\n return\n"])
def test_gl001_can_be_ignored(text):
    assert lint_source(text.encode(), "x.py", ALL - {"GL001"}) == []


@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("tests/train_helpers.py", True),
        ("pkg/testing/_internal/common.py", True),
        ("test_train.py", True),
        ("src/model_test.py", True),
        ("tests/conftest.py", True),
        ("train.py", False),
        ("contest.py", False),
        ("testbed/train.py", False),
        ("/home/me/tests/a/b/c/d/project/train.py", False),  # a project that lives under some tests/ folder
    ],
)
def test_test_files_are_recognised_by_path(path, is_test):
    assert is_test_path(path) is is_test


def test_energy_rules_skip_test_files_but_syntax_errors_are_reported():
    from conftest import GPU_TRAINING

    assert {f.code for f in lint_source(GPU_TRAINING.encode(), "train.py", ALL)} >= {"GL301", "GL309"}
    assert lint_source(GPU_TRAINING.encode(), "tests/test_training.py", ALL) == []
    assert [f.code for f in lint_source(b"def broken(:\n", "tests/test_x.py", ALL)] == ["GL001"]
