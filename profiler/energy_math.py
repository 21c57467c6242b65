"""Small arithmetic on energy readings: percentiles of J/step, integrating a power timeline over an
interval, and splitting a counter's energy between intervals by the timeline's shape."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100] (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def integrate_samples(samples: list[tuple[float, float]], a: float, b: float) -> float:
    """Joules of a power timeline over [a, b]; each sample holds until the next one.

    The last sample holds for the median sample spacing (the driver samples every ~20 ms).
    """
    if not samples or b <= a:
        return 0.0
    times = [t for t, _ in samples]
    gaps = sorted(t2 - t1 for t1, t2 in zip(times, times[1:]))
    tail = gaps[len(gaps) // 2] if gaps else 0.02
    total = 0.0
    for i, (t, watts) in enumerate(samples):
        end = times[i + 1] if i + 1 < len(samples) else t + tail
        overlap = min(end, b) - max(t, a)
        if overlap > 0:
            total += watts * overlap
    return total


def split_by_timeline(total_j: float, bounds: list[float], samples: list[tuple[float, float]]) -> tuple[list[float], str]:
    """Split a counter's energy between consecutive intervals, by the power samples' shape.

    The counter is the ground truth; samples integrated read 2-6 % low (measured on an H100), so
    they only give the shares and the shares are scaled to the counter's total. Without samples
    covering the window, the split is by time, and the returned label says so.
    """
    parts = [integrate_samples(samples, a, b) for a, b in zip(bounds, bounds[1:])]
    covered = sum(parts)
    if covered > 0:
        return [total_j * p / covered for p in parts], "power samples scaled to the counter"
    span = bounds[-1] - bounds[0]
    if span <= 0:
        n = max(len(bounds) - 1, 1)
        return [total_j / n] * (len(bounds) - 1), "equal split (no timeline)"
    return [total_j * (b - a) / span for a, b in zip(bounds, bounds[1:])], "split by step time (no power samples)"


def counter_delta(end: float | None, begin: float | None) -> float | None:
    if end is None or begin is None:
        return None
    return max(end - begin, 0.0)


def sum_known(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None
