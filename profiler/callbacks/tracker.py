"""The energy of a training run, fed by a framework's callback hooks; no framework imported here.

The callbacks (huggingface.py, lightning.py) translate their framework's events into calls here:

    train_begin -> (epoch_begin -> step_end x N -> epoch_end) x E -> train_end -> profile JSON

Measurement (see docs/profiler.md, "Python API and callbacks"):
- one EnergyMeter window "train" from train_begin to train_end: the run's energy per device;
- per epoch, one window (or, with ``window_steps``, consecutive laps of it every N steps: laps
  share their boundary read, so they add up to the epoch exactly). NVML is read only there;
- per optimizer step, the cheap sources only (RAPL, CPU-time estimate: microseconds); a GPU's
  share of each step comes from splitting the window's counter energy by the driver's 20 ms power
  samples (``energy_math.split_by_timeline``), as ``greenlint profile`` does.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from greenlint.profiler.labels import ESTIMATED, FULL_RUN, PARTLY, tolerance_words
from greenlint.profiler.meter import EnergyMeter, Measurement
from greenlint.profiler.energy_math import percentile, split_by_timeline
from greenlint.profiler.profile import Device, Profile, Projection
from greenlint.profiler.units import format_energy

LINES_BASIS = ("none: the callbacks do no line attribution; run the script under `greenlint profile` "
               "for the energy of each source line")
WINDOW = "greenlint-epoch"
TRAIN_WINDOW = "greenlint-train"
PREFIX = "greenlint/"


class CallbackSettings:
    """What both framework callbacks share (huggingface.py, lightning.py): their settings and the
    meter they measure with. A base class placed before the framework's own callback class."""

    def __init__(self, output: str | None = None, total_steps: int | None = None, warmup_steps: int = 1,
                 window_steps: int | None = None, cpu_watts_per_core: float | None = None,
                 meter: EnergyMeter | None = None) -> None:
        super().__init__()  # the framework's callback class, next in the MRO
        self.output = output
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.window_steps = window_steps
        self.cpu_watts_per_core = cpu_watts_per_core
        self._meter = meter
        self._owns_meter = False
        self.tracker: TrainingEnergy | None = None
        self.profile: dict[str, Any] | None = None  # what was written, after training
        self.path: str | None = None

    def _run_meter(self) -> EnergyMeter:
        """The meter given to the callback, else one of its own (closed at the end of training)."""
        if self._meter is not None:
            return self._meter
        self._owns_meter = True
        return EnergyMeter(cpu_watts_per_core=self.cpu_watts_per_core, power_samples=True)


@dataclass
class EpochEnergy:
    epoch: int
    steps: int
    energy_j: float | None  # measured/estimated: the epoch's window(s), every device
    time_s: float
    j_per_step: float | None  # mean over the epoch's complete steps
    how: str


@dataclass
class _Segment:
    """One window inside an epoch: the step boundaries and cheap readings taken in it."""

    t_begin: float
    cheap_begin: list[float | None]
    step_times: list[float] = field(default_factory=list)
    step_cheap: list[list[float | None]] = field(default_factory=list)


def weighted_tolerance(measurements: list[Measurement]) -> float:
    """The sources' stated tolerance, weighted by the energy each contributed."""
    pairs = [(d.energy_j, d.tolerance) for m in measurements for d in m.devices if d.energy_j]
    total = sum(e for e, _ in pairs)
    if not total:
        tolerances = [d.tolerance for m in measurements for d in m.devices]
        return max(tolerances, default=0.5)
    return sum(e * t for e, t in pairs) / total


class TrainingEnergy:
    """Energy per epoch and per step of one training run, the projection, and the profile JSON."""

    def __init__(self, meter: EnergyMeter, source: str, warmup_steps: int = 1,
                 window_steps: int | None = None) -> None:
        if window_steps is not None and window_steps < 1:
            raise ValueError("window_steps must be at least 1 (or None: one window per epoch)")
        self.meter = meter
        self.source = source  # which callback wrote the profile, for the JSON
        self.warmup_steps = max(int(warmup_steps), 0)
        self.window_steps = window_steps
        self.total_steps: int | None = None
        self.total_basis = ""
        self.start_step = 0
        self.train: Measurement | None = None
        self.train_t_begin: float | None = None
        self.epochs: list[EpochEnergy] = []
        self.segments: list[Measurement] = []  # every closed window, all epochs
        self.per_step: list[float] = []  # J per complete step, all devices
        self.step_durations: list[float] = []
        self.steps = 0  # optimizer steps seen by step_end
        self.notices: list[str] = []
        self._epoch: int | None = None
        self._epoch_segments: list[Measurement] = []
        self._epoch_steps = 0
        self._epoch_per_step: list[float] = []
        self._seg: _Segment | None = None
        self._cheap = [i for i, s in enumerate(meter.sources) if s.cheap]
        self._last_cheap: list[float | None] | None = None
        self.lapped = False  # the last step_end closed a window (window_steps): progress_logs() is new

    # -- events --------------------------------------------------------------------------------

    def train_begin(self, total_steps: int | None, total_basis: str, start_step: int = 0) -> None:
        self.total_steps = total_steps
        self.total_basis = total_basis
        self.start_step = start_step
        self.train_t_begin = self.meter.clock()
        self.meter.begin(TRAIN_WINDOW)

    def epoch_begin(self, epoch: int) -> None:
        if self._epoch is not None:  # a framework that skipped epoch_end (an exception, a restart)
            self.epoch_end()
        self._epoch = epoch
        self._epoch_segments = []
        self._epoch_steps = 0
        self._epoch_per_step = []
        self.meter.begin(WINDOW)
        self._seg = _Segment(self.meter.clock(), self.meter.read_cheap())
        self._last_cheap = self._seg.cheap_begin
        self.meter.take_power_samples()  # samples from before the epoch are of no use

    def step_end(self) -> float | None:
        """One optimizer step ended. Returns the step's joules from the cheap sources (None if none).

        Cost: a clock read and the cheap sources (microseconds); NVML is never read here.
        """
        if self._seg is None:  # a step outside an epoch (a framework without epoch events)
            return None
        now = self.meter.clock()
        cheap = self.meter.read_cheap()
        self._seg.step_times.append(now)
        self._seg.step_cheap.append(cheap)
        self.steps += 1
        self._epoch_steps += 1
        step_j = None
        if self._last_cheap is not None:
            parts = [cheap[i] - self._last_cheap[i] for i in self._cheap
                     if cheap[i] is not None and self._last_cheap[i] is not None]
            step_j = max(sum(parts), 0.0) if parts else None
        self._last_cheap = cheap
        self.lapped = False
        if self.window_steps is not None and len(self._seg.step_times) >= self.window_steps:
            self.lapped = True
            self._close_segment(self.meter.lap(WINDOW))
            self._seg = _Segment(self.meter.clock(), self.meter.read_cheap())
            self._last_cheap = self._seg.cheap_begin
        return step_j

    def epoch_end(self) -> EpochEnergy | None:
        if self._epoch is None or self._seg is None:
            return None
        self._close_segment(self.meter.end(WINDOW))
        self._seg = None
        parts = self._epoch_segments
        energies = [m.energy_j for m in parts if m.energy_j is not None]
        hows = {m.how for m in parts} - {"none"}
        epoch = EpochEnergy(
            epoch=self._epoch, steps=self._epoch_steps, energy_j=sum(energies) if energies else None,
            time_s=sum(m.time_s for m in parts),
            j_per_step=sum(self._epoch_per_step) / len(self._epoch_per_step) if self._epoch_per_step else None,
            how=hows.pop() if len(hows) == 1 else ("partly estimated" if hows else "none"))
        self.epochs.append(epoch)
        self._epoch = None
        return epoch

    def _close_segment(self, m: Measurement) -> None:
        """Per-step joules of the segment's complete steps, every device."""
        seg = self._seg
        assert seg is not None
        self.segments.append(m)
        self._epoch_segments.append(m)
        n = len(seg.step_times)
        if not n:
            return
        bounds = [seg.t_begin, *seg.step_times]
        per_step = [0.0] * n
        samples = self.meter.take_power_samples()
        for i, (src, device) in enumerate(zip(self.meter.sources, m.devices)):
            if device.energy_j is None:
                continue
            if src.cheap:
                readings = [seg.cheap_begin[i], *[row[i] for row in seg.step_cheap]]
                if any(r is None for r in readings):
                    self._notice(f"{src.name}: per-step readings incomplete; left out of J/step")
                    continue
                for k in range(n):
                    per_step[k] += max(readings[k + 1] - readings[k], 0.0)
            else:
                # Work after the last step (validation inside the epoch, logging) is a tail that is
                # split off and left out of the per-step numbers, as in profile.compute_profile.
                split_bounds = bounds + ([m.t_end] if m.t_end > bounds[-1] else [])
                parts, how = split_by_timeline(device.energy_j, split_bounds, samples[i])
                for k in range(n):
                    per_step[k] += parts[k]
                self._notice(f"{src.name}: per-step energy from {how}")
        self.per_step += per_step
        self._epoch_per_step += per_step
        self.step_durations += [b - a for a, b in zip(bounds, bounds[1:])]

    def _notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    # -- numbers -------------------------------------------------------------------------------

    def _measured_steps(self) -> tuple[list[float], int]:
        """Per-step joules after the warm-up steps (all steps when there are no more than those)."""
        skip = self.warmup_steps if len(self.per_step) > self.warmup_steps else 0
        return self.per_step[skip:], skip

    def projection(self, final: Measurement | None = None) -> Projection:
        """The energy to the end of training (total_steps) from what was measured so far.

        During training: the closed windows' energy + mean J/step x the remaining steps. At the end
        (`final` = the train window): the measured run, or, if it stopped before total_steps (early
        stopping, or a short run on purpose), the measured run + mean J/step x the steps it did not run.
        """
        total = self.total_steps
        done = self.start_step + self.steps
        so_far = [final] if final is not None else self.segments
        energies = [m.energy_j for m in so_far if m.energy_j is not None]
        if not energies:
            return Projection(total, None, None, None, None, "unknown: nothing measured yet")
        energy = sum(energies)
        time_s = sum(m.time_s for m in so_far)
        tol = weighted_tolerance(so_far)
        # how the energy so far was obtained (measured, estimated or partly estimated): the
        # callbacks read the same sources as the CLI, so a CPU-time estimate stays "estimated"
        hows = {m.how for m in so_far if m.energy_j is not None} - {"none"}
        how = hows.pop() if len(hows) == 1 else (PARTLY if hows else ESTIMATED)
        what = (f"the {FULL_RUN} (train begin to train end)" if final is not None else
                f"the {self.steps} step(s) so far (the epochs' windows; work between epochs, such as "
                "evaluation and checkpointing, is not included)")
        resumed = f"; the {self.start_step} step(s) before a resume were not measured" if self.start_step else ""
        if final is not None and (total is None or done >= total):
            return Projection(total if total is not None else done, energy, energy * (1 - tol), energy * (1 + tol),
                              time_s, f"{how}: {what}, ran to its end; time measured; range: "
                                      f"{tolerance_words(how, tol)}{resumed}", kind="full run", how=how)
        if total is None:
            return Projection(None, None, None, None, None,
                              f"unknown: the total number of steps is not known ({self.total_basis})")
        steps, skip = self._measured_steps()
        if not steps:
            return Projection(total, None, None, None, None, "unknown: no complete measured step to project from")
        remaining = max(total - done, 0)
        mean = sum(steps) / len(steps)
        p10, p90 = percentile(steps, 10), percentile(steps, 90)
        step_time = self._mean_step_time(skip)
        return Projection(
            total, energy + mean * remaining, (energy + p10 * remaining) * (1 - tol),
            (energy + p90 * remaining) * (1 + tol), time_s + step_time * remaining,
            f"projected: from {how} energy, {format_energy(energy)} over {what} + mean {format_energy(mean)}/step "
            f"over {len(steps)} step(s) (after {skip} warm-up step(s)) x {remaining} remaining of {total} "
            f"({self.total_basis}); range: 10th-90th percentile J/step widened by {tolerance_words(how, tol)}{resumed}",
            kind="projection", how="projected")

    def _mean_step_time(self, skip: int) -> float:
        durations = self.step_durations[skip:] or self.step_durations
        return sum(durations) / len(durations) if durations else 0.0

    def epoch_logs(self, epoch: EpochEnergy) -> dict[str, float]:
        """What the callbacks log at the end of an epoch (keys prefixed greenlint/)."""
        logs: dict[str, float] = {}
        if epoch.energy_j is not None:
            logs[PREFIX + "epoch_energy_j"] = epoch.energy_j
        if epoch.j_per_step is not None:
            logs[PREFIX + "j_per_step"] = epoch.j_per_step
        logs.update(self.progress_logs())
        return logs

    def progress_logs(self) -> dict[str, float]:
        """The energy of the closed windows so far and the projection (keys prefixed greenlint/)."""
        logs: dict[str, float] = {}
        measured = [m.energy_j for m in self.segments if m.energy_j is not None]
        if measured:
            logs[PREFIX + "energy_j"] = sum(measured)
        proj = self.projection()
        if proj.energy_j is not None:
            logs[PREFIX + "projected_energy_j"] = proj.energy_j
            logs[PREFIX + "projected_low_j"] = proj.low_j
            logs[PREFIX + "projected_high_j"] = proj.high_j
        return logs

    # -- the end -------------------------------------------------------------------------------

    def _with_basis(self, projection: Projection) -> Projection:
        # profile.Projection may carry where total_steps came from (newer versions of profile.py).
        if "total_steps_basis" in {f.name for f in fields(Projection)} and projection.total_steps is not None:
            projection.total_steps_basis = self.total_basis if self.total_steps is not None else "the completed run"
        return projection

    def train_end(self, outcome: str = "completed", exit_code: int = 0) -> Profile:
        if self._epoch is not None:
            self.epoch_end()
        train = self.meter.end(TRAIN_WINDOW) if TRAIN_WINDOW in self.meter.open_windows else None
        self.train = train
        seg_devices = _sum_devices(self.segments)
        devices = []
        for i, src in enumerate(self.meter.sources):
            device = train.devices[i] if train is not None else None
            devices.append(Device(kind=src.kind, name=src.name, method=src.method,
                                  energy_j=device.energy_j if device else None,
                                  window_energy_j=seg_devices[i] if i < len(seg_devices) else None,
                                  tolerance=src.tolerance, basis=src.basis))
        steps, skip = self._measured_steps()
        window_e = [m.energy_j for m in self.segments if m.energy_j is not None]
        projection = self.projection(final=train) if train is not None else \
            Projection(self.total_steps, None, None, None, None, "unknown: training did not begin")
        notices = self.meter.notices + self.notices
        if skip:
            notices.append(f"the first {skip} step(s) are warm-up: left out of J/step and its percentiles")
        return Profile(
            outcome=outcome, exit_code=exit_code, steps=self.steps, steps_seen=self.steps, warmup_steps=skip,
            energy_j=train.energy_j if train else None, energy_how=train.how if train else "none",
            duration_s=train.time_s if train else None,
            window_energy_j=sum(window_e) if window_e else None,
            window_time_s=sum(m.time_s for m in self.segments) if self.segments else None,
            j_per_step=sum(steps) / len(steps) if steps else None,
            j_per_step_p10=percentile(steps, 10) if steps else None,
            j_per_step_p90=percentile(steps, 90) if steps else None,
            step_time_s=self._mean_step_time(skip) if self.step_durations else None,
            devices=devices, lines=[], lines_basis=LINES_BASIS, projection=self._with_basis(projection),
            notices=notices)

    def profile_json(self, profile: Profile) -> dict[str, Any]:
        """``{"profile": {...}}`` as `greenlint profile --format json` writes it, plus the epochs."""
        data = profile.to_json()
        data["source"] = self.source
        data["epochs"] = [asdict(e) for e in self.epochs]
        return {"profile": data}

    def write(self, path: str, profile: Profile) -> dict[str, Any]:
        data = self.profile_json(profile)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        # a random, exclusively created temporary name (mkstemp: O_EXCL, never follows a planted
        # symlink) in the target folder, then one rename: a crash never leaves half a file
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return data


def _sum_devices(measurements: list[Measurement]) -> list[float | None]:
    if not measurements:
        return []
    out: list[float | None] = []
    for i in range(len(measurements[0].devices)):
        values = [m.devices[i].energy_j for m in measurements if m.devices[i].energy_j is not None]
        out.append(sum(values) if values else None)
    return out
