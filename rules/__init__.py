"""The rule catalog: every rule greenlint knows, by code.

Each rule lives in its own module `rules/<family>/glNNN_<name>.py` that defines `RULE`; the
catalog imports every such module of the family packages, so adding a rule is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from greenlint.rules.base import FAMILIES, Evidence, Report, Rule
from greenlint.rules.file_problems import RULES as FILE_PROBLEM_RULES

FAMILY_PACKAGES = ("precision", "model_choice", "data_pipeline", "training_loop", "experiment", "dataframes")


def _discover() -> tuple[Rule, ...]:
    found: list[Rule] = list(FILE_PROBLEM_RULES)
    for family in FAMILY_PACKAGES:
        package = importlib.import_module(f"{__name__}.{family}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("gl"):
                module = importlib.import_module(f"{package.__name__}.{info.name}")
                found.append(module.RULE)
    codes = [rule.code for rule in found]
    duplicates = {code for code in codes if codes.count(code) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate rule codes: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda rule: rule.code))


ALL_RULES: tuple[Rule, ...] = _discover()
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}
ALL_CODES: tuple[str, ...] = tuple(RULES_BY_CODE)
PREVIEW_CODES: frozenset[str] = frozenset(rule.code for rule in ALL_RULES if rule.preview)


def get_rule(code: str) -> Rule | None:
    return RULES_BY_CODE.get(code.upper())


__all__ = ["ALL_RULES", "ALL_CODES", "PREVIEW_CODES", "RULES_BY_CODE", "FAMILIES", "Evidence", "Report", "Rule", "get_rule"]
