"""Turning what a rule declares (RuleImpact) and what one report refines (frequency, scale) into a
finding's Impact: the estimated share of the whole run's energy that the fix saves, its level,
and the basis of each part (issue 14). No libcst here: the engine, the cache, `greenlint rule`
and the reporters use it.

    estimated run share = waste size (low..high) x frequency weight x scale factor

The frequency weights are ASSUMPTIONS, not measurements: the share of a typical training run's
energy spent in code that runs that often. They are deliberately coarse; the basis text names
them so that a user can check (and disagree with) the estimate.

- run-wide 1: a setting that changes every step (fp32 instead of AMP) touches the whole run;
- every-step 1: code in the training step runs on every step, which is nearly all of a run;
- every-eval 0.15: an evaluation pass is commonly a tenth to a fifth of the training work;
- every-epoch 0.02: once-per-epoch work (a small tensor built and moved, a log line) is small
  next to an epoch of steps;
- once 0.001: once per run (setup, a final save) is negligible next to the steps;
- unknown 1: where the rule cannot tell, the estimate must not claim the waste is small.

The level compares the midpoint of the range: high at 10 % of the run or more, medium at 2 % or
more, low below. A rule that declares no impact (no quantified source) gives the level
"unknown": it is never hidden, because nothing says it is negligible.
"""

from __future__ import annotations

from greenlint.rules.impact import FREQUENCIES, LEVELS, Impact, RuleImpact, Scale

# See the module docstring: assumptions, documented in the README ("How much a finding matters").
FREQUENCY_WEIGHTS = {
    "run-wide": 1.0,
    "every-step": 1.0,
    "every-eval": 0.15,
    "every-epoch": 0.02,
    "once": 0.001,
    "unknown": 1.0,
}

# The smallest midpoint share of the run's energy for each level above "low".
LEVEL_THRESHOLDS = (("high", 0.10), ("medium", 0.02))
UNKNOWN = "unknown"
# Levels in order, for the threshold: "unknown" is never below any threshold.
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}

NOT_ESTIMATED = ("Not estimated: the rule cites no quantified saving yet, so nothing says the waste is "
                 "negligible and the finding is always shown")


def level_of_share(low: float, high: float) -> str:
    middle = (low + high) / 2
    for level, threshold in LEVEL_THRESHOLDS:
        if middle >= threshold:
            return level
    return "low"


def percent(share: float) -> str:
    """A share as per cent with three significant digits: 0.49 -> "49", 0.0005 -> "0.05"."""
    return f"{share * 100:.3g}"


def percent_range(low: float, high: float) -> str:
    return f"{percent(low)} %" if percent(low) == percent(high) else f"{percent(low)}-{percent(high)} %"


def estimate(declared: RuleImpact | None, frequency: str | None = None, scale: Scale | None = None,
             long_run: str = "") -> Impact:
    """A finding's impact from its rule's declaration and the report's refinements. `frequency`
    (the report's) overrides the rule's default; `scale` multiplies the size range; `long_run`
    says why the file's run is evidently long (carried, not folded into the range: it decides
    where the finding reports, advisor/long_runs.py)."""
    if frequency is not None and frequency not in FREQUENCY_WEIGHTS:
        raise ValueError(f"unknown frequency {frequency!r}; expected one of {FREQUENCIES}")
    if declared is None:
        return Impact(UNKNOWN, None, None, frequency or UNKNOWN, NOT_ESTIMATED, long_run)
    used = frequency or declared.frequency
    weight = FREQUENCY_WEIGHTS[used]
    factor = scale.factor if scale is not None else 1.0
    # rounded once, here: JSON (and so the cache) keeps 6 places, and a cached finding must carry
    # the very values (and level) of a fresh one
    low = round(min(1.0, declared.size.low * weight * factor), 6)
    high = round(min(1.0, declared.size.high * weight * factor), 6)
    origin = "rule default" if frequency is None else "this finding"
    parts = [
        f"size {percent_range(declared.size.low, declared.size.high)} ({declared.size.basis})",
        f"frequency {used} ({origin}; weight {weight:g}, assumed)",
    ]
    if scale is not None:
        parts.append(f"scale x{scale.factor:g}: {scale.reason}")
    return Impact(level_of_share(low, high), low, high, used, "; ".join(parts), long_run)


def rule_impact_json(declared: RuleImpact | None) -> dict | None:
    """What `greenlint rule CODE --format json` says about the rule's impact: the declared size and
    default frequency, and the estimate a finding gets at that frequency with no scale."""
    if declared is None:
        return None
    at_default = estimate(declared)
    return {
        "size": {"low": declared.size.low, "high": declared.size.high, "basis": declared.size.basis},
        "frequency": declared.frequency,
        "frequency_weight": FREQUENCY_WEIGHTS[declared.frequency],
        "at_default_frequency": at_default.to_json(),
        "kind": "estimated",
    }


def rule_impact_sentence(declared: RuleImpact | None) -> str:
    """The same, as one paragraph for `greenlint rule CODE` and docs/rules.md."""
    if declared is None:
        return NOT_ESTIMATED + "."
    at_default = estimate(declared)
    weight = FREQUENCY_WEIGHTS[declared.frequency]
    return (
        f"Estimated, not measured. The waste is {percent_range(declared.size.low, declared.size.high)} of the energy of the "
        f"code it affects ({declared.size.basis}); that code usually runs {declared.frequency} (frequency weight "
        f"{weight:g}, an assumption). At that frequency a finding is estimated to save "
        f"{percent_range(at_default.low or 0.0, at_default.high or 0.0)} of the run's energy: impact "
        f"{at_default.level}. A finding may refine the frequency or scale the size (its JSON `impact.basis` says how)."
    )
