"""The CPU energy estimate where no counter can be read: CPU seconds of the process tree
(``ProcessTreeCpu``) times an assumed per-core power (``EstimateSource``)."""

from __future__ import annotations

import os
import time
from typing import Callable

from greenlint.profiler.energy_source import EnergySource


# Green Algorithms' per-core TDP for an unknown CPU ("Any" row of data/latest/TDP_cpu.csv in
# GreenAlgorithms/green-algorithms-tool, 12.0 W per core). TDP is a thermal design figure, not a
# measurement of this machine: the estimate is labelled `estimate` everywhere and the figure is
# configurable (--cpu-watts-per-core).
DEFAULT_CPU_WATTS_PER_CORE = 12.0
DEFAULT_CPU_WATTS_SOURCE = (
    "Green Algorithms per-core TDP for an unknown CPU (12.0 W, 'Any' in data/latest/TDP_cpu.csv "
    "of GreenAlgorithms/green-algorithms-tool)"
)


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
