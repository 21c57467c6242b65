"""Cost of streaming the profile (profiler/journal.py) in the optimizer-step hook and the poll.

    python bench/journal_cost.py [--steps 20000] [--rounds 15]

Times ``Recorder.on_step`` inside the measured window (the hot path: a clock read, the cheap
sources, and with the journal one json.dumps and one os.write) with the journal off and on,
interleaved in alternating order, and reports the median per-step time of each and their
difference; then the cost of one poll record with 200 attributed lines. The anchor is the same
hook without the journal, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from greenlint.profiler.recorder import Recorder
from greenlint.profiler.journal import Journal
from greenlint.profiler.cpu_estimate import EstimateSource


def _recorder(journal_dir: str | None) -> Recorder:
    source = EstimateSource(12.0)
    source.start()
    recorder = Recorder({"warmup": 1, "steps": None, "full": True, "gpu_trace_steps": 0}, [source], [])
    if journal_dir is not None:
        recorder.journal = Journal(os.path.join(journal_dir, "result.journal.jsonl"))
    recorder.t_run0 = time.time()
    recorder.run_begin = recorder.sources.read_all()
    if recorder.journal is not None:
        recorder.journal.start(recorder, None)
    recorder.on_step()  # the warm-up step opens the window
    return recorder


def _per_step_us(recorder: Recorder, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        recorder.on_step()
    return (time.perf_counter() - t0) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    off: list[float] = []
    on: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = (None, tmp) if r % 2 == 0 else (tmp, None)
            for where in order:
                recorder = _recorder(where)
                (on if where else off).append(_per_step_us(recorder, args.steps))
                if recorder.journal is not None:
                    recorder.journal.close()
                    os.unlink(recorder.journal.path)
        recorder = _recorder(tmp)
        for i in range(200):
            recorder.lines_all[(f"/proj/file{i % 7}.py", i)] = 0.01 * i
            recorder.lines_window[(f"/proj/file{i % 7}.py", i)] = 0.005 * i
        polls = []
        for _ in range(args.rounds):
            for key in recorder.lines_all:  # every line changed since the last poll: the worst case
                recorder.lines_all[key] += 0.001
                recorder.lines_window[key] += 0.001
            t0 = time.perf_counter()
            recorder.journal.poll(recorder, time.time(), [1.0], [1.0])
            polls.append((time.perf_counter() - t0) * 1e6)
        recorder.journal.close()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f}; {args.rounds} rounds x {args.steps} steps, median per step (measured):")
    print(f"  hook without journal {statistics.median(off):.2f} us, with journal {statistics.median(on):.2f} us, "
          f"difference {statistics.median(on) - statistics.median(off):.2f} us per step")
    print(f"  poll record with 200 changed lines: median {statistics.median(polls):.0f} us (about once a second)")


if __name__ == "__main__":
    main()
