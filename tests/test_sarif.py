"""`render_sarif`: valid SARIF 2.1.0 (checked against the OASIS schema), every rule described,
URIs relative to the source root, regions as greenlint reports them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

import greenlint
from greenlint.engine import lint_source
from greenlint.findings import Edit, Finding, Fix, Location
from greenlint.reporters import FORMATS, render_sarif
from greenlint.rules import ALL_CODES, ALL_RULES
from greenlint.rules.docs import rule_markdown

from conftest import GPU_TRAINING

ALL = frozenset(ALL_CODES)
_SCHEMA_NAME = "sarif-schema-2.1.0.json"
_SCHEMA_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "schemas" / _SCHEMA_NAME,
    Path(__file__).resolve().parent / "data" / _SCHEMA_NAME,  # a copy, so CI needs no ../shared
)


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    for candidate in _SCHEMA_CANDIDATES:
        if candidate.is_file():
            schema = json.loads(candidate.read_text(encoding="utf-8"))
            break
    else:
        pytest.fail(f"SARIF schema not found at any of {[str(c) for c in _SCHEMA_CANDIDATES]}")
    Draft7Validator.check_schema(schema)
    # This copy of the OASIS schema keeps the log object's schema in `definitions/Root` and puts no
    # constraint at the top level, so validating against the document as-is accepts anything.
    # Point the root at that definition (in draft 7 a `$ref` replaces its siblings).
    if "properties" not in schema and "Root" in schema.get("definitions", {}):
        schema = {**schema, "$ref": "#/definitions/Root"}
    return Draft7Validator(schema)


def _findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    """Findings as `greenlint check` makes them: display paths relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    findings = []
    for name, text in (
        ("train.py", GPU_TRAINING),
        ("sub dir/broken.py", "print 'python 2'\n"),
        ("sub dir/latin.py", None),
    ):
        data = text.encode() if text is not None else b'x = "\xff"\n'
        findings += lint_source(data, name, ALL)
    return findings


def _errors(validator: Draft7Validator, log: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def test_formats_list_sarif() -> None:
    assert "sarif" in FORMATS


def test_the_validator_rejects_a_broken_log(tmp_path: Path, validator: Draft7Validator) -> None:
    """Guards against a vacuous schema check."""
    finding = Finding("GL101", "m", "t.py", Location(1, 1), Location(1, 2))
    log = json.loads(render_sarif([finding], tmp_path))
    assert _errors(validator, log) == []
    result = log["runs"][0]["results"][0]
    result["level"] = "fatal"
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    log["runs"][0]["tool"]["driver"]["rules"][0]["unexpected"] = True
    assert len(_errors(validator, log)) == 3
    assert _errors(validator, {"version": "2.1.0"})  # runs is required


def test_sarif_is_valid_against_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validator: Draft7Validator) -> None:
    findings = _findings(tmp_path, monkeypatch)
    assert {f.code for f in findings} >= {"GL301", "GL309", "GL001", "GL002"}
    log = json.loads(render_sarif(findings, tmp_path))
    assert _errors(validator, log) == []
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_no_findings_is_still_a_valid_log(tmp_path: Path, validator: Draft7Validator) -> None:
    log = json.loads(render_sarif([], tmp_path))
    assert _errors(validator, log) == []
    assert log["runs"][0]["results"] == []
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == len(ALL_RULES)


def test_driver_describes_every_rule(tmp_path: Path) -> None:
    driver = json.loads(render_sarif([], tmp_path))["runs"][0]["tool"]["driver"]
    assert driver["name"] == "greenlint"
    assert driver["version"] == greenlint.__version__
    assert driver["informationUri"] == "https://pypi.org/project/greenlint/"
    assert [d["id"] for d in driver["rules"]] == [r.code for r in ALL_RULES]
    for descriptor, rule in zip(driver["rules"], ALL_RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"] == rule.to_json()["detects"]
        assert descriptor["help"]["markdown"] == rule_markdown(rule)
        assert descriptor["help"]["text"]
        assert descriptor["properties"]["tags"] == [rule.family]
        assert descriptor["properties"]["fixApplicability"] == (rule.fix_applicability or "none")


def test_results_point_at_rules_files_and_regions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    findings = _findings(tmp_path, monkeypatch)
    run = json.loads(render_sarif(findings, tmp_path))["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(findings)
    for result, finding in zip(run["results"], findings):
        assert result["ruleId"] == finding.code
        assert rules[result["ruleIndex"]]["id"] == finding.code
        assert result["level"] == ("error" if finding.code in {"GL000", "GL001", "GL002"} else "warning")
        assert result["message"]["text"] == finding.message
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert physical["region"] == {
            "startLine": finding.location.row,
            "startColumn": finding.location.column,
            "endLine": finding.end_location.row,
            "endColumn": finding.end_location.column,
        }
    uris = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris["GL309"] == "train.py"
    assert uris["GL001"] == "sub%20dir/broken.py"  # a relative URI reference: POSIX slashes, percent-encoded
    assert uris["GL002"] == "sub%20dir/latin.py"
    gl309 = next(r for r in run["results"] if r["ruleId"] == "GL309")
    assert gl309["locations"][0]["physicalLocation"]["region"] == {"startLine": 9, "startColumn": 13, "endLine": 9, "endColumn": 27}


def test_root_below_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    findings = lint_source(GPU_TRAINING.encode(), "project/src/train.py", ALL)
    run = json.loads(render_sarif(findings, tmp_path / "project"))["runs"][0]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {"src/train.py"}


def test_file_outside_root_keeps_an_absolute_file_uri(tmp_path: Path, validator: Draft7Validator) -> None:
    outside = tmp_path / "elsewhere" / "train.py"
    findings = lint_source(GPU_TRAINING.encode(), str(outside), ALL)
    log = json.loads(render_sarif(findings, tmp_path / "project"))
    assert _errors(validator, log) == []
    for result in log["runs"][0]["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": outside.as_uri()}
        assert artifact["uri"].startswith("file:///")


def test_fixes_become_sarif_replacements(tmp_path: Path, validator: Draft7Validator) -> None:
    edit = Edit("with torch.autocast('cuda'):\n", Location(8, 1), Location(8, 1))
    finding = Finding(
        "GL101", "float32", str(tmp_path / "t.py"), Location(7, 5), Location(7, 21),
        fix=Fix("wrap in autocast", "unsafe", (edit,)),
    )
    log = json.loads(render_sarif([finding], tmp_path))
    assert _errors(validator, log) == []
    (fix,) = log["runs"][0]["results"][0]["fixes"]
    assert fix["description"]["text"] == "wrap in autocast"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "t.py", "uriBaseId": "%SRCROOT%"}
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 8, "startColumn": 1, "endLine": 8, "endColumn": 1},
            "insertedContent": {"text": "with torch.autocast('cuda'):\n"},
        }
    ]


def test_schema_copy_matches_shared_reference() -> None:
    shared, local = _SCHEMA_CANDIDATES
    if not shared.is_file():
        pytest.skip("../shared/schemas is not beside this checkout")
    assert local.read_bytes() == shared.read_bytes()
