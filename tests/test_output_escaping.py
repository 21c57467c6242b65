"""File names that are not valid UTF-8 or that carry terminal escape sequences (issue 17, items 16
and 19): every format stays valid (UTF-8, JSON, SARIF) and nothing raw reaches a terminal."""

from __future__ import annotations

import json
import os
import sys

import pytest
from greenlint.reporters.escaping import display_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")

BAD_UTF8 = os.fsdecode(b"bad\xff\xfe.py")  # "bad\udcff\udcfe.py" under surrogateescape
ESCAPE = "evil\x1b[2J\x1b]0;pwned\x07\x9b31m.py"


def _write(project, name: str) -> None:
    (project.root / name).write_bytes(b"def f(:\n")  # one GL001 finding


def test_display_text_escapes_undecodable_bytes_and_control_characters():
    assert display_text("plain/ünïcode.py") == "plain/ünïcode.py"
    assert display_text(BAD_UTF8) == "bad\\xff\\xfe.py"
    assert display_text("a\x1b[31mb\tc\nd\x7f\x9b\u202e.py") == "a\\x1b[31mb\\tc\\nd\\x7f\\x9b\\u202e.py"


def test_json_output_is_valid_utf8_for_a_name_that_is_not(project):
    _write(project, BAD_UTF8)
    code, out, err = project.run("check", "--no-cache", "--format", "json", ".")
    assert code == 1, err
    out.encode("utf-8")  # strict: no lone surrogates
    (finding,) = json.loads(out)
    assert finding["filename"] == "bad\\xff\\xfe.py"


def test_sarif_output_percent_encodes_a_name_that_is_not_utf8(project):
    _write(project, BAD_UTF8)
    code, out, err = project.run("check", "--no-cache", "--format", "sarif", ".")
    assert code == 1, err
    out.encode("utf-8")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad%FF%FE.py"


def test_sarif_output_to_a_file(project):
    _write(project, BAD_UTF8)
    code, _, err = project.run("check", "--no-cache", "--format", "sarif", "-o", "out.sarif", ".")
    assert code == 1, err
    json.loads((project.root / "out.sarif").read_text(encoding="utf-8"))


@pytest.mark.parametrize("extra", [(), ("--quiet",), ("--format", "github")])
def test_text_output_never_prints_a_name_raw(project, extra):
    _write(project, ESCAPE)
    _write(project, BAD_UTF8)
    code, out, err = project.run("check", "--no-cache", *extra, ".")
    assert code == 1, err
    out.encode("utf-8")
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in out
    assert "evil\\x1b[2J" in out
    assert "bad\\xff\\xfe.py" in out


def test_warnings_about_unreadable_files_escape_the_name(project):
    name = "gone\x1b[31m.py"
    (project.root / name).symlink_to(project.root / "missing-target.py")
    _, _, err = project.run("check", "--no-cache", name)
    assert "\x1b" not in err
    assert "gone\\x1b[31m.py" in err
