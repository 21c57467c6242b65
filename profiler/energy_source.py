"""The energy source interface (``EnergySource``: a cumulative reading in joules, labelled with how
it was obtained) and the stated tolerance of each method. The sources themselves are in
cpu_estimate.py, rapl_source.py and nvml_sources.py; sources.py picks them for a run."""

from __future__ import annotations

from typing import Any


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
