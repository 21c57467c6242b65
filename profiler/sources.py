"""Energy sources: where the joules come from, each labelled with how they were obtained.

Every source is *cumulative*: ``read_j()`` returns the joules consumed since ``start()``. Windows
and per-step energy are differences of two reads, so a source never needs to know about steps.

``cheap`` says whether a read costs microseconds (process CPU time, a sysfs file) and may be taken
at every optimizer step, or milliseconds (NVML's energy counter, ~4 ms per read measured on an
H100, see shared/research/gpu-measurements.md) and must only be read at window boundaries.

Nothing here raises on a missing or failing device: :func:`select_sources` returns the sources that
work plus one-line notices saying what fell back and why.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

# Green Algorithms' per-core TDP for an unknown CPU ("Any" row of data/latest/TDP_cpu.csv in
# GreenAlgorithms/green-algorithms-tool, 12.0 W per core). TDP is a thermal design figure, not a
# measurement of this machine: the estimate is labelled `estimate` everywhere and the figure is
# configurable (--cpu-watts-per-core).
DEFAULT_CPU_WATTS_PER_CORE = 12.0
DEFAULT_CPU_WATTS_SOURCE = (
    "Green Algorithms per-core TDP for an unknown CPU (12.0 W, 'Any' in data/latest/TDP_cpu.csv "
    "of GreenAlgorithms/green-algorithms-tool)"
)

# Stated tolerances (fractions) used to widen projections. They are assumptions, stated as such:
# NVML counter: ~5 % with a careful protocol (Yang et al., SC'24, arXiv 2312.02741);
# RAPL: model-based on older Intel parts, assumed 10 %;
# estimate: TDP x CPU time ignores frequency, idle power and memory, assumed 50 %.
TOLERANCE = {"nvml-energy-counter": 0.05, "nvml-power-samples": 0.10, "nvml-power-polled": 0.50, "rapl": 0.10,
             "estimate": 0.50}


class EnergySource:
    """A cumulative energy reading for one device (or one device's share)."""

    kind: str = "cpu"  # "cpu" or "gpu"
    name: str = ""
    method: str = ""
    cheap: bool = True  # may be read at every optimizer step
    basis: str = ""  # one line: what the number is and where any assumed figure comes from

    @property
    def tolerance(self) -> float:
        return TOLERANCE.get(self.method, 0.5)

    def start(self) -> None:
        raise NotImplementedError

    def read_j(self) -> float:
        """Joules since start(); monotonic non-decreasing."""
        raise NotImplementedError

    def poll(self) -> None:
        """Called about once a second from the sampler thread (wrap-around tracking, timelines)."""

    def timeline(self) -> list[tuple[float, float]]:
        """(unix time, watts) samples gathered by poll(), if the source has any."""
        return []

    def drain_timeline(self) -> list[tuple[float, float]]:
        """The samples gathered so far, forgotten by the source (long runs keep memory bounded)."""
        return []

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "method": self.method, "cheap": self.cheap,
                "tolerance": self.tolerance, "basis": self.basis}


# --------------------------------------------------------------------------------------- estimate


class ProcessTreeCpu:
    """CPU seconds of this process, of its children that have been waited for, and of its running
    descendants (DataLoader workers), as a callable for EstimateSource.

    CLOCK_PROCESS_CPUTIME_ID covers every thread of this process (torch's intra-op pool too);
    os.times() adds reaped children. Running descendants are read from /proc (Linux) by
    `refresh()`, which the profiler calls from its sampler thread about once a second and at the
    measured window's boundaries (a scan costs ~0.1 ms per process: never in the per-step read).
    Between scans a child that has been reaped meanwhile is dropped at once, because its time has
    moved into os.times() and would otherwise count twice. So window totals are exact to the
    scans at their boundaries, while per-step values see the workers' time in once-a-second
    steps. Without /proc only the process and reaped children count.
    """

    def __init__(self, proc: str = "/proc") -> None:
        self.proc = proc
        self._live: dict[int, float] = {}  # pid -> CPU seconds at the last scan
        self._scanned = False
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def refresh(self) -> None:
        self._live = self._scan()
        self._scanned = True

    def __call__(self) -> float:
        t = os.times()
        own = time.process_time() + t.children_user + t.children_system
        if not self._scanned:
            self.refresh()
        else:
            for pid in [pid for pid in self._live if not os.path.exists(f"{self.proc}/{pid}")]:
                del self._live[pid]
        return own + sum(self._live.values())

    def _children(self, pid: int) -> list[int]:
        found: list[int] = []
        try:
            for task in os.listdir(f"{self.proc}/{pid}/task"):
                with open(f"{self.proc}/{pid}/task/{task}/children", encoding="ascii") as handle:
                    found.extend(int(c) for c in handle.read().split())
        except (OSError, ValueError):
            pass
        return found

    def _cpu_seconds(self, pid: int) -> float | None:
        try:
            with open(f"{self.proc}/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            # after the command name: state is field 3, utime 14 and stime 15 (1-based, proc(5))
            return (int(fields[11]) + int(fields[12])) / self._tick
        except (OSError, ValueError, IndexError):
            return None

    def _scan(self) -> dict[int, float]:
        live: dict[int, float] = {}
        pending = self._children(os.getpid())
        while pending and len(live) < 4096:
            pid = pending.pop()
            if pid in live:
                continue
            seconds = self._cpu_seconds(pid)
            if seconds is not None:
                live[pid] = seconds
                pending.extend(self._children(pid))
        return live




class EstimateSource(EnergySource):
    """CPU energy estimated as process CPU seconds x a stated per-core power figure."""

    kind = "cpu"
    method = "estimate"

    def __init__(self, watts_per_core: float | None = None,
                 cpu_seconds: Callable[[], float] | None = None) -> None:
        self.watts_per_core = DEFAULT_CPU_WATTS_PER_CORE if watts_per_core is None else float(watts_per_core)
        # the process tree by default; tests pass a fake clock
        self._cpu_seconds = cpu_seconds if cpu_seconds is not None else ProcessTreeCpu()
        self._t0 = 0.0
        self.name = "process CPU time"
        origin = DEFAULT_CPU_WATTS_SOURCE if watts_per_core is None else "--cpu-watts-per-core"
        self.basis = (f"estimated: the CPU seconds of the script's process and its child processes (DataLoader "
                      f"workers) x {self.watts_per_core:g} W per busy core "
                      f"({origin}); not a measurement")

    def start(self) -> None:
        self.poll()
        self._t0 = self._cpu_seconds()

    def read_j(self) -> float:
        return (self._cpu_seconds() - self._t0) * self.watts_per_core

    def poll(self) -> None:
        """Re-read the running child processes (DataLoader workers), when the clock can."""
        refresh = getattr(self._cpu_seconds, "refresh", None)
        if refresh is not None:
            refresh()


# ------------------------------------------------------------------------------------------- RAPL

RAPL_ROOT = Path("/sys/class/powercap")


@dataclass
class _RaplDomain:
    path: Path
    label: str
    max_range_uj: int
    last_uj: int = 0
    total_uj: int = 0


class RaplUnavailable(Exception):
    """RAPL cannot be used here; the message is the one-line reason shown to the user."""


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


def rapl_domains(root: Path = RAPL_ROOT) -> list[tuple[Path, str]]:
    """The domains to sum: every package, plus DRAM, never core/uncore (inside the package) or psys.

    Layout: intel-rapl:N is a package (name "package-N"), intel-rapl:N:M its sub-domains (core,
    uncore, dram). core and uncore are already counted in the package; dram is not. psys (whole
    SoC, on client parts) contains the packages, so summing it too would double count.
    """
    if not root.is_dir():
        raise RaplUnavailable(f"RAPL not available ({root} does not exist)")
    chosen: list[tuple[Path, str]] = []
    for zone in sorted(root.glob("intel-rapl:*")):
        try:
            name = (zone / "name").read_text().strip()
        except OSError:
            continue
        depth = zone.name.count(":")
        if name.startswith("package") and depth == 1:
            chosen.append((zone, name))
        elif name == "dram":
            chosen.append((zone, f"{name} ({zone.name})"))
    if not chosen:
        raise RaplUnavailable(f"RAPL not available (no package domain under {root})")
    return chosen


class RaplSource(EnergySource):
    """CPU package (+ DRAM) energy from the kernel's RAPL counters, for the whole machine."""

    kind = "cpu"
    method = "rapl"

    def __init__(self, root: Path = RAPL_ROOT) -> None:
        self._lock = threading.Lock()  # read from the main thread and the sampler thread
        self.domains: list[_RaplDomain] = []
        for zone, label in rapl_domains(root):
            try:
                raw = _read_int(zone / "energy_uj")
                max_range = _read_int(zone / "max_energy_range_uj")
            except PermissionError:
                # Since Linux 5.10 energy_uj is root-only (CVE-2020-8694, "Platypus").
                raise RaplUnavailable(f"RAPL counters not readable ({zone / 'energy_uj'}: permission denied; "
                                      "root only since the Platypus fix)") from None
            except (OSError, ValueError) as exc:
                raise RaplUnavailable(f"RAPL counter unreadable ({zone}: {exc})") from None
            self.domains.append(_RaplDomain(zone, label, max_range, last_uj=raw))
        self.name = " + ".join(d.label for d in self.domains)
        self.basis = ("measured: RAPL package and DRAM counters of the whole machine "
                      "(other processes' CPU work is included)")

    def start(self) -> None:
        with self._lock:
            for d in self.domains:
                d.last_uj = _read_int(d.path / "energy_uj")
                d.total_uj = 0

    def _update(self) -> None:
        for d in self.domains:
            raw = _read_int(d.path / "energy_uj")
            delta = raw - d.last_uj
            if delta < 0:  # the counter wrapped at max_energy_range_uj
                delta += d.max_range_uj + 1
            d.total_uj += delta
            d.last_uj = raw

    def read_j(self) -> float:
        with self._lock:
            self._update()
            return sum(d.total_uj for d in self.domains) / 1e6

    def poll(self) -> None:
        # A package counter wraps after max_energy_range_uj (~262 kJ, tens of minutes at full
        # load); reading it every second from the sampler keeps every wrap detectable.
        self.read_j()


# ------------------------------------------------------------------------------------------- NVML


class NvmlUnavailable(Exception):
    """NVML cannot be used here; the message is the one-line reason shown to the user."""


def visible_gpu_indices(nvml: Any, env: str | None) -> list[int]:
    """NVML indices of the GPUs the script can see (CUDA_VISIBLE_DEVICES by index or UUID prefix)."""
    count = nvml.nvmlDeviceGetCount()
    if env is None:
        return list(range(count))
    wanted = [item.strip() for item in env.split(",") if item.strip()]
    uuids = []
    for i in range(count):
        uuid = nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))
        uuids.append(uuid.decode() if isinstance(uuid, bytes) else str(uuid))
    chosen: list[int] = []
    for item in wanted:
        if item.lstrip("-").isdigit():
            idx = int(item)
            if idx < 0 or idx >= count:
                break  # CUDA stops at the first invalid entry
            chosen.append(idx)
        else:
            # CUDA accepts a unique UUID prefix, with or without the "GPU-" part.
            key = item if item.startswith(("GPU-", "MIG-")) else f"GPU-{item}"
            matches = [i for i, u in enumerate(uuids) if u.startswith(key)]
            if len(matches) != 1:
                break
            chosen.append(matches[0])
    return list(dict.fromkeys(chosen))


class NvmlSource(EnergySource):
    """One GPU's cumulative energy counter (Volta and newer), read only at window boundaries."""

    kind = "gpu"
    method = "nvml-energy-counter"
    cheap = False  # ~4 ms per read: never per step

    def __init__(self, nvml: Any, index: int) -> None:
        self.nvml = nvml
        self.index = index
        self.handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = nvml.nvmlDeviceGetName(self.handle)
        self.name = f"GPU {index}: {name.decode() if isinstance(name, bytes) else name}"
        self.basis = "measured: the GPU's cumulative energy counter (NVML), read at window boundaries"
        self._mj0 = 0
        self._samples: list[tuple[float, float]] = []
        self._last_sample_us = 0
        self._samples_ok = True

    def start(self) -> None:
        self._mj0 = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle)
        self._last_sample_us = int(time.time() * 1e6)

    def read_j(self) -> float:
        return (self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) - self._mj0) / 1000.0

    def poll(self) -> None:
        """Drain the driver's 20 ms power-sample ring buffer (~2.4 s deep, ~300 us per call)."""
        if not self._samples_ok:
            return
        try:
            _, samples = self.nvml.nvmlDeviceGetSamples(self.handle, self.nvml.NVML_TOTAL_POWER_SAMPLES,
                                                        self._last_sample_us)
        except Exception:  # noqa: BLE001 - NOT_FOUND when no new samples, unsupported on some parts
            return
        for s in samples:
            ts = int(s.timeStamp)
            if ts <= self._last_sample_us:
                continue
            self._last_sample_us = ts
            self._samples.append((ts / 1e6, _sample_watts(s)))

    def timeline(self) -> list[tuple[float, float]]:
        return list(self._samples)

    def drain_timeline(self) -> list[tuple[float, float]]:
        samples, self._samples = self._samples, []
        return samples


class NvmlPowerSampleSource(NvmlSource):
    """Pre-Volta GPUs have no energy counter: integrate the driver's 20 ms power samples instead
    (or, where even those are missing, the power polled about once a second). Labelled by method
    and with a wider tolerance: integrated 20 ms samples read 2-6 % low against the counter on an
    H100, and 1 Hz polling of instantaneous power was off by -47 % and -70 % on periodic loads
    (shared/research/gpu-measurements.md)."""

    method = "nvml-power-samples"

    def __init__(self, nvml: Any, index: int) -> None:
        super().__init__(nvml, index)
        self.basis = ("measured: the GPU's 20 ms power samples (NVML), integrated; this GPU has no energy "
                      "counter (pre-Volta)")
        self._energy_j = 0.0  # integrated up to the last sample
        self._last: tuple[float, float] | None = None  # (unix time, watts) of the last sample
        self._t_start = 0.0

    def start(self) -> None:
        self._t_start = time.time()
        self._last_sample_us = int(self._t_start * 1e6)
        self._energy_j, self._last = 0.0, None
        self._add((self._t_start, self._power_now()))

    def _power_now(self) -> float:
        return float(self.nvml.nvmlDeviceGetPowerUsage(self.handle)) / 1000.0

    def _add(self, sample: tuple[float, float]) -> None:
        if self._last is not None and sample[0] > self._last[0]:
            self._energy_j += (sample[0] - self._last[0]) * (self._last[1] + sample[1]) / 2.0
        if self._last is None or sample[0] > self._last[0]:
            self._last = sample

    def poll(self) -> None:
        before = len(self._samples)
        super().poll()
        new = self._samples[before:]
        if not new and self._samples_ok and not self._samples and time.time() - self._t_start >= 1.0:
            # a second without one 20 ms sample: no sample buffer on this part; poll the power
            # itself (coarse, and labelled so)
            self._samples_ok = False
        if not self._samples_ok:
            self.method = "nvml-power-polled"
            self.basis = ("measured, coarsely: the GPU's power polled about once a second (NVML) and integrated; "
                          "no energy counter and no sample buffer on this GPU")
            new = [(time.time(), self._power_now())]
            self._samples.extend(new)
        for sample in new:
            self._add(sample)

    def read_j(self) -> float:
        self.poll()
        now = time.time()
        tail = (now - self._last[0]) * self._last[1] if self._last is not None else 0.0
        return self._energy_j + max(tail, 0.0)


def _sample_watts(sample: Any) -> float:
    value = sample.sampleValue
    milliwatts = getattr(value, "uiVal", None)
    if milliwatts is None:
        milliwatts = getattr(value, "ulVal", 0)
    return float(milliwatts) / 1000.0


def nvml_sources(nvml: Any | None = None, env: dict[str, str] | None = None,
                 choose: Callable[[list[int]], list[int]] | None = None) -> tuple[list[EnergySource], list[str]]:
    """One NvmlSource per visible GPU, or [] and the reason. Never raises.

    `choose` picks, from the visible GPUs' NVML indices (in CUDA_VISIBLE_DEVICES order), the ones
    this process measures (under torchrun each GPU is read by one rank only: ranks.py)."""
    env = os.environ if env is None else env
    if nvml is None:
        try:
            import pynvml as nvml  # nvidia-ml-py
        except ImportError:
            return [], []  # no NVML library: a CPU machine, nothing to say
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return [], [f"NVML could not start ({exc}); no GPU energy measured"]
    notices: list[str] = []
    sources: list[EnergySource] = []
    try:
        indices = visible_gpu_indices(nvml, env.get("CUDA_VISIBLE_DEVICES"))
        if choose is not None:
            indices = choose(indices)
        for idx in indices:
            src = NvmlSource(nvml, idx)
            try:
                src.start()
            except Exception as exc:  # noqa: BLE001 - pre-Volta: NOT_SUPPORTED
                src = NvmlPowerSampleSource(nvml, idx)
                try:
                    src.start()
                except Exception as exc2:  # noqa: BLE001 - not even a power reading
                    notices.append(f"{src.name}: no energy counter ({exc}) and no power reading ({exc2}); "
                                   "its energy is not measured")
                    continue
                notices.append(f"{src.name}: no energy counter ({exc}); its energy is integrated from power "
                               "samples instead (method nvml-power-samples, ±10 %)")
            sources.append(src)
    except Exception as exc:  # noqa: BLE001
        notices.append(f"NVML failed while listing GPUs ({exc}); no GPU energy measured")
        return [], notices
    return sources, notices


def select_sources(cpu_watts_per_core: float | None = None, rapl_root: Path = RAPL_ROOT,
                   nvml: Any | None = None, use_nvml: bool = True,
                   choose_gpus: Callable[[list[int]], list[int]] | None = None,
                   read_node_cpu: bool = True) -> tuple[list[EnergySource], list[str]]:
    """NVML for each visible GPU, plus RAPL for the CPU, else the CPU-time estimate.

    Under torchrun (ranks.py): `choose_gpus` keeps the GPUs this rank owns, and `read_node_cpu`
    is False on every rank but the one that reads the node's RAPL counters; such a rank adds no
    CPU source when RAPL works (the node's CPU is already measured) and its own estimate when it
    does not (the estimate measures this process only, so the ranks' estimates add up)."""
    sources: list[EnergySource] = []
    notices: list[str] = []
    if use_nvml:
        gpus, gpu_notices = nvml_sources(nvml, choose=choose_gpus)
        sources += gpus
        notices += gpu_notices
    try:
        rapl = RaplSource(rapl_root)
        if read_node_cpu:
            rapl.start()
            sources.append(rapl)
    except RaplUnavailable as exc:
        notices.append(f"{exc}; CPU energy is an estimate from CPU time")
        sources.append(EstimateSource(cpu_watts_per_core))
    except OSError as exc:
        notices.append(f"RAPL failed ({exc}); CPU energy is an estimate from CPU time")
        sources.append(EstimateSource(cpu_watts_per_core))
    return sources, notices


@dataclass
class SourceSet:
    """The sources of one run, with safe reads: a failing source is dropped with a notice."""

    sources: list[EnergySource]
    notices: list[str] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)

    def read_all(self, cheap_only: bool = False) -> list[float | None]:
        out: list[float | None] = []
        for i, src in enumerate(self.sources):
            if i in self.failed or (cheap_only and not src.cheap):
                out.append(None)
                continue
            try:
                out.append(src.read_j())
            except Exception as exc:  # noqa: BLE001 - NVML failing mid-run must not kill the script
                self.failed.add(i)
                self.notices.append(f"{src.name} ({src.method}) failed mid-run ({exc}); its later readings are missing")
                out.append(None)
        return out

    def poll_all(self) -> None:
        for i, src in enumerate(self.sources):
            if i not in self.failed:
                try:
                    src.poll()
                except Exception:  # noqa: BLE001 - a failed poll only loses timeline samples
                    pass
