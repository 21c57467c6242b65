"""How sure a measured energy difference is: 95 % confidence intervals for `greenlint compare` and
`greenlint profile --measure-fixes`.

**The choice: Welch's t-interval, not a bootstrap.** Both were candidates (issue 15). Welch wins
here because

- it is deterministic: the same two profiles always give the same interval, so a CI gate
  (`compare --fail-over`) cannot flip on a random seed, and tests need no seed either;
- it widens correctly for few observations (5 rounds of `--measure-fixes` give 4 degrees of
  freedom, t = 2.78 instead of 1.96); a percentile bootstrap of 5 values is known to be too narrow;
- it does not assume the two sides have the same spread (a fix changes the spread as well as the
  mean), which is what Welch adds to Student's t.

**What counts as one observation.** Per-step energies are not independent: a background job that
starts mid-run raises many consecutive steps. Treating each step as an independent draw makes the
interval far too narrow (the issue saw "-39.9 %" and "+3.9 %" for the same fix). So:

- `compare` (one run per side): each run's per-step series is cut into at most `BATCHES`
  contiguous batches and the batch means are the observations (the method of batch means, the
  standard remedy for autocorrelated simulation output). A slow drift inside a run then shows up
  as spread between batches and widens the interval. What a single pair of runs cannot show is a
  level shift that lasts a whole run; `--measure-fixes` exists for that.
- `--measure-fixes` (R alternating rounds A B A B ...): the observation is a round's difference
  (A's mean J/step minus B's), a paired t-interval with R - 1 degrees of freedom. Drift of the
  machine between rounds affects both runs of a round and cancels.

Per cent figures divide the interval by BEFORE's mean (treated as exact; its own uncertainty is
small next to that of a difference of two means).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

CONFIDENCE = 0.95
BATCHES = 10  # at most this many batch means per run (compare); fewer steps: one observation per step


@dataclass(frozen=True)
class Difference:
    """BEFORE minus AFTER (a positive value is a saving), with its 95 % interval."""

    point: float
    low: float
    high: float
    method: str  # "welch (batch means)", "paired t (rounds)"
    df: float
    n_before: int  # observations on each side (batches, or rounds)
    n_after: int
    mean_before: float
    mean_after: float

    @property
    def significant(self) -> bool:
        """The interval excludes 0: there is a measurable difference."""
        return self.low > 0 or self.high < 0

    def scaled(self, factor: float) -> tuple[float, float, float]:
        """(point, low, high) multiplied by a positive factor (steps in the run, 100 / BEFORE)."""
        return self.point * factor, self.low * factor, self.high * factor

    def percent(self) -> tuple[float, float, float] | None:
        """The saving in per cent of BEFORE's mean, or None when BEFORE's mean is not positive."""
        return self.scaled(100.0 / self.mean_before) if self.mean_before > 0 else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(confidence=CONFIDENCE, significant=self.significant)
        return data


# ------------------------------------------------------------------------------ t distribution


def _t_density(x: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def _t_cdf_upper_half(x: float, df: float, intervals: int = 2000) -> float:
    """P(0 <= T <= x) for x >= 0, by Simpson's rule on the density (smooth, so 2,000 intervals
    are accurate far beyond the 3 digits an interval is printed with)."""
    h = x / intervals
    total = _t_density(0.0, df) + _t_density(x, df)
    for i in range(1, intervals):
        total += (4 if i % 2 else 2) * _t_density(i * h, df)
    return total * h / 3


@lru_cache(maxsize=256)
def t_quantile(p: float, df: float) -> float:
    """The p-quantile (p > 0.5) of Student's t with df > 0 degrees of freedom (df may be
    fractional, as Welch's are), by Newton's method on the CDF from the normal quantile: for x > 0
    the CDF is concave, so the iterates rise monotonically to the root."""
    if not 0.5 < p < 1 or df <= 0:
        raise ValueError("t_quantile needs 0.5 < p < 1 and df > 0")
    from statistics import NormalDist

    target = p - 0.5
    x = NormalDist().inv_cdf(p)  # below the t quantile for every df
    for _ in range(200):
        step = (target - _t_cdf_upper_half(x, df)) / _t_density(x, df)
        x += step
        if abs(step) < 1e-9 * max(1.0, x):
            break
    return x


# ----------------------------------------------------------------------------- the intervals


def _mean_var(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, var


def batch_means(values: list[float], batches: int = BATCHES) -> list[float]:
    """The means of at most `batches` contiguous, near-equal batches of `values` (in order)."""
    n = len(values)
    k = min(batches, n)
    if k <= 0:
        return []
    edges = [round(i * n / k) for i in range(k + 1)]
    return [sum(values[a:b]) / (b - a) for a, b in pairwise(edges)]


def welch(before: list[float], after: list[float]) -> Difference | None:
    """mean(before) - mean(after) with Welch's t-interval; None with fewer than 2 values a side."""
    if len(before) < 2 or len(after) < 2:
        return None
    mb, vb = _mean_var(before)
    ma, va = _mean_var(after)
    sb, sa = vb / len(before), va / len(after)
    se2 = sb + sa
    point = mb - ma
    if se2 <= 0:  # no spread at all (made-up or quantised data): the interval is the point
        return Difference(point, point, point, "welch", float(len(before) + len(after) - 2),
                          len(before), len(after), mb, ma)
    # Welch-Satterthwaite degrees of freedom (a side with no spread contributes no term)
    denominator = sum(s * s / (n - 1) for s, n in ((sb, len(before)), (sa, len(after))) if s > 0)
    df = se2 * se2 / denominator
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * math.sqrt(se2)
    return Difference(point, point - half, point + half, "welch", df, len(before), len(after), mb, ma)


def compare_runs(before_steps: list[float], after_steps: list[float]) -> Difference | None:
    """One run per side: Welch on each run's batch means (see the module's docstring)."""
    result = welch(batch_means(before_steps), batch_means(after_steps))
    if result is None:
        return None
    return Difference(result.point, result.low, result.high, "welch t-interval on batch means of the per-step "
                      "energies", result.df, result.n_before, result.n_after,
                      sum(before_steps) / len(before_steps), sum(after_steps) / len(after_steps))


def paired_rounds(before_means: list[float], after_means: list[float]) -> Difference | None:
    """R alternating rounds: the t-interval of the rounds' differences (df = R - 1)."""
    if len(before_means) != len(after_means) or len(before_means) < 2:
        return None
    diffs = [b - a for b, a in zip(before_means, after_means)]
    mean, var = _mean_var(diffs)
    n = len(diffs)
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * math.sqrt(var / n) if var > 0 else 0.0
    return Difference(mean, mean - half, mean + half, "paired t-interval on the rounds' differences", float(n - 1),
                      n, n, sum(before_means) / n, sum(after_means) / n)


# ------------------------------------------------------------------------------- the verdicts

CONFIRMED = "confirmed"
SMALLER = "smaller than predicted"
LARGER = "larger than predicted"
NO_EFFECT = "no measurable effect"
REGRESSION = "uses more energy"


def verdict(saving: tuple[float, float], predicted: tuple[float, float] | None) -> str:
    """The measured saving's interval (low, high) against the predicted range (low, high).

    Decided on the interval, never on the point: an interval that contains 0 is "no measurable
    effect" whatever its point says; one that overlaps the predicted range confirms it."""
    low, high = saving
    if low <= 0 <= high:
        return NO_EFFECT
    if high < 0:
        return REGRESSION
    if predicted is None:
        return "measured saving (no prediction)"
    p_low, p_high = predicted
    if high < p_low:
        return SMALLER
    if low > p_high:
        return LARGER
    return CONFIRMED
