"""The CPU's energy from Intel/AMD RAPL counters under /sys/class/powercap (``RaplSource``), with
wrap-around tracking; ``RaplUnavailable`` says in one line why it cannot be used here."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from greenlint.profiler.energy_source import EnergySource


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
