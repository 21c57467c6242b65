"""Black-box scenario suite for the first greenlint rules (GL001/GL002/GL101/GL102/GL201/GL301).

Every file in tests/scenarios/ is a realistic training script whose first line is a manifest:

    # greenlint-expect: GL101@41 GL301@23      (code@line, 1-based)
    # greenlint-expect: none

The linter is run on each file in a subprocess; the set of (code, row) it reports for codes
GL000-GL399 must equal the manifest exactly. Codes GL400 and above (future rules) are ignored.
The scenarios are only linted, never executed: no GPU, no network, deterministic.

Each scenario is copied byte-for-byte into a temporary directory and linted there, because the
repository's own pyproject.toml excludes tests/scenarios from linting ([tool.greenlint]
extend-exclude); the copy makes the result independent of that project configuration.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from greenlint.rules import PREVIEW_CODES

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.py"))

MANIFEST_RE = re.compile(r"^#\s*greenlint-expect:\s*(?P<body>.*?)\s*$")
TOKEN_RE = re.compile(r"^(?P<code>GL\d{3})@(?P<line>[1-9]\d*)$")
# The scenarios were labelled for these rules; later rules are tested in tests/rules/.
IN_SCOPE_RE = re.compile(r"^(GL0\d\d|GL101|GL102|GL201|GL301)$")
BOM = b"\xef\xbb\xbf"


def read_manifest(path: Path) -> set[tuple[str, int]]:
    """Parse the first line of a scenario (read as bytes: some scenarios are not valid UTF-8)."""
    with path.open("rb") as fh:
        first = fh.readline()
    if first.startswith(BOM):
        first = first[len(BOM):]
    line = first.decode("ascii").rstrip("\r\n")
    m = MANIFEST_RE.match(line)
    if not m:
        raise ValueError(f"{path.name}: first line is not a greenlint-expect manifest: {line!r}")
    body = m.group("body")
    if body == "none":
        return set()
    expected = set()
    for token in body.split():
        t = TOKEN_RE.match(token)
        if not t:
            raise ValueError(f"{path.name}: bad manifest token {token!r}")
        expected.add((t.group("code"), int(t.group("line"))))
    if not expected:
        raise ValueError(f"{path.name}: empty manifest (write 'none' explicitly)")
    return expected


# Scenarios test rules, not the default set: a preview rule with scenarios of its own (GL102 left the
# default set in issue 14) runs here as if it were a default rule, the other preview rules stay off.
_SCENARIO_CODES = {path.name.split("_", 1)[0].upper() for path in SCENARIOS}
_PREVIEW_ARGS = ("--preview", "--ignore", ",".join(sorted(PREVIEW_CODES - _SCENARIO_CODES)))
# ... and they test what a rule detects, not the default impact threshold: GL101 keeps a float32 loop
# with no sign of a compute-heavy step under `medium` (rules/analysis/heavy_workload.py)
_THRESHOLD_ARGS = ("--min-impact", "low")


@pytest.fixture(scope="module")
def lint_results(tmp_path_factory) -> dict[str, tuple[list[dict], subprocess.CompletedProcess]]:
    """Lint every scenario in ONE greenlint run (a subprocess, as a user would run it) and group
    the findings by file; each scenario is still copied byte-for-byte first."""
    workdir = tmp_path_factory.mktemp("scenarios")
    for path in SCENARIOS:
        (workdir / path.name).write_bytes(path.read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "greenlint", "check", "--format", "json", "--no-cache", "--exit-zero", *_PREVIEW_ARGS, *_THRESHOLD_ARGS, "."],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        findings = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(
            f"greenlint did not print a JSON list (rc={proc.returncode}): {exc}\n"
            f"--- stdout ---\n{proc.stdout[:4000]}\n--- stderr ---\n{proc.stderr}"
        )
    if not isinstance(findings, list):
        pytest.fail(f"greenlint JSON output is not a list: {proc.stdout[:2000]}")
    grouped: dict[str, list[dict]] = {path.name: [] for path in SCENARIOS}
    for finding in findings:
        grouped.setdefault(Path(finding["filename"]).name, []).append(finding)
    return {name: (items, proc) for name, items in grouped.items()}


def test_scenarios_present():
    assert len(SCENARIOS) >= 40, f"expected the scenario corpus in {SCENARIO_DIR}, found {len(SCENARIOS)}"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, lint_results):
    expected = read_manifest(path)
    findings, proc = lint_results[path.name]
    assert proc.returncode in (0, 1), (
        f"greenlint exited with {proc.returncode} on {path.name} (usage/config/internal error?)\n"
        f"--- stderr ---\n{proc.stderr}"
    )
    in_scope = [f for f in findings if IN_SCOPE_RE.match(str(f.get("code", "")))]
    actual = {(f["code"], f["location"]["row"]) for f in in_scope}

    def fmt(pairs):
        return ", ".join(f"{c}@{r}" for c, r in sorted(pairs, key=lambda p: (p[1], p[0]))) or "none"

    detail = "\n".join(
        f"  {f['code']} {f['location']['row']}:{f['location'].get('column')} {f.get('message', '')}"
        for f in sorted(in_scope, key=lambda f: (f["location"]["row"], f["code"]))
    )
    assert actual == expected, (
        f"{path.name}\n"
        f"  expected: {fmt(expected)}\n"
        f"  actual:   {fmt(actual)}\n"
        f"  missing:  {fmt(expected - actual)}\n"
        f"  extra:    {fmt(actual - expected)}\n"
        f"findings (the first rules (GL0xx, GL101, GL102, GL201, GL301)):\n{detail or '  (none)'}\n"
        f"--- stderr ---\n{proc.stderr}"
    )
