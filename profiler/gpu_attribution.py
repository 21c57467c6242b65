"""GPU energy per source line: to the line that *launched* the kernels, and idle time to the CPU
lines that ran while the GPU waited.

CUDA is asynchronous: the CPU stack sampler sees time on whichever line waits (`loss.item()`,
`.to(device)`), not on the line whose kernels used the GPU (shared/research/gpu-measurements.md).
So the child runs a short `torch.profiler` window with stack recording over a few steps after
the warm-up (it costs up to +80 % on launch-bound steps, measured, so only a few steps), and this
module turns that trace into:

- **active** GPU time per launching user line: each kernel's duration goes to the innermost frame
  of the user's own code on the stack of the CPU op that launched it;
- **idle** GPU time: the gaps in the union of kernel intervals inside the traced span, each gap
  given to the user lines the stack sampler saw on the CPU during it (input stalls, logging, the
  Python between steps); a gap with no sample goes to "unattributed".

The GPU energy of the measured window is then split in proportion: active energy by each line's
share of kernel time, idle energy by each line's share of idle time. Energy is split by *time*
because the 20 ms power samples cannot resolve millisecond kernels; the idle/active split uses the
measured power samples where they exist (`split_active_idle`). Everything here is pure arithmetic
on small dataclasses, so it is tested with made-up traces on CPU; `launches_from_torch_events` is
the only part that knows torch.profiler's event objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

Location = tuple[str, int]


@dataclass(frozen=True)
class KernelLaunch:
    start_s: float  # kernel start, on the trace's clock aligned to time.time()
    end_s: float
    line: Location | None  # the launching user line, None when no user frame was on the stack


@dataclass(frozen=True)
class CpuSample:
    t_s: float  # time.time() of the sample
    line: Location | None


@dataclass
class GpuLineTimes:
    active_s: dict[Location, float] = field(default_factory=dict)
    idle_s: dict[Location, float] = field(default_factory=dict)
    busy_s: float = 0.0  # union of kernel intervals
    idle_total_s: float = 0.0  # gaps inside the traced span
    span_s: float = 0.0
    unattributed_active_s: float = 0.0
    unattributed_idle_s: float = 0.0


def merge_intervals(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def idle_gaps(busy: list[tuple[float, float]], span: tuple[float, float]) -> list[tuple[float, float]]:
    """The parts of `span` not covered by the (merged, sorted) busy intervals."""
    gaps, cursor = [], span[0]
    for start, end in busy:
        if end <= span[0] or start >= span[1]:
            continue
        if start > cursor:
            gaps.append((cursor, min(start, span[1])))
        cursor = max(cursor, end)
    if cursor < span[1]:
        gaps.append((cursor, span[1]))
    return gaps


def attribute_times(launches: list[KernelLaunch], samples: list[CpuSample], span: tuple[float, float]) -> GpuLineTimes:
    """Kernel time per launching line, and each idle gap's time per sampled CPU line."""
    result = GpuLineTimes(span_s=max(span[1] - span[0], 0.0))
    for k in launches:
        start, end = max(k.start_s, span[0]), min(k.end_s, span[1])
        if end <= start:
            continue
        if k.line is None:
            result.unattributed_active_s += end - start
        else:
            result.active_s[k.line] = result.active_s.get(k.line, 0.0) + end - start
    busy = merge_intervals((max(k.start_s, span[0]), min(k.end_s, span[1])) for k in launches)
    result.busy_s = sum(end - start for start, end in busy)
    ordered = sorted(samples, key=lambda s: s.t_s)
    for gap_start, gap_end in idle_gaps(busy, span):
        length = gap_end - gap_start
        result.idle_total_s += length
        inside = [s for s in ordered if gap_start <= s.t_s < gap_end]
        if not inside:
            result.unattributed_idle_s += length
            continue
        per_sample = length / len(inside)
        for s in inside:
            if s.line is None:
                result.unattributed_idle_s += per_sample
            else:
                result.idle_s[s.line] = result.idle_s.get(s.line, 0.0) + per_sample
    return result


def split_active_idle(gpu_energy_j: float, busy_s: float, idle_s: float,
                      power: list[tuple[float, float]] | None = None,
                      busy_intervals: list[tuple[float, float]] | None = None) -> tuple[float, float, str]:
    """(active J, idle J, how): by the mean measured power inside busy vs idle time when the power
    samples (time, W) fall in both, else by time."""
    total = busy_s + idle_s
    if gpu_energy_j <= 0 or total <= 0:
        return 0.0, 0.0, "no GPU time in the traced span"
    if power and busy_intervals:
        busy_w = [w for t, w in power if any(a <= t < b for a, b in busy_intervals)]
        idle_w = [w for t, w in power if not any(a <= t < b for a, b in busy_intervals)]
        if busy_w and idle_w:
            pb, pi = sum(busy_w) / len(busy_w), sum(idle_w) / len(idle_w)
            weight_busy, weight_idle = pb * busy_s, pi * idle_s
            scale = gpu_energy_j / (weight_busy + weight_idle)
            return weight_busy * scale, weight_idle * scale, (
                f"split by time weighted with the measured power samples ({pb:.0f} W busy, {pi:.0f} W idle)")
    return gpu_energy_j * busy_s / total, gpu_energy_j * idle_s / total, "split by time (busy vs idle)"


@dataclass
class GpuLineEnergy:
    active_j: dict[Location, float]
    idle_j: dict[Location, float]
    unattributed_j: float
    basis: str


def gpu_line_energy(times: GpuLineTimes, gpu_energy_j: float,
                    power: list[tuple[float, float]] | None = None,
                    busy_intervals: list[tuple[float, float]] | None = None) -> GpuLineEnergy:
    """Split the window's GPU energy over lines by the traced steps' time shares."""
    active_j, idle_j, how = split_active_idle(gpu_energy_j, times.busy_s, times.idle_total_s, power, busy_intervals)
    active_total = sum(times.active_s.values()) + times.unattributed_active_s
    idle_total = sum(times.idle_s.values()) + times.unattributed_idle_s
    per_active = {loc: active_j * t / active_total for loc, t in times.active_s.items()} if active_total else {}
    per_idle = {loc: idle_j * t / idle_total for loc, t in times.idle_s.items()} if idle_total else {}
    unattributed = (active_j * times.unattributed_active_s / active_total if active_total else 0.0) + (
        idle_j * times.unattributed_idle_s / idle_total if idle_total else 0.0)
    busy_share = times.busy_s / times.span_s if times.span_s else 0.0
    basis = (f"GPU energy split between kernels ({busy_share:.0%} of the traced time) and idle gaps, {how}; "
             "kernel time goes to the user line that launched it (torch.profiler stacks), idle time to the "
             "CPU lines sampled during the gap")
    return GpuLineEnergy(per_active, per_idle, unattributed, basis)


# --------------------------------------------------------------------------- torch.profiler events

_FRAME = re.compile(r"^(?P<file>.*)\((?P<line>\d+)\): ")
# A user annotation the trace's TorchFunctionMode wraps around every torch call made from the
# user's code (gpu_trace.line_marks_mode): "greenlint-line:/abs/path/train.py:42".
LINE_MARK = "greenlint-line:"


def _mark_line(name: str) -> Location | None:
    if not name.startswith(LINE_MARK):
        return None
    path, _, line = name[len(LINE_MARK):].rpartition(":")
    return (path, int(line)) if path and line.isdigit() else None


def user_frame(stack: Iterable[str], resolve: Callable[[str], str | None]) -> Location | None:
    """The innermost frame of the user's own code in a torch.profiler stack ("file.py(12): fn")."""
    for entry in stack or ():
        match = _FRAME.match(entry)
        if match is None:
            continue
        path = resolve(match.group("file"))
        if path is not None:
            return (path, int(match.group("line")))
    return None


def _is_gpu(event: Any) -> bool:
    return str(getattr(event, "device_type", "")).rsplit(".", 1)[-1] in ("CUDA", "PrivateUse1", "XPU")


def launches_from_torch_events(events: Iterable[Any], resolve: Callable[[str], str | None],
                               to_wall: Callable[[float], float]) -> list[KernelLaunch]:
    """Kernel intervals with their launching user line, from `torch.profiler.profile().events()`.

    A kernel event links (`linked_correlation_id`) to the CPU runtime call that launched it
    (`cudaLaunchKernel`, id = that correlation id); the user's line is found walking up its CPU
    parents: either in a recorded `stack`, or (torch 2.x with `with_stack=True`) as a parent that is
    itself a Python-function event named like a frame, "train.py(42): <module>". `to_wall` maps
    the trace's microseconds to time.time() seconds."""
    events = list(events)
    by_id: dict[int, Any] = {}
    marks: list[tuple[float, float, Location]] = []  # (start, end, line) of the line marks
    for e in events:
        if not _is_gpu(e):
            by_id.setdefault(getattr(e, "id", -1), e)
            mark = _mark_line(str(getattr(e, "name", "")))
            if mark is not None:
                marks.append((e.time_range.start, e.time_range.end, mark))
    launches: list[KernelLaunch] = []
    for e in events:
        if not _is_gpu(e):
            continue
        launcher = by_id.get(getattr(e, "linked_correlation_id", 0) or -1)
        line = _launching_line(launcher, resolve, marks)
        time_range = e.time_range
        launches.append(KernelLaunch(to_wall(time_range.start), to_wall(time_range.end), line))
    return launches


def _launching_line(launcher: Any, resolve: Callable[[str], str | None],
                    marks: list[tuple[float, float, Location]]) -> Location | None:
    """The user line behind the CPU call that launched a kernel, best evidence first:
    1. a line mark among its CPU parents (the exact line of the user's torch call);
    2. a line mark on another thread whose time span covers the launch (the autograd engine runs
       backward on its own threads, inside the user's `loss.backward()` call), the innermost;
    3. a frame-named parent or a recorded stack (function granularity only: torch's Python
       tracer names a function by its `def` line)."""
    if launcher is None:
        return None
    frame_line: Location | None = None
    cpu, depth = launcher, 0
    while cpu is not None and depth < 64:
        mark = _mark_line(str(getattr(cpu, "name", "")))
        if mark is not None:
            return mark
        if frame_line is None:
            frame_line = user_frame([*(getattr(cpu, "stack", ()) or ()), str(getattr(cpu, "name", ""))], resolve)
        cpu = getattr(cpu, "cpu_parent", None)
        depth += 1
    start = getattr(getattr(launcher, "time_range", None), "start", None)
    if start is not None:
        covering = [(end - begin, line) for begin, end, line in marks if begin <= start <= end]
        if covering:
            return min(covering)[1]
    return frame_line
