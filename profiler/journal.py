"""The child's measurements as they are taken, so that a run that dies without writing its result
(SIGKILL from the out-of-memory killer, ``os._exit``) still leaves a partial profile.

The child (recorder.Recorder) appends one JSON object per line to ``<result>.journal.jsonl``:

    {"k": "start", ...}        sources, config, the run's first readings
    {"k": "s", "n": N}         an optimizer step before the measured window (warm-up, traced steps)
    {"k": "s", "n": N, "t": T, "c": [...]}   a measured step: its time and the cheap sources' readings
    {"k": "window", ...}       the measured window began: its time and readings of every source
    {"k": "poll", ...}         about once a second (sampler thread): readings of every source, new
                               power samples, line-time deltas, sample counts, new notices
    {"k": "window_end", ...}   the window ended (steps reached, --duration, a signal)

Each line is one ``os.write`` on an ``O_APPEND`` descriptor, so a kill can at most cut the last line
short (the reader drops it) and lines from the two threads never interleave. No fsync: the parent
reads the file after the child has died, from the page cache; only a machine crash loses it, and
that takes the parent too. When the child writes its full result, the parent never reads this.

``partial_result`` (parent side) rebuilds a raw result in the shape of ``Recorder.finish`` from the
journal, ending at the last moment at which every source was read: the last measured step when all
sources are cheap (read at every step), else the last poll (the GPU counter is read about once a
second, never per step). Its outcome is ``"partial"``.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from typing import Any

PARTIAL = "partial"


def journal_path(result_path: str) -> str:
    """Where a child whose result goes to ``result_path`` streams its measurements."""
    return os.path.splitext(result_path)[0] + ".journal.jsonl"


# ------------------------------------------------------------------------------------- child side


class Journal:
    """Append-only writer, owned by the child's Recorder. A write that fails (disk full) stops the
    journal; it never reaches the user's step."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._sent_all: dict[Any, float] = {}
        self._sent_window: dict[Any, float] = {}
        self._sent_until: dict[int, float] = {}
        self._sent_notices = 0

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._write_line(json.dumps(record, separators=(",", ":")))
        except (TypeError, ValueError):
            self.close()  # a value JSON cannot hold: the result at exit still has everything

    def _write_line(self, line: str) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        except OSError:
            self.close()  # disk full: the result at exit still has everything

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # -- records (the Recorder calls these) ------------------------------------------------------

    def start(self, recorder: Any, rank: dict[str, Any] | None) -> None:
        self.write({"k": "start", "version": 1, "t": recorder.t_run0, "begin": recorder.run_begin,
                    "config": {k: recorder.config.get(k) for k in ("warmup", "steps", "duration", "full", "through_epoch")},
                    "sources": [s.describe() for s in recorder.sources.sources], "cheap_index": recorder.cheap_idx,
                    "sample_interval_s": recorder.interval, "rank": rank,
                    "notices": list(recorder.sources.notices)})
        self._sent_notices = len(recorder.sources.notices)

    def step(self, n: int, t: float | None = None, cheap: list[float | None] | None = None) -> None:
        """One optimizer step: the hot path, so formatted by hand (a third of json.dumps' time; see
        bench/journal_cost.py) and written with one system call."""
        if t is None:
            self._write_line(f'{{"k":"s","n":{n:d}}}')
        else:
            self._write_line(f'{{"k":"s","n":{n:d},"t":{_number(t)},"c":[{",".join(map(_number, cheap or ()))}]}}')

    def window(self, window: dict[str, Any], run_length: dict[str, Any] | None) -> None:
        self.write({"k": "window", **window, "run_length": run_length})

    def window_end(self, window_end: dict[str, Any]) -> None:
        self.write({"k": "window_end", **window_end})

    def poll(self, recorder: Any, t: float, cheap: list[float | None], readings: list[float | None] | None) -> None:
        """From the sampler thread, right after a poll of the sources: what changed since the last one."""
        record: dict[str, Any] = {"k": "poll", "t": t, "n": recorder.step_count, "cheap": cheap, "all": readings,
                                  "hook": recorder.hook_installed, "samples": recorder.samples,
                                  "unattributed_s": recorder.unattributed_s,
                                  "unattributed_window_s": recorder.unattributed_window_s,
                                  "lines_all": _delta(recorder.lines_all, self._sent_all),
                                  "lines_window": _delta(recorder.lines_window, self._sent_window)}
        timelines = {}
        for i, source in enumerate(recorder.sources.sources):
            if source.cheap:
                continue
            # by time, not count: a source may forget old samples (drain_timeline); samples come in order
            sent = self._sent_until.get(i, float("-inf"))
            points = source.timeline()
            k = len(points)
            while k > 0 and points[k - 1][0] > sent:
                k -= 1
            new = [list(p) for p in points[k:]]
            if new:
                timelines[str(i)] = new
                self._sent_until[i] = new[-1][0]
        record["timelines"] = timelines
        notices = recorder.sources.notices
        record["notices"] = list(notices[self._sent_notices:])
        self._sent_notices = len(notices)
        self.write(record)


def _number(value: float | None) -> str:
    """A reading as JSON: repr of a finite float is valid JSON; anything else is null."""
    return repr(float(value)) if value is not None and math.isfinite(value) else "null"


def _delta(current: dict[Any, float], sent: dict[Any, float]) -> list[list[Any]]:
    """[file, line, seconds] added since the last poll; ``sent`` is brought up to date."""
    out = []
    for key, value in list(current.items()):
        before = sent.get(key, 0.0)
        if value != before:
            out.append([key[0], key[1], value - before])
            sent[key] = value
    return out


# ------------------------------------------------------------------------------------ parent side


def read_records(path: str) -> list[dict[str, Any]]:
    """The journal's records; a line cut short by the kill (only the last can be) is left out."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return []
    records = []
    for line in data.split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("k"), str):
            records.append(record)
    return records


def partial_result(path: str, returncode: int | None) -> dict[str, Any] | None:
    """A raw result (Recorder.finish's shape) from the journal of a child that wrote none, or None
    when the child died before it started measuring. ``returncode`` is the child's (negative: the
    signal that killed it; None: not known, a torchrun rank); ``notices`` says what the profile covers."""
    exit_code = 1 if returncode is None else 128 - returncode if returncode < 0 else returncode
    records = read_records(path)
    start = next((r for r in records if r["k"] == "start"), None)
    if start is None:
        return None
    sources, cheap_index = start["sources"], list(start.get("cheap_index") or [])
    all_cheap = sorted(cheap_index) == list(range(len(sources)))

    def expand(cheap: list[Any]) -> list[Any]:
        full: list[Any] = [None] * len(sources)
        for col, i in enumerate(cheap_index):
            full[i] = cheap[col] if col < len(cheap) else None
        return full

    window: dict[str, Any] | None = None
    window_end: dict[str, Any] | None = None
    run_length: dict[str, Any] | None = None
    step_times: list[float] = []
    step_cpu: list[list[Any]] = []
    cumulative: list[list[Any]] = []
    timelines: dict[str, list[list[float]]] = defaultdict(list)
    lines_all: dict[tuple[str, int], float] = defaultdict(float)
    lines_window: dict[tuple[str, int], float] = defaultdict(float)
    notices: list[str] = list(start.get("notices") or [])
    steps_seen, hook, samples, unattributed, unattributed_window = 0, False, 0, 0.0, 0.0
    # the latest moment at which every source has a reading: (time, readings)
    last: tuple[float, list[Any]] = (float(start["t"]), list(start["begin"]))

    def later(t: float, readings: list[Any]) -> None:
        nonlocal last
        if t >= last[0]:
            last = (t, readings)

    for r in records:
        kind = r["k"]
        if kind == "s":
            steps_seen = max(steps_seen, int(r["n"]))
            if "t" in r and window is not None and window_end is None:
                step_times.append(float(r["t"]))
                step_cpu.append(list(r["c"]))
                if all_cheap:
                    later(float(r["t"]), expand(r["c"]))
        elif kind == "window":
            window = {"t_begin": r["t_begin"], "begin": r["begin"], "step_count_at_begin": r["step_count_at_begin"]}
            run_length = r.get("run_length")
            later(float(r["t_begin"]), list(r["begin"]))
        elif kind == "window_end":
            window_end = {"t_end": r["t_end"], "end": r["end"], "steps": r["steps"]}
            later(float(r["t_end"]), list(r["end"]))
        elif kind == "poll":
            steps_seen = max(steps_seen, int(r.get("n", 0)))
            hook = hook or bool(r.get("hook"))
            samples = int(r.get("samples", samples))
            unattributed = float(r.get("unattributed_s", unattributed))
            unattributed_window = float(r.get("unattributed_window_s", unattributed_window))
            cumulative.append([r["t"], r["cheap"]])
            for f, ln, dt in r.get("lines_all", []):
                lines_all[(f, ln)] += dt
            for f, ln, dt in r.get("lines_window", []):
                lines_window[(f, ln)] += dt
            for i, points in (r.get("timelines") or {}).items():
                timelines[i].extend(points)
            notices.extend(r.get("notices") or [])
            if r.get("all") is not None:
                later(float(r["t"]), list(r["all"]))

    t_end, end = last
    if window is not None and window_end is None:
        # the window ends where the readings end: the steps completed by then are the measured ones
        kept = sum(1 for t in step_times if t <= t_end)
        step_times, step_cpu = step_times[:kept], step_cpu[:kept]
        if t_end > float(window["t_begin"]):
            window_end = {"t_end": t_end, "end": end, "steps": kept}
        else:
            notices.append("no reading of every source was taken after the measured steps began, so none of "
                           "them could be measured")
    measured = (window_end or {}).get("steps", 0) if window is not None else 0
    if window is not None and window_end is not None:
        window = {**window, **window_end}
    elif window is not None:
        window = None  # began, but no reading closes it: the whole-run figures still stand
        step_times, step_cpu = [], []
    notices.append(_coverage(returncode, measured, steps_seen, t_end - float(start["t"]), all_cheap))
    return {
        "version": 1, "outcome": PARTIAL, "stop_reason": PARTIAL, "exit_code": exit_code,
        "config": start.get("config") or {}, "sources": sources, "cheap_index": cheap_index,
        "notices": notices, "hook_installed": hook or steps_seen > 0, "steps_seen": steps_seen,
        "run": {"t_begin": start["t"], "t_end": t_end, "begin": start["begin"], "end": end},
        "window": window, "step_times": step_times, "step_cpu": step_cpu,
        "lines_window": [[f, ln, t] for (f, ln), t in lines_window.items()],
        "lines_all": [[f, ln, t] for (f, ln), t in lines_all.items()],
        "samples": samples, "sample_interval_s": start.get("sample_interval_s", 0.005),
        "unattributed_s": unattributed, "unattributed_window_s": unattributed_window,
        "run_length": run_length, "timelines": dict(timelines), "cumulative": cumulative,
        "gpu_trace": None, "user_modules": [], **({"rank": start["rank"]} if start.get("rank") else {}),
    }


def _coverage(returncode: int | None, measured: int, seen: int, seconds: float, all_cheap: bool) -> str:
    if returncode is None:
        how = "ended (killed, or os._exit)"
    elif returncode < 0:
        how = f"killed by signal {-returncode}" + (" (SIGKILL, which the out-of-memory killer sends)" if returncode == -9 else "")
    else:
        how = f"ended with exit status {returncode} without finishing normally (os._exit, or a crash of the interpreter)"
    upto = "its last measured step" if all_cheap else "the last reading of every source (taken about once a second)"
    return (f"partial profile: the script was {how} before greenlint could write its result; the figures are "
            f"the measurements streamed until then, up to {upto}: {measured} measured step(s) of {seen} seen, "
            f"{seconds:.3g} s of the run")


def run_length_snapshot(probe: Any) -> dict[str, Any] | None:
    """The run-length probe's values so far, for the journal, without the side effect of its final
    result() (which lets go of the DataLoader iterators it still reads at the end). Main thread only:
    the probe is not locked against the script's own thread."""
    if probe is None:
        return None
    kept = [(site, getattr(site, "iterator", None)) for site in getattr(probe, "loaders", {}).values()]
    try:
        return probe.result()
    except Exception as exc:  # noqa: BLE001 - never break the user's step for the journal
        return {"notices": [f"run-length values could not be collected ({type(exc).__name__}: {exc})"]}
    finally:
        for site, iterator in kept:
            site.iterator = iterator
