"""EnergyMeter: windows, nesting, overlap, reads per window, errors, labels (fake sources, exact)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
from greenlint.profiler.meter import EnergyMeter, Measurement, WindowError
from greenlint.profiler.sources import EnergySource


class FakeSource(EnergySource):
    """A cumulative counter the test sets by hand; counts its reads."""

    def __init__(self, kind: str = "cpu", name: str = "fake cpu", method: str = "rapl", cheap: bool = True) -> None:
        self.kind, self.name, self.method, self.cheap = kind, name, method, cheap
        self.basis = f"fake {method}"
        self.value = 0.0
        self.reads = 0
        self.starts = 0
        self.fail = False
        self.on_read = None

    def start(self) -> None:
        self.starts += 1

    def read_j(self) -> float:
        self.reads += 1
        if self.on_read is not None:
            self.on_read()
        if self.fail:
            raise RuntimeError("sensor gone")
        return self.value


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def rig():
    cpu = FakeSource()
    gpu = FakeSource(kind="gpu", name="GPU 0: fake", method="nvml-energy-counter", cheap=False)
    clock = Clock()
    meter = EnergyMeter(sources=[cpu, gpu], clock=clock)
    return meter, cpu, gpu, clock


def reset_reads(*sources: FakeSource) -> None:
    for s in sources:
        s.reads = 0


def test_begin_end_measures_each_device_and_labels_it(rig):
    meter, cpu, gpu, clock = rig
    assert cpu.starts == gpu.starts == 1  # the meter starts the sources it is given
    cpu.value, gpu.value = 5.0, 100.0
    meter.begin("step")
    cpu.value, gpu.value, clock.t = 7.5, 130.0, 1002.0
    m = meter.end("step")
    assert isinstance(m, Measurement)
    assert m.name == "step" and m.time_s == 2.0 and (m.t_begin, m.t_end) == (1000.0, 1002.0)
    assert [(d.kind, d.name, d.method, d.energy_j) for d in m.devices] == [
        ("cpu", "fake cpu", "rapl", 2.5), ("gpu", "GPU 0: fake", "nvml-energy-counter", 30.0)]
    assert [d.tolerance for d in m.devices] == [0.10, 0.05]  # energy_source.TOLERANCE
    assert m.energy_j == 32.5 and m.how == "measured"
    assert m.energy_of("gpu") == 30.0 and m.energy_of("cpu") == 2.5
    assert m.to_json()["devices"][1]["method"] == "nvml-energy-counter"


def test_a_window_costs_two_reads_of_each_source(rig):
    meter, cpu, gpu, _ = rig
    reset_reads(cpu, gpu)
    meter.begin("w")
    assert (cpu.reads, gpu.reads) == (1, 1)
    meter.end("w")
    assert (cpu.reads, gpu.reads) == (2, 2)


def test_nested_windows(rig):
    meter, cpu, gpu, clock = rig
    reset_reads(cpu, gpu)
    meter.begin("epoch")
    gpu.value = 10.0
    meter.begin("step")
    gpu.value, clock.t = 25.0, 1001.0
    inner = meter.end("step")
    gpu.value, clock.t = 30.0, 1003.0
    outer = meter.end("epoch")
    assert inner.devices[1].energy_j == 15.0 and inner.time_s == 1.0
    assert outer.devices[1].energy_j == 30.0 and outer.time_s == 3.0
    assert gpu.reads == 4  # two windows, two reads each


def test_overlapping_windows_are_independent(rig):
    meter, cpu, _, _ = rig
    meter.begin("a")
    cpu.value = 1.0
    meter.begin("b")
    cpu.value = 4.0
    a = meter.end("a")  # ends before b: not nested
    cpu.value = 9.0
    b = meter.end("b")
    assert a.devices[0].energy_j == 4.0
    assert b.devices[0].energy_j == 8.0
    assert meter.open_windows == []


def test_context_manager_result_after_the_block(rig):
    meter, cpu, _, _ = rig
    with meter.window("eval") as w:
        cpu.value = 3.0
        with pytest.raises(AttributeError, match="still open"):
            w.energy_j  # noqa: B018
    assert w.energy_j == 3.0 and w.measurement.name == "eval"
    assert "eval" not in meter.open_windows


def test_context_manager_measures_when_the_block_raises(rig):
    meter, cpu, _, _ = rig
    with pytest.raises(KeyError):
        with meter.window("boom") as w:
            cpu.value = 2.0
            raise KeyError("x")
    assert w.energy_j == 2.0
    assert meter.open_windows == []


def test_errors_name_the_window(rig):
    meter, _, _, _ = rig
    with pytest.raises(WindowError, match="no open window named 'never'.*open windows: none"):
        meter.end("never")
    meter.begin("a")
    with pytest.raises(WindowError, match="'a' is already open"):
        meter.begin("a")
    with pytest.raises(WindowError, match="open windows: 'a'"):
        meter.end("b")
    meter.end("a")
    with pytest.raises(WindowError, match="no open window named 'a'"):
        meter.end("a")  # ended twice
    assert issubclass(WindowError, ValueError)


def test_lap_shares_one_read_and_laps_tile_time(rig):
    meter, cpu, gpu, clock = rig
    reset_reads(cpu, gpu)
    meter.begin("seg")
    laps = []
    for k in range(3):
        gpu.value += 10.0 * (k + 1)
        clock.t += 1.0
        laps.append(meter.lap("seg"))
    gpu.value += 5.0
    last = meter.end("seg")
    assert [m.devices[1].energy_j for m in laps] == [10.0, 20.0, 30.0]
    assert sum(m.devices[1].energy_j for m in [*laps, last]) == gpu.value  # nothing between laps
    assert gpu.reads == 5  # begin + 3 laps + end
    assert laps[1].t_begin == laps[0].t_end


def test_cancel_forgets_without_reading(rig):
    meter, cpu, gpu, _ = rig
    meter.begin("x")
    reset_reads(cpu, gpu)
    meter.cancel("x")
    assert (cpu.reads, gpu.reads) == (0, 0) and meter.open_windows == []


def test_labels_estimated_and_partly_estimated():
    est = FakeSource(method="estimate")
    gpu = FakeSource(kind="gpu", method="nvml-energy-counter", cheap=False)
    only_est = EnergyMeter(sources=[est])
    only_est.begin("w")
    est.value = 1.0
    assert only_est.end("w").how == "estimated"
    mixed = EnergyMeter(sources=[est, gpu])
    mixed.begin("w")
    est.value, gpu.value = 2.0, 5.0
    assert mixed.end("w").how == "partly estimated"


def test_a_source_failing_mid_window_is_left_out_with_a_notice(rig):
    meter, cpu, gpu, _ = rig
    meter.begin("w")
    cpu.value, gpu.value = 1.0, 50.0
    gpu.fail = True
    m = meter.end("w")
    assert m.devices[1].energy_j is None
    assert m.energy_j == 1.0 and m.how == "measured"
    assert any("failed mid-run" in n for n in meter.notices)


def test_cuda_is_synchronized_before_every_read(rig, monkeypatch):
    meter, _, gpu, _ = rig
    events: list[str] = []
    cuda = types.SimpleNamespace(is_initialized=lambda: True, synchronize=lambda: events.append("sync"))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    gpu.on_read = lambda: events.append("read")
    meter.begin("w")
    meter.end("w")
    assert events == ["sync", "read", "sync", "read"]
    events.clear()
    meter.read_cheap()  # the per-step read: no sync, no NVML
    assert events == []


def test_no_sync_when_cuda_was_never_initialised(rig, monkeypatch):
    meter = rig[0]
    calls: list[str] = []
    cuda = types.SimpleNamespace(is_initialized=lambda: False, synchronize=lambda: calls.append("sync"))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    with meter.window("w"):
        pass
    assert calls == []


def test_read_cheap_never_reads_the_gpu(rig):
    meter, cpu, gpu, _ = rig
    reset_reads(cpu, gpu)
    cpu.value = 4.0
    assert meter.read_cheap() == [4.0, None]
    assert (cpu.reads, gpu.reads) == (1, 0)


class SampledGpu(FakeSource):
    """A GPU source with a power-sample buffer, as NvmlSource has."""

    def __init__(self) -> None:
        super().__init__(kind="gpu", method="nvml-energy-counter", cheap=False)
        self.pending: list[tuple[float, float]] = []
        self.polls = 0

    def poll(self) -> None:
        self.polls += 1

    def drain_timeline(self) -> list[tuple[float, float]]:
        samples, self.pending = self.pending, []
        return samples


def test_power_samples_are_kept_only_when_asked():
    gpu = SampledGpu()
    keep = EnergyMeter(sources=[gpu], power_samples=True, poll_interval_s=3600)
    try:
        gpu.pending = [(1.0, 100.0), (1.02, 110.0)]
        assert keep.take_power_samples() == [[(1.0, 100.0), (1.02, 110.0)]]
        assert gpu.polls == 1  # drained up to now before handing them over
        assert keep.take_power_samples() == [[]]
    finally:
        keep.close()
    drop = EnergyMeter(sources=[gpu], poll_interval_s=3600)
    try:
        gpu.pending = [(2.0, 100.0)]
        drop.poll()
        assert gpu.pending == [] and drop.take_power_samples() == [[]]
    finally:
        drop.close()


def test_poll_thread_only_for_sources_that_poll():
    assert EnergyMeter(sources=[FakeSource()])._poller is None
    meter = EnergyMeter(sources=[SampledGpu()], poll_interval_s=3600)
    assert meter._poller is not None and meter._poller.daemon
    meter.close()
    # close() waits up to 2 s for the thread (never longer, for the caller's sake); on a busy
    # machine the thread may need longer to be scheduled, so wait for it to end, not for a time
    meter._poller.join(timeout=120)
    assert not meter._poller.is_alive()


def test_default_sources_on_this_machine():
    # The CLI's selection (no NVML here): RAPL if readable, else the labelled estimate.
    with EnergyMeter(use_nvml=False) as meter:
        with meter.window("busy") as w:
            sum(i * i for i in range(200_000))
    assert w.how in ("measured", "estimated")
    assert w.energy_j is not None and w.energy_j >= 0
    assert {d.method for d in w.devices} <= {"rapl", "estimate"}


def test_importing_the_package_stays_cheap():
    code = (
        "import sys\n"
        "import greenlint.profiler as p\n"
        "assert 'greenlint.profiler.meter' not in sys.modules\n"
        "from greenlint.profiler import EnergyMeter\n"
        "import greenlint.profiler.callbacks\n"
        "heavy = [m for m in ('torch', 'transformers', 'lightning', 'pytorch_lightning') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'EnergyMeter' in dir(p)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nvml_power_samples_reach_the_meter_and_are_drained():
    # nvml_sources.NvmlSource with the slice of pynvml it uses; the samples leave the source once taken.
    from greenlint.profiler.nvml_sources import NvmlSource

    def sample(t_us: int, mw: int):
        return types.SimpleNamespace(timeStamp=t_us, sampleValue=types.SimpleNamespace(uiVal=mw))

    buffer = [sample(2_000_000_000_000_000, 100_000), sample(2_000_000_000_020_000, 300_000)]
    nvml = types.SimpleNamespace(
        NVML_TOTAL_POWER_SAMPLES=0,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: b"Fake H100",
        nvmlDeviceGetTotalEnergyConsumption=lambda h: 5_000,
        nvmlDeviceGetSamples=lambda h, kind, since: (0, [s for s in buffer if s.timeStamp > since]),
    )
    src = NvmlSource(nvml, 0)
    meter = EnergyMeter(sources=[src], power_samples=True, poll_interval_s=3600)
    try:
        assert meter._poller is not None  # NVML has a sample buffer to drain
        src._last_sample_us = 0
        taken = meter.take_power_samples()
        assert taken == [[(2_000_000_000.0, 100.0), (2_000_000_000.02, 300.0)]]
        assert src.timeline() == [] and meter.take_power_samples() == [[]]
    finally:
        meter.close()


def test_a_forgotten_meter_is_collected_despite_its_poll_thread():
    import gc
    import weakref

    meter = EnergyMeter(sources=[SampledGpu()], poll_interval_s=3600)
    ref = weakref.ref(meter)
    stop = meter._stop
    del meter
    gc.collect()
    assert ref() is None
    stop.set()  # let the waiting thread go now rather than after the interval
