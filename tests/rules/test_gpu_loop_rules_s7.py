"""GL403, GL402 and GL307 on the dev-corpus shapes they missed or got wrong (session 7).

Each case is written from the shape of a dev-corpus finding or miss (repo, commit and path in the
comment), with a control that shows what decides.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenlint.config import Settings
from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

ALL = frozenset(ALL_CODES)


def rows(code: str, source: str) -> list[int]:
    text = textwrap.dedent(source).lstrip("\n")
    return [f.location.row for f in lint_source(text.encode(), "x.py", ALL) if f.code == code]


# ---- GL403 ---------------------------------------------------------------------------------------

# a project's own ResNet on CIFAR-100 at 32 pixels, 30 epochs (sidrocks/cifar100resnet fb51730 train.py)
CIFAR_RESNET = """
import torch
import torchvision
import torchvision.transforms as transforms
from model import resnet18

tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])
data = torchvision.datasets.CIFAR100(root="./data", train=True, transform=tf)
model = resnet18(num_classes=100).to("cuda")
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(30):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        opt.step()
"""


def test_gl403_deep_cnn_on_32_pixel_images_for_tens_of_epochs():
    assert rows("GL403", CIFAR_RESNET) == [10]
    # controls: a run of 10 epochs at 32 pixels takes minutes (rasbt's saved outputs)
    assert rows("GL403", CIFAR_RESNET.replace("range(30)", "range(10)")) == []
    # MNIST padded to 32 pixels is still MNIST (Bogame1787/Digit-Recognizer 6f5d7ec resnet.py, blind)
    assert rows("GL403", CIFAR_RESNET.replace("CIFAR100", "MNIST")) == []


def test_gl403_a_resnet_class_of_the_module_is_deep():
    # UsaidMalik/DL-Mini-Project b6bbdb6 Mini_project.ipynb: `ModifiedResNet` built from nn.Conv2d
    source = CIFAR_RESNET.replace("from model import resnet18\n", "").replace(
        "model = resnet18(num_classes=100)",
        "class ModifiedResNet(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = torch.nn.Conv2d(3, 64, 3)\n\nmodel = ModifiedResNet()",
    )
    assert len(rows("GL403", source)) == 1
    # control: a small hand-built CNN of another name at 32 pixels stays silent
    assert rows("GL403", source.replace("ModifiedResNet", "SmallNet")) == []


UTILS = """
import torch
from torch import nn
from torchvision import transforms

tf = transforms.RandomResizedCrop(224)

def train_model(net, optimizer, loader):
    net = net.cuda()
    for epoch in range(50):
        for x, y in loader:
            loss = nn.functional.cross_entropy(net(x.cuda()), y.cuda())
            loss.backward()
            optimizer.step()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
"""

MAIN = """
import torch
import torch.backends.cudnn as cudnn
from utils import *

if __name__ == "__main__":
    cudnn.benchmark = True
    train_model(Net(), None, None)
"""


def _gl403(root: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("GL403",), preview=True))
    findings = lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings
    return [f for f in findings if f.code == "GL403"]


def test_gl403_silent_when_the_script_that_runs_the_loop_sets_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # share020/dl 73c10db assignments/mp4/src/part-2: main.py sets cudnn.benchmark = True and runs
    # train_model of utils.py, imported with `from utils import *` (blind4, judged false)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "utils.py").write_text(textwrap.dedent(UTILS).lstrip("\n"))
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN).lstrip("\n"))
    assert _gl403(tmp_path, monkeypatch) == []
    # control: a caller that leaves cuDNN alone
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN).replace("    cudnn.benchmark = True\n", "").lstrip("\n"))
    assert [f.filename for f in _gl403(tmp_path, monkeypatch)] == ["utils.py"]


# ---- GL402 ---------------------------------------------------------------------------------------


def test_gl402_accuracy_helper_reported_at_the_forward_pass():
    # share020/dl 73c10db assignments/mp4/src/part-2/src/utils.py:87 `calculate_accuracy` (blind4 label
    # at the forward call, line 106)
    source = """
        import torch

        def calculate_accuracy(net, loader):
            correct = 0
            for images, labels in loader:
                outputs = net(images.cuda())
                correct += (outputs.argmax(1) == labels.cuda()).sum()
            return correct
    """
    assert rows("GL402", source) == [6]


def test_gl402_silent_on_loops_over_one_batch_or_over_classes():
    # eriklindernoren/PyTorch-GAN 36d3c77 bicyclegan.py:107 (rows of one validation batch) and
    # cluster_gan/clustergan.py:535 (one sample per class), blind, judged not worth the change
    source = """
        import torch

        def sample_images(model, val_loader, n_classes):
            model.eval()
            imgs = next(iter(val_loader))
            for img_a, img_b in zip(imgs["A"], imgs["B"]):
                fake = model(img_a.cuda())
            for idx in range(n_classes):
                fake = model(torch.randn(8, 100).cuda())
    """
    assert rows("GL402", source) == []
    # control: the same function over the validation loader is an evaluation pass
    assert rows("GL402", source.replace('zip(imgs["A"], imgs["B"])', "val_loader")) == [7]


# ---- GL307 ---------------------------------------------------------------------------------------

PINNING = """
import torch
import torchvision
from torchvision import transforms
from torch.utils.data import DataLoader

data = torchvision.datasets.{dataset}(root="data", transform=transforms.Compose([{transform}transforms.ToTensor()]))
loader = DataLoader(data, batch_size=128, num_workers=4)
model = torchvision.models.resnet50().cuda()
for x, y in loader:
    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
    loss.backward()
    opt.step()
"""


def test_gl307_silent_for_small_image_batches():
    # rasbt/deeplearning-models 18e0469 MNIST/CIFAR notebooks (blind2: 41 findings judged false) and
    # share020/dl's CIFAR loaders (blind4): batches of a few MB
    assert rows("GL307", PINNING.format(dataset="CIFAR10", transform="")) == []
    assert rows("GL307", PINNING.format(dataset="ImageFolder", transform="transforms.Resize((64, 64)), ")) == []
    # control: 224-pixel images (rasbt's VGG-16 transfer learning on CIFAR resized to 224, ~77 MB batches)
    assert rows("GL307", PINNING.format(dataset="CIFAR10", transform="transforms.Resize((224, 224)), ")) == [7]


KOSTA_TRAINING = """
import torch
from constants import DEVICE

def train(model, loader, criterion, optimizer):
    for epoch in range(100):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x.to(DEVICE)), y.to(DEVICE))
            loss.backward()
            optimizer.step()
"""

KOSTA_RUN = """
import torch
from torchvision import transforms
from VGG import VGG
from training import train

if __name__ == "__main__":
    tf = transforms.Compose([transforms.Resize((64, 64)), transforms.ToTensor()])
    train(VGG(), loader, torch.nn.BCELoss(), None)
"""


def test_gl403_the_calling_script_builds_the_cnn_and_fixes_the_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # KostaR99/VGG16_like_NN d694bb9: training.py holds the loop (label at training.py:61), run.py
    # resizes every image to 64x64 and builds VGG of VGG.py (blind, cross-file miss)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "constants.py").write_text('import torch\nDEVICE = torch.device("cuda")\n')
    (tmp_path / "VGG.py").write_text("from torch import nn\n\nclass VGG(nn.Module):\n    def __init__(self):\n"
                                     "        super().__init__()\n        self.conv = nn.Conv2d(3, 64, 3)\n")
    (tmp_path / "training.py").write_text(textwrap.dedent(KOSTA_TRAINING).lstrip("\n"))
    (tmp_path / "run.py").write_text(textwrap.dedent(KOSTA_RUN).lstrip("\n"))
    [finding] = _gl403(tmp_path, monkeypatch)
    assert (finding.filename, finding.location.row) == ("training.py", 5)
    assert "run by `run.py`" in finding.message
    # controls: MNIST-size inputs, and a caller that sets benchmark itself
    (tmp_path / "run.py").write_text(textwrap.dedent(KOSTA_RUN).replace("(64, 64)", "(28, 28)").lstrip("\n"))
    assert _gl403(tmp_path, monkeypatch) == []
    (tmp_path / "run.py").write_text(
        textwrap.dedent(KOSTA_RUN).replace("    tf = ", "    torch.backends.cudnn.benchmark = True\n    tf = ").lstrip("\n"))
    assert _gl403(tmp_path, monkeypatch) == []
