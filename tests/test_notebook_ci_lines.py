"""Notebook findings in CI formats point at the .ipynb file's own lines (issue 16).

GitHub annotations and SARIF regions are placed on lines of the file as it is in the repository;
a finding's line inside its cell is the wrong line there. The expected line is found
independently here: the line of the JSON file that holds the finding's source text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from greenlint.notebook_lines import NotebookLines

NOTEBOOK = Path(__file__).parent / "data" / "train_notebook.ipynb"


def _file_line_containing(path: Path, source_line: str) -> int:
    """1-based line of the .ipynb text whose JSON string is `source_line`."""
    encoded = json.dumps(source_line, ensure_ascii=False)[1:-1]
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1) if encoded in line]
    assert len(hits) == 1, (source_line, hits)
    return hits[0]


def _cell_line(path: Path, cell: int, row: int) -> str:
    source = json.loads(path.read_text(encoding="utf-8"))["cells"][cell - 1]["source"]
    text = "".join(source) if isinstance(source, list) else source
    return text.splitlines()[row - 1]


@pytest.fixture
def notebook(project) -> Path:
    target = project.root / "train.ipynb"
    shutil.copy(NOTEBOOK, target)
    return target


def _json_findings(project) -> list[dict]:
    code, out, _ = project.run("check", "--no-cache", "--format", "json", "train.ipynb")
    assert code == 1
    return json.loads(out)


def test_github_annotations_use_the_line_in_the_ipynb_file(project, notebook):
    findings = _json_findings(project)
    code, out, _ = project.run("check", "--no-cache", "--format", "github", "train.ipynb")
    assert code == 1
    annotations = out.splitlines()
    assert len(annotations) == len(findings) >= 3
    for finding, annotation in zip(findings, annotations):
        expected = _file_line_containing(notebook, _cell_line(notebook, finding["cell"], finding["location"]["row"]))
        assert expected != finding["location"]["row"]  # the two numbering schemes really differ here
        properties = dict(part.split("=", 1) for part in annotation.split("::")[1].split(" ", 1)[1].split(","))
        assert properties["file"] == "train.ipynb"
        assert int(properties["line"]) == expected, (finding, annotation)
        assert "col" not in properties  # a column in the cell is not a column of the JSON line
        assert properties["title"].startswith(f"{finding['code']} (cell {finding['cell']}%3A{finding['location']['row']}%3A")


def test_sarif_regions_use_the_line_in_the_ipynb_file(project, notebook):
    findings = _json_findings(project)
    code, out, _ = project.run("check", "--no-cache", "--format", "sarif", "train.ipynb")
    assert code == 1
    log = json.loads(out)
    results = log["runs"][0]["results"]
    assert len(results) == len(findings)
    for finding, result in zip(findings, results):
        expected = _file_line_containing(notebook, _cell_line(notebook, finding["cell"], finding["location"]["row"]))
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == expected and region["endLine"] >= expected
        assert "startColumn" not in region
        cell_properties = {key: result["properties"][key] for key in ("cell", "cellLine", "cellColumn")}
        assert cell_properties == {"cell": finding["cell"], "cellLine": finding["location"]["row"],
                                   "cellColumn": finding["location"]["column"]}
        assert result["properties"].get("impact") == finding["impact"]  # beside the cell's (issue 14)
        assert "fixes" not in result  # edits in cell coordinates are no SARIF replacements
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    if "properties" not in schema and "Root" in schema.get("definitions", {}):
        schema = {**schema, "$ref": "#/definitions/Root"}
    assert list(Draft7Validator(schema).iter_errors(log)) == []


def test_a_cell_whose_source_is_one_string_maps_every_row_to_that_string():
    text = '{\n "cells": [\n  {"cell_type": "markdown", "source": ["# t\\n"]},\n  {\n   "cell_type": "code",\n   "source": "import torch\\nx = 1\\n"\n  }\n ]\n}\n'
    lines = NotebookLines(text)
    assert lines.file_line(2, 1) == lines.file_line(2, 2) == 6
    assert lines.file_line(1, 1) == 3
    assert lines.file_line(3, 1) is None  # no such cell


def test_a_notebook_that_changed_since_falls_back_to_its_first_line(tmp_path):
    from greenlint.notebook_lines import NotebookLineCache

    (tmp_path / "gone.ipynb").write_text("not json any more", encoding="utf-8")
    cache = NotebookLineCache()
    assert cache.rows(str(tmp_path / "gone.ipynb"), 2, 3, 3) is None
    assert cache.rows(str(tmp_path / "missing.ipynb"), 2, 3, 3) is None
