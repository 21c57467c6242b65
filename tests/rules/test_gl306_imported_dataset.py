"""GL306 for a DataLoader built from a dataset class of another project module whose `__getitem__`
reads a file per item. Written from the shape of blind3 christianmcb/Deep-Learning-Project@c1e2779
(code/main.py:141 builds `DataLoader(train_ds, batch_size, shuffle=True, pin_memory=True)` over
`DFUDataset` from code/dataset.py, whose `__getitem__` reads each image and mask with cv2.imread,
and hands it to `Train(...)` of code/training.py, which holds the epoch loop)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from greenlint.engine import lint_source
from greenlint.project_index import ProjectIndex
from greenlint.rules import ALL_CODES

MAIN = """
    import torch
    from torch.utils.data import DataLoader
    from dataset import SegDataset
    from training import Train

    def main():
        train_ds = SegDataset(files, masks)
        val_ds = SegDataset(val_files, val_masks)
        train_iter = DataLoader(train_ds, 16, shuffle=True, pin_memory=True)
        val_iter = DataLoader(val_ds, 16, shuffle=True, pin_memory=True)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        Train(model.to(device), 1000, optimizer, train_iter, val_iter, device)

    if __name__ == "__main__":
        main()
"""
TRAINING = """
    def Train(model, epochs, optimizer, train_iter, val_iter, device):
        for epoch in range(epochs):
            for x, y in train_iter:
                loss = model(x.to(device)).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
"""
READING = """
    import cv2
    from torch.utils.data import Dataset

    class SegDataset(Dataset):
        def __init__(self, images, masks):
            self.images, self.masks = images, masks

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return cv2.imread(self.images[i]), cv2.imread(self.masks[i], 0)
"""
IN_MEMORY = """
    import torch
    from torch.utils.data import Dataset

    class SegDataset(Dataset):
        def __init__(self, images, masks):
            self.images, self.masks = torch.load(images), masks

        def __getitem__(self, i):
            return self.images[i], self.masks[i]
"""


def _gl306(tmp_path: Path, dataset_source: str) -> list:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    files = {"main.py": MAIN, "training.py": TRAINING, "dataset.py": dataset_source}
    for name, source in files.items():
        (tmp_path / name).write_text(textwrap.dedent(source).lstrip("\n"))
    main = tmp_path / "main.py"
    text = main.read_text()
    context = ProjectIndex(tmp_path).context_for(main, text)
    return [f for f in lint_source(text.encode(), "main.py", frozenset(ALL_CODES), context) if f.code == "GL306"]


def test_gl306_reports_the_training_loader_over_a_file_reading_dataset_of_another_module(tmp_path):
    found = _gl306(tmp_path, READING)
    assert [f.location.row for f in found] == [9]  # the training loader; its validation twin is not repeated
    assert "`SegDataset`" in found[0].message and "cv2.imread" in found[0].message and "dataset.py" in found[0].message


def test_gl306_silent_when_the_imported_dataset_only_indexes_memory(tmp_path):
    assert _gl306(tmp_path, IN_MEMORY) == []


# avinashpaliwal/Super-SloMo dataloader.py (blind37, post hoc): `__getitem__` calls the module's
# `_pil_loader`, which opens each frame with PIL; the read is two calls down.
THROUGH_HELPERS = """
    from PIL import Image
    from torch.utils.data import Dataset

    def _pil_loader(path, crop=None):
        with open(path, "rb") as f:
            return Image.open(f).convert("RGB")

    class SegDataset(Dataset):
        def _frames(self, i):
            return [_pil_loader(p) for p in self.files[i]]

        def __getitem__(self, i):
            return self._frames(i), self.masks[i]
"""
NOT_CALLED = THROUGH_HELPERS.replace("return self._frames(i), self.masks[i]", "return self.cache[i], self.masks[i]")


def test_gl306_follows_the_datasets_own_helpers_to_the_file_read(tmp_path):
    found = _gl306(tmp_path, THROUGH_HELPERS)
    assert [f.location.row for f in found] == [9] and "PIL.Image.open" in found[0].message


def test_gl306_silent_when_the_helper_that_reads_is_not_called_per_item(tmp_path):
    assert _gl306(tmp_path, NOT_CALLED) == []


# ---- Keras: an image-file iterator read by one worker --------------------------------------------------
# Written from blind2 georgesha/pneumonia-xray-detection@fa3e617 cnn_keras_3.py:48: fit_generator over
# flow_from_directory (full-size chest X-ray JPEGs resized to 256x256) for 10 epochs, default workers.

KERAS = """
    from keras.models import Sequential
    from keras.layers import Conv2D, Flatten, Dense
    from keras.preprocessing.image import ImageDataGenerator

    classifier = Sequential()
    classifier.add(Conv2D(32, (3, 3), input_shape=(256, 256, 3), activation="relu"))
    classifier.add(Flatten())
    classifier.add(Dense(units=1, activation="sigmoid"))
    train_datagen = ImageDataGenerator(rescale=1. / 255, zoom_range=0.2, horizontal_flip=True)
    training_set = train_datagen.flow_from_directory("data/train", target_size=(256, 256), batch_size=32)
    history = classifier.fit_generator(training_set, steps_per_epoch=1000, epochs=10{workers})
"""


def test_gl306_reports_a_keras_file_iterator_with_one_worker():
    from rule_helpers import findings

    found = findings(KERAS.format(workers=""), "GL306")
    assert len(found) == 1 and "flow_from_directory" in found[0].message and "10 epochs" in found[0].message


def test_gl306_keras_silent_with_workers_or_for_a_frozen_backbone():
    from rule_helpers import findings, silent

    assert findings(KERAS.format(workers=", workers=8, use_multiprocessing=True"), "GL306") == []
    # GL313's case: caching the frozen features removes the per-epoch decoding as well
    silent("GL306", """
        from tensorflow import keras
        from keras.preprocessing.image import ImageDataGenerator

        base = keras.applications.MobileNet(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Dense(11, activation="softmax")])
        train = ImageDataGenerator(preprocessing_function=None).flow_from_dataframe(frame, x_col="p", y_col="y")
        model.fit(train, epochs=100)
    """)
