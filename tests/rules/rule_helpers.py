"""Helpers shared by the rule-family tests: lint a dedented snippet with every rule enabled and
look at one rule's findings, or apply every fix (unsafe ones included) and return the text.

Imported as a plain module (`from rule_helpers import ...`): pytest puts this directory on
sys.path because tests/ is not a package.
"""

from __future__ import annotations

import textwrap

from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)


def findings(source: str, code: str) -> list:
    source = textwrap.dedent(source).lstrip("\n")
    return [f for f in lint_source(source.encode(), "x.py", ALL) if f.code == code]


def fixed(source: str) -> str:
    source = textwrap.dedent(source).lstrip("\n")
    outcome = fix_request(LintRequest(None, "x.py", source.encode(), ALL), unsafe=True)  # type: ignore[arg-type]
    return outcome.fixed_text if outcome.fixed_text is not None else source


def fires(code: str, source: str) -> None:
    found = findings(source, code)
    assert found, f"{code} should fire"


def silent(code: str, source: str) -> None:
    found = findings(source, code)
    assert not found, [f.message for f in found]
