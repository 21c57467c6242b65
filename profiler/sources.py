"""Energy sources: where the joules come from, each labelled with how they were obtained.

Every source is *cumulative*: ``read_j()`` returns the joules consumed since ``start()``. Windows
and per-step energy are differences of two reads, so a source never needs to know about steps.

``cheap`` says whether a read costs microseconds (process CPU time, a sysfs file) and may be taken
at every optimizer step, or milliseconds (NVML's energy counter, ~4 ms per read measured on an
H100, see shared/research/gpu-measurements.md) and must only be read at window boundaries.

Nothing here raises on a missing or failing device: :func:`select_sources` returns the sources that
work plus one-line notices saying what fell back and why.

The interface is energy_source.py; the sources are the CPU-time estimate (cpu_estimate.py), RAPL
(rapl_source.py) and NVML (nvml_sources.py). This module picks them for a run and reads them safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from greenlint.profiler.cpu_estimate import EstimateSource
from greenlint.profiler.energy_source import EnergySource
from greenlint.profiler.nvml_sources import nvml_sources
from greenlint.profiler.rapl_source import RAPL_ROOT, RaplSource, RaplUnavailable

__all__ = ["EnergySource", "SourceSet", "select_sources"]


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
