"""What a rule is: its documentation, its evidence, and a check over the shared analysis.

A rule documents itself in one place (this class's attributes); `greenlint rule CODE`,
`greenlint rules --format json`, `docs/rules.md` and the parametrized example tests are all
generated from it (the Fixit pattern: examples live beside the logic and run as tests).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable

from greenlint.rules.impact import FREQUENCIES, RuleImpact, Scale
from greenlint.rules.impact_estimate import rule_impact_json

if TYPE_CHECKING:
    # annotations only: the catalog (and `greenlint --version`) must not pay for importing libcst
    import libcst as cst

    from greenlint.rules.analysis import ModuleAnalysis


@dataclass(frozen=True)
class Evidence:
    """One piece of savings evidence. `confidence` says how it was obtained: "measured"
    (first-hand, greenlint's own GPU runs), "doc", "paper", "issue", "blog", or "unquantified"."""

    claim: str
    source: str
    confidence: str


@dataclass(frozen=True)
class RuleFix:
    """A fix as a rule proposes it: a function from the module to the fixed module (a libcst
    transform bound to the nodes of this finding). The engine turns it into text edits."""

    message: str
    applicability: str  # "safe" or "unsafe"
    transform: Callable[[cst.Module], cst.Module]


@dataclass(frozen=True)
class Report:
    """A rule's raw result: the node to point at and the message. The engine turns it into a
    Finding with a location (positions are computed only for files that have reports)."""

    node: cst.CSTNode
    message: str
    # report the range from `node`'s start to this node's end (default: `node`'s own end)
    end_node: cst.CSTNode | None = None
    fix: RuleFix | None = None
    # Impact refinements (rules/impact.py): how often this finding's code runs, when the rule knows
    # better than its declared `impact.frequency`, and a per-finding correction of the waste size.
    frequency: str | None = None
    scale: Scale | None = None

    def __post_init__(self) -> None:
        # a misspelt frequency fails inside the rule's check, so the engine names the rule (GL000)
        if self.frequency is not None and self.frequency not in FREQUENCIES:
            raise ValueError(f"unknown frequency {self.frequency!r}; expected one of {FREQUENCIES}")


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    detects: ClassVar[str]
    why: ClassVar[str]
    bad_example: ClassVar[str]
    good_example: ClassVar[str]
    fix: ClassVar[str]
    # "safe", "unsafe" (changes numerics or behaviour; needs --unsafe-fixes) or None (advice only)
    fix_applicability: ClassVar[str | None] = None
    evidence: ClassVar[tuple[Evidence, ...]] = ()
    # Which energy the fix can save, for the savings model: e.g. "the GPU compute of the training step".
    saving_scope: ClassVar[str] = ""
    # The typical size and frequency of the waste this rule finds (rules/impact.py), from its
    # evidence; None: not declared yet (the finding's impact is "unknown" and it is always shown).
    impact: ClassVar[RuleImpact | None] = None
    # The cheap prefilter (docs/architecture.md): groups of plain substrings; a file that lacks
    # every substring of some group cannot produce a finding, so it is not parsed for this rule.
    # Plain `in` tests run at memchr speed, far cheaper than a regex over the file.
    trigger: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # GL0xx problems are reported by the engine itself, not by a check.
    engine_reported: ClassVar[bool] = False
    # A preview rule measured under 80 % precision on real code (docs/precision.md): it runs only
    # with `--preview` / `preview = true`, as ruff does with its unstable rules.
    preview: ClassVar[bool] = False

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        raise NotImplementedError

    def could_match(self, text: str) -> bool:
        return all(any(word in text for word in group) for group in self.trigger)

    @property
    def family(self) -> str:
        return FAMILIES[self.code[:3]]

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "family": self.family,
            "summary": self.summary,
            "detects": _clean(self.detects),
            "why": _clean(self.why),
            "bad_example": _code(self.bad_example),
            "good_example": _code(self.good_example),
            "fix": _clean(self.fix),
            "fix_applicability": self.fix_applicability,
            "preview": self.preview,
            "saving_scope": self.saving_scope,
            # estimated, from the rule's evidence and an assumed frequency weight (impact_estimate.py)
            "impact": rule_impact_json(self.impact),
            "evidence": [
                {"claim": e.claim, "source": e.source, "confidence": e.confidence} for e in self.evidence
            ],
        }


FAMILIES = {
    "GL0": "greenlint's own problems with a file",
    "GL1": "precision and numerics",
    "GL2": "model choice",
    "GL3": "data pipeline",
    "GL4": "training-loop hygiene",
    "GL5": "experiment management",
    "GL6": "dataframes and array code",
}


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", textwrap.dedent(text)).strip()


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n" if text else ""
