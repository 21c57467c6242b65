"""GPU energy through NVML: the energy counter per visible GPU (``NvmlSource``), or its power
samples integrated where there is no counter (``NvmlPowerSampleSource``); ``nvml_sources`` picks
them for the GPUs the script can see (CUDA_VISIBLE_DEVICES)."""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from greenlint.profiler.energy_source import EnergySource


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
