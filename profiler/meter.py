"""EnergyMeter: the energy of named windows, for code that cannot run under `greenlint profile`.

    meter = EnergyMeter()
    meter.begin("epoch 1")
    ...
    m = meter.end("epoch 1")          # Measurement: time, joules per device, how they were obtained

    with meter.window("eval") as w:
        ...
    print(w.energy_j)                 # available once the block has ended

Windows are named and independent: they may nest or overlap freely. Each ``begin`` and each ``end``
reads every source once (an NVML counter read costs ~4 ms), so a window costs two reads of each
source, whatever else is open; ``lap`` ends a window and begins it again with one shared read.
The sources are the CLI's (``sources.select_sources``): NVML's energy counter per visible GPU, RAPL,
or the labelled CPU-time estimate. The model is Zeus's ``ZeusMonitor`` begin/end windows.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator

from greenlint.profiler.sources import EnergySource, SourceSet, select_sources

# Kept equal to profile.MEASURED_METHODS, not imported from it: importing the meter stays cheap.
MEASURED_METHODS = frozenset({"nvml-energy-counter", "rapl"})

POLL_INTERVAL_S = 1.0  # RAPL wrap-around tracking and the NVML power-sample buffer (~2.4 s deep)


class WindowError(ValueError):
    """A window was begun twice, or ended (or lapped) without having been begun."""


@dataclass
class DeviceEnergy:
    kind: str  # "cpu" or "gpu"
    name: str
    method: str  # nvml-energy-counter, rapl, estimate
    energy_j: float | None  # None: the source failed during the window (see EnergyMeter.notices)
    tolerance: float  # stated tolerance of the method (a fraction), see energy_source.TOLERANCE
    basis: str


@dataclass
class Measurement:
    name: str
    time_s: float
    energy_j: float | None  # every device that has a reading
    devices: list[DeviceEnergy]
    how: str  # measured / estimated / partly estimated / none
    t_begin: float  # unix time of the window's first read
    t_end: float

    def energy_of(self, kind: str) -> float | None:
        """Joules of the devices of one kind ("cpu" or "gpu"); None when there are none with a reading."""
        values = [d.energy_j for d in self.devices if d.kind == kind and d.energy_j is not None]
        return sum(values) if values else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def energy_how(devices: list[DeviceEnergy]) -> str:
    methods = {d.method for d in devices if d.energy_j is not None}
    if not methods:
        return "none"
    if methods <= MEASURED_METHODS:
        return "measured"
    return "estimated" if not methods & MEASURED_METHODS else "partly estimated"


@dataclass
class _Begun:
    t: float
    readings: list[float | None]


# Holds a window's name while its first read is taken (begin, lap), so that no other thread can
# begin the same name meanwhile; ending a window in that state is an error like ending none.
_READING = _Begun(float("nan"), [])


class Window:
    """What ``with meter.window(name) as w`` gives: the Measurement's fields once the block ends."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.measurement: Measurement | None = None

    def __getattr__(self, attr: str) -> Any:
        # Only reached for names a Window does not have itself: the Measurement's fields.
        measurement = self.__dict__.get("measurement")
        if measurement is None:
            raise AttributeError(f"window {self.__dict__.get('name')!r} is still open: its {attr} is "
                                 "available after the with block")
        return getattr(measurement, attr)

    def __repr__(self) -> str:
        return f"Window({self.name!r}, {self.measurement!r})"


def sync_cuda() -> None:
    """Wait for queued GPU work, so that it is counted in the window that launched it.

    Only when the program has already initialised CUDA: the meter never initialises it (nor
    imports torch) itself.
    """
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_initialized():
            torch.cuda.synchronize()
    except Exception:  # noqa: BLE001 - a broken CUDA state must not break the caller's code
        pass


def _needs_polling(source: EnergySource) -> bool:
    return type(source).poll is not EnergySource.poll


class EnergyMeter:
    """Named energy windows over the CLI's energy sources. Thread-safe; see the module docstring."""

    def __init__(self, sources: list[EnergySource] | None = None, cpu_watts_per_core: float | None = None,
                 *, use_nvml: bool = True, sync: bool = True, power_samples: bool = False,
                 poll_interval_s: float = POLL_INTERVAL_S, clock: Callable[[], float] = time.time) -> None:
        """
        sources: the energy sources (default: ``select_sources``, as ``greenlint profile`` does);
            they are started here.
        cpu_watts_per_core: the figure for the CPU-time estimate when neither RAPL nor a given
            source covers the CPU (default 12 W, see cpu_estimate.DEFAULT_CPU_WATTS_SOURCE).
        sync: ``torch.cuda.synchronize()`` before each read when the program has initialised CUDA.
        power_samples: keep the GPUs' 20 ms power samples for ``take_power_samples`` (the
            callbacks split a window's GPU energy between steps with them); otherwise they are
            dropped as they arrive.
        """
        notices: list[str] = []
        if sources is None:
            sources, notices = select_sources(cpu_watts_per_core, use_nvml=use_nvml)
        for src in sources:
            src.start()
        self._set = SourceSet(list(sources), list(notices))
        self._sync = sync
        self.clock = clock
        self._keep_samples = power_samples
        self._open: dict[str, _Begun] = {}
        self._lock = threading.Lock()  # the open windows
        self._poll_lock = threading.Lock()  # sources' poll() and the sample buffers
        self._samples: list[list[tuple[float, float]]] = [[] for _ in sources]
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        if any(_needs_polling(s) for s in sources):
            # RAPL counters wrap after tens of minutes at full load: a long window needs a read in
            # between. The thread holds only a weak reference, so a forgotten meter is collected.
            self._poller = threading.Thread(target=_poll_loop, args=(weakref.ref(self), self._stop, poll_interval_s),
                                            name="greenlint-meter-poll", daemon=True)
            self._poller.start()

    # -- what the meter measures with ---------------------------------------------------------

    @property
    def sources(self) -> list[EnergySource]:
        return list(self._set.sources)

    @property
    def notices(self) -> list[str]:
        """One line per fallback or failure (no NVML, RAPL not readable, a GPU failing mid-run)."""
        return list(self._set.notices)

    @property
    def open_windows(self) -> list[str]:
        with self._lock:
            return list(self._open)

    # -- windows ------------------------------------------------------------------------------

    def _read(self) -> tuple[float, list[float | None]]:
        if self._sync:
            sync_cuda()
        readings = self._set.read_all()
        return self.clock(), readings

    def begin(self, name: str) -> None:
        """Open the window `name`: one read of every source."""
        with self._lock:
            if name in self._open:
                raise WindowError(f"window {name!r} is already open; end it before beginning it again, "
                                  "or give the second window another name")
            self._open[name] = _READING
        try:
            t, readings = self._read()
        except BaseException:
            with self._lock:
                self._open.pop(name, None)
            raise
        with self._lock:
            self._open[name] = _Begun(t, readings)

    def end(self, name: str) -> Measurement:
        """Close the window `name` (one read of every source) and return its Measurement."""
        begun = self._take(name)
        t, readings = self._read()
        return self._measure(name, begun, t, readings)

    def lap(self, name: str) -> Measurement:
        """End the window `name` and begin it again at the same instant, with a single read.

        Consecutive laps tile time exactly: nothing falls between them.
        """
        with self._lock:
            begun = self._get(name)
            self._open[name] = _READING
        try:
            t, readings = self._read()
        except BaseException:
            with self._lock:
                self._open[name] = begun
            raise
        with self._lock:
            self._open[name] = _Begun(t, readings)
        return self._measure(name, begun, t, readings)

    def cancel(self, name: str) -> None:
        """Forget the window `name` without reading anything."""
        self._take(name)

    @contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """``with meter.window(name) as w:`` ... ``w.energy_j`` (also when the block raised)."""
        handle = Window(name)
        self.begin(name)
        try:
            yield handle
        finally:
            handle.measurement = self.end(name)

    def _get(self, name: str) -> _Begun:
        begun = self._open.get(name)
        if begun is None or begun is _READING:
            others = ", ".join(repr(n) for n in self._open) or "none"
            raise WindowError(f"no open window named {name!r} (open windows: {others}); begin it first")
        return begun

    def _take(self, name: str) -> _Begun:
        with self._lock:
            begun = self._get(name)
            del self._open[name]
            return begun

    def _measure(self, name: str, begun: _Begun, t_end: float, end: list[float | None]) -> Measurement:
        devices = []
        for src, b, e in zip(self._set.sources, begun.readings, end):
            # A cumulative counter never goes down; a source that failed has no reading.
            energy = None if b is None or e is None else max(e - b, 0.0)
            devices.append(DeviceEnergy(src.kind, src.name, src.method, energy, src.tolerance, src.basis))
        present = [d.energy_j for d in devices if d.energy_j is not None]
        return Measurement(name=name, time_s=max(t_end - begun.t, 0.0), energy_j=sum(present) if present else None,
                           devices=devices, how=energy_how(devices), t_begin=begun.t, t_end=t_end)

    # -- per-step accounting (the callbacks) ----------------------------------------------------

    def read_cheap(self) -> list[float | None]:
        """Cumulative joules of the sources that may be read every step (None for the others).

        Never reads NVML and never synchronizes CUDA: microseconds, fit for a per-step hook.
        """
        return self._set.read_all(cheap_only=True)

    def take_power_samples(self) -> list[list[tuple[float, float]]]:
        """The (unix time, watts) power samples gathered since the last call, one list per source.

        Drains the driver's buffer first, so the samples reach up to now. Empty unless the meter
        was made with ``power_samples=True``.
        """
        if not self._keep_samples:
            return [[] for _ in self._set.sources]
        self.poll()
        with self._poll_lock:
            taken, self._samples = self._samples, [[] for _ in self._set.sources]
        return taken

    def poll(self) -> None:
        """Poll every source once (the background thread does this about once a second)."""
        with self._poll_lock:
            self._set.poll_all()
            for i, src in enumerate(self._set.sources):
                samples = src.drain_timeline()
                if self._keep_samples and samples:
                    self._samples[i].extend(samples)

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the polling thread and close the sources. Open windows are forgotten."""
        self._stop.set()
        if self._poller is not None and self._poller is not threading.current_thread():
            self._poller.join(timeout=2.0)
        with self._lock:
            self._open.clear()
        for src in self._set.sources:
            try:
                src.close()
            except Exception:  # noqa: BLE001 - closing must not raise over the caller's result
                pass

    def __enter__(self) -> EnergyMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _poll_loop(meter_ref: weakref.ref, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        meter = meter_ref()
        if meter is None:
            return
        if meter._open:  # nothing to keep track of between windows
            meter.poll()
        del meter
