"""GreenlintLightningCallback: energy per epoch and per step of a Lightning ``Trainer.fit``.

    trainer = L.Trainer(..., callbacks=[GreenlintLightningCallback()])

``lightning.pytorch`` is used when it is installed, else ``pytorch_lightning``. The two packages
have distinct ``Callback`` classes; with both installed, a ``pytorch_lightning.Trainer`` takes
``GreenlintPytorchLightningCallback``. Imported only when the user asks for it: importing greenlint
never imports lightning.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from greenlint.profiler.callbacks.tracker import PREFIX, CallbackSettings, TrainingEnergy
from greenlint.profiler.meter import EnergyMeter

log = logging.getLogger("greenlint")

PROFILE_FILE = "greenlint_profile.json"


class LightningEnergyHooks(CallbackSettings):
    """The hooks, framework-free; mixed into each package's ``Callback`` below.

    Logged with ``pl_module.log`` (so to every logger the Trainer has, and to
    ``trainer.callback_metrics``):

    - per optimizer step: ``greenlint/step_cpu_energy_j``, the step's joules from the sources read
      every step (RAPL or the CPU-time estimate; GPUs are not read per step);
    - per epoch: ``greenlint/epoch_energy_j``, ``greenlint/j_per_step`` (all devices, the GPUs'
      share split between steps by their power samples), ``greenlint/energy_j`` (so far) and
      ``greenlint/projected_energy_j`` / ``_low_j`` / ``_high_j`` (to
      ``trainer.estimated_stepping_batches``, which follows ``max_steps``/``max_epochs`` and
      gradient accumulation).

    At the end of ``fit`` (also after an exception) it writes ``{"profile": {...}}``, greenlint
    profile's JSON, to ``output`` (default ``<default_root_dir>/greenlint_profile.json``).
    Arguments as for GreenlintTrainerCallback.
    """

    def __init__(self, output: str | None = None, total_steps: int | None = None, warmup_steps: int = 1,
                 window_steps: int | None = None, cpu_watts_per_core: float | None = None,
                 meter: EnergyMeter | None = None) -> None:
        super().__init__(output, total_steps, warmup_steps, window_steps, cpu_watts_per_core, meter)
        self._last_global_step = 0

    def _log(self, pl_module: Any, values: dict[str, float], on_step: bool) -> None:
        for key, value in values.items():
            # batch_size=1: the values are per step or per epoch, not per sample, and Lightning
            # must not guess a batch size from the batch. rank_zero_only: only rank 0 measures.
            pl_module.log(key, float(value), on_step=on_step, on_epoch=not on_step, batch_size=1,
                          rank_zero_only=True, prog_bar=False)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        # One process measures (the GPUs it can see: on one node, all of them).
        if not trainer.is_global_zero:
            return
        meter = self._run_meter()
        if self.total_steps is not None:
            total, basis = self.total_steps, "total_steps given to the callback"
        else:
            try:
                estimated = trainer.estimated_stepping_batches
            except Exception as exc:  # noqa: BLE001 - e.g. accumulation that changes between epochs
                estimated, why = None, f"trainer.estimated_stepping_batches failed: {exc}"
            else:
                why = "max_epochs and max_steps are both unlimited"
            if isinstance(estimated, (int, float)) and estimated != float("inf") and estimated > 0:
                total, basis = int(estimated), "trainer.estimated_stepping_batches (max_steps / max_epochs)"
            else:
                total, basis = None, why
        self.tracker = TrainingEnergy(meter, f"{type(self).__name__} ({_framework(type(self))})",
                                      warmup_steps=self.warmup_steps, window_steps=self.window_steps)
        self._last_global_step = int(trainer.global_step)
        self.tracker.train_begin(total, basis, start_step=self._last_global_step)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if self.tracker is not None:
            self.tracker.epoch_begin(int(trainer.current_epoch))

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.tracker is None:
            return
        # With gradient accumulation a batch can end without an optimizer step: steps are
        # counted where global_step moves.
        if trainer.global_step == self._last_global_step:
            return
        self._last_global_step = int(trainer.global_step)
        step_j = self.tracker.step_end()
        values = {} if step_j is None else {PREFIX + "step_cpu_energy_j": step_j}
        if self.tracker.lapped:  # window_steps: a window closed inside the epoch
            values.update(self.tracker.progress_logs())
        if values:
            self._log(pl_module, values, on_step=True)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.tracker is None:
            return
        epoch = self.tracker.epoch_end()
        if epoch is not None:
            self._log(pl_module, self.tracker.epoch_logs(epoch), on_step=False)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._finish(trainer, "stopped" if trainer.should_stop else "completed", 0)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        interrupted = isinstance(exception, KeyboardInterrupt)
        self._finish(trainer, "interrupted" if interrupted else "failed", 130 if interrupted else 1)

    def _finish(self, trainer: Any, outcome: str, exit_code: int) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        self.tracker = None  # write once, whichever of on_train_end / on_exception comes first
        try:
            profile = tracker.train_end(outcome, exit_code)
            self.path = self.output or os.path.join(getattr(trainer, "default_root_dir", None) or ".", PROFILE_FILE)
            self.profile = tracker.write(self.path, profile)
            log.info("greenlint: energy profile written to %s", self.path)
        finally:
            if self._owns_meter:
                tracker.meter.close()


def _framework(cls: type) -> str:
    """"lightning 2.6.6" or "pytorch_lightning 2.6.6": the package whose Callback `cls` extends."""
    for base in cls.__mro__:
        if base.__name__ == "Callback" and base is not LightningEnergyHooks:
            package = base.__module__.split(".")[0]
            return f"{package} {getattr(sys.modules.get(package), '__version__', '?')}"
    return "lightning ?"


try:
    from lightning.pytorch import Callback as _Callback
except ImportError:
    try:
        from pytorch_lightning import Callback as _Callback
    except ImportError as exc:  # pragma: no cover - the message is the point
        raise ImportError("GreenlintLightningCallback needs lightning: pip install 'greenlint[callbacks]' "
                          "(or pip install lightning)") from exc


class GreenlintLightningCallback(LightningEnergyHooks, _Callback):
    __doc__ = LightningEnergyHooks.__doc__


def __getattr__(name: str) -> Any:
    # Built only on request: importing pytorch_lightning as well as lightning costs seconds.
    if name == "GreenlintPytorchLightningCallback":
        from pytorch_lightning import Callback

        cls = GreenlintLightningCallback if Callback is _Callback else type(
            name, (LightningEnergyHooks, Callback),
            {"__module__": __name__, "__qualname__": name, "__doc__": LightningEnergyHooks.__doc__})
        globals()[name] = cls  # pickle finds the same class again
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
