"""How long a notebook's training took, read from the progress it saved (plain data, no libcst).

A notebook keeps what its cells printed: Keras' per-epoch lines (`Epoch 3/50` then `469/469 [====]
- 12s 25ms/step`), tqdm bars (`13/13 [00:38<00:00, 2.54s/it]`, as text or in the saved widget
state, where PyTorch Lightning's reused bar says `Epoch 7: 100%`) and the Hugging Face Trainer's
table (`[ 990/3000 1:17:30 < 2:37:41, ...]`). That is a measurement of the run, better than any
guess from the code: a tutorial that asks for 50 epochs of a few hundred images records four
minutes; a fine-tune that records `990/3000 [1:17:30 < 2:37:41]` runs for hours. greenlint's
long-run detection (rules/analysis/long_run_evidence.py) reads it both ways.

The outputs also show how large the data is: a Hugging Face dataset's repr (`Dataset({features:
[...], num_rows: 6})`, a `DatasetDict`'s `train:` split) or a cell that ends in `len(train_data)`.
Fifty epochs of six images is a run of minutes, whatever a compute-heavy model makes of each
step (`shown_dataset`; the long-run detection's epoch counts read it).

Deliberately narrow:
- only the outputs of cells that train (their source calls `backward(`, `.fit(` or `.train(`):
  a dataset download or a tokenizer's `map` in another cell is not the training run;
- only bars that count items (`n/N` with integers, at least one step done): download bars
  (`68.4k/68.4k`, `MB/s`) and bars of unknown length (`13.1k/?`) are left out;
- the run counts as complete only when every bar reached its end (`n == N`) and every Keras fit
  reached its last epoch: a run the author interrupted proves nothing about its length, except
  that it is at least as long as what it recorded.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

_TRAINS = re.compile(r"backward\(|\.fit\(|\.train\(")
# `13/13 [00:38<00:00,  2.54s/it]`, `990/3000 [1:17:30<2:37:41, 4.7s/it]`
_BAR = re.compile(r"(?<![\d.])(\d+)/(\d+) \[((?:\d+:)?\d+:\d+)<((?:\d+:)?\d+:\d+|\?)(?:,\s*([^\]]*))?\]")
# the Hugging Face Trainer's notebook table: `[ 990/3000 1:17:30 < 2:37:41, 0.21 it/s, Epoch 0.99/3]`
_TRAINER_BAR = re.compile(r"\[\s*(\d+)/(\d+) ((?:\d+:)?\d+:\d+) < ((?:\d+:)?\d+:\d+)(?:,\s*([^\]]*))?\]")
_BYTES = re.compile(r"[kMG]?B/s")
# PyTorch Lightning draws one bar per run and renames it each epoch: `Epoch 7: 100%|...`
_EPOCH_PREFIX = re.compile(r"Epoch (\d+)\s*:")
_KERAS_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)\s*$", re.MULTILINE)
# Keras 2: `469/469 [=====] - 12s 25ms/step`; Keras 3: `469/469 ━━━━━━ 12s 25ms/step`; `1m 5s` too;
# `verbose=2`: `1875/1875 - 3s - loss: ...`; TF 1: `60000/60000 [=====] - 5s 83us/sample`
_VAL_LOSS = re.compile(r"\bval_loss: (\d+(?:\.\d+)?(?:e[-+]?\d+)?|nan|inf)", re.IGNORECASE)
# The patience the overrun is measured with: stop two epochs after the best one (and restore it).
OVERRUN_PATIENCE = 2
# An overrun is reported from this much recorded time after the patience on: a few minutes of a
# short fit are not worth a change.
MIN_OVERRUN_SECONDS = 15 * 60
# the patience GL502's generic Keras advice names (`EarlyStopping(patience=5, ...)`): a recorded fit
# whose best epoch plus this patience reaches its last epoch would not have stopped early with it
ADVISED_PATIENCE = 5
_KERAS_TIME = re.compile(r"(?:\]|━|\d/\d+)\s*-?\s*(?:(\d+)m\s*)?(\d+)s\s+(?:\d+(?:ms|us|s)/(?:step|sample)|-)")


@dataclass(frozen=True)
class RecordedRun:
    """What the training cells' saved outputs record: seconds of progress (elapsed, summed), the
    projection of the runs they show (plus what the bars estimated was left, Keras epochs at their
    mean time), whether everything recorded ran to its end, and a phrase naming the record."""

    seconds: float
    projected: float
    complete: bool
    where: str
    # the longest single training of the record, projected: one cell's bars, or the longest Keras
    # fit of one cell; 0 when no cell's training ran to its end. A notebook of eight 8-minute fits compared side by side is an hour of
    # training, but early stopping (GL502) could only ever cut one 8-minute fit short.
    longest_training: float = 0.0
    # Keras fits whose recorded validation loss stopped improving long before their last epoch
    overruns: tuple[OverrunFit, ...] = ()
    # epoch counts of Keras fits whose complete log shows the validation loss still improving within
    # ADVISED_PATIENCE epochs of the end: early stopping would have saved nothing on that run
    settled: tuple[int, ...] = ()


@dataclass(frozen=True)
class OverrunFit:
    """A Keras fit whose saved log shows its validation loss lowest well before its last epoch: the
    epochs after `best_epoch + OVERRUN_PATIENCE` are what `EarlyStopping(patience=OVERRUN_PATIENCE,
    restore_best_weights=True)` would have saved on that run, with the same model kept."""

    epochs: int  # the fit's epoch count (`Epoch n/N`)
    best_epoch: int  # 1-based epoch of the lowest `val_loss`
    extra_epochs: int  # epochs run after best_epoch + OVERRUN_PATIENCE
    extra_seconds: float  # their recorded time
    where: str  # "cell 17": numbered from 1, as findings show cells


@dataclass(frozen=True)
class _Bar:
    done: int
    total: int
    elapsed: float  # seconds, times the epochs a reused Lightning bar stood for
    remaining: float | None
    shown: str


@dataclass(frozen=True)
class ShownDataset:
    """The largest dataset a notebook's outputs show: its rows, and a phrase naming the output."""

    rows: int
    where: str


@dataclass(frozen=True)
class NotebookRecord:
    run: RecordedRun | None
    dataset: ShownDataset | None


def notebook_record(data: bytes | str) -> NotebookRecord:
    """What a notebook's saved outputs record, from one parse of its JSON."""
    try:
        notebook = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return NotebookRecord(None, None)
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return NotebookRecord(None, None)
    return NotebookRecord(_recorded_run(notebook), _shown_dataset(notebook))


def recorded_run(data: bytes | str) -> RecordedRun | None:
    """The training run a notebook's outputs record; None when they record no training progress
    (or the data is not a notebook)."""
    return notebook_record(data).run


# `train: Dataset({ features: [...], num_rows: 149 })` inside a DatasetDict's repr
_TRAIN_SPLIT = re.compile(r"\btrain: Dataset\(\{.*?num_rows: (\d+)", re.DOTALL)
_NUM_ROWS = re.compile(r"^Dataset\(\{.*?num_rows: (\d+)", re.DOTALL)
# a cell whose last line is `len(train_dataset)`, `len(data)`: a dataset's size, not `len(id2label)`
_LEN_OF_DATA = re.compile(r"^len\((\w*(?:data|dataset|train|ds)\w*)\)$", re.IGNORECASE)
_NOT_DATA = re.compile(r"label|class|vocab|token|id2|2id|col|feature|loader|batch", re.IGNORECASE)


# A hand-written training log's per-epoch step counter (`Training Step [13/13]: loss 5.99` under
# `Epoch 2`, snrazavi/Deep_Learning_in_Python_2018's FaceDetection notebook, blind43): the epoch has
# that many steps, so at least that many examples
_STEP_COUNTER = re.compile(r"\b(?:Step|Iter(?:ation)?|Batch)\s*\[\s*(\d+)\s*/\s*(\d+)\s*\]")


def _shown_dataset(notebook: dict[str, Any]) -> ShownDataset | None:
    """The largest training-set size the outputs show (the largest, so that a small evaluation
    split printed next to it never makes the run look short). A per-epoch step counter of a
    training log counts as that many examples (each step has at least one)."""
    best: ShownDataset | None = None
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        steps = _steps_per_epoch(cell, index)
        if steps is not None and (best is None or steps.rows > best.rows):
            best = steps
        lines = [line.strip() for line in _source(cell).strip().splitlines()]
        sized = _LEN_OF_DATA.match(lines[-1]) if lines else None
        for output in cell.get("outputs") or ():
            if not isinstance(output, dict):
                continue
            for text in _texts(output):
                text = text.strip()
                found = _TRAIN_SPLIT.search(text) or _NUM_ROWS.match(text)
                what = f"`num_rows: {found.group(1)}`" if found else ""
                if found is None and sized and not _NOT_DATA.search(sized.group(1)) and text.isdigit():
                    found, what = sized, f"`{lines[-1]}` is {text}"
                if found is None:
                    continue
                rows = int(found.group(1)) if found is not sized else int(text)
                if best is None or rows > best.rows:
                    best = ShownDataset(rows, f"{what} in the output of cell {index + 1}")  # numbered as findings show cells
    return best


def _steps_per_epoch(cell: dict[str, Any], index: int) -> ShownDataset | None:
    """The largest step counter total of a cell whose output logs epochs, or None."""
    texts = [text for output in cell.get("outputs") or () if isinstance(output, dict) for text in _texts(output)]
    joined = "\n".join(texts)
    if "Epoch" not in joined and "epoch" not in joined:
        return None
    counters = [(int(m.group(2)), m.group(0)) for m in _STEP_COUNTER.finditer(joined) if 0 < int(m.group(1)) <= int(m.group(2))]
    if not counters:
        return None
    steps, shown = max(counters)
    return ShownDataset(steps, f"`{shown}` (steps per epoch) in the output of cell {index + 1}")


def _recorded_run(notebook: dict[str, Any]) -> RecordedRun | None:
    widgets = _widget_texts(notebook)
    bars: list[_Bar] = []
    fits: list[tuple[float, float, bool, int]] = []
    overruns: list[OverrunFit] = []
    settled: list[int] = []
    longest_training = 0.0
    any_complete = False  # a record of interrupted trainings only proves nothing about one's length
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or not _TRAINS.search(_source(cell)):
            continue
        bars_before, fits_before = len(bars), len(fits)
        for output in cell.get("outputs") or ():
            if not isinstance(output, dict):
                continue
            for text in _texts(output):
                bars += _bars(text)
                fits += _keras_fits(text)
                complete_fits = _complete_fits(text)
                overruns += _overruns(complete_fits, f"cell {index + 1}")
                settled += [len(run) for run in complete_fits if _best_epoch(run) + ADVISED_PATIENCE >= len(run)]
            model = ((output.get("data") or {}).get("application/vnd.jupyter.widget-view+json") or {})
            text = widgets.get(model.get("model_id", "")) if isinstance(model, dict) else None
            if text:
                bars += _bars(text)[-1:]
        # a cell's bars are one run (an epoch each, or one bar for the whole run); its Keras fits
        # are separate runs (a sweep in one cell)
        cell_bars = sum(b.elapsed + (b.remaining or 0.0) for b in bars[bars_before:])
        cell_fit = max((f[1] for f in fits[fits_before:]), default=0.0)
        longest_training = max(longest_training, cell_bars + cell_fit)
        any_complete = any_complete or (len(bars) + len(fits) > bars_before + fits_before and all(
            b.done == b.total for b in bars[bars_before:]) and all(f[2] for f in fits[fits_before:]))
    if not bars and not fits:
        return None
    elapsed = sum(b.elapsed for b in bars) + sum(f[0] for f in fits)
    projected = sum(b.elapsed + (b.remaining or 0.0) for b in bars) + sum(f[1] for f in fits)
    complete = all(b.done == b.total for b in bars) and all(f[2] for f in fits)
    what = []
    if bars:
        longest = max(bars, key=lambda b: b.elapsed + (b.remaining or 0.0))
        what.append(f"{len(bars)} progress bar{'s' if len(bars) != 1 else ''} (the longest `{longest.shown}`)")
    if fits:
        epochs = sum(f[3] for f in fits)
        what.append(f"{epochs} Keras epoch{'s' if epochs != 1 else ''}")
    return RecordedRun(elapsed, projected, complete, " and ".join(what), longest_training if any_complete else 0.0,
                       tuple(overruns), tuple(settled))


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source if isinstance(source, str) else ""


def _texts(output: dict[str, Any]) -> list[str]:
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    texts = []
    for part in (output.get("text"), data.get("text/plain"), data.get("text/html")):
        text = "".join(part) if isinstance(part, list) else part
        if isinstance(text, str) and text:
            texts.append(text)
    return texts


def _widget_texts(notebook: dict[str, Any]) -> dict[str, str]:
    """model id -> the last text a saved tqdm widget showed: an HBox's children joined (Lightning's
    `Epoch 7: 100%` description, then `3466/3466 [24:00<00:00, ...]`), or one text widget's value."""
    widgets = (notebook.get("metadata") or {}).get("widgets") or {}
    saved = widgets.get("application/vnd.jupyter.widget-state+json") if isinstance(widgets, dict) else None
    models = saved.get("state", saved) if isinstance(saved, dict) else None
    if not isinstance(models, dict):
        return {}

    def text_of(model_id: str) -> str:
        model = models.get(model_id)
        state = model.get("state") if isinstance(model, dict) else None
        if not isinstance(state, dict):
            return ""
        value = state.get("value")
        description = state.get("description")
        return " ".join(v for v in (description, value) if isinstance(v, str) and v)

    texts = {}
    for model_id, model in models.items():
        state = model.get("state") if isinstance(model, dict) else None
        children = state.get("children") if isinstance(state, dict) else None
        if isinstance(children, list):
            parts = [text_of(str(child).replace("IPY_MODEL_", "")) for child in children]
            texts[model_id] = html.unescape(" ".join(p for p in parts if p))
        else:
            texts[model_id] = html.unescape(text_of(model_id))
    return texts


def _bars(text: str) -> list[_Bar]:
    """Each bar of an output at its last state: a bar redrawn with `\\r` shows every intermediate
    state on the same line."""
    found: dict[int, _Bar] = {}
    for line, segment in _segments(text):
        for match in [*_BAR.finditer(segment), *_TRAINER_BAR.finditer(segment)]:
            if _BYTES.search(match.group(5) or ""):
                continue
            done, total = int(match.group(1)), int(match.group(2))
            if total <= 0 or done > total or done == 0:
                continue  # `0/7 [00:00<?]`: a bar drawn before its first step says nothing
            epochs = _EPOCH_PREFIX.findall(segment[: match.start()])
            times = int(epochs[-1]) + 1 if epochs and done == total else 1
            remaining = None if match.group(4) == "?" else _seconds(match.group(4))
            found[line] = _Bar(done, total, _seconds(match.group(3)) * times, remaining, match.group(0).strip())
    return list(found.values())


def _segments(text: str) -> list[tuple[int, str]]:
    return [(index, part) for index, line in enumerate(text.split("\n")) for part in line.split("\r")]


def _keras_fits(text: str) -> list[tuple[float, float, bool, int]]:
    """(elapsed s, projected s, reached its last epoch, epochs recorded) for each Keras fit log."""
    fits: list[list[Any]] = []  # [elapsed, epochs recorded, last epoch, total]
    marks = list(_KERAS_EPOCH.finditer(text))
    for index, mark in enumerate(marks):
        epoch, total = int(mark.group(1)), int(mark.group(2))
        if not fits or epoch <= fits[-1][2] or total != fits[-1][3]:
            fits.append([0.0, 0, 0, total])
        current = fits[-1]
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        timings = _KERAS_TIME.findall(text, mark.end(), end)
        if timings:
            minutes, seconds = timings[-1]
            current[0] += int(minutes or 0) * 60 + int(seconds)
            current[1] += 1
        current[2] = epoch
    return [(elapsed, elapsed / recorded * total, last == total, recorded)
            for elapsed, recorded, last, total in fits if recorded]


def _overruns(runs: list[list[tuple[int, int, float, float]]], where: str) -> list[OverrunFit]:
    """The complete fits that spent MIN_OVERRUN_SECONDS or more after their best epoch plus the patience."""
    found = []
    for run in runs:
        total = len(run)
        best = _best_epoch(run)
        stop = best + OVERRUN_PATIENCE
        extra = sum(seconds for epoch, _, _, seconds in run if epoch > stop)
        if stop < total and extra >= MIN_OVERRUN_SECONDS:
            found.append(OverrunFit(total, best, total - stop, extra, where))
    return found


def _best_epoch(run: list[tuple[int, int, float, float]]) -> int:
    """The 1-based epoch of the lowest `val_loss` of a complete fit."""
    return min(range(len(run)), key=lambda i: run[i][2]) + 1


def _complete_fits(text: str) -> list[list[tuple[int, int, float, float]]]:
    """The Keras fits of one output that ran to their last epoch with a `val_loss` and a time on
    every epoch: (epoch, total, val_loss, seconds) per epoch."""
    marks = list(_KERAS_EPOCH.finditer(text))
    runs: list[list[tuple[int, int, float, float]]] = []  # (epoch, total, val_loss, seconds)
    for index, mark in enumerate(marks):
        epoch, total = int(mark.group(1)), int(mark.group(2))
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        losses, timings = _VAL_LOSS.findall(text, mark.end(), end), _KERAS_TIME.findall(text, mark.end(), end)
        if not runs or epoch != runs[-1][-1][0] + 1 or total != runs[-1][-1][1]:
            runs.append([])
        if losses and timings:
            minutes, seconds = timings[-1]
            runs[-1].append((epoch, total, float(losses[-1]), int(minutes or 0) * 60 + int(seconds)))
        else:
            runs[-1].append((epoch, total, float("nan"), 0.0))
    # interrupted, resumed or without a validation loss on every epoch: no measurement
    return [run for run in runs
            if run[0][0] == 1 and len(run) == run[0][1] and not any(loss != loss for _, _, loss, _ in run)]


def _seconds(clock: str) -> float:
    seconds = 0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return float(seconds)
