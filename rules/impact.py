"""How much a finding matters, estimated statically (issue 14): the data a rule declares and a
finding carries. No libcst here: the catalog, `greenlint rule` and the reporters import it.

A finding's impact is *estimated*, never measured: the share of the whole run's energy the fix is
likely to save, from two things the linter can know without running anything:

- **size**: how large the waste is relative to the code it affects when that code runs, taken
  from the rule's evidence (a cited measurement or source, with its range), and scaled down by the
  rule when the finding itself says it is smaller (a tiny model is launch-bound, so mixed precision
  saves little);
- **frequency**: how often the wasteful code runs (every step, every evaluation, every epoch,
  once per run, or a run-wide setting that affects every step).

The level (high / medium / low) is what the default threshold (`min-impact`) compares; the basis
text says where each part came from, so a user can check the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How often the flagged code runs. "run-wide": a setting that changes every step (fp32 instead of
# AMP, an unfused optimizer); "every-step": code inside the training step loop; "every-eval": inside
# an evaluation pass; "every-epoch": once per epoch; "once": once per run; "unknown": not known.
FREQUENCIES = ("run-wide", "every-step", "every-eval", "every-epoch", "once", "unknown")
LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class WasteSize:
    """The waste as a share of the energy of the code it affects, when that code runs: a range
    (`low`..`high`, fractions in [0, 1]) and where the range comes from (the rule's evidence)."""

    low: float
    high: float
    basis: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"waste size must satisfy 0 <= low <= high <= 1, got {self.low}..{self.high}")


@dataclass(frozen=True)
class RuleImpact:
    """What a rule declares: the typical size of the waste it finds and how often that code
    usually runs. `Report.frequency` / `Report.scale` refine it per finding."""

    size: WasteSize
    frequency: str

    def __post_init__(self) -> None:
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"unknown frequency {self.frequency!r}; expected one of {FREQUENCIES}")


@dataclass(frozen=True)
class Scale:
    """A rule's per-finding correction of its typical size: multiply the range by `factor`
    because of `reason` (e.g. 0.1, "the model has under 1 M parameters: launch-bound")."""

    factor: float
    reason: str

    def __post_init__(self) -> None:
        # no upper bound: a finding may be worse than the rule's typical case (the share is capped at 1)
        if not self.factor > 0:
            raise ValueError(f"a scale factor must be positive, got {self.factor}")


@dataclass(frozen=True)
class Impact:
    """A finding's estimated impact: the estimated share of the run's energy the fix saves
    (`low`..`high`), its `level`, how often the code runs, and the basis of each part. A rule that
    declares no impact gives level "unknown" and no range (greenlint.rules.impact_estimate)."""

    level: str
    low: float | None
    high: float | None
    frequency: str
    basis: str
    # why the file's training run is evidently long (long_run_evidence.py), for the findings of
    # the run-length rules: they then report as in a file the user names in `long-runs`
    long_run: str = ""

    def to_json(self) -> dict[str, Any]:
        saving = None
        if self.low is not None and self.high is not None:
            # rounded to 6 places: the cache stores this and must give back the same level
            saving = {"low": round(self.low, 6), "high": round(self.high, 6), "unit": "share of run energy"}
        data: dict[str, Any] = {
            "level": self.level,
            "estimated_saving": saving,
            "frequency": self.frequency,
            "basis": self.basis,
            "kind": "estimated",
        }
        if self.long_run:
            data["long_run"] = self.long_run
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Impact:
        """Inverse of `to_json` (the result cache). Raises KeyError/TypeError/ValueError on a bad shape."""
        saving = data["estimated_saving"]
        if data["level"] not in (*LEVELS, "unknown") or data["frequency"] not in FREQUENCIES:
            raise ValueError(f"not an impact: {data!r}")
        if not isinstance(data["basis"], str):
            raise TypeError("impact basis must be a string")
        low = high = None
        if saving is not None:
            low, high = float(saving["low"]), float(saving["high"])
        long_run = data.get("long_run", "")
        if not isinstance(long_run, str):
            raise TypeError("impact long_run must be a string")
        return cls(data["level"], low, high, data["frequency"], data["basis"], long_run)
