"""`render_github`: GitHub Actions workflow commands (annotations), escaped as @actions/core does."""

from __future__ import annotations

from greenlint.engine import lint_source
from greenlint.findings import Finding, Location
from greenlint.reporters import FORMATS, render_github
from greenlint.reporters.github import escape_data, escape_property
from greenlint.rules import ALL_CODES, PREVIEW_CODES

from conftest import GPU_TRAINING

ALL = frozenset(ALL_CODES)
DEFAULT = ALL - PREVIEW_CODES  # the rules a plain `greenlint check` runs
WITH_GL309 = DEFAULT | {"GL309"}  # GPU_TRAINING's two findings: GL301 (default) and GL309 (preview)


def test_formats_list_github() -> None:
    assert "github" in FORMATS


def test_one_annotation_per_finding() -> None:
    findings = lint_source(GPU_TRAINING.encode(), "src/train.py", WITH_GL309)
    out = render_github(findings)
    lines = out.splitlines()
    assert out.endswith("\n") and len(lines) == len(findings) == 2
    gl309 = next(line for line in lines if "title=GL309" in line)
    assert gl309.startswith("::warning file=src/train.py,line=9,col=13,endLine=9,endColumn=27,title=GL309::")
    assert "`weights.cuda()` copies the same tensor to the GPU on every epoch" in gl309


def test_file_problems_are_errors() -> None:
    (finding,) = lint_source(b"print 'python 2'\n", "old.py", ALL)
    assert finding.code == "GL001"
    assert render_github([finding]).startswith("::error file=old.py,line=1,col=1,endLine=1,endColumn=1,title=GL001::syntax error")


def test_no_findings_no_output() -> None:
    assert render_github([]) == ""


def test_escaping_of_properties_and_data() -> None:
    finding = Finding(
        "GL301",
        "100% slower: a, b\r\nsecond line",
        "dir,with:odd%name.py",
        Location(3, 4),
        Location(5, 6),
    )
    (line,) = render_github([finding]).splitlines()
    assert line == (
        "::warning file=dir%2Cwith%3Aodd%25name.py,line=3,col=4,endLine=5,endColumn=6,title=GL301"
        "::100%25 slower: a, b%0D%0Asecond line"
    )


def test_escape_functions_match_actions_toolkit() -> None:
    # @actions/core command.ts: escapeData / escapeProperty; "%" first, so nothing is double-escaped
    assert escape_data("a%0Ab\r\n:,") == "a%250Ab%0D%0A:,"
    assert escape_property("a%0Ab\r\n:,") == "a%250Ab%0D%0A%3A%2C"
