"""The Profile: energy per device, per step and per line, and the projection to the whole run.

Pure arithmetic on the child's raw result (see recorder.Recorder.finish), so every number here
can be tested with made-up readings. Joules inside; the CLI converts for display.

The dataclasses are in profile_data.py (and importable from here), the arithmetic helpers in
energy_math.py, the plot data in plot_data.py and the projection to the whole run in projection.py.
"""

from __future__ import annotations

from typing import Any

from greenlint.profiler.energy_math import counter_delta, sum_known, percentile, split_by_timeline
from greenlint.profiler.gpu_attribution import GpuLineTimes, gpu_line_energy
from greenlint.profiler.labels import MEASURED_METHODS, MEASURED_STEPS, PROFILED_RUN, method_how, methods_how
from greenlint.profiler.phases import Phase, attribute_phases
from greenlint.profiler.plot_data import device_timeline, step_series
from greenlint.profiler.profile_data import Device, Line, Profile, Projection, RankSummary
from greenlint.profiler.projection import build_projection
from greenlint.profiler.units import format_energy

__all__ = ["MEASURED_METHODS", "Device", "Line", "Phase", "Profile", "Projection", "RankSummary", "compute_profile"]


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
    run_e = [counter_delta(e, b) for e, b in zip(run["end"], run["begin"])]
    window = raw.get("window")
    win_steps = int(window.get("steps", 0)) if window and "end" in window else 0
    win_e = [counter_delta(e, b) for e, b in zip(window["end"], window["begin"])] if win_steps else [None] * len(sources)
    full = bool(raw["config"].get("full"))

    devices = [Device(s["kind"], s["name"], s["method"], run_e[i], win_e[i], s["tolerance"], s["basis"])
               for i, s in enumerate(sources)]
    for i, device in enumerate(devices):
        device.timeline, device.timeline_basis = device_timeline(raw, i)
    energy_j = sum_known(run_e)
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
    projection = build_projection(raw, full, total_steps, win_steps, window, run, per_step, j_per_step, p10, p90,
                          step_time, energy_j, tolerance, total_steps_basis, energy_how)
    steps_plot = step_series(per_step, [window["t_begin"], *step_times] if per_step else [], run["t_begin"])
    return Profile(
        outcome=raw.get("outcome", "completed"), exit_code=exit_code, steps=win_steps,
        steps_seen=int(raw.get("steps_seen", 0)), warmup_steps=(window or {}).get("step_count_at_begin", 0),
        energy_j=energy_j, energy_how=energy_how, duration_s=run["t_end"] - run["t_begin"],
        window_energy_j=sum_known(win_e) if win_steps else None,
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
