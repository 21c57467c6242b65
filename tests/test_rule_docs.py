"""docs/rules.md is generated from the rules and must be current."""

from pathlib import Path

from greenlint.rules import ALL_RULES
from greenlint.rules.docs import catalog_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_rules_md_is_current():
    assert DOCS.read_text(encoding="utf-8") == catalog_markdown(ALL_RULES), (
        "docs/rules.md is stale: run `python -m greenlint.rules.docs > docs/rules.md`"
    )


def test_codes_follow_the_family_scheme():
    for rule in ALL_RULES:
        assert rule.code[:3] in {"GL0", "GL1", "GL2", "GL3", "GL4", "GL5", "GL6"}
        assert len(rule.code) == 5 and rule.code[2:].isdigit()


def test_a_preview_rule_says_where_it_still_reports():
    """`greenlint rule CODE` tells a user whether a detected long run shows the rule (GL101) or only a
    file named in `long-runs` does (GL311, GL503, the outside-the-training-loop rules)."""
    from greenlint.rules import DETECTION_CODES, RULES_BY_CODE, RUN_LENGTH_CODES
    from greenlint.rules.docs import _blocks

    def preview_text(code: str) -> str:
        return next(content for kind, label, content in _blocks(RULES_BY_CODE[code]) if label == "Preview.")

    assert "`detect-long-runs`, the default" in preview_text("GL101")
    for code in sorted(RUN_LENGTH_CODES - DETECTION_CODES):
        text = preview_text(code)
        assert "does not show it" in text and "`detect-long-runs`, the default" not in text, code
