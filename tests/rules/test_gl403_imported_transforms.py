"""GL403 reads fixed-size inputs from a transform of another project module: lopuhin/kaggle-imet-2019
(blind19) builds `train_transform = Compose([RandomCrop(288), ...])` in imet/transforms.py and its
main.py imports and uses it (advisor/exported_functions.py: fixed_size_transforms). Each case pairs
the shape that should report with one that should not."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_project

from greenlint.config import Settings
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

MAIN = """
import torch
import torchvision
from transforms import NAME

model = torchvision.models.resnet50().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torchvision.datasets.ImageFolder("data", transform=USED)
loader = torch.utils.data.DataLoader(data, batch_size=64, num_workers=8)
for epoch in range(100):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def _gl403(root: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("GL403",), preview=True))
    found = lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings
    return [f for f in found if f.code == "GL403" and f.filename == "train.py"]


@pytest.mark.parametrize(
    "transform",
    [
        "from torchvision.transforms import Compose, RandomCrop\ntrain_transform = Compose([RandomCrop(288)])\n",
        "import albumentations as A\ntrain_transform = A.Compose([A.Resize(512, 512), A.HorizontalFlip()])\n",
        "from torchvision import transforms as T\n\ndef train_transform():\n    return T.Compose([T.Resize((224, 224))])\n",
    ],
    ids=["random-crop", "albumentations-resize", "builder-function"],
)
def test_an_imported_fixed_size_transform_is_fixed_size_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transform: str):
    write_project(tmp_path, {"train.py": MAIN.replace("NAME", "train_transform").replace("USED", "train_transform"),
                             "transforms.py": transform})
    [finding] = _gl403(tmp_path, monkeypatch)
    assert "uses `train_transform` from transforms.py, which gives inputs one size" in finding.message


@pytest.mark.parametrize(
    ("transform", "name"),
    [
        # torchvision's `Resize(256)` sets the shorter side only: the other side still varies
        ("from torchvision import transforms as T\ntrain_transform = T.Compose([T.Resize(256)])\n", "train_transform"),
        # a fixed-size transform the script imports but never uses
        ("from torchvision import transforms as T\ntest_transform = T.Compose([T.CenterCrop(224)])\nother = 1\n", "other"),
    ],
    ids=["shorter-side-only", "not-used"],
)
def test_no_fixed_size_without_one_used_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transform: str, name: str):
    write_project(tmp_path, {"train.py": MAIN.replace("NAME", name).replace("USED", "None"), "transforms.py": transform})
    assert _gl403(tmp_path, monkeypatch) == []
