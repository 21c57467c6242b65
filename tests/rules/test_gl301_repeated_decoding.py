"""GL301's per-epoch decoding case: a Keras fit over `ImageDataGenerator(rescale=...)` file iterators,
which decode the same images again in every epoch. Written from the shape of blind34
atulapra/Emotion-detection src/emotions.py (28,709 48x48 PNGs, `flow_from_directory` at line 56,
`fit_generator(..., epochs=num_epoch)` with `num_epoch = 50`)."""

from __future__ import annotations

import pytest
from rule_helpers import findings

EMOTIONS = """
    from keras.models import Sequential
    from keras.layers import Conv2D, Dense, Flatten
    from keras.preprocessing.image import ImageDataGenerator

    num_epoch = EPOCHS
    train_datagen = ImageDataGenerator(GENERATOR)
    train_generator = train_datagen.flow_from_directory(
        "data/train", target_size=SIZE, batch_size=64, color_mode="grayscale", class_mode="categorical")
    model = Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(48, 48, 1)), Flatten(), Dense(7)])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit_generator(train_generator, steps_per_epoch=448, epochs=num_epoch)
"""


def _gl301(epochs="50", generator="rescale=1./255", size="(48, 48)", extra=""):
    source = EMOTIONS.replace("EPOCHS", epochs).replace("GENERATOR", generator).replace("SIZE", size) + extra
    return findings(source, "GL301")


def test_gl301_reports_a_deterministic_file_iterator_decoded_every_epoch():
    found = _gl301()
    assert len(found) == 1 and found[0].location.row == 7  # the flow_from_directory call
    assert "50 epochs" in found[0].message and "48x48" in found[0].message and ".cache()" in found[0].message


@pytest.mark.parametrize("change", [
    {"epochs": "10"},  # a short run decodes the set a few times
    {"generator": "rescale=1./255, horizontal_flip=True"},  # augmentation: every epoch differs
    {"size": "(224, 224)"},  # large images may not fit in memory
    {"size": "size"},  # unknown size
    {"extra": "import albumentations\n"},  # augmentation elsewhere in the module
], ids=["few-epochs", "flip", "large-images", "unknown-size", "augmentation-library"])
def test_gl301_silent_when_caching_is_not_clearly_possible_or_worth_it(change):
    assert _gl301(**change) == []
