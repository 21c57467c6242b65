"""Which findings `greenlint check` shows: the `min-impact` threshold (issue 14).

A finding is shown when its estimated impact level (greenlint.rules.impact_estimate) is at least
`min-impact`, when its impact is unknown (nothing says it is negligible), when it is one of
greenlint's own GL0xx findings (no impact: a problem with the file itself), or when the user
selected its rule by the EXACT code (`--select GL412`, `select = ["GL412"]`, `extend-select`):
naming a rule is asking for its findings, as ruff's preview rules run when selected exactly. A
prefix (`GL4`, `ALL`) selects rules but does not bring back their low-impact findings.

The threshold is applied after linting and after the cache: cached results hold every finding, so
changing `min-impact` never needs a re-lint. Hidden findings are counted and the count is said
(hidden_sentence), so they never vanish silently; they do not make the run fail, and `--fix`
leaves their fixes alone.

The same holds for the preview rules when preview is off: `check` runs them too and counts what
`--preview` would add (preview_sentence), because a plain "All checks passed!" on a script that
trains in float32 on a GPU would claim more than the default set measured. They are counted only
when the threshold would show them, so the count is what `--preview` adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from greenlint.findings import Finding
from greenlint.rules.impact import LEVELS

if TYPE_CHECKING:
    from greenlint.config import Settings

DEFAULT_MIN_IMPACT = "medium"
_RANK = {level: rank for rank, level in enumerate(LEVELS)}


class InvalidLevel(ValueError):
    pass


def validate_level(value: object, where: str) -> str:
    """`value` as a min-impact level; a clear error naming `where` and the valid values otherwise."""
    if isinstance(value, str) and value.strip().lower() in _RANK:
        return value.strip().lower()
    valid = ", ".join(f'"{level}"' for level in LEVELS)
    raise InvalidLevel(f"{where} must be one of {valid} (got {value!r})")


@dataclass(frozen=True)
class Visibility:
    """What the threshold needs, small and picklable (it travels to the fix workers)."""

    min_impact: str = DEFAULT_MIN_IMPACT
    exact_codes: frozenset[str] = frozenset()
    # run-length rules shown whatever their impact where the finding carries long-run evidence
    # (`detect-long-runs`, long_run_evidence.py), as in a file named in `long-runs`
    detected_long_run_codes: frozenset[str] = frozenset()
    # preview rules that ran although preview is off (`--fix` with `detect-long-runs`): shown only
    # where the file shows a long run
    preview_only: frozenset[str] = frozenset()

    def in_detected_long_run(self, finding: Finding) -> bool:
        impact = finding.impact
        return finding.code in self.detected_long_run_codes and bool(getattr(impact, "long_run", ""))

    def shows(self, finding: Finding) -> bool:
        if self.in_detected_long_run(finding):
            return True
        if finding.code in self.preview_only:
            return False
        impact = finding.impact
        if impact is None or impact.level not in _RANK:  # GL0xx, or "unknown": never hidden
            return True
        if finding.code in self.exact_codes:
            return True
        return _RANK[impact.level] >= _RANK[self.min_impact]

    def also_showing(self, codes: frozenset[str]) -> Visibility:
        """This threshold with `codes` shown whatever their impact, as exactly selected codes are.
        For a file that matches `long-runs` with its run-length rules (long_runs.long_run_rules):
        the estimate scales a finding down when the module shows no sign of a heavy workload
        (GL101's x0.025 "no sign that the step is compute-heavy"); in a file the user names as a
        long run, their word replaces that guess."""
        return replace(self, exact_codes=self.exact_codes | codes, preview_only=self.preview_only - codes)

    def split(self, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
        """(shown, hidden), each in the order given."""
        shown, hidden = [], []
        for finding in findings:
            (shown if self.shows(finding) else hidden).append(finding)
        return shown, hidden


SHOW_ALL = Visibility(min_impact=LEVELS[0])


def exact_codes(selectors: tuple[str, ...], known_codes: tuple[str, ...]) -> frozenset[str]:
    """The selectors that name one rule exactly (not a prefix of several, not ALL)."""
    known = set(known_codes)
    return frozenset(s for s in selectors if s in known)


def hidden_sentence(hidden: list[Finding], min_impact: str) -> str | None:
    """`12 findings below min-impact 'medium' not shown (--min-impact low shows them)`, or None."""
    if not hidden:
        return None
    lowest = min((f.impact.level for f in hidden), key=lambda level: _RANK[level])
    noun = "finding" if len(hidden) == 1 else "findings"
    pronoun = "it" if len(hidden) == 1 else "them"
    return f"{len(hidden)} {noun} below min-impact '{min_impact}' not shown (--min-impact {lowest} shows {pronoun})."


def visibility_for(settings: Settings) -> Visibility:
    """The threshold and the exactly selected codes of the final selection (configuration, then
    command line: `--select` replaces the configured `select`, as it replaces what runs)."""
    # the generated catalog only: no rule module (and no libcst) is imported for this
    from greenlint.rules import ALL_CODES

    selection = settings.selection
    detected: frozenset[str] = frozenset()
    if settings.detect_long_runs:
        from greenlint.long_runs import long_run_rules

        detected = long_run_rules(selection)
    return Visibility(settings.min_impact, exact_codes(selection.select + selection.extend_select, ALL_CODES), detected)


def preview_sentence(preview: list[Finding]) -> str | None:
    """`2 findings of preview rules not shown (GL101, GL309: ...; --preview shows them).`, or None."""
    if not preview:
        return None
    codes = ", ".join(sorted({f.code for f in preview}))
    noun = "finding" if len(preview) == 1 else "findings"
    pronoun = "it" if len(preview) == 1 else "them"
    return (f"{len(preview)} {noun} of preview rules not shown ({codes}: under 80 % precision on code "
            f"they were not tuned on, docs/precision.md; --preview shows {pronoun}).")


@dataclass(frozen=True)
class Shown:
    """The findings a report shows, those `min-impact` hid and those of preview rules that preview
    mode would show (both counted, never silently dropped)."""

    findings: list[Finding]
    hidden: list[Finding]
    min_impact: str
    preview: list[Finding] = field(default_factory=list)

    @property
    def note(self) -> str | None:
        sentences = [hidden_sentence(self.hidden, self.min_impact), preview_sentence(self.preview)]
        return " ".join(s for s in sentences if s) or None

    def sarif_properties(self) -> dict[str, object]:
        return {"minImpact": self.min_impact, "hiddenBelowMinImpact": len(self.hidden),
                "hiddenPreview": len(self.preview)}


def apply_threshold(findings: list[Finding], settings: Settings, preview_only: frozenset[str] = frozenset(),
                    long_run_files: frozenset[str] = frozenset()) -> Shown:
    """Split `findings` for the report. `preview_only`: codes of preview rules that ran although
    preview is off (counted when the threshold would show them, never shown), except the
    run-length rules in `long_run_files` (display paths of the files matching `long-runs`) and,
    with `detect-long-runs`, where a finding carries the evidence of a long run: they report
    there as default rules do (long_runs.py)."""
    visibility = visibility_for(settings)
    long_codes: frozenset[str] = frozenset()
    if long_run_files:
        from greenlint.long_runs import long_run_rules

        long_codes = long_run_rules(settings.selection)
    in_long_run = visibility.also_showing(long_codes)
    shown, hidden, preview = [], [], []
    for finding in findings:
        long_run = finding.filename in long_run_files
        named = long_run and finding.code in long_codes
        if finding.code in preview_only and not (named or visibility.in_detected_long_run(finding)):
            if visibility.shows(finding):  # counted as --preview would show it, never shown
                preview.append(finding)
            continue
        (shown if (in_long_run if long_run else visibility).shows(finding) else hidden).append(finding)
    return Shown(shown, hidden, visibility.min_impact, preview)
