"""A run that dies without writing its result still gets a partial profile (issue 17, item 15).

The child streams its measurements (profiler/journal.py); when it is killed by SIGKILL (what the
out-of-memory killer sends) or ends in os._exit, the parent builds the profile from what was
streamed and labels it partial. The scripts here kill themselves after a fixed step, so what is
measured does not depend on timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from greenlint.profiler.journal import journal_path, partial_result, read_records
from greenlint.profiler.profile import compute_profile

TIMEOUT = 180  # a hang guard only

DIES = """
import os, signal, torch
torch.set_num_threads(1)
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(1, 100000):
    loss = model(torch.randn(16, 8)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step == {at}:
        {how}
"""


def _profile(tmp_path: Path, at: int, how: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(DIES).lstrip().format(at=at, how=how), encoding="utf-8")
    out = tmp_path / "profile.json"
    env = {**os.environ, "GREENLINT_RAPL_ROOT": str(tmp_path / "no-rapl")}  # the per-step CPU estimate
    proc = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--format", "json", "--output", str(out),
                           "--no-html", "--no-advice", *args, str(script)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path, env=env, check=False)
    assert out.exists(), proc.stderr
    return proc, json.loads(out.read_text(encoding="utf-8"))["profile"]


def test_sigkill_after_twelve_steps_reports_the_ten_measured_ones_as_partial(tmp_path):
    proc, prof = _profile(tmp_path, 12, "os.kill(os.getpid(), signal.SIGKILL)",
                          "--steps", "1000", "--warmup", "2", "--total-steps", "500")
    assert proc.returncode == 137, proc.stderr
    assert prof["outcome"] == "partial" and prof["exit_code"] == 137
    assert prof["steps"] == 10 and prof["steps_seen"] == 12 and prof["warmup_steps"] == 2
    assert len(prof["step_energy_j"]) == 10 and prof["j_per_step"] > 0 and prof["energy_j"] > 0
    assert prof["projection"]["total_steps"] == 500 and prof["projection"]["energy_j"] > 0
    notice = next(n for n in prof["notices"] if n.startswith("partial profile"))
    assert "signal 9" in notice and "SIGKILL" in notice and "10 measured step(s) of 12 seen" in notice


def test_os_exit_keeps_its_status_and_the_steps_before_it(tmp_path):
    proc, prof = _profile(tmp_path, 7, "os._exit(3)", "--steps", "1000", "--warmup", "3")
    assert proc.returncode == 3, proc.stderr
    assert prof["outcome"] == "partial" and prof["exit_code"] == 3
    assert prof["steps"] == 4 and prof["steps_seen"] == 7 and prof["j_per_step"] > 0
    assert any("exit status 3" in n and "os._exit" in n for n in prof["notices"])


def test_killed_during_the_warm_up_still_reports_the_run_so_far(tmp_path):
    proc, prof = _profile(tmp_path, 2, "os.kill(os.getpid(), signal.SIGKILL)", "--warmup", "5")
    assert proc.returncode == 137
    assert prof["outcome"] == "partial" and prof["steps"] == 0 and prof["steps_seen"] == 2
    assert prof["energy_j"] is not None and prof["j_per_step"] is None


def test_full_run_killed_reports_the_part_that_ran_and_no_projection(tmp_path):
    proc, prof = _profile(tmp_path, 9, "os.kill(os.getpid(), signal.SIGKILL)", "--full", "--warmup", "1")
    assert proc.returncode == 137
    assert prof["outcome"] == "partial" and prof["steps"] == 8 and prof["steps_seen"] == 9
    assert prof["projection"]["energy_j"] is None and "did not finish (partial)" in prof["projection"]["basis"]


# --------------------------------------------------------------------------- the journal alone

GPU = {"kind": "gpu", "name": "GPU 0", "method": "nvml-energy-counter", "cheap": False, "tolerance": 0.05, "basis": ""}
CPU = {"kind": "cpu", "name": "process CPU time", "method": "estimate", "cheap": True, "tolerance": 0.5, "basis": ""}


def _journal(tmp_path: Path, records: list[dict], tail: str = "") -> str:
    path = journal_path(str(tmp_path / "result.json"))
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
        fh.write(tail)
    return path


def test_with_a_gpu_counter_the_partial_window_ends_at_the_last_reading_of_every_source(tmp_path):
    start = {"k": "start", "version": 1, "t": 100.0, "begin": [0.0, 0.0], "config": {"warmup": 1, "steps": 50},
             "sources": [GPU, CPU], "cheap_index": [1], "sample_interval_s": 0.005, "rank": None, "notices": []}
    records = [start, {"k": "s", "n": 1},
               {"k": "window", "t_begin": 101.0, "begin": [100.0, 10.0], "step_count_at_begin": 1, "run_length": None},
               {"k": "s", "n": 2, "t": 101.5, "c": [11.0]}, {"k": "s", "n": 3, "t": 102.0, "c": [12.0]},
               {"k": "poll", "t": 102.2, "n": 3, "cheap": [12.2], "all": [300.0, 12.2], "hook": True, "samples": 40,
                "unattributed_s": 0.0, "unattributed_window_s": 0.0, "lines_all": [["t.py", 5, 0.2]],
                "lines_window": [["t.py", 5, 0.1]], "timelines": {"0": [[101.0, 200.0], [102.2, 200.0]]},
                "notices": ["a notice from the run"]},
               {"k": "s", "n": 4, "t": 102.5, "c": [13.0]}]  # after the last GPU reading: not measured
    raw = partial_result(_journal(tmp_path, records, tail='{"k": "s", "n": 5, "t": 10'), -9)
    assert raw["outcome"] == "partial" and raw["exit_code"] == 137 and raw["steps_seen"] == 4
    assert raw["window"]["t_end"] == 102.2 and raw["window"]["steps"] == 2 and raw["step_times"] == [101.5, 102.0]
    prof = compute_profile(raw, 100)
    assert prof.steps == 2 and prof.devices[0].window_energy_j == pytest.approx(200.0)
    assert prof.devices[1].window_energy_j == pytest.approx(2.2) and prof.lines[0].line == 5
    assert "a notice from the run" in prof.notices
    assert any("the last reading of every source" in n and "2 measured step(s) of 4 seen" in n for n in prof.notices)


def test_a_cut_last_line_is_dropped_and_no_start_means_no_result(tmp_path):
    path = _journal(tmp_path, [{"k": "s", "n": 1}], tail='{"k": "st')
    assert read_records(path) == [{"k": "s", "n": 1}]
    assert partial_result(path, -9) is None
    assert partial_result(str(tmp_path / "missing.jsonl"), -9) is None


RANKS = """
import os, signal, time, torch
torch.set_num_threads(1)
rank = int(os.environ["RANK"])
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(1, 100000):
    loss = model(torch.randn(16, 8)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step == 1 and rank == 0:
        open("rank0-measuring", "w").close()
    if step == 6 and rank == 1:
        # torchrun stops the other ranks when one dies: let rank 0 get going first (a condition, not a timer)
        while not os.path.exists("rank0-measuring"):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    if step == 20 and rank == 0:
        break  # ends on its own (independent ranks: nothing waits for the dead one)
"""


def test_a_torchrun_rank_killed_by_sigkill_contributes_its_streamed_steps(tmp_path):
    script = tmp_path / "ranks.py"
    script.write_text(textwrap.dedent(RANKS).lstrip(), encoding="utf-8")
    out = tmp_path / "profile.json"
    env = {**os.environ, "GREENLINT_RAPL_ROOT": str(tmp_path / "no-rapl")}
    proc = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--format", "json", "--output", str(out),
                           "--no-html", "--no-advice", "--full", "--warmup", "2", "--nproc-per-node", "2", str(script)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path, env=env, check=False)
    assert proc.returncode != 0 and out.exists(), proc.stderr
    prof = json.loads(out.read_text(encoding="utf-8"))["profile"]
    ranks = {r["rank"]: r for r in prof["ranks"]}
    assert sorted(ranks) == [0, 1], prof["notices"]
    assert ranks[1]["outcome"] == "partial" and ranks[1]["steps"] == 4 and ranks[1]["steps_seen"] == 6
    assert prof["outcome"] == "partial"  # the worst of the ranks', whatever rank 0's was
    assert any(n.startswith("rank 1: partial profile") for n in prof["notices"]), prof["notices"]


def test_step_records_are_json_whatever_the_readings(tmp_path):
    from greenlint.profiler.journal import Journal

    journal = Journal(journal_path(str(tmp_path / "result.json")))
    journal.step(1)
    journal.step(2, 1764780000.25, [None, float("inf"), float("nan"), 1.5, 3])
    journal.close()
    journal.step(3)  # after close (or a failed write): nothing, and no error
    assert read_records(journal.path) == [{"k": "s", "n": 1},
                                          {"k": "s", "n": 2, "t": 1764780000.25, "c": [None, None, None, 1.5, 3.0]}]


class _Counter:
    """A non-cheap source (like the GPU's NVML counter): read at polls and window edges, never per
    step; scripted readings and power samples."""

    kind, name, method, cheap, basis, tolerance = "gpu", "GPU 0", "nvml-energy-counter", False, "", 0.05

    def __init__(self) -> None:
        self.joules = 0.0
        self.samples: list[tuple[float, float]] = []

    def read_j(self) -> float:
        return self.joules

    def poll(self) -> None:
        pass

    def timeline(self) -> list[tuple[float, float]]:
        return list(self.samples)

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "method": self.method, "cheap": False,
                "tolerance": self.tolerance, "basis": self.basis}


class _Cpu(_Counter):
    kind, name, method, cheap = "cpu", "process CPU time", "estimate", True


def test_the_recorder_streams_polls_with_every_source_and_only_new_samples(tmp_path, monkeypatch):
    from greenlint.profiler import recorder as recorder_module
    from greenlint.profiler.journal import Journal

    clock = iter(float(t) for t in range(100, 200))
    monkeypatch.setattr(recorder_module.time, "time", lambda: next(clock))
    gpu, cpu = _Counter(), _Cpu()
    recorder = recorder_module.Recorder({"warmup": 1, "steps": None, "full": True, "gpu_trace_steps": 0}, [gpu, cpu], [])
    recorder.journal = Journal(journal_path(str(tmp_path / "result.json")))
    recorder.t_run0, recorder.run_begin = 99.0, [0.0, 0.0]
    recorder.journal.start(recorder, None)
    gpu.joules, cpu.joules = 50.0, 5.0
    recorder.on_step()  # warm-up: opens the window (readings 50 J / 5 J)
    for _ in range(3):  # measured steps, CPU +1 J each
        cpu.joules += 1.0
        recorder.on_step()
    gpu.joules, gpu.samples = 350.0, [(100.5, 300.0), (103.5, 300.0)]
    recorder.cumulative.append([103.9, recorder.sources.read_all(cheap_only=True)])
    recorder._journal_poll()  # the GPU counter is read here
    cpu.joules += 1.0
    recorder.on_step()
    gpu.joules = 400.0
    gpu.samples.append((105.5, 300.0))
    recorder.cumulative.append([105.9, recorder.sources.read_all(cheap_only=True)])
    recorder._journal_poll()  # only the new power sample goes out
    cpu.joules += 1.0
    recorder.on_step()  # after the last GPU reading: its energy is unknown, so it is not measured
    recorder.journal.close()
    polls = [r for r in read_records(recorder.journal.path) if r["k"] == "poll"]
    assert [p["timelines"] for p in polls] == [{"0": [[100.5, 300.0], [103.5, 300.0]]}, {"0": [[105.5, 300.0]]}]
    raw = partial_result(recorder.journal.path, -9)
    assert raw["window"]["t_end"] == polls[-1]["t"] and raw["window"]["steps"] == 4 and raw["steps_seen"] == 6
    prof = compute_profile(raw)
    assert prof.devices[0].window_energy_j == pytest.approx(350.0) and prof.devices[1].window_energy_j == pytest.approx(4.0)
    assert prof.steps == 4 and prof.outcome == "partial" and len(prof.step_energy_j) == 4
