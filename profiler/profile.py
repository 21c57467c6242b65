"""The Profile: energy per device, per step and per line, and the projection to the whole run.

Pure arithmetic on the child's raw result (see recorder.Recorder.finish), so every number here
can be tested with made-up readings. Joules inside; the CLI converts for display.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from greenlint.profiler.gpu_attribution import GpuLineTimes, gpu_line_energy
from greenlint.profiler.labels import (
    FULL_RUN,
    MEASURED_METHODS,
    MEASURED_STEPS,
    PROFILED_RUN,
    method_how,
    methods_how,
    tolerance_words,
)
from greenlint.profiler.phases import Phase, attribute_phases
from greenlint.profiler.units import format_energy

__all__ = ["MEASURED_METHODS", "Device", "Line", "Phase", "Profile", "Projection", "RankSummary", "compute_profile"]
MAX_PLOT_POINTS = 2000  # per device timeline and per step series: enough for a plot, small JSON


@dataclass
class Device:
    kind: str
    name: str
    method: str
    energy_j: float | None  # whole run under greenlint
    window_energy_j: float | None  # the measured steps only
    tolerance: float
    basis: str
    # Power over the run for the report's plot: [seconds since the run's start, watts]; each
    # point's watts hold until the next point, the last point closes the timeline. At most
    # ~MAX_PLOT_POINTS points, so the JSON stays small.
    timeline: list[list[float]] = field(default_factory=list)
    timeline_basis: str = ""


@dataclass
class Line:
    filename: str
    line: int
    energy_j: float  # cpu_j + gpu_active_j + gpu_idle_j
    time_s: float
    share: float  # of the CPU samples of the span the lines cover
    cpu_j: float = 0.0
    gpu_active_j: float = 0.0  # GPU energy of the kernels this line launched
    gpu_idle_j: float = 0.0  # GPU energy while it sat idle and the CPU was on this line
    # training phase -> share of this line's sampled time (phases.py); {} without phase samples
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class Projection:
    total_steps: int | None
    energy_j: float | None
    low_j: float | None
    high_j: float | None
    time_s: float | None
    basis: str
    # where total_steps came from: "--total-steps", the script (run_length.py), or the completed run
    total_steps_basis: str = ""
    # "full run": the run went to its end (--full, or a callback that saw training end) and
    # energy_j is its own energy; "projection": extrapolated from the measured steps; "" unknown.
    # How the figure was obtained: labels.projection_how.
    kind: str = ""
    # how energy_j, low_j and high_j were obtained: "projected", or after a full run the run's own
    # label (measured / estimated / partly estimated); "" when unknown
    how: str = ""


@dataclass
class RankSummary:
    """One torchrun rank of a multi-process profile (merge.py): what it ran and what it measured."""

    rank: int  # global rank (RANK)
    local_rank: int
    node: str  # host name
    steps: int  # measured optimizer steps, counted by this rank
    steps_seen: int
    energy_j: float | None  # of the devices this rank read (each device is read by one rank)
    j_per_step: float | None  # the same devices, per measured step
    devices: list[str] = field(default_factory=list)  # names of the devices this rank read
    outcome: str = ""
    exit_code: int = 0
    t_begin: float | None = None  # unix time of the rank's start: aligns timelines across ranks and nodes


@dataclass
class Profile:
    outcome: str  # completed, stopped, failed, interrupted, terminated, no-result
    exit_code: int
    steps: int  # measured optimizer steps (after warm-up)
    steps_seen: int  # every optimizer step, warm-up included
    warmup_steps: int
    energy_j: float | None  # the profiled run (what ran under greenlint), all devices
    energy_how: str  # measured / estimated / partly estimated (labels.methods_how)
    duration_s: float | None
    window_energy_j: float | None
    window_time_s: float | None
    j_per_step: float | None
    j_per_step_p10: float | None
    j_per_step_p90: float | None
    step_time_s: float | None
    devices: list[Device] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    lines_basis: str = ""
    projection: Projection | None = None
    notices: list[str] = field(default_factory=list)
    # the torch.profiler steps of GPU line attribution (no per-line lists: those are in `lines`)
    gpu_trace: dict[str, Any] | None = None
    # the user's own modules the script imported (the advice lints them with the script)
    user_modules: list[str] = field(default_factory=list)
    # Per measured step, for the report's plots: J/step of each entry, and the entries' boundaries
    # in seconds since the run's start (one more than the entries). An entry is one step, or
    # step_group consecutive steps (mean J/step; the last group may be shorter) when there are more
    # than MAX_PLOT_POINTS steps.
    step_energy_j: list[float] = field(default_factory=list)
    step_bounds_s: list[float] = field(default_factory=list)
    step_group: int = 1
    # A multi-process run (torchrun): one entry per rank; the figures above are the ranks' total
    # (each device counted once) and steps are counted per rank (merge.py). Empty for one process.
    ranks: list[RankSummary] = field(default_factory=list)
    # Training phases of the span the lines cover (phases.py): data loading, forward, backward, ...
    phases: list[Phase] = field(default_factory=list)
    phases_basis: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -------------------------------------------------------------------------------------- helpers


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


def _delta(end: float | None, begin: float | None) -> float | None:
    if end is None or begin is None:
        return None
    return max(end - begin, 0.0)


def _sum(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


# ------------------------------------------------------------------------------------ plot data
# The HTML report's plots: a power timeline per device and the per-step energy. Kept to at most
# MAX_PLOT_POINTS points each so the JSON stays small however long the run.

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


# -------------------------------------------------------------------------------------- compute


def compute_profile(raw: dict[str, Any] | None, total_steps: int | None = None, exit_code: int = 0,
                    total_steps_basis: str | None = None) -> Profile:
    """`total_steps_basis` says where `total_steps` came from (default: --total-steps) or, with no
    total, what was tried."""
    if raw is None:
        return Profile(outcome="no-result", exit_code=exit_code, steps=0, steps_seen=0, warmup_steps=0,
                       energy_j=None, energy_how="none", duration_s=None, window_energy_j=None,
                       window_time_s=None, j_per_step=None, j_per_step_p10=None, j_per_step_p90=None,
                       step_time_s=None, lines_basis="no samples",
                       projection=Projection(total_steps, None, None, None, None,
                                             "unknown: the script ended without a profile result"),
                       notices=["the profiled process wrote no result (killed, or os._exit)"])
    sources = raw["sources"]
    notices = list(raw.get("notices", []))
    run = raw["run"]
    run_e = [_delta(e, b) for e, b in zip(run["end"], run["begin"])]
    window = raw.get("window")
    win_steps = int(window.get("steps", 0)) if window and "end" in window else 0
    win_e = [_delta(e, b) for e, b in zip(window["end"], window["begin"])] if win_steps else [None] * len(sources)
    full = bool(raw["config"].get("full"))

    devices = [Device(s["kind"], s["name"], s["method"], run_e[i], win_e[i], s["tolerance"], s["basis"])
               for i, s in enumerate(sources)]
    for i, device in enumerate(devices):
        device.timeline, device.timeline_basis = device_timeline(raw, i)
    energy_j = _sum(run_e)
    energy_how = methods_how(s["method"] for i, s in enumerate(sources) if run_e[i] is not None)

    # Per-step energy: cheap sources from their per-step readings, the others split by timeline.
    per_step: list[float] = []
    step_durations: list[float] = []
    # A signal can land between the step counter and the per-step arrays: use complete records only.
    complete = min(win_steps, len(raw.get("step_times", [])), len(raw.get("step_cpu", [])))
    step_times = raw.get("step_times", [])[:complete]
    if complete:
        bounds = [window["t_begin"], *step_times]
        step_durations = [b - a for a, b in zip(bounds, bounds[1:])]
        per_step = [0.0] * len(step_times)
        cheap_index = raw.get("cheap_index", [])
        for i, src in enumerate(sources):
            if win_e[i] is None:
                continue
            if i in cheap_index:
                col = cheap_index.index(i)
                readings = [window["begin"][i], *[row[col] for row in raw["step_cpu"][:complete]]]
                if any(r is None for r in readings):
                    notices.append(f"{src['name']}: per-step readings incomplete; left out of J/step")
                    continue
                for k in range(len(step_times)):
                    per_step[k] += max(readings[k + 1] - readings[k], 0.0)
            else:
                # The window can end after the last step boundary (an interrupt): split over the
                # steps plus that tail, then leave the tail out of the per-step numbers.
                timeline = [tuple(p) for p in raw.get("timelines", {}).get(str(i), [])]
                t_end = window.get("t_end", step_times[-1])
                split_bounds = bounds + ([t_end] if t_end > step_times[-1] else [])
                parts, how = split_by_timeline(win_e[i], split_bounds, timeline)
                for k in range(len(step_times)):
                    per_step[k] += parts[k]
                notices.append(f"{src['name']}: per-step energy from {how}")

    j_per_step = sum(per_step) / len(per_step) if per_step else None
    p10 = percentile(per_step, 10) if per_step else None
    p90 = percentile(per_step, 90) if per_step else None
    step_time = sum(step_durations) / len(step_durations) if step_durations else None

    if not raw.get("steps_seen"):
        why = ("the script never imported torch.optim" if not raw.get("hook_installed")
               else "no optimizer.step() ran")
        notices.append(f"no optimizer steps were seen ({why}): energy and lines cover the {PROFILED_RUN}")
    elif not win_steps:
        notices.append(f"only {raw['steps_seen']} optimizer step(s) ran, all inside the warm-up: "
                       f"energy and lines cover the {PROFILED_RUN}")

    if win_steps and int(raw["config"].get("warmup") or 0) <= 0:
        notices.append("--warmup 0: the first measured step also holds the script's start-up (imports, data loading)")

    span_e = run_e if not win_steps else win_e
    lines, lines_basis = _lines(raw, sources, span_e, bool(win_steps))
    cpu_j = sum(e for e, s in zip(span_e, sources) if e is not None and s["kind"] == "cpu")
    phases, phases_basis = attribute_phases(raw, bool(win_steps), cpu_j, lines)
    tolerance = _weighted_tolerance(sources, win_e if win_steps else run_e)
    projection = _project(raw, full, total_steps, win_steps, window, run, per_step, j_per_step, p10, p90,
                          step_time, energy_j, tolerance, total_steps_basis, energy_how)
    steps_plot = step_series(per_step, [window["t_begin"], *step_times] if per_step else [], run["t_begin"])
    return Profile(
        outcome=raw.get("outcome", "completed"), exit_code=exit_code, steps=win_steps,
        steps_seen=int(raw.get("steps_seen", 0)), warmup_steps=(window or {}).get("step_count_at_begin", 0),
        energy_j=energy_j, energy_how=energy_how, duration_s=run["t_end"] - run["t_begin"],
        window_energy_j=_sum(win_e) if win_steps else None,
        window_time_s=(window["t_end"] - window["t_begin"]) if win_steps else None,
        j_per_step=j_per_step, j_per_step_p10=p10, j_per_step_p90=p90, step_time_s=step_time,
        devices=devices, lines=lines, lines_basis=lines_basis, projection=projection, notices=notices,
        step_energy_j=steps_plot[0], step_bounds_s=steps_plot[1], step_group=steps_plot[2],
        gpu_trace=_trace_summary(raw.get("gpu_trace")),
        user_modules=list(raw.get("user_modules") or []),
        phases=phases, phases_basis=phases_basis,
    )


_TRACE_SUMMARY_KEYS = ("steps", "kernels", "busy_s", "idle_total_s", "cpu_samples", "notice")


def _trace_summary(trace: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if not trace else {k: trace[k] for k in _TRACE_SUMMARY_KEYS if k in trace}


def _weighted_tolerance(sources: list[dict[str, Any]], energies: list[float | None]) -> float:
    pairs = [(e, s["tolerance"]) for e, s in zip(energies, sources) if e]
    total = sum(e for e, _ in pairs)
    if not total:
        return max((s["tolerance"] for s in sources), default=0.5)
    return sum(e * t for e, t in pairs) / total


def _lines(raw: dict[str, Any], sources: list[dict[str, Any]], energies: list[float | None],
           in_window: bool) -> tuple[list[Line], str]:
    rows = raw["lines_window"] if in_window else raw["lines_all"]
    unattributed = raw.get("unattributed_window_s" if in_window else "unattributed_s", 0.0)
    cpu_j = sum(e for e, s in zip(energies, sources) if e is not None and s["kind"] == "cpu")
    total_t = sum(t for _, _, t in rows) + unattributed
    by_key = {}
    for f, ln, t in rows:
        line_cpu = cpu_j * t / total_t if total_t else 0.0
        by_key[(f, int(ln))] = Line(f, int(ln), line_cpu, t, t / total_t if total_t else 0.0, cpu_j=line_cpu)
    span = f"the {MEASURED_STEPS}" if in_window else f"the {PROFILED_RUN}"
    cpu_methods = sorted({s["method"] for s in sources if s["kind"] == "cpu"})
    cpu_how = "/".join(sorted({method_how(m) for m in cpu_methods})) or "no"
    basis = (f"estimated: the {cpu_how} CPU energy of {span} ({'/'.join(cpu_methods)}) split by each line's share of "
             f"main-thread stack samples (every {raw.get('sample_interval_s', 0.005) * 1000:g} ms, "
             f"{raw.get('samples', 0)} samples; time inside libraries goes to the calling line of the script, "
             "and its training phase is shown beside the line). ")
    basis += _add_gpu_lines(raw, sources, energies, by_key)
    lines = sorted(by_key.values(), key=lambda l: (-l.energy_j, -l.time_s, l.filename, l.line))
    return lines, basis


def _add_gpu_lines(raw: dict[str, Any], sources: list[dict[str, Any]], energies: list[float | None],
                   by_key: dict[tuple[str, int], Line]) -> str:
    """Adds the GPU energy of the span to the lines (gpu_attribution.py); returns the basis words."""
    gpu = [(i, e) for i, (e, s) in enumerate(zip(energies, sources)) if e is not None and s["kind"] == "gpu"]
    if not gpu:
        return "No GPU was measured."
    trace = raw.get("gpu_trace") or {}
    if "active" not in trace:
        why = trace.get("notice") or "no torch.profiler trace (CUDA not initialised, or --gpu-trace-steps 0)"
        return f"GPU energy is not attributed to lines: {why}."
    times = GpuLineTimes(
        active_s={(f, int(ln)): t for f, ln, t in trace["active"]},
        idle_s={(f, int(ln)): t for f, ln, t in trace["idle"]},
        busy_s=trace["busy_s"], idle_total_s=trace["idle_total_s"],
        span_s=trace["span"][1] - trace["span"][0],
        unattributed_active_s=trace["unattributed_active_s"], unattributed_idle_s=trace["unattributed_idle_s"],
    )
    gpu_j = sum(e for _, e in gpu)
    # the traced steps' power samples, when a GPU source kept a timeline, weight busy vs idle time
    power = [tuple(p) for i, _ in gpu for p in raw.get("timelines", {}).get(str(i), [])
             if trace["span"][0] <= p[0] <= trace["span"][1]]
    intervals = [tuple(iv) for iv in trace.get("busy_intervals", [])]
    energy = gpu_line_energy(times, gpu_j, power or None, intervals or None)
    for key in set(energy.active_j) | set(energy.idle_j):
        line = by_key.get(key) or by_key.setdefault(key, Line(key[0], key[1], 0.0, 0.0, 0.0))
        line.gpu_active_j = energy.active_j.get(key, 0.0)
        line.gpu_idle_j = energy.idle_j.get(key, 0.0)
        line.energy_j = line.cpu_j + line.gpu_active_j + line.gpu_idle_j
    gpu_how = methods_how(sources[i]["method"] for i, _ in gpu)
    return (f"GPU: the {gpu_how} GPU energy ({format_energy(gpu_j)}) is {energy.basis}, from {trace.get('steps', 0)} "
            f"steps traced with torch.profiler before the measured window ({trace.get('kernels', 0)} kernels); "
            f"{format_energy(energy.unattributed_j)} unattributed.")


def _project(raw: dict[str, Any], full: bool, total_steps: int | None, win_steps: int, window: Any,
             run: dict[str, Any], per_step: list[float], j_per_step: float | None, p10: float | None,
             p90: float | None, step_time: float | None, energy_j: float | None, tol: float,
             total_steps_basis: str | None = None, energy_how: str = "estimated") -> Projection:
    if full:
        if raw.get("outcome") in ("completed", "stopped") and energy_j is not None:
            # Not a projection: the run went to its end, so the figure is as measured or estimated
            # as the profile's own energy.
            return Projection(int(raw.get("steps_seen", 0)), energy_j, energy_j * (1 - tol), energy_j * (1 + tol),
                              run["t_end"] - run["t_begin"],
                              f"{energy_how}: the {FULL_RUN}, run to its end under greenlint (--full); time measured; "
                              f"range: {tolerance_words(energy_how, tol)}", kind="full run", how=energy_how)
        return Projection(None, None, None, None, None,
                          f"unknown: the --full run did not finish ({raw.get('outcome')}); energy_j covers the "
                          f"{PROFILED_RUN} (the part that ran)")
    if total_steps is None:
        tried = f"; tried: {total_steps_basis}" if total_steps_basis else ""
        return Projection(None, None, None, None, None,
                          f"unknown: pass --total-steps N (the script's own step count is not known{tried})",
                          total_steps_basis or "")
    source = total_steps_basis or "--total-steps"
    if not per_step or j_per_step is None:
        return Projection(total_steps, None, None, None, None,
                          "unknown: no measured optimizer steps to project from", source)
    startup_j = _sum([_delta(w, r) for w, r in zip(window["begin"], run["begin"])]) or 0.0
    startup_t = window["t_begin"] - run["t_begin"]
    before = int(window.get("step_count_at_begin", 0))
    remaining = max(total_steps - before, 0)
    between = _between_epochs(raw, window, per_step, total_steps)
    if between is not None:
        # the boundary step holds a training step plus the work between epochs: project the
        # steps without it, and that work once per epoch
        j_per_step, p10, p90 = between.mean, between.p10, between.p90
    extra_j = between.extra_j * between.epochs if between is not None else 0.0
    point = startup_j + j_per_step * remaining + extra_j
    low = (startup_j + p10 * remaining + extra_j) * (1 - tol)
    high = (startup_j + p90 * remaining + extra_j) * (1 + tol)
    time_s = startup_t + (step_time or 0.0) * remaining
    if between is not None:
        tail = (f"; work between epochs (evaluation, checkpoints): {energy_how} at the first epoch boundary, "
                f"{format_energy(between.extra_j)} more than a step, x {between.epochs} epoch ends "
                f"({format_energy(extra_j)})")
    else:
        tail = "; work after the last step (evaluation, saving) is not included"
    steps_used = len(per_step) - (1 if between is not None else 0)
    basis = (f"projected: from {energy_how} energy, start-up and {before} warm-up step(s) ({format_energy(startup_j)}) "
             f"+ mean {format_energy(j_per_step)}/step over {steps_used} {MEASURED_STEPS} x {remaining} remaining "
             f"of {total_steps} ({source}); range: 10th-90th percentile J/step widened by "
             f"{tolerance_words(energy_how, tol)}{tail}")
    return Projection(total_steps, point, low, high, time_s, basis, source, kind="projection", how="projected")


@dataclass
class _BetweenEpochs:
    extra_j: float  # energy of the boundary step beyond an ordinary step's
    epochs: int
    mean: float  # J/step of the other measured steps
    p10: float
    p90: float


def _between_epochs(raw: dict[str, Any], window: Any, per_step: list[float], total_steps: int) -> _BetweenEpochs | None:
    """With --through-epoch: the measured step that spans the first epoch boundary (the step after
    the training loader's second iter()), compared with the others."""
    if not (raw.get("config") or {}).get("through_epoch"):
        return None
    boundary = epoch_boundary(raw)
    if boundary is None:
        return None
    first, second = boundary
    index = second - int(window.get("step_count_at_begin", 0))  # 0-based index of step `second + 1`
    if not 0 <= index < len(per_step) or len(per_step) < 3:
        return None
    others = per_step[:index] + per_step[index + 1:]
    typical = percentile(others, 50)
    per_epoch = second - first
    if per_epoch <= 0:
        return None
    return _BetweenEpochs(max(per_step[index] - typical, 0.0), max(round(total_steps / per_epoch), 1),
                          sum(others) / len(others), percentile(others, 10), percentile(others, 90))


def epoch_boundary(raw: dict[str, Any]) -> tuple[int, int] | None:
    """(steps done when the first epoch began, when the second did), from the run-length probe's
    record of each DataLoader's iter() calls: the loader iterated a second time first."""
    loaders = ((raw.get("run_length") or {}).get("loaders")) or []
    pairs = [(steps[1], steps[0]) for steps in (loader.get("iter_steps") or [] for loader in loaders)
             if len(steps) >= 2 and steps[1] > steps[0]]
    if not pairs:
        return None
    second, first = min(pairs)
    return first, second
