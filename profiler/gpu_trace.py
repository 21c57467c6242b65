"""The child side of GPU line attribution: a short torch.profiler window with stack recording.

The Recorder runs it over a few steps *between* the warm-up and the measured window, so that the
profiler's own overhead (up to +80 % on launch-bound steps, measured) never lands in the
measured energy; the kernel-time shares it yields are then applied to the window's GPU energy in
the parent (profile.py, with gpu_attribution.gpu_line_energy).

Clocks: torch.profiler reports microseconds since its own trace start. An annotation recorded
right after `time.time()` is read anchors the trace to the wall clock the stack sampler uses.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from greenlint.profiler.gpu_attribution import (
    LINE_MARK,
    CpuSample,
    attribute_times,
    launches_from_torch_events,
    merge_intervals,
)

ANCHOR = "greenlint-trace-anchor"
MAX_SAMPLES = 20_000  # a few steps at 5 ms: far fewer; a bound against a step that never ends
MAX_INTERVALS = 2_000  # busy intervals kept for the power-weighted split


def profiler_path_resolver(resolve: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """torch.profiler names frames with paths shortened against sys.path ("train.py(42): <module>",
    "torch/nn/modules/linear.py(130): forward"): find the file again before deciding whose it is."""
    cache: dict[str, str | None] = {}

    def find(name: str) -> str | None:
        if name not in cache:
            found = None
            if os.path.isabs(name):
                found = resolve(name)
            else:
                for entry in sys.path:
                    candidate = os.path.join(entry or os.getcwd(), name)
                    if os.path.isfile(candidate):
                        found = resolve(candidate)
                        break
            cache[name] = found
        return cache[name]

    return find


def line_marks_mode(resolve: Callable[[str], str | None]) -> Any:
    """A TorchFunctionMode that wraps every torch call made (directly or through a library) from
    the user's code in a profiler annotation naming the user's file and line, so that the kernels
    it launches have that line among their CPU parents. torch's own Python tracer only names
    functions by their `def` line. Active during the traced steps only: it costs a frame walk and
    an annotation per torch call."""
    from torch.overrides import TorchFunctionMode
    from torch.profiler import record_function

    class LineMarks(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            frame = sys._getframe(1)
            path = None
            while frame is not None:
                path = resolve(frame.f_code.co_filename)
                if path is not None:
                    break
                frame = frame.f_back
            if frame is None or path is None:
                return func(*args, **kwargs)
            with record_function(f"{LINE_MARK}{path}:{frame.f_lineno}"):
                return func(*args, **kwargs)

    return LineMarks()


class GpuTrace:
    def __init__(self, resolve: Callable[[str], str | None], cpu_only: bool = False) -> None:
        self._resolve_abs = resolve
        self._mode: Any = None
        self._resolve = profiler_path_resolver(resolve)
        self._cpu_only = cpu_only  # tests on machines without CUDA: the same machinery, no kernels
        self._profiler: Any = None
        self._anchor_wall = 0.0
        self.t_begin = 0.0
        self.samples: list[CpuSample] = []
        self.active = False

    def start(self) -> str | None:
        """Start tracing; returns a notice instead when torch.profiler cannot run."""
        torch = sys.modules.get("torch")
        if torch is None:
            return "GPU line attribution skipped: torch is not imported"
        try:
            from torch.profiler import ProfilerActivity, profile, record_function

            activities = [ProfilerActivity.CPU] + ([] if self._cpu_only else [ProfilerActivity.CUDA])
            self._profiler = profile(activities=activities, with_stack=True, record_shapes=False)
            self._profiler.start()
            self._mode = line_marks_mode(self._resolve_abs)
            self._mode.__enter__()
            self._anchor_wall = time.time()
            with record_function(ANCHOR):
                pass
            self.t_begin = time.time()
        except Exception as exc:  # noqa: BLE001 - attribution is a bonus; the measurement goes on
            self._abandon()
            return f"GPU line attribution skipped: torch.profiler failed to start ({type(exc).__name__}: {exc})"
        self.active = True
        return None

    def _abandon(self) -> None:
        for undo in (lambda: self._mode.__exit__(None, None, None), lambda: self._profiler.stop()):
            try:
                undo()
            except Exception:  # noqa: BLE001 - already stopped, or never started
                pass
        self._mode = self._profiler = None

    def add_sample(self, t: float, line: tuple[str, int] | None) -> None:
        if self.active and len(self.samples) < MAX_SAMPLES:
            self.samples.append(CpuSample(t, line))

    def stop(self, steps: int) -> dict[str, Any]:
        """Stop and reduce the trace to per-line times (the raw result's "gpu_trace")."""
        self.active = False
        t_end = time.time()
        if self._mode is not None:
            try:
                self._mode.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - a mode stack the script rearranged: leave it
                pass
            self._mode = None
        if self._profiler is None:
            return {"notice": "GPU line attribution skipped: no trace"}
        try:
            self._profiler.stop()
            events = list(self._profiler.events())
        except Exception as exc:  # noqa: BLE001
            return {"notice": f"GPU line attribution skipped: reading the trace failed ({type(exc).__name__}: {exc})"}
        finally:
            self._profiler = None
        anchor_us = next((e.time_range.start for e in events if getattr(e, "name", "") == ANCHOR), None)
        if anchor_us is None:
            return {"notice": "GPU line attribution skipped: the trace has no clock anchor"}

        def to_wall(us: float) -> float:
            return self._anchor_wall + (us - anchor_us) / 1e6

        launches = launches_from_torch_events(events, self._resolve, to_wall)
        span = (self.t_begin, t_end)
        times = attribute_times(launches, self.samples, span)
        busy = merge_intervals((k.start_s, k.end_s) for k in launches)
        return {
            "steps": steps,
            "span": list(span),
            "kernels": len(launches),
            "busy_s": times.busy_s,
            "idle_total_s": times.idle_total_s,
            "unattributed_active_s": times.unattributed_active_s,
            "unattributed_idle_s": times.unattributed_idle_s,
            "active": [[f, ln, t] for (f, ln), t in times.active_s.items()],
            "idle": [[f, ln, t] for (f, ln), t in times.idle_s.items()],
            "busy_intervals": [list(iv) for iv in busy[:MAX_INTERVALS]],
            "cpu_samples": len(self.samples),
        }
