"""Keras 1 fits (stratospark/food-101-keras food.py, 2017; blind33, post hoc): `nb_epoch=` is the
epoch count, a callback name rebound before each fit is known when every value is, and a Keras
application network (`InceptionV3`) is a compute-heavy step."""

from __future__ import annotations

import json

import pytest

FOOD = """
from keras.applications.inception_v3 import InceptionV3
from keras.callbacks import ModelCheckpoint, CSVLogger
from keras.models import Model

base_model = InceptionV3(weights='imagenet', include_top=False)
model = Model(input=base_model.input, output=base_model.output)
model.compile(optimizer='rmsprop', loss='categorical_crossentropy')
checkpointer = ModelCheckpoint(filepath='first.hdf5', save_best_only=True)
csv_logger = CSVLogger('first.log')
model.fit_generator(generator, validation_data=val_generator, samples_per_epoch=75000, nb_epoch=10,
                    callbacks=[csv_logger, checkpointer])
checkpointer = SECOND
csv_logger = CSVLogger('second.log')
model.fit_generator(generator, validation_data=val_generator, samples_per_epoch=75000, nb_epoch=EPOCHS,
                    callbacks=[csv_logger, checkpointer])
"""


def _findings(project, source: str) -> list[dict]:
    project.write("food.py", source)
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    return json.loads(out)


@pytest.mark.parametrize(("epochs", "second", "shown"), [
    ("100", "ModelCheckpoint(filepath='second.hdf5', save_best_only=True)", True),
    ("10", "ModelCheckpoint(filepath='second.hdf5', save_best_only=True)", False),  # 10 epochs: no long run
    ("100", "make_checkpointer()", False),  # one of its values is built where the module does not show
], ids=["keras1-long-fit", "short", "unknown-callback"])
def test_a_keras1_fit_without_early_stopping(project, epochs, second, shown):
    found = _findings(project, FOOD.replace("EPOCHS", epochs).replace("SECOND", second))
    gl502 = [f for f in found if f["code"] == "GL502"]
    assert bool(gl502) is shown, found
    if shown:
        assert gl502[0]["location"]["row"] == 14  # the second fit
        assert "of a compute-heavy step" in gl502[0]["impact"]["long_run"]
        assert "100 epochs (`nb_epoch=` of `fit_generator(...)`)" in gl502[0]["impact"]["long_run"]
