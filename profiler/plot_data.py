"""The HTML report's plots: a power timeline per device and the per-step energy. Kept to at most
MAX_PLOT_POINTS points each so the JSON stays small however long the run."""

from __future__ import annotations

from typing import Any

MAX_PLOT_POINTS = 2000  # per device timeline and per step series: enough for a plot, small JSON


MIN_TIMELINE_INTERVAL_S = 0.02  # shorter intervals between cumulative readings are merged


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == value and value not in (float("inf"), float("-inf"))


def downsample_samples(samples: list[tuple[float, float]], t0: float,
                       max_points: int = MAX_PLOT_POINTS) -> list[list[float]]:
    """Power samples as [seconds since t0, watts], averaged into at most max_points time bins."""
    if len(samples) <= max_points:
        return [[round(t - t0, 4), round(w, 3)] for t, w in samples]
    first, last = samples[0][0], samples[-1][0]
    width = (last - first) / max_points or 1.0
    bins: dict[int, list[tuple[float, float]]] = {}
    for t, w in samples:
        bins.setdefault(min(int((t - first) / width), max_points - 1), []).append((t, w))
    return [[round(group[0][0] - t0, 4), round(sum(w for _, w in group) / len(group), 3)]
            for _, group in sorted(bins.items())]


def timeline_from_cumulative(points: list[tuple[float, float]], t0: float,
                             max_points: int = MAX_PLOT_POINTS) -> list[list[float]]:
    """Average power between cumulative energy readings (time, joules), as [seconds since t0, watts].

    Readings closer than MIN_TIMELINE_INTERVAL_S (or than the run's span / max_points) are merged,
    so every interval's watts are its energy over its time and the timeline integrates to the
    readings' total. The last point closes the timeline (it repeats the last interval's watts).
    """
    points = sorted((t, e) for t, e in points if _finite(t) and _finite(e))
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return []
    # Readings from two threads can be a hair out of order: cumulative energy never goes down.
    peak = points[0][1]
    monotone = []
    for t, e in points:
        peak = max(peak, e)
        monotone.append((t, peak))
    min_dt = max((monotone[-1][0] - monotone[0][0]) / max(max_points - 1, 1), MIN_TIMELINE_INTERVAL_S)
    kept = [monotone[0]]
    for point in monotone[1:-1]:
        if point[0] - kept[-1][0] >= min_dt:
            kept.append(point)
    if len(kept) > 1 and monotone[-1][0] - kept[-1][0] < min_dt:
        kept.pop()  # a short tail joins the interval before it
    kept.append(monotone[-1])
    out = [[round(ta - t0, 4), round((eb - ea) / (tb - ta), 3)] for (ta, ea), (tb, eb) in zip(kept, kept[1:])]
    out.append([round(kept[-1][0] - t0, 4), out[-1][1]])
    return out


def _cumulative_points(raw: dict[str, Any], i: int) -> list[tuple[float, float]]:
    """Every cumulative reading of source i the child took, with its time."""
    run = raw["run"]
    points = [(run["t_begin"], run["begin"][i])]
    for t, readings in raw.get("cumulative", []):
        if i < len(readings):
            points.append((t, readings[i]))
    window = raw.get("window")
    if window:
        points.append((window["t_begin"], window["begin"][i]))
        cheap_index = raw.get("cheap_index", [])
        if i in cheap_index:
            col = cheap_index.index(i)
            points += [(t, row[col]) for t, row in zip(raw.get("step_times", []), raw.get("step_cpu", []))
                       if col < len(row)]
        if "end" in window:
            points.append((window["t_end"], window["end"][i]))
    points.append((run["t_end"], run["end"][i]))
    return [(t, e) for t, e in points if e is not None]


def device_timeline(raw: dict[str, Any], i: int) -> tuple[list[list[float]], str]:
    """Source i's power over the run, and how it was obtained."""
    source = raw["sources"][i]
    t0, t_end = raw["run"]["t_begin"], raw["run"]["t_end"]
    samples = [(float(t), float(w)) for t, w in raw.get("timelines", {}).get(str(i), []) if t0 <= t <= t_end]
    if samples:
        timeline = downsample_samples(samples, t0)
        averaged = f", averaged into {len(timeline)} bins" if len(timeline) < len(samples) else ""
        return timeline, (f"measured: the driver's power samples ({len(samples)}{averaged}); they read a few % "
                          "below the energy counter, which the energy totals use")
    timeline = timeline_from_cumulative(_cumulative_points(raw, i), t0)
    how = "estimated" if source["method"] == "estimate" else "measured"
    return timeline, (f"{how}: average power between the {source['method']} readings (about once a second, "
                      "at every measured step and at the window's boundaries)")


def step_series(per_step: list[float], bounds: list[float], t0: float,
                max_points: int = MAX_PLOT_POINTS) -> tuple[list[float], list[float], int]:
    """(J/step per entry, entry boundaries in seconds since t0, steps per entry) for the plots."""
    n = len(per_step)
    if not n or len(bounds) != n + 1:
        return [], [], 1
    group = -(-n // max_points)
    energies = [float(f"{sum(per_step[k:k + group]) / len(per_step[k:k + group]):.6g}") for k in range(0, n, group)]
    edges = [round(bounds[k] - t0, 4) for k in range(0, n, group)] + [round(bounds[n] - t0, 4)]
    return energies, edges, group
