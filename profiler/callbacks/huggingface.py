"""GreenlintTrainerCallback: energy per epoch and per step of a Hugging Face ``Trainer`` run.

    trainer = Trainer(..., callbacks=[GreenlintTrainerCallback()])

Imported only when the user asks for it (``greenlint.profiler.callbacks`` resolves the name
lazily): importing greenlint never imports transformers.
"""

from __future__ import annotations

import logging
import os
from typing import Any

try:
    import transformers
    from transformers import TrainerCallback
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError("GreenlintTrainerCallback needs transformers: pip install 'greenlint[callbacks]' "
                      "(or pip install transformers)") from exc

from greenlint.profiler.callbacks.tracker import PREFIX, CallbackSettings, TrainingEnergy
from greenlint.profiler.meter import EnergyMeter

log = logging.getLogger("greenlint")

PROFILE_FILE = "greenlint_profile.json"


class GreenlintTrainerCallback(CallbackSettings, TrainerCallback):
    """Measures the run's energy and writes ``{"profile": {...}}`` (greenlint profile's JSON) at the end.

    Logged through the Trainer's own logs (``on_log``: the keys are added to ``logs`` and to
    ``state.log_history``, so they reach ``trainer_state.json``, the progress printer and any
    callback after this one):

    - ``greenlint/step_cpu_energy_j``: mean J per optimizer step since the previous log, from the
      sources read every step (RAPL or the CPU-time estimate; GPUs are not read per step);
    - after each epoch: ``greenlint/epoch_energy_j``, ``greenlint/j_per_step`` (all devices, the
      GPUs' share split between steps by their power samples), ``greenlint/energy_j`` (so far) and
      ``greenlint/projected_energy_j`` / ``_low_j`` / ``_high_j`` (to ``state.max_steps``).

    Reporting integrations (``report_to``: TensorBoard, W&B, ...) are registered before user
    callbacks and so receive each log before this callback has added to it; ``attach(trainer)``
    puts the callback first so that they record the energy too.

    Arguments: ``output`` (path of the JSON; default ``<output_dir>/greenlint_profile.json``),
    ``total_steps`` (project to this many optimizer steps instead of ``state.max_steps``),
    ``warmup_steps`` (first steps left out of J/step, default 1), ``window_steps`` (also measure a
    window every N steps inside an epoch, so the projection is logged before the first epoch ends;
    two GPU counter reads per window), ``cpu_watts_per_core`` (the CPU estimate's figure),
    ``meter`` (an EnergyMeter to use instead of one over the CLI's sources).
    """

    def __init__(self, output: str | None = None, total_steps: int | None = None, warmup_steps: int = 1,
                 window_steps: int | None = None, cpu_watts_per_core: float | None = None,
                 meter: EnergyMeter | None = None) -> None:
        super().__init__(output, total_steps, warmup_steps, window_steps, cpu_watts_per_core, meter)
        self._pending: dict[str, float] = {}
        self._cheap_since_log: list[float] = []
        self._epoch = 0

    def attach(self, trainer: Any) -> GreenlintTrainerCallback:
        """Add this callback to `trainer` ahead of the others, so reporting integrations log its keys."""
        trainer.callback_handler.callbacks.insert(0, self)
        return self

    # -- events ----------------------------------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # One process measures (the GPUs it can see: on one node, all of them); the others would
        # count the same devices again.
        if not state.is_world_process_zero:
            return
        meter = self._run_meter()
        if self.total_steps is not None:
            total, basis = self.total_steps, "total_steps given to the callback"
        elif state.max_steps and state.max_steps > 0:
            total, basis = int(state.max_steps), "the Trainer's max_steps (from max_steps or num_train_epochs)"
        else:
            total, basis = None, "the Trainer has no max_steps"
        self.tracker = TrainingEnergy(meter, f"GreenlintTrainerCallback (transformers {transformers.__version__})",
                                      warmup_steps=self.warmup_steps, window_steps=self.window_steps)
        self.tracker.train_begin(total, basis, start_step=int(state.global_step or 0))
        self._epoch = 0
        self._pending.clear()
        self._cheap_since_log.clear()

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.tracker is not None:
            self.tracker.epoch_begin(self._epoch)
            self._epoch += 1

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # Called once per optimizer step (after gradient accumulation).
        if self.tracker is None:
            return
        step_j = self.tracker.step_end()
        if step_j is not None:
            self._cheap_since_log.append(step_j)
        if self.tracker.lapped:  # window_steps: a window closed inside the epoch
            self._pending.update(self.tracker.progress_logs())

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.tracker is None:
            return
        epoch = self.tracker.epoch_end()
        if epoch is not None:
            self._pending.update(self.tracker.epoch_logs(epoch))

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
               **kwargs: Any) -> None:
        if self.tracker is None or logs is None:
            return
        extra = dict(self._pending)
        self._pending.clear()
        if self._cheap_since_log:
            extra[PREFIX + "step_cpu_energy_j"] = sum(self._cheap_since_log) / len(self._cheap_since_log)
            self._cheap_since_log.clear()
        if not extra:
            return
        logs.update(extra)
        # Trainer.log appended {**logs, "step": ...} to log_history just before calling on_log.
        history = state.log_history
        if history and history[-1].get("step") == state.global_step:
            history[-1].update(extra)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        self.tracker = None
        outcome = "completed" if state.max_steps and state.global_step >= state.max_steps else "stopped"
        try:
            profile = tracker.train_end(outcome)
            self.path = self.output or os.path.join(getattr(args, "output_dir", None) or ".", PROFILE_FILE)
            self.profile = tracker.write(self.path, profile)
            log.info("greenlint: energy profile written to %s", self.path)
        finally:
            if self._owns_meter:
                tracker.meter.close()
