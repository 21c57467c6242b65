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
