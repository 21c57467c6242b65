"""Which rules run: ruff's select / extend-select / ignore semantics over code prefixes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from greenlint.rules import ALL_CODES, PREVIEW_CODES


class UnknownSelector(ValueError):
    pass


def validate_selector(selector: str) -> str:
    """`GL101`, `GL1`, `GL` or `ALL`; anything that selects no known rule is an error."""
    normalized = selector.strip().upper()
    if normalized == "ALL" or (
        normalized.startswith("GL") and any(code.startswith(normalized) for code in ALL_CODES)
    ):
        return normalized
    raise UnknownSelector(selector)


@dataclass(frozen=True)
class RuleSelection:
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    preview: bool = False

    def enabled_codes(self) -> frozenset[str]:
        """A code runs when the most specific matching selector is a select, not an ignore
        (on a tie, ignore wins), as in ruff: `select=["GL1"], ignore=["GL101"]` runs GL102 alone.
        Preview rules run only in preview mode, even when selected by their exact code (ruff's rule)."""
        selects = self.select + self.extend_select
        enabled = set()
        for code in ALL_CODES:
            if code in PREVIEW_CODES and not self.preview:
                continue
            best_select = _specificity(code, selects)
            best_ignore = _specificity(code, self.ignore)
            if best_select >= 0 and best_select > best_ignore:
                enabled.add(code)
        enabled.add("GL000")  # greenlint's own errors are always reported
        return frozenset(enabled)


def preview_only_codes(selection: RuleSelection) -> frozenset[str]:
    """The preview rules that `--preview` would add to `selection` (none when preview is on): the
    user's select and ignore still apply, so a preview rule they ignore is not among them."""
    if selection.preview:
        return frozenset()
    return replace(selection, preview=True).enabled_codes() - selection.enabled_codes()


def _specificity(code: str, selectors: tuple[str, ...]) -> int:
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best


def preview_rules_selected_without_preview(selection: RuleSelection) -> list[str]:
    """Preview codes the user named exactly while preview mode is off: worth a warning."""
    if selection.preview:
        return []
    named = {s for s in selection.select + selection.extend_select}
    return sorted(code for code in PREVIEW_CODES if code in named)
