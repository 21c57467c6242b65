"""A notebook's saved progress as run-length evidence (rules/recorded_run.py, long_run_evidence.py):
the record of the last run beats any reading of the code, both ways."""

from __future__ import annotations

import json

import pytest

from greenlint.rules.recorded_run import recorded_run


def notebook(train_source: str, outputs: list[dict], other_cells: list[dict] = (), widgets: dict | None = None) -> str:
    cells = [*other_cells, {"cell_type": "code", "metadata": {}, "execution_count": 3, "outputs": outputs,
                            "source": train_source.splitlines(keepends=True)}]
    metadata: dict = {}
    if widgets is not None:
        metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": widgets, "version_major": 2}}
    return json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5})


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text.splitlines(keepends=True)}


def keras_log(epochs: int, seconds: int, shown: int | None = None) -> str:
    lines = []
    for epoch in range(1, (shown or epochs) + 1):
        lines += [f"Epoch {epoch}/{epochs}",
                  f"1563/1563 [==============================] - {seconds}s 3ms/step - loss: 0.5 - val_loss: 0.6"]
    return "\n".join(lines) + "\n"


FIT = "history = model.fit(x_train, y_train, epochs=EPOCHS, validation_data=(x_val, y_val))\n"


def test_a_finished_keras_fit_is_measured():
    found = recorded_run(notebook(FIT, [stream(keras_log(100, 5))]))
    assert found is not None and found.complete and found.seconds == 500 and found.projected == 500
    assert "100 Keras epochs" in found.where


@pytest.mark.parametrize(
    "line",
    ["1875/1875 - 3s - loss: 0.4970 - accuracy: 0.8248 - 3s/epoch - 2ms/step",  # verbose=2
     "60000/60000 [==============================] - 3s 52us/sample - loss: 0.29",  # TF 1
     "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - loss: 0.29"],  # Keras 3
    ids=["verbose-2", "tf1", "keras3"],
)
def test_every_keras_log_format_is_read(line):
    log = "".join(f"Epoch {epoch}/5\n{line}\n" for epoch in range(1, 6))
    found = recorded_run(notebook(FIT, [stream(log)]))
    assert found is not None and found.complete and found.seconds == 15


def test_an_interrupted_fit_is_projected_and_not_complete():
    found = recorded_run(notebook(FIT, [stream(keras_log(100, 60, shown=10))]))
    assert found is not None and not found.complete
    assert found.seconds == 600 and found.projected == 6000


def test_a_reused_lightning_bar_counts_every_epoch_it_stood_for():
    """Lightning renames one widget bar `Epoch 7: 100%`: eight epochs of 24 minutes, not one."""
    widgets = {
        "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_desc", "IPY_MODEL_bar", "IPY_MODEL_text"]}},
        "desc": {"model_name": "HTMLModel", "state": {"value": "Epoch 7: 100%"}},
        "bar": {"model_name": "FloatProgressModel", "state": {"value": 3466}},
        "text": {"model_name": "HTMLModel", "state": {"value": " 3466/3466 [24:00&lt;00:00,  2.41it/s, loss=1.97]"}},
    }
    view = {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "box"}}}
    found = recorded_run(notebook("trainer.fit(model)\n", [view], widgets=widgets))
    assert found is not None and found.complete and found.seconds == 8 * 24 * 60


def test_the_hugging_face_trainer_table_projects_the_rest():
    html = "<progress value='990' max='3000'></progress> [ 990/3000 1:17:30 < 2:37:41, 0.21 it/s, Epoch 53.10/167]"
    output = {"output_type": "display_data", "data": {"text/html": [html], "text/plain": ["<IPython.core.display.HTML object>"]}}
    found = recorded_run(notebook("trainer.train()\n", [output]))
    assert found is not None and not found.complete
    assert found.seconds == 77 * 60 + 30 and found.projected == found.seconds + 2 * 3600 + 37 * 60 + 41


def test_only_training_cells_and_counted_bars_are_read():
    download = stream("Downloading: 100%|██████████| 242M/242M [00:07<00:00, 37.2MB/s]\n"
                      "Map: 100%|██████████| 5000/5000 [05:00<00:00, 16.6 examples/s]\n")
    other = {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [download],
             "source": ["dataset = load_dataset('imdb').map(tokenize)\n"]}
    redrawn = stream("100%|██████████| 4/10 [00:04<00:06, 1.0it/s]\r100%|██████████| 10/10 [00:10<00:00, 1.0it/s]\n"
                     "Downloading: 5.91k/? [00:00<00:00, 148kB/s]\n0/7 [00:00<?, ?it/s]\n")
    found = recorded_run(notebook("for batch in loader:\n    loss.backward()\n", [redrawn], [other]))
    assert found is not None and found.complete and found.seconds == 10  # the last state of the one bar
    assert recorded_run(notebook("for batch in loader:\n    loss.backward()\n", [])) is None
    assert recorded_run(b"not json") is None and recorded_run("[]") is None


TRAIN_NOTEBOOK_SOURCE = """import tensorflow as tf
from tensorflow import keras

model = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3), classes=10)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
history = model.fit(train_ds, epochs=200, validation_data=val_ds)
"""


def _long_run_reasons(project, name: str) -> set[str]:
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    return {f["impact"].get("long_run", "") for f in json.loads(out) if f["filename"] == name}


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (None, "200 epochs"),  # no record: the code's 200 epochs of a ResNet-50 are the evidence
        (keras_log(200, 4), None),  # the record: 200 epochs of 4 s, 13 minutes in all
        (keras_log(200, 4, shown=20), "200 epochs"),  # interrupted: the record proves nothing
        (keras_log(200, 90, shown=20), "the notebook's saved output records 30 minutes of training, 5.0 hours projected"),
    ],
    ids=["no-record", "short-record", "interrupted", "long-record"],
)
def test_the_saved_record_decides_a_notebooks_run_length(project, log, expected):
    outputs = [stream(log)] if log else []
    project.write("train.ipynb", notebook(TRAIN_NOTEBOOK_SOURCE, outputs))
    reasons = _long_run_reasons(project, "train.ipynb") - {""}
    if expected is None:
        assert not reasons, reasons
    else:
        assert any(expected in reason for reason in reasons), reasons


def test_fix_follows_the_record_as_check_does(project):
    """`--fix` lints the cells it edits with the same record: the same notebook gets the
    run-length fixes when its record is an interrupted long run, none when the record shows the
    whole run finishing in 13 minutes (as `check` shows no run-length finding there)."""
    changed = {}
    for name, log in (("short", keras_log(200, 4)), ("interrupted", keras_log(200, 4, shown=20))):
        project.write("train.ipynb", notebook(TRAIN_NOTEBOOK_SOURCE, [stream(log)]))
        before = (project.root / "train.ipynb").read_bytes()
        project.run("check", "--no-cache", "--fix", "--unsafe-fixes")
        changed[name] = (project.root / "train.ipynb").read_bytes() != before
    assert changed == {"short": False, "interrupted": True}


# ---- the dataset size the outputs show (shown_dataset) --------------------------------------------

from greenlint.rules.recorded_run import notebook_record  # noqa: E402


def _cell(source: str, text: str, output_type: str = "execute_result") -> dict:
    if output_type == "stream":
        output = stream(text)
    else:
        output = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                  "data": {"text/plain": text.splitlines(keepends=True)}}
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [output],
            "source": source.splitlines(keepends=True)}


def test_a_hugging_face_dataset_repr_gives_the_rows():
    # NielsRogge/Transformers-Tutorials GIT notebook: `Dataset({features: ['image', 'text'], num_rows: 6})`
    shown = _cell("dataset", "Dataset({\n    features: ['image', 'text'],\n    num_rows: 6\n})")
    record = notebook_record(notebook("loss.backward()\n", [], [shown]))
    assert record.dataset.rows == 6 and "num_rows: 6" in record.dataset.where and "cell 1" in record.dataset.where  # numbered from 1, as findings show cells


def test_a_dataset_dict_gives_its_train_split():
    text = ("DatasetDict({\n    train: Dataset({\n        features: ['id', 'words'],\n        num_rows: 149\n    })\n"
            "    test: Dataset({\n        features: ['id', 'words'],\n        num_rows: 50\n    })\n})")
    assert notebook_record(notebook("x\n", [], [_cell("dataset", text)])).dataset.rows == 149


def test_len_of_a_data_name_and_the_largest_shown():
    cells = [_cell("len(data)", "15"), _cell("len(train_dataset)", "2481"), _cell("len(id2label)", "250000")]
    record = notebook_record(notebook("x\n", [], cells))
    assert record.dataset.rows == 2481  # `len(id2label)` is no dataset; the largest of the others
    assert notebook_record(notebook("x\n", [], [_cell("print(len(data))", "15", "stream")])).dataset is None


def test_no_dataset_shown():
    assert notebook_record(notebook(FIT.replace("EPOCHS", "3"), [stream(keras_log(3, 5))])).dataset is None
    assert notebook_record(b"not json").dataset is None


# ---- the longest single training (RecordedRun.longest_training, PER_FIT_CODES) -------------------

def _fit_cell(log: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [stream(log)],
            "source": FIT.splitlines(keepends=True)}


def test_the_longest_single_training_is_recorded():
    # two cells of 40-minute fits (a side-by-side comparison), then one cell that sweeps two
    # 30-minute fits: 2 h 20 min of training, of which no single fit lasted more than 40 minutes
    sweep = keras_log(40, 45) + keras_log(40, 45)
    found = recorded_run(notebook(FIT, [stream(sweep)], [_fit_cell(keras_log(40, 60)), _fit_cell(keras_log(40, 60))]))
    assert found is not None and found.seconds == 40 * 60 * 2 + 30 * 60 * 2
    assert found.longest_training == 40 * 60


@pytest.mark.parametrize(("fits", "early_stopping_shown"), [([60, 60], False), ([150], True)],
                         ids=["two-40-minute-fits", "one-100-minute-fit"])
def test_early_stopping_needs_one_long_training(project, fits, early_stopping_shown):
    """A notebook whose record adds up to over an hour is a detected long run, and mixed precision
    (GL103) saves on every fit; early stopping (GL502) cuts one fit short, so it reports only when
    one fit ran for an hour."""
    source = 'import tensorflow as tf\nprint(tf.config.list_physical_devices("GPU"))\n' + TRAIN_NOTEBOOK_SOURCE.replace(
        "epochs=200", "epochs=40")
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [stream(keras_log(40, seconds))],
              "source": source.splitlines(keepends=True)} for seconds in fits]
    project.write("train.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    shown = {f["code"] for f in json.loads(out) if f["impact"].get("long_run")}
    assert "GL103" in shown
    assert ("GL502" in shown) == early_stopping_shown


def overfit_log(losses: list[float], seconds: int) -> str:
    """A Keras 2.0 log (`- 2491s - loss: ...`, dipanjanS/practical-machine-learning-with-python's
    IMDb LSTM notebook, blind37) whose validation loss follows `losses`."""
    return "".join(f"Epoch {e}/{len(losses)}\n31500/31500 [==============================] - {seconds}s - loss: 0.2 "
                   f"- acc: 0.9 - val_loss: {loss:.4f} - val_acc: 0.87\n" for e, loss in enumerate(losses, 1))


@pytest.mark.parametrize(("losses", "seconds", "overrun"), [
    ([0.30, 0.32, 0.35, 0.38, 0.44], 2500, (1, 2, 5000)),  # best at 1: stops after 3, saves epochs 4-5
    ([0.30, 0.32, 0.35, 0.38, 0.44], 300, None),  # the same curve, 5-minute epochs: 10 minutes saved
    ([0.50, 0.40, 0.35, 0.33, 0.31], 2500, None),  # still improving at the last epoch
    ([0.30, 0.32, 0.35], 2500, None),  # the patience covers every epoch after the best
], ids=["overfits", "short-epochs", "improving", "within-patience"])
def test_a_keras_fit_that_overran_its_best_epoch(losses, seconds, overrun):
    found = recorded_run(notebook(FIT, [stream(overfit_log(losses, seconds))]))
    assert found is not None
    got = [(o.best_epoch, o.extra_epochs, o.extra_seconds) for o in found.overruns]
    assert got == ([overrun] if overrun else [])


def test_an_interrupted_fit_or_one_without_a_validation_loss_measures_no_overrun():
    log = overfit_log([0.30, 0.32, 0.35, 0.38, 0.44], 2500)
    interrupted = log[: log.index("Epoch 5/5")]
    assert recorded_run(notebook(FIT, [stream(interrupted)])).overruns == ()
    assert recorded_run(notebook(FIT, [stream(log.replace("val_loss", "loss2"))])).overruns == ()


LSTM_NOTEBOOK_SOURCE = """from keras.models import Sequential
from keras.layers import Dense, Embedding, LSTM

model = Sequential()
model.add(Embedding(input_dim=vocab_size, output_dim=128, input_length=max_len))
model.add(LSTM(64))
model.add(Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(train_X, train_y, epochs=5, batch_size=100, shuffle=True, validation_split=0.1, verbose=1)
"""


@pytest.mark.parametrize(("callback", "shown"), [("", True), (", callbacks=[EarlyStopping(patience=2)]", False)])
def test_early_stopping_reported_from_the_overrun_the_notebook_recorded(project, callback, shown):
    """Five epochs are no long run by the epoch count (GL502 wants 30 from Keras), but the saved
    output measured 40-minute epochs whose validation loss was lowest at the first: GL502 reports it
    in the default selection with the saving read from the record."""
    source = LSTM_NOTEBOOK_SOURCE.replace("verbose=1)", f"verbose=1{callback})")
    cell = {"cell_type": "code", "metadata": {}, "execution_count": 1,
            "outputs": [stream(overfit_log([0.30, 0.32, 0.35, 0.38, 0.44], 2500))], "source": source.splitlines(keepends=True)}
    project.write("lstm.ipynb", json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    gl502 = [f for f in json.loads(out) if f["code"] == "GL502"]
    assert bool(gl502) is shown
    if shown:
        assert "lowest at epoch 1 of 5" in gl502[0]["message"] and "1.4 h" in gl502[0]["message"], gl502[0]["message"]


def test_a_training_logs_step_counter_bounds_the_dataset():
    """snrazavi/Deep_Learning_in_Python_2018 FaceDetection.ipynb (blind43): a hand-written log prints
    `Training Step [13/13]` under each `Epoch N`: at least 13 examples an epoch, and 50 epochs of a
    ResNet-50 over them are minutes. A counter without an epoch log says nothing."""
    log = "Epoch 1\n--------\n Training Step [13/13]: loss 5.99\n Validation Step [4/5]: loss 1.43\n"
    cell = _cell("model, hist = train(model, train_dl, valid_dl, num_epochs=50)", log, "stream")
    record = notebook_record(notebook("x = 1\n", [], [cell]))
    assert record.dataset is not None and record.dataset.rows == 13 and "steps per epoch" in record.dataset.where
    plain = _cell("print(progress)", " Step [13/13]\n", "stream")
    assert notebook_record(notebook("x = 1\n", [], [plain])).dataset is None


@pytest.mark.parametrize(("best", "settled"), [(26, True), (25, True), (24, False), (10, False)])
def test_a_keras_fit_still_improving_near_its_end_is_settled(best, settled):
    """The advised patience (5) reaches the last epoch from the best: early stopping would have saved
    nothing on that run (adventuresinML's tensorflow2_resnet.ipynb, blind56: lowest at 26 of 30)."""
    losses = [1.0 - 0.01 * e if e <= best else 1.0 - 0.01 * best + 0.001 * (e - best) for e in range(1, 31)]
    found = recorded_run(notebook(FIT, [stream(overfit_log(losses, 100))]))
    assert (30 in found.settled) is settled


CNN_NOTEBOOK_SOURCE = """from tensorflow import keras

model = keras.Sequential([keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dense(10)])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x_train, y_train, epochs=30, validation_data=(x_valid, y_valid))
"""


@pytest.mark.parametrize("best", [None, 26], ids=["no-record", "still-improving"])
def test_early_stopping_not_reported_where_the_record_shows_it_saves_nothing(project, best):
    outputs = []
    if best is not None:
        losses = [1.0 - 0.01 * e if e <= best else 1.0 - 0.01 * best + 0.001 * (e - best) for e in range(1, 31)]
        outputs = [stream(overfit_log(losses, 138))]
    cell = {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": outputs,
            "source": CNN_NOTEBOOK_SOURCE.splitlines(keepends=True)}
    project.write("resnet.ipynb", json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    _, out, _ = project.run("check", "--no-cache", "--preview", "--min-impact", "low", "--format", "json")
    gl502 = [f for f in json.loads(out) if f["code"] == "GL502"]
    assert bool(gl502) is (best is None), gl502
