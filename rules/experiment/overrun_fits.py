"""GL502's measured case: a notebook Keras fit whose saved log shows it ran on past its best epoch.

The notebook's outputs (rules/recorded_run.py, `RecordedRun.overruns`) record each epoch's
`val_loss` and time; a fit whose validation loss was lowest at least three epochs before its last,
with 15 minutes or more recorded after the best epoch plus a patience of 2, would have saved that
time with `EarlyStopping(patience=2, restore_best_weights=True)` and kept the same model
(dipanjanS/practical-machine-learning-with-python's IMDb LSTM, blind37: `val_loss` lowest at epoch 1
of 5, 44 minutes an epoch). The saving is read from the run the notebook saved, not guessed from the
epoch count, so GL502 reports it whatever the count or the model.
"""

from __future__ import annotations

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.recorded_run import OVERRUN_PATIENCE, OverrunFit


def recorded_overrun(analysis: ModuleAnalysis, epochs: int | None) -> OverrunFit | None:
    """The overrun a notebook's saved output records for a fit of this many epochs (the only one
    recorded when the count is not known here)."""
    recorded = analysis.facts.context.recorded_run
    overruns = recorded.overruns if recorded is not None else ()
    matching = [o for o in overruns if o.epochs == epochs] if epochs is not None else list(overruns)
    return matching[0] if len(matching) == 1 or (matching and epochs is not None) else None


def recorded_settled(analysis: ModuleAnalysis, epochs: int | None) -> bool:
    """The notebook's saved output records a complete fit of this many epochs whose validation loss
    was still improving within the advised patience of its end (tensorflow2_resnet.ipynb of
    adventuresinML/adventures-in-ml-code, blind56: lowest at epoch 26 of 30): the advice would have
    saved nothing on the run the notebook shows."""
    recorded = analysis.facts.context.recorded_run
    return epochs is not None and recorded is not None and epochs in recorded.settled \
        and not any(o.epochs == epochs for o in recorded.overruns)


def overrun_message(overrun: OverrunFit) -> str:
    hours = overrun.extra_seconds / 3600
    spent = f"{hours:.1f} h" if hours >= 1 else f"{overrun.extra_seconds / 60:.0f} minutes"
    return (
        f"`fit` has no `EarlyStopping` callback, and the notebook's saved output ({overrun.where}) shows "
        f"`val_loss` lowest at epoch {overrun.best_epoch} of {overrun.epochs}: with "
        f"`keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience={OVERRUN_PATIENCE}, "
        f"restore_best_weights=True)` that run would have stopped {overrun.extra_epochs} epoch"
        f"{'s' if overrun.extra_epochs != 1 else ''} earlier with the same model kept, saving {spent} of "
        "training (measured: the recorded epoch times)"
    )
