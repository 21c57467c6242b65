"""The child's measurement state (``Recorder``): the energy readings at the run's and the measured
window's boundaries, the per-step times, the sampler thread that attributes CPU time to the user's
lines and training phases, the optional GPU trace, the live status file and the journal, and the
raw result (``finish``). ``bootstrap.py`` creates one per process and runs the script under it."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from typing import Any

from greenlint.profiler.gpu_trace import GpuTrace
from greenlint.profiler.journal import Journal, run_length_snapshot
from greenlint.profiler.phases import PhaseRecorder
from greenlint.profiler.run_length_probe import RunLengthProbe, run_length_result
from greenlint.profiler.sources import EnergySource, SourceSet
from greenlint.profiler.user_files import UserFiles


class StopProfiling(BaseException):
    """Raised from the optimizer hook to end the run at a step boundary.

    A BaseException, so that the user's ``except Exception`` around a step cannot swallow it.
    """


class Recorder:
    """All measurement state of one child run (one instance per process, owned by main())."""

    POLL_INTERVAL_S = 1.0  # sensor polls and timeline readings from the sampler thread

    def __init__(self, config: dict[str, Any], sources: list[EnergySource], notices: list[str]) -> None:
        self.config = config
        self.warmup = int(config.get("warmup", 3))
        self.steps_target = config.get("steps")  # None with --full
        self.duration = config.get("duration")
        # Under torchrun with --duration the ranks must stop at the same step, or the others would
        # wait in a collective for ever: rank 0 decides and names the step in this file.
        self.stop_path: str | None = config.get("stop_path")
        self.decides_stop = bool(config.get("decides_stop", True))
        self._stop_at: int | None = None
        self.full = bool(config.get("full"))
        self.interval = float(config.get("sample_interval_s", 0.005))
        self.sources = SourceSet(sources, list(notices))
        self.cheap_idx = [i for i, s in enumerate(sources) if s.cheap]
        self.step_count = 0
        self.stop_reason: str | None = None
        self.t_run0 = 0.0
        self.run_begin: list[float | None] = []
        self.window: dict[str, Any] | None = None  # {"t_begin", "begin", "step_count_at_begin"}
        self.window_end: dict[str, Any] | None = None
        self.step_times: list[float] = []
        self.step_cpu: list[list[float | None]] = []
        self.lines_all: dict[tuple[str, int], float] = defaultdict(float)
        self.lines_window: dict[tuple[str, int], float] = defaultdict(float)
        self.samples = 0
        self.unattributed_s = 0.0
        self.unattributed_window_s = 0.0
        self.phases = PhaseRecorder()  # training phase of each sample, from the library frames (phases.py)
        self.hook_installed = False
        self.probe: RunLengthProbe | None = None  # run-length values (run_length_probe.py), set by main()
        self._force_stop = False
        self._sampler_stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._user_files = UserFiles()
        # [time, readings of the cheap sources (None for the others)] about once a second: the
        # report's power timeline for sources without a sample buffer (estimate, RAPL).
        self.cumulative: list[list[Any]] = []
        # GPU line attribution (gpu_trace.py): a few traced steps between the warm-up and the window
        self.trace_steps = int(config.get("gpu_trace_steps", 3) or 0)
        self.through_epoch = bool(config.get("through_epoch"))
        self._told_no_loader = False
        self.trace_without_cuda = bool(config.get("gpu_trace_cpu"))  # tests: the same path on CPU
        self._trace: GpuTrace | None = None
        self._trace_first_step = 0
        self.gpu_trace: dict[str, Any] | None = None
        # the measurements streamed as they are taken (journal.py), for a run killed before finish()
        self.journal: Journal | None = None
        self.journal_rank: dict[str, Any] | None = None

    # -- boundaries ----------------------------------------------------------------------------

    def _sync(self) -> None:
        # CUDA is asynchronous: without a synchronize, work queued before the boundary would be
        # counted after it. Only when the script has already initialised CUDA.
        torch = sys.modules.get("torch")
        try:
            if torch is not None and torch.cuda.is_initialized():
                torch.cuda.synchronize()
        except Exception:  # noqa: BLE001
            pass

    def start(self) -> None:
        self.t_run0 = time.time()
        self.run_begin = self.sources.read_all()
        if self.journal is not None:
            self.journal.start(self, self.journal_rank)
        if self.warmup <= 0:
            self._begin_window(self.t_run0, self.run_begin)
        self._sampler = threading.Thread(target=self._sample_loop, name="greenlint-sampler", daemon=True)
        self._sampler.start()

    def _begin_window(self, t: float, readings: list[float | None] | None = None) -> None:
        if readings is None:
            self._sync()
            self.sources.poll_all()  # fresh child-process CPU (DataLoader workers) for the boundary
            readings = self.sources.read_all()
            t = time.time()
        self.window = {"t_begin": t, "begin": readings, "step_count_at_begin": self.step_count}
        if self.journal is not None:
            self.journal.window(self.window, run_length_snapshot(self.probe))

    def _end_window(self) -> None:
        if self.window is None or self.window_end is not None:
            return
        self._sync()
        self.sources.poll_all()
        readings = self.sources.read_all()
        self.window_end = {"t_end": time.time(), "end": readings,
                           "steps": self.step_count - self.window["step_count_at_begin"]}
        if self.journal is not None:
            self.journal.window_end(self.window_end)

    # -- the optimizer hook (hot path: keep it to a clock read and the cheap sources) ----------

    def on_step(self, optimizer: Any = None, args: Any = None, kwargs: Any = None) -> None:
        if self.stop_reason is not None:
            raise StopProfiling  # the script swallowed the first one (bare except): stop again
        self.step_count += 1
        now = time.time()
        if self.window is None:
            if self.journal is not None:
                self.journal.step(self.step_count)
            if self._trace is not None:
                if self.step_count - self._trace_first_step >= self.trace_steps:
                    self._finish_trace()
                    self._begin_window(now)
                return
            if self.step_count >= self.warmup and not self._start_trace():
                self._begin_window(now)
            return
        if self.window_end is not None:
            return  # --full after a stop is impossible; defensive
        self.step_times.append(now)
        self.step_cpu.append(self._cheap_reads())
        if self.journal is not None:
            self.journal.step(self.step_count, now, self.step_cpu[-1])
        measured = self.step_count - self.window["step_count_at_begin"]
        if self.full:
            return
        if self.steps_target is not None and measured >= self.steps_target and self._may_stop():
            self._stop("steps")
        if self.duration is not None:
            self._check_duration(now)

    def _check_duration(self, now: float) -> None:
        if self._stop_at is None and self.stop_path is not None and not self.decides_stop:
            self._stop_at = _read_stop_step(self.stop_path)  # one stat per step, under torchrun only
        if self._stop_at is not None:
            if self.step_count >= self._stop_at:
                self._stop("duration")
            return
        if now - self.window["t_begin"] < self.duration or not self.decides_stop:
            return
        if self.stop_path is None:
            self._stop("duration")
        # DDP keeps the ranks within one step of each other (each step's gradient all-reduce waits
        # for all of them), so none has passed the next step yet: all stop there.
        self._stop_at = self.step_count + 1
        try:
            write_result_atomically(self.stop_path, {"stop_at": self._stop_at})
        except OSError:
            self._stop("duration")  # cannot tell the others; stopping alone is the lesser harm

    # -- GPU trace (outside the measured window: torch.profiler costs up to +80 % per step) ------

    def _start_trace(self) -> bool:
        if self.trace_steps <= 0 or self.gpu_trace is not None:
            return False
        torch = sys.modules.get("torch")
        try:
            cuda = torch is not None and torch.cuda.is_initialized()
        except Exception:  # noqa: BLE001
            cuda = False
        if not cuda and not self.trace_without_cuda:
            return False
        self._sync()
        trace = GpuTrace(self._user_files.resolve, cpu_only=not cuda)
        notice = trace.start()
        if notice is not None:
            self.sources.notices.append(notice)
            self.gpu_trace = {"notice": notice}
            return False
        self._trace, self._trace_first_step = trace, self.step_count
        return True

    def _finish_trace(self) -> None:
        if self._trace is None:
            return
        self._sync()
        trace, self._trace = self._trace, None
        self.gpu_trace = trace.stop(self.step_count - self._trace_first_step)
        if "notice" in self.gpu_trace:
            self.sources.notices.append(self.gpu_trace["notice"])

    def _may_stop(self) -> bool:
        """--through-epoch: measure on past the first epoch boundary (two steps into the second
        epoch), so that the work between epochs is measured too. Without any DataLoader there is no
        boundary to wait for."""
        if not self.through_epoch or self.probe is None:
            return True
        if not self.probe.saw_loader():
            if not self._told_no_loader:
                self._told_no_loader = True
                self.sources.notices.append("--through-epoch: no DataLoader was iterated, so no epoch boundary "
                                            "to measure through; stopped at --steps")
            return True
        boundary = self.probe.epoch_boundary()
        return boundary is not None and self.step_count >= boundary[1] + 2

    def _cheap_reads(self) -> list[float | None]:
        try:
            return [self.sources.sources[i].read_j() if i not in self.sources.failed else None
                    for i in self.cheap_idx]
        except Exception:  # noqa: BLE001 - never let a failing sensor break the user's step
            full = self.sources.read_all(cheap_only=True)  # records which source failed, with a notice
            return [full[i] for i in self.cheap_idx]

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        self._end_window()
        raise StopProfiling

    # -- sampler thread -------------------------------------------------------------------------

    def _attribute(self, frame: Any) -> tuple[str, int] | None:
        resolve = self._user_files.resolve
        while frame is not None:
            path = resolve(frame.f_code.co_filename)
            if path is not None:
                return (path, frame.f_lineno)
            frame = frame.f_back
        return None

    def _sample_loop(self) -> None:
        main_id = threading.main_thread().ident
        last = time.perf_counter()
        next_poll = last + self.POLL_INTERVAL_S
        # time.sleep, not Event.wait: a wake costs ~32 us instead of 49-90 us on a 2-vCPU VM
        # (measured, docs/benchmarks.md "Profiler"); finish() sets the event and waits one interval.
        while True:
            time.sleep(self.interval)
            if self._sampler_stop.is_set():
                break
            now = time.perf_counter()
            dt, last = now - last, now
            frame = sys._current_frames().get(main_id)
            key = self._attribute(frame)
            in_window = self.window is not None and self.window_end is None
            self.phases.add(frame, key, dt, in_window)
            del frame
            self.samples += 1
            trace = self._trace
            if trace is not None:
                trace.add_sample(time.time(), key)
            if key is None:
                self.unattributed_s += dt
                if in_window:
                    self.unattributed_window_s += dt
            else:
                self.lines_all[key] += dt
                if in_window:
                    self.lines_window[key] += dt
            if now >= next_poll:
                next_poll = now + self.POLL_INTERVAL_S
                self.sources.poll_all()
                self.cumulative.append([time.time(), self.sources.read_all(cheap_only=True)])
                self._journal_poll()
                self._write_status()
                self._check_deadline()

    def _journal_poll(self) -> None:
        """Stream what this poll saw; every source is read (the GPU counter too, ~once a second), so a
        partial profile of a killed run can end here."""
        if self.journal is None:
            return
        t, cheap = self.cumulative[-1]
        everything = None if all(s.cheap for s in self.sources.sources) else self.sources.read_all()
        self.journal.poll(self, time.time() if everything is not None else t, cheap, everything or cheap)

    def _write_status(self) -> None:
        """Progress for the parent's live display: a tiny JSON file replaced about once a second."""
        path = self.config.get("status_path")
        if not path:
            return
        if self.window is None:
            phase = "tracing" if self._trace is not None else "warm-up"
            measured = 0
        else:
            phase = "measuring" if self.window_end is None else "finishing"
            measured = self.step_count - self.window["step_count_at_begin"]
        status = {"phase": phase, "steps_seen": self.step_count, "steps_measured": measured,
                  "steps_target": None if self.full else self.steps_target, "warmup": self.warmup,
                  "elapsed_s": time.time() - self.t_run0, "power_w": self._recent_power()}
        try:
            write_result_atomically(path, status)
        except OSError:
            pass  # the display is a convenience; the measurement goes on

    def _recent_power(self) -> float | None:
        """Watts over the last second: cheap sources from the cumulative readings, others from
        their last power sample."""
        total, seen = 0.0, False
        if len(self.cumulative) >= 2:
            (t0, r0), (t1, r1) = self.cumulative[-2], self.cumulative[-1]
            for a, b in zip(r0, r1):
                if a is not None and b is not None and t1 > t0:
                    total += max(b - a, 0.0) / (t1 - t0)
                    seen = True
        for i, source in enumerate(self.sources.sources):
            if not source.cheap and i not in self.sources.failed:
                timeline = source.timeline()
                if timeline:
                    total += timeline[-1][1]
                    seen = True
        return total if seen else None

    def _check_deadline(self) -> None:
        """--duration with no step boundary in sight (no optimizer at all): stop the main thread."""
        if self.duration is None or self._force_stop or self.full:
            return
        t0 = self.window["t_begin"] if self.window is not None else self.t_run0
        grace = max(2.0, 0.1 * self.duration)  # give a slow step the chance to end the run cleanly
        if time.time() - t0 > self.duration + grace and self.stop_reason is None:
            self._force_stop = True
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)

    def on_sigusr1(self, signum: int, frame: Any) -> None:
        if self._force_stop and self.stop_reason is None:
            self.stop_reason = "duration"
            self._end_window()
            raise StopProfiling
        # Not ours: behave as if we had never installed a handler.
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGUSR1)

    # -- result ---------------------------------------------------------------------------------

    def _user_modules(self) -> list[str]:
        """The user's own source files among the imported modules (local modules the script
        imported, whether or not a sample landed in them): the advice lints them too."""
        found = set()
        for module in list(sys.modules.values()):
            filename = getattr(module, "__file__", None)
            if isinstance(filename, str) and filename.endswith(".py"):
                path = self._user_files.resolve(filename)
                if path is not None:
                    found.add(path)
        return sorted(found)[:500]

    def finish(self, exit_code: int, outcome: str) -> dict[str, Any]:
        self._sampler_stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=1.0)
        self._sync()
        self._finish_trace()  # the script ended (or was stopped) during the traced steps
        if self.window is not None:
            self._end_window()
        self.sources.poll_all()
        run_end = self.sources.read_all()
        t_end = time.time()
        self.sources.poll_all()
        return {
            "version": 1,
            "outcome": outcome,
            "stop_reason": self.stop_reason or ("completed" if outcome == "completed" else outcome),
            "exit_code": exit_code,
            "config": {k: self.config.get(k) for k in ("warmup", "steps", "duration", "full", "through_epoch")},
            "sources": [s.describe() for s in self.sources.sources],
            "cheap_index": self.cheap_idx,
            "notices": self.sources.notices,
            "hook_installed": self.hook_installed,
            "steps_seen": self.step_count,
            "run": {"t_begin": self.t_run0, "t_end": t_end, "begin": self.run_begin, "end": run_end},
            "window": None if self.window is None else {**self.window, **(self.window_end or {})},
            "step_times": self.step_times,
            "step_cpu": self.step_cpu,
            "lines_window": [[f, ln, t] for (f, ln), t in self.lines_window.items()],
            "lines_all": [[f, ln, t] for (f, ln), t in self.lines_all.items()],
            "samples": self.samples,
            "sample_interval_s": self.interval,
            "unattributed_s": self.unattributed_s,
            "unattributed_window_s": self.unattributed_window_s,
            **self.phases.result(),
            "run_length": run_length_result(self.probe),
            "timelines": {str(i): s.timeline() for i, s in enumerate(self.sources.sources) if s.timeline()},
            "cumulative": self.cumulative,
            "gpu_trace": self.gpu_trace,
            "user_modules": self._user_modules(),
        }


def _read_stop_step(path: str) -> int | None:
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return int(json.load(fh)["stop_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # being replaced right now: read again at the next step


def write_result_atomically(path: str, result: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, path)
