"""What the prefilter and rule selection need to know about every rule, without importing the rules.

Importing the rule modules means importing libcst and the shared analysis (about half a second);
a `greenlint check` of files that no rule can match, `--select` validation and `greenlint --version`
need only each rule's code, preview flag and trigger words. Those live, generated, in
`rules/catalog_data.py`:

    python -m greenlint.rules.make_catalog > rules/catalog_data.py

`tests/test_startup.py` fails when that file is out of date (as `tests/test_rule_docs.py` does for
docs/rules.md), so a rule whose triggers change cannot be skipped by a stale prefilter.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenlint.rules.catalog_data import ENTRIES


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    preview: bool
    engine_reported: bool
    # the rule's `trigger`: groups of plain substrings (see Rule.trigger)
    trigger: tuple[tuple[str, ...], ...]
    # the module that defines the rule ("": unknown, load them all)
    module: str = ""

    def could_match(self, text: str) -> bool:
        return all(any(word in text for word in group) for group in self.trigger)


CATALOG: tuple[CatalogEntry, ...] = tuple(CatalogEntry(*entry) for entry in ENTRIES)


def codes_that_could_match(text: str, enabled: frozenset[str]) -> list[str]:
    """The enabled rules with a check that could report on `text` (the cheap prefilter)."""
    return [e.code for e in CATALOG if e.code in enabled and not e.engine_reported and e.could_match(text)]
