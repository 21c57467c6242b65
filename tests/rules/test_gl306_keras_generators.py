"""GL306 for Keras `fit`/`fit_generator` over a Python generator that reads or transforms images per
item, run by Keras in one thread (rules/analysis/keras_generators.py, advisor/exported_generators.py).
Written from the shapes of qqwweee/keras-yolo3 (blind25: `data_generator_wrapper` in train.py
calling `get_random_data` of yolo3/utils.py), oarriaga/face_classification (blind27:
`ImageGenerator(...).flow()` from utils/data_augmentation.py; `ImageDataGenerator(rotation_range=10,
...).flow(faces, emotions)`) and pierluigiferrari/ssd_keras (blind27: `DataGenerator(...).generate()`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenlint.engine import lint_source
from greenlint.module_exports import extract_exports
from greenlint.project_index import ProjectIndex
from greenlint.rules import ALL_CODES

TRAIN_LOCAL = """
    from keras.models import Model
    from yolo3.utils import get_random_data

    def data_generator(lines, batch_size):
        while True:
            images = []
            for line in lines[:batch_size]:
                images.append(get_random_data(line))
            yield images

    def data_generator_wrapper(lines, batch_size):
        if len(lines) == 0:
            return None
        return data_generator(lines, batch_size)

    model = Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    model.fit_generator(data_generator_wrapper(lines, 32), steps_per_epoch=100, epochs=50{workers})
    model.fit_generator(data_generator_wrapper(lines, 32), steps_per_epoch=100, epochs=100, initial_epoch=50)
"""
UTILS_READING = """
    from PIL import Image

    def get_random_data(line):
        image = Image.open(line.split()[0])
        return image.resize((416, 416))
"""
UTILS_IN_MEMORY = """
    import numpy as np

    def get_random_data(line):
        return np.asarray(line) / 255.0
"""
TRAIN_IMPORTED = """
    from keras.models import Model
    from data_augmentation import ImageGenerator

    image_generator = ImageGenerator(ground_truth, batch_size=32)
    model = Model(inputs, outputs)
    model.fit_generator(image_generator.flow(mode="train"), steps_per_epoch=100, epochs=1000)
"""
AUGMENTATION = """
    import scipy.ndimage as ndi

    class ImageGenerator(object):
        def __init__(self, ground_truth, batch_size):
            self.ground_truth, self.batch_size = ground_truth, batch_size

        def transform(self, image):
            return ndi.interpolation.affine_transform(image, self.matrix)

        def flow(self, mode="train"):
            while True:
                for key in self.ground_truth:
                    yield self.transform(self.ground_truth[key])
"""
SLICING = """
    class ImageGenerator(object):
        def __init__(self, ground_truth, batch_size):
            self.ground_truth, self.batch_size = ground_truth, batch_size

        def flow(self, mode="train"):
            while True:
                for start in range(0, len(self.ground_truth), self.batch_size):
                    yield self.ground_truth[start:start + self.batch_size]
"""


def _gl306(tmp_path: Path, files: dict[str, str], linted: str = "train.py") -> list:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(source).lstrip("\n"))
    path = tmp_path / linted
    text = path.read_text()
    context = ProjectIndex(tmp_path).context_for(path, text)
    return [f for f in lint_source(text.encode(), linted, frozenset(ALL_CODES), context) if f.code == "GL306"]


def test_a_generator_of_the_module_calling_a_project_function_that_reads_images(tmp_path):
    found = _gl306(tmp_path, {"train.py": TRAIN_LOCAL.format(workers=""), "yolo3/utils.py": UTILS_READING})
    assert [f.location.row for f in found] == [18, 19]
    assert "`data_generator_wrapper(...)`, a Python generator" in found[0].message
    assert "`PIL.Image.open`" in found[0].message and "get_random_data" in found[0].message
    assert "50 epochs" in found[0].message and "50 epochs" in found[1].message  # the second stage: 100 - 50
    assert "keras.utils.Sequence" in found[0].message


@pytest.mark.parametrize("case", ["workers", "in-memory", "one-epoch"])
def test_silent_with_workers_or_without_per_item_work(tmp_path, case):
    train = TRAIN_LOCAL.format(workers=", workers=8, use_multiprocessing=True" if case == "workers" else "")
    if case == "one-epoch":
        train = train.replace("epochs=50", "epochs=1").replace("epochs=100, initial_epoch=50", "epochs=1")
    utils = UTILS_IN_MEMORY if case == "in-memory" else UTILS_READING
    found = _gl306(tmp_path, {"train.py": train, "yolo3/utils.py": utils})
    assert found == [] if case != "workers" else [f.location.row for f in found] == [19]


def test_a_generator_class_of_another_module(tmp_path):
    found = _gl306(tmp_path, {"train.py": TRAIN_IMPORTED, "data_augmentation.py": AUGMENTATION})
    assert len(found) == 1 and "`image_generator.flow(...)`" in found[0].message
    assert "`ImageGenerator.flow` calls `scipy.ndimage.interpolation.affine_transform`" in found[0].message
    assert _gl306(tmp_path, {"train.py": TRAIN_IMPORTED, "data_augmentation.py": SLICING}) == []


def test_an_image_data_generator_that_transforms_every_image(tmp_path):
    source = """
        from keras.preprocessing.image import ImageDataGenerator

        data_generator = ImageDataGenerator(SETTINGS)
        model.fit_generator(data_generator.flow(faces, emotions, 32), steps_per_epoch=500, epochs=100)
    """
    found = _gl306(tmp_path, {"train.py": source.replace("SETTINGS", "rotation_range=10, zoom_range=.1, horizontal_flip=True")})
    assert len(found) == 1 and "random affine transform (rotation, zoom)" in found[0].message
    # flips and rescaling only: cheap, no evidence
    assert _gl306(tmp_path, {"train.py": source.replace("SETTINGS", "rescale=1 / 255, horizontal_flip=True")}) == []


def test_the_exports_name_the_work_and_the_generators():
    exports = extract_exports(textwrap.dedent(AUGMENTATION), "")
    assert exports.per_item_work == {"ImageGenerator": "`ImageGenerator.flow` calls `scipy.ndimage.interpolation.affine_transform`"}
    assert exports.batch_generators == ["ImageGenerator"]
    exports = extract_exports(textwrap.dedent(UTILS_READING), "yolo3")
    assert exports.per_item_work == {"get_random_data": "calls `PIL.Image.open`"} and exports.batch_generators == []
    assert extract_exports(textwrap.dedent(SLICING), "").per_item_work == {}
