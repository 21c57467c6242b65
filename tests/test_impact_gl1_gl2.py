"""Every GL1xx and GL2xx rule says how much its waste matters, from its cited evidence (issue 14):
each figure of a declared waste size is recorded in docs/evidence.md with its derivation, and a rule
without a quantified source declares no size rather than an invented one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greenlint.rules import ALL_RULES
from greenlint.rules.impact import RuleImpact

EVIDENCE = (Path(__file__).resolve().parents[1] / "docs" / "evidence.md").read_text(encoding="utf-8")
RULES = [rule for rule in ALL_RULES if rule.code[:3] in ("GL1", "GL2") and not rule.engine_reported]
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _section(anchor: str) -> str:
    start = EVIDENCE.index(f'<a id="{anchor}"></a>')
    rest = EVIDENCE[start:]
    following = re.search(r"\n#{2,3} ", rest)
    return rest[: following.start()] if following else rest


def _row(code: str) -> str:
    [row] = [line for line in _section("impact-gl1-gl2").splitlines() if line.startswith(f"| {code} |")]
    return row


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_each_rule_states_its_impact_or_why_not(rule):
    row = _row(rule.code)
    if rule.impact is None:
        assert "| none |" in row
        return
    assert isinstance(rule.impact, RuleImpact)
    size = rule.impact.size
    recorded = row + _section(rule.code.lower())
    # the range itself and every figure of its basis are written down with their derivation
    for share in (size.low, size.high):
        assert f"{share * 100:g}" in row, f"{rule.code}: {share:.3f} is not the documented size ({row})"
    for number in NUMBER.findall(size.basis):
        assert number in recorded or number in EVIDENCE, f"{rule.code}: {number} of its impact basis is not recorded"
