"""The Profile's plot data: power timeline per device, per-step energy and step boundaries."""

from __future__ import annotations

import time

import pytest

from greenlint.profiler.recorder import Recorder
from greenlint.profiler.plot_data import MAX_PLOT_POINTS, downsample_samples, step_series, timeline_from_cumulative
from greenlint.profiler.profile import compute_profile
from greenlint.profiler.sources import EnergySource

GPU = {"kind": "gpu", "name": "GPU 0", "method": "nvml-energy-counter", "cheap": False, "tolerance": 0.05, "basis": ""}
CPU_EST = {"kind": "cpu", "name": "cpu", "method": "estimate", "cheap": True, "tolerance": 0.5, "basis": ""}


def _raw(sources, run_begin, run_end, window=None, step_times=(), step_cpu=(), timelines=None, cumulative=(),
         t_begin=1000.0, t_end=1010.0):
    return {
        "version": 1, "outcome": "stopped", "exit_code": 0,
        "config": {"warmup": 1, "steps": None, "duration": None, "full": False},
        "sources": sources, "cheap_index": [i for i, s in enumerate(sources) if s["cheap"]], "notices": [],
        "hook_installed": True, "steps_seen": len(step_times) + 1,
        "run": {"t_begin": t_begin, "t_end": t_end, "begin": run_begin, "end": run_end},
        "window": window, "step_times": list(step_times), "step_cpu": [list(r) for r in step_cpu],
        "lines_window": [], "lines_all": [], "samples": 0, "sample_interval_s": 0.005,
        "unattributed_s": 0.0, "unattributed_window_s": 0.0, "timelines": timelines or {},
        "cumulative": [list(c) for c in cumulative],
    }


def _integral(timeline):
    return sum(a[1] * (b[0] - a[0]) for a, b in zip(timeline, timeline[1:]))


def test_cumulative_readings_become_average_power_that_integrates_to_the_total():
    points = [(100.0, 0.0), (101.0, 10.0), (102.0, 30.0), (104.0, 40.0)]
    timeline = timeline_from_cumulative(points, t0=100.0)
    assert timeline == [[0.0, 10.0], [1.0, 20.0], [2.0, 5.0], [4.0, 5.0]]
    assert _integral(timeline) == pytest.approx(40.0)


def test_close_readings_are_merged_and_energy_never_goes_down():
    # 5 ms apart: merged into one interval; a reading a hair lower than the one before is clamped.
    points = [(0.0, 0.0), (0.005, 1.0), (1.0, 10.0), (1.001, 9.999), (2.0, 20.0)]
    timeline = timeline_from_cumulative(points, t0=0.0)
    assert all(w >= 0 for _, w in timeline)
    assert _integral(timeline) == pytest.approx(20.0)
    assert [t for t, _ in timeline] == [0.0, 1.0, 2.0]


def test_long_runs_keep_at_most_max_points():
    points = [(k * 0.05, k * 1.0) for k in range(50_000)]
    timeline = timeline_from_cumulative(points, t0=0.0)
    assert 2 < len(timeline) <= MAX_PLOT_POINTS + 1
    assert _integral(timeline) == pytest.approx(49_999.0)
    samples = [(k * 0.02, 100.0 + k % 3) for k in range(10_000)]
    down = downsample_samples(samples, t0=0.0)
    assert len(down) <= MAX_PLOT_POINTS and all(100.0 <= w <= 102.0 for _, w in down)


def test_step_series_is_relative_and_grouped_beyond_the_cap():
    energies, edges, group = step_series([1.0, 2.0, 3.0], [10.5, 11.0, 11.5, 12.0], t0=10.0)
    assert (energies, edges, group) == ([1.0, 2.0, 3.0], [0.5, 1.0, 1.5, 2.0], 1)
    n = MAX_PLOT_POINTS * 2 + 1
    energies, edges, group = step_series([float(k % 2) for k in range(n)], [k * 0.1 for k in range(n + 1)], t0=0.0)
    assert group == 3 and len(energies) <= MAX_PLOT_POINTS and len(edges) == len(energies) + 1
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(n * 0.1)


def test_compute_profile_fills_plot_data_from_cumulative_and_samples():
    # Run [1000, 1010]; window [1002, 1005] with three steps; the CPU estimate read once a second.
    samples = [[1000.0 + k * 0.5, 200.0] for k in range(21)] + [[990.0, 1.0]]  # one sample before the run: dropped
    raw = _raw(
        [GPU, CPU_EST], run_begin=[0.0, 0.0], run_end=[2000.0, 100.0],
        window={"t_begin": 1002.0, "begin": [400.0, 20.0], "step_count_at_begin": 1, "t_end": 1005.0,
                "end": [1000.0, 50.0], "steps": 3},
        step_times=[1003.0, 1004.0, 1005.0], step_cpu=[[30.0], [40.0], [50.0]],
        timelines={"0": samples}, cumulative=[[1001.0, [None, 10.0]], [1006.0, [None, 60.0]]],
    )
    prof = compute_profile(raw)
    assert prof.step_energy_j == pytest.approx([210.0, 210.0, 210.0])
    assert prof.step_bounds_s == [2.0, 3.0, 4.0, 5.0] and prof.step_group == 1
    gpu, cpu = prof.devices
    assert gpu.timeline[0] == [0.0, 200.0] and len(gpu.timeline) == 21 and gpu.timeline_basis.startswith("measured")
    assert cpu.timeline_basis.startswith("estimated")
    assert [t for t, _ in cpu.timeline] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0]
    assert _integral(cpu.timeline) == pytest.approx(100.0)
    data = prof.to_json()
    assert data["devices"][1]["timeline"] == cpu.timeline and data["step_bounds_s"] == [2.0, 3.0, 4.0, 5.0]


def test_no_window_still_has_a_coarse_timeline_and_no_steps():
    raw = _raw([CPU_EST], run_begin=[0.0], run_end=[30.0], cumulative=[[1005.0, [10.0]]])
    prof = compute_profile(raw)
    assert prof.step_energy_j == [] and prof.step_bounds_s == []
    assert prof.devices[0].timeline == [[0.0, 2.0], [5.0, 4.0], [10.0, 4.0]]


class _CountingSource(EnergySource):
    kind, name, method, cheap = "cpu", "counter", "estimate", True

    def __init__(self) -> None:
        self.calls = 0

    def start(self) -> None:
        pass

    def read_j(self) -> float:
        self.calls += 1
        return float(self.calls)


def test_sampler_records_cumulative_readings_into_the_raw_result():
    recorder = Recorder({"warmup": 1, "steps": None, "sample_interval_s": 0.001}, [_CountingSource()], [])
    recorder.POLL_INTERVAL_S = 0.01
    recorder.start()
    deadline = time.monotonic() + 60  # a generous bound on a busy machine, not a timing assertion
    while len(recorder.cumulative) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    raw = recorder.finish(0, "completed")
    assert len(raw["cumulative"]) >= 2
    (t1, r1), (t2, r2) = raw["cumulative"][:2]
    assert t1 <= t2 and len(r1) == 1 and r1[0] < r2[0]
