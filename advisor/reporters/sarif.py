"""`--format sarif`: SARIF 2.1.0, the format GitHub code scanning (and most CI dashboards) read.

One run; the driver lists every rule greenlint knows (so a result's `ruleIndex` is stable across
runs), and each result points at its file by a URI relative to `%SRCROOT%` (the `root` the caller
passes, normally the working directory and so the repository root in CI). A file outside `root`
keeps an absolute `file://` URI. Rows and columns are 1-based and counted in characters, so the run
declares `columnKind: unicodeCodePoints`; end columns are exclusive, as SARIF wants.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import greenlint
from greenlint.findings import Finding, Location
from greenlint.notebook_lines import NotebookLineCache
from greenlint.reporters.escaping import encodable, uri_path
from greenlint.rules import Rule
from greenlint.rules.docs import rule_markdown

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/greenlint/"
SRCROOT = "%SRCROOT%"
# Problems greenlint has with a file itself (internal error, syntax error, undecodable file).
ERROR_CODES = frozenset({"GL000", "GL001", "GL002"})


def level_of(code: str) -> str:
    return "error" if code in ERROR_CODES else "warning"


def render_sarif(findings: list[Finding], root: Path, run_properties: dict[str, Any] | None = None) -> str:
    """`run_properties`: the run's property bag (how many findings min-impact hid, impact_filter.py)."""
    from greenlint.rules import ALL_RULES  # the rule modules load only when a SARIF log is written

    root = Path(os.path.abspath(root))
    notebooks = NotebookLineCache()
    index = {rule.code: i for i, rule in enumerate(ALL_RULES)}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "greenlint",
                        "version": greenlint.__version__,
                        "semanticVersion": greenlint.__version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_descriptor(rule) for rule in ALL_RULES],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(root)}},
                "columnKind": "unicodeCodePoints",
                "results": [encodable(_result(f, root, index, notebooks)) for f in findings],
            }
        ],
    }
    if run_properties:
        log["runs"][0]["properties"] = run_properties
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _descriptor(rule: Rule) -> dict[str, Any]:
    data = rule.to_json()
    markdown = rule_markdown(rule)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": data["detects"]},
        "help": {"text": markdown, "markdown": markdown},
        "defaultConfiguration": {"level": level_of(rule.code)},
        "properties": {
            "tags": [rule.family],
            "fixApplicability": rule.fix_applicability or "none",
        },
    }


def _result(finding: Finding, root: Path, index: dict[str, int], notebooks: NotebookLineCache) -> dict[str, Any]:
    artifact = _artifact_location(finding.filename, root)
    result: dict[str, Any] = {"ruleId": finding.code}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    result["level"] = level_of(finding.code)
    result["message"] = {"text": finding.message}
    result["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": artifact,
                "region": _region(finding.location, finding.end_location),
            }
        }
    ]
    if finding.impact is not None:  # estimated, never measured (rules/impact_estimate.py)
        result["properties"] = {"impact": finding.impact.to_json()}
    if "cell" in finding.extra:
        _place_in_notebook(result, finding, notebooks)
    elif finding.fix is not None:
        result["fixes"] = [
            {
                "description": {"text": finding.fix.message},
                "artifactChanges": [
                    {
                        "artifactLocation": artifact,
                        "replacements": [
                            {
                                "deletedRegion": _region(edit.location, edit.end_location),
                                "insertedContent": {"text": edit.content},
                            }
                            for edit in finding.fix.edits
                        ],
                    }
                ],
                "properties": {"applicability": finding.fix.applicability},
            }
        ]
    return result


def _place_in_notebook(result: dict[str, Any], finding: Finding, notebooks: NotebookLineCache) -> None:
    """A notebook finding's region is the .ipynb file's lines (what code scanning shows), without
    columns: the cell's columns are not columns of the JSON text. The cell and its line stay in
    `properties`; fixes (edits in cell coordinates) are not offered as SARIF replacements."""
    rows = notebooks.rows(finding.filename, finding.extra["cell"], finding.location.row, finding.end_location.row)
    start, end = rows if rows else (1, 1)
    result["locations"][0]["physicalLocation"]["region"] = {"startLine": start, "endLine": end}
    result.setdefault("properties", {}).update({"cell": finding.extra["cell"], "cellLine": finding.location.row,
                                                "cellColumn": finding.location.column})


def _region(start: Location, end: Location) -> dict[str, int]:
    # A zero-width finding (e.g. GL001 at a position) stays zero-width: endColumn == startColumn.
    return {
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": max(end.row, start.row),
        "endColumn": max(end.column, 1),
    }


def _artifact_location(filename: str, root: Path) -> dict[str, str]:
    """`filename` is the display path: relative to the working directory, or absolute."""
    path = Path(os.path.abspath(filename))
    for candidate, base in ((path, root), (path.resolve(), root.resolve())):
        try:
            relative = candidate.relative_to(base)
        except ValueError:
            continue
        # the name's bytes, percent-encoded: a name that is not UTF-8 still points at its file
        return {"uri": uri_path(PurePosixPath(*relative.parts).as_posix()), "uriBaseId": SRCROOT}
    return {"uri": path.as_uri()}


def _directory_uri(path: Path) -> str:
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"
