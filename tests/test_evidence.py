"""Every figure greenlint cites lives in the repository (docs/evidence.md), with its source.

Rule docs, finding messages and the savings model must not point at files a user's clone does
not have (the authors' research notes lived in a sibling `shared/` folder), and each cited
anchor of docs/evidence.md must exist and hold the figure it is cited for."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES, ALL_RULES
from greenlint.savings import SAVINGS

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")
RULES_MD = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
ANCHORS = re.findall(r'<a id="([a-z0-9-]+)"></a>', EVIDENCE)
CITATION = re.compile(r"docs/evidence\.md#([a-z0-9-]+)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Paths to the authors' notes outside the repository.
OUTSIDE = ("shared/", "rule-catalog", "gpu-measurements.md", "energy-tools.md")


def section(anchor: str) -> str:
    """The text under the heading that carries `anchor`, up to the next heading."""
    start = EVIDENCE.index(f'<a id="{anchor}"></a>')
    rest = EVIDENCE[start:]
    following = re.search(r"\n#{2,3} ", rest)
    return rest[: following.start()] if following else rest


def _rule_texts() -> list[str]:
    return [json.dumps(rule.to_json(), ensure_ascii=False) for rule in ALL_RULES]


def _messages() -> list[str]:
    """Finding and fix messages on every rule's own bad example."""
    texts = []
    for rule in ALL_RULES:
        if not rule.bad_example:
            continue
        source = textwrap.dedent(rule.bad_example).lstrip("\n").encode()
        for finding in lint_source(source, "train.py", frozenset(ALL_CODES)):
            texts.append(finding.message)
            if finding.fix is not None:
                texts.append(finding.fix.message)
    return texts


def test_anchors_are_unique():
    assert len(ANCHORS) == len(set(ANCHORS))


def test_no_user_visible_text_points_outside_the_repository():
    texts = {
        "rule docs": _rule_texts(),
        "docs/rules.md": [RULES_MD],
        "docs/evidence.md": [EVIDENCE],
        "savings sources": [model.source for model in SAVINGS.values()],
        "messages": _messages(),
    }
    assert texts["messages"], "the bad examples produced no findings: the check would be empty"
    for where, values in texts.items():
        for text in values:
            for outside in OUTSIDE:
                assert outside not in text, f"{where} cites {outside!r}: {text[:200]}"


def test_every_cited_anchor_exists():
    cited = set()
    for text in [*_rule_texts(), RULES_MD, *(m.source for m in SAVINGS.values())]:
        cited |= set(CITATION.findall(text))
    assert cited, "nothing cites docs/evidence.md"
    assert cited <= set(ANCHORS), sorted(cited - set(ANCHORS))


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.evidence], ids=lambda r: r.code)
def test_each_rule_figure_is_recorded_with_its_source(rule):
    text = section(rule.code.lower())
    for evidence in rule.evidence:
        assert evidence.source in text, f"{rule.code}: source not recorded: {evidence.source}"
        for number in NUMBER.findall(evidence.claim):
            assert number in text, f"{rule.code}: figure {number} of {evidence.claim!r} not recorded"
    assert f"(evidence.md#{rule.code.lower()})" in RULES_MD  # the rule's docs link its section


@pytest.mark.parametrize(
    "evidence",
    sorted({e for rule in ALL_RULES for e in rule.evidence if e.confidence == "measured"}, key=lambda e: e.claim),
    ids=lambda e: e.claim[:40],
)
def test_first_hand_figures_are_in_the_measurement_they_cite(evidence):
    [anchor] = CITATION.findall(evidence.source)
    assert anchor.startswith(("h100-", "cpu-"))  # greenlint's own GPU runs, or its own CPU timings
    text = section(anchor)
    for number in NUMBER.findall(evidence.claim):
        assert number in text, f"{number} of {evidence.claim!r} is not in #{anchor}"


def test_first_hand_savings_models_cite_their_measurement():
    for code, model in SAVINGS.items():
        for anchor in CITATION.findall(model.source):
            if anchor.startswith("h100-"):
                for number in re.findall(r"(\d+) %", model.source):
                    assert number in section(anchor), f"{code}: {number} % is not in #{anchor}"
