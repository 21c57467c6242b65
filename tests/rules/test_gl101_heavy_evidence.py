"""GL101 speaks at full impact only with evidence that the step is compute-heavy
(rules/analysis/heavy_workload.py), and is scaled down when the project's job scripts ask only for
GPUs without tensor cores (advisor/gpu_hints.py). Shapes from the dev corpora's judged findings,
written afresh; each pairs the shape that should report with the one that should not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_project
from rule_helpers import findings

from greenlint.config import Settings
from greenlint.gpu_hints import hint_in, read_gpu_hint
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

# An image-to-image GAN whose networks live in another module; only the image size is visible here
# (the shape of eriklindernoren/PyTorch-GAN implementations/pix2pix/pix2pix.py, 256x256 facades;
# the MNIST GANs of the same repository use the same script shape at 28-32 pixels).
GAN_SCRIPT = """
import argparse
import torch
from models import Generator, Discriminator

parser = argparse.ArgumentParser()
parser.add_argument("--n_epochs", type=int, default=200)
parser.add_argument("--img_height", type=int, default=SIDE)
parser.add_argument("--img_width", type=int, default=SIDE)
opt = parser.parse_args()

generator = Generator().cuda()
discriminator = Discriminator().cuda()
optimizer_G = torch.optim.Adam(generator.parameters(), lr=2e-4)
for epoch in range(opt.n_epochs):
    for real, cond in dataloader:
        fake = generator(cond.cuda())
        loss_G = discriminator(fake).mean()
        optimizer_G.zero_grad()
        loss_G.backward()
        optimizer_G.step()
"""


def test_large_images_are_evidence_small_ones_are_not() -> None:
    [heavy] = findings(GAN_SCRIPT.replace("SIDE", "256"), "GL101")
    assert heavy.impact.level == "high"
    assert "the step is compute-heavy: 256-pixel input images" in heavy.message
    [small] = findings(GAN_SCRIPT.replace("SIDE", "32"), "GL101")
    assert small.impact.level == "low"
    assert "no sign in this module that the step is compute-heavy" in small.impact.basis
    assert "compute-heavy:" not in small.message


@pytest.mark.parametrize(("height", "width", "level"), [("22", "600", "low"), ("256", "256", "high")])
def test_a_named_height_and_width_are_one_image(height, width, level) -> None:
    """eeyhsong/EEG-Conformer (blind64): `img_height = 22`, `img_width = 600` are EEG windows of
    13,200 samples, not 600-pixel images."""
    source = GAN_SCRIPT.replace('parser.add_argument("--img_height", type=int, default=SIDE)\n', "") \
        .replace('parser.add_argument("--img_width", type=int, default=SIDE)\n', "") \
        .replace("opt = parser.parse_args()\n", f"opt = parser.parse_args()\nimg_height = {height}\nimg_width = {width}\n")
    [finding] = findings(source, "GL101")
    assert finding.impact.level == level, finding.message


# A BERT-class fine-tune (the shape of the labelled bentrevett Transformers notebook), and the same
# loop on a tiny checkpoint.
FINE_TUNE = """
import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("CHECKPOINT", num_labels=2).to("cuda")
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
for batch in loader:
    out = model(**{k: v.to("cuda") for k, v in batch.items()})
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad()
"""


def test_a_pretrained_transformer_is_evidence_unless_a_tiny_checkpoint() -> None:
    [base] = findings(FINE_TUNE.replace("CHECKPOINT", "bert-base-uncased"), "GL101")
    assert base.impact.level == "high" and "pretrained Transformers model (`bert-base-uncased`)" in base.message
    [tiny] = findings(FINE_TUNE.replace("CHECKPOINT", "prajjwal1/bert-tiny"), "GL101")
    assert tiny.impact.level == "low"


# A word-level LSTM classifier with 256-wide layers on data of unknown size (the shape of the
# small text models judged not worth AMP in the dev corpora), and the same code with wide attention.
LSTM = """
import torch
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20000, 256)
        self.rnn = nn.LSTM(256, 256, batch_first=True)
        self.out = nn.Linear(256, 2)

model = Classifier().cuda()
optimizer = torch.optim.Adam(model.parameters())
for text, label in loader:
    loss = nn.functional.cross_entropy(model(text.cuda()), label.cuda())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def test_a_narrow_lstm_is_not_evidence_wide_attention_is() -> None:
    [narrow] = findings(LSTM, "GL101")
    assert narrow.impact.level == "low"
    attention = LSTM.replace("nn.LSTM(256, 256, batch_first=True)",
                             "nn.TransformerEncoderLayer(d_model=768, nhead=12, batch_first=True)")
    [wide] = findings(attention, "GL101")
    assert wide.impact.level == "high" and "attention layers (`nn.TransformerEncoderLayer`) of width 768" in wide.message


# eeyhsong/EEG-Conformer (blind64): a class named `ViT` of 40-wide embeddings over 40-channel
# convolutions, and a classifier over 2,440 flattened features
EEG_CONFORMER = """
import torch
import torch.nn as nn

class MultiHeadAttention(nn.Module):
    def __init__(self, emb_size=40, num_heads=10):
        super().__init__()
        self.queries = nn.Linear(emb_size, emb_size)

class ViT(nn.Module):
    def __init__(self, emb_size=40):
        super().__init__()
        self.conv = nn.Conv2d(1, 40, (1, 25))
        self.spatial = nn.Conv2d(40, 40, (22, 1))
        self.head = nn.Linear(2440, 256)

model = ViT().cuda()
optimizer = torch.optim.Adam(model.parameters())
for x, y in loader:
    loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def test_a_deep_name_with_small_known_sizes_is_not_evidence() -> None:
    [small] = findings(EEG_CONFORMER, "GL101")
    assert small.impact.level == "low", small.message
    # the same names with a 512-wide model and 256-channel convolutions are
    wide = EEG_CONFORMER.replace("emb_size=40", "emb_size=512").replace("nn.Conv2d(40, 40", "nn.Conv2d(40, 256")
    [heavy] = findings(wide, "GL101")
    assert heavy.impact.level == "high", heavy.message


def test_zoo_architectures() -> None:
    source = """
        import torch, torchvision
        model = torchvision.models.ARCH().cuda()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    """
    [large] = findings(source.replace("ARCH", "densenet121"), "GL101")
    assert large.impact.level == "high" and "`densenet121` from torchvision" in large.message
    # a ResNet-18 counts only with large inputs
    [plain] = findings(source.replace("ARCH", "resnet18"), "GL101")
    assert plain.impact.level == "low"
    resized = source.replace("ARCH", "resnet18").replace(
        "model =", "tf = torchvision.transforms.Resize(224)\n        model =")
    [big] = findings(resized, "GL101")
    assert big.impact.level == "high" and "224-pixel" in big.message


# ---- across modules: a deep class imported from the project ------------------------------------


def _gl101(root: Path, filename: str, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("GL101",), preview=True))
    found = lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings
    return [f for f in found if f.code == "GL101" and f.filename == filename]


SEGMENTATION = """
import torch
from unet import NAME

net = NAME(n_channels=3, n_classes=2).cuda()
optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-5)
for images, masks in train_loader:
    loss = torch.nn.functional.cross_entropy(net(images.cuda()), masks.cuda())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""
MODEL = """
import torch.nn as nn

class NAME(nn.Module):
    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.conv = nn.Conv2d(n_channels, n_classes, 1)
"""


def test_a_deep_class_imported_from_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the shape of milesial/Pytorch-UNet train.py (`from unet import UNet`, the model in unet/)
    write_project(tmp_path, {"train.py": SEGMENTATION.replace("NAME", "UNet"), "unet.py": MODEL.replace("NAME", "UNet")})
    [finding] = _gl101(tmp_path, "train.py", monkeypatch)
    assert finding.impact.level == "high" and "`UNet`, a deep architecture from another module" in finding.message
    # a builder function of the project named after a zoo architecture, with or without an underscore
    # (calmisential/TensorFlow2.0_ResNet: `from models.resnet import resnet_50`, blind23, post hoc)
    for name in ("resnet50", "resnet_50"):
        write_project(tmp_path, {"train.py": SEGMENTATION.replace("NAME", name), "unet.py": f"def {name}(n_channels, n_classes):\n    return None\n"})
        [finding] = _gl101(tmp_path, "train.py", monkeypatch)
        assert finding.impact.level == "high" and f"`{name}`, a deep architecture" in finding.message
    # a detector: hunglc007/tensorflow-yolov4-tflite's `from core.yolov4 import YOLO`, eriklindernoren's `Darknet`
    for name in ("YOLO", "Darknet"):
        write_project(tmp_path, {"train.py": SEGMENTATION.replace("NAME", name), "unet.py": MODEL.replace("NAME", name)})
        [finding] = _gl101(tmp_path, "train.py", monkeypatch)
        assert finding.impact.level == "high" and f"`{name}`, a deep architecture" in finding.message
    # a detector built by a project function (qqwweee/keras-yolo3: `from yolo3.model import yolo_body`,
    # blind25, post hoc)
    for name in ("yolo_body", "tiny_yolo_body", "darknet53"):
        write_project(tmp_path, {"train.py": SEGMENTATION.replace("NAME", name), "unet.py": f"def {name}(n_channels, n_classes):\n    return None\n"})
        [finding] = _gl101(tmp_path, "train.py", monkeypatch)
        assert finding.impact.level == "high" and f"`{name}`, a deep architecture" in finding.message
    # control: a project function whose name merely starts like a zoo model is no evidence (timm's
    # `eva` models once matched FastSpeech2's `from evaluate import evaluate`, blind21, post hoc)
    for name in ("evaluate", "Net"):
        body = f"def {name}(n_channels, n_classes):\n    return None\n" if name == "evaluate" else MODEL.replace("NAME", name)
        write_project(tmp_path, {"train.py": SEGMENTATION.replace("NAME", name), "unet.py": body})
        [finding] = _gl101(tmp_path, "train.py", monkeypatch)
        assert finding.impact.level == "low", name
    # control: a class with a plain name from the same module is no evidence
    write_project(tmp_path, {"train.py": SEGMENTATION.replace("NAME", "Net"), "unet.py": MODEL.replace("NAME", "Net")})
    [finding] = _gl101(tmp_path, "train.py", monkeypatch)
    assert finding.impact.level == "low"


# ---- GPUs without tensor cores --------------------------------------------------------------------

HEAVY = """
import torch, torchvision
model = torchvision.models.resnet50().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def test_blue_waters_xk_jobs_scale_the_finding_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the shape of share020/dl: course homework launched by PBS scripts on Blue Waters XK nodes
    pbs = "#!/bin/bash\n#PBS -l nodes=1:ppn=16:xk\n#PBS -l walltime=03:00:00\ncd src\npython main.py\n"
    write_project(tmp_path, {"hw/main.py": HEAVY})
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "run.pbs").write_text(pbs)
    [finding] = _gl101(tmp_path, "hw/main.py", monkeypatch)
    assert finding.impact.level == "low"
    assert "Blue Waters XK nodes" in finding.message and "jobs/run.pbs:2" in finding.message
    # control: a second job script that asks for an A100 means two kinds of jobs: no hint
    (tmp_path / "jobs" / "big.sbatch").write_text("#!/bin/bash\n#SBATCH --gres=gpu:a100:1\npython hw/main.py\n")
    [finding] = _gl101(tmp_path, "hw/main.py", monkeypatch)
    assert finding.impact.level == "high" and "XK" not in finding.message


def test_job_script_lines_that_name_a_gpu() -> None:
    assert "K80" in (hint_in("#SBATCH --gres=gpu:k80:2\nsrun python train.py\n", "job.sh") or "")
    assert "P100" in (hint_in("#SBATCH -C p100\n", "job.sh") or "")
    assert hint_in("sbatch --gres=gpu:v100:1 train.sh\n", "launch.sh") is None
    # only scheduler directives count: a comment or an echo naming a GPU is not a request
    assert hint_in("# tested on a K80 once\necho k80\npython train.py\n", "run.sh") == ""
    assert hint_in("#SBATCH --job-name=train\n#SBATCH --time=4:00:00\n", "job.sh") == ""


def test_a_project_without_job_scripts_has_no_hint(tmp_path: Path) -> None:
    (tmp_path / "train.sh").write_text("python train.py --epochs 10\n")
    assert read_gpu_hint(tmp_path) == ""


def _notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
              "source": source.splitlines(keepends=True)} for source in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


@pytest.mark.parametrize(("files", "expected"), [
    # avinashpaliwal/Super-SloMo train.ipynb (blind37): the only GPU the project names
    ({"train.ipynb": _notebook("EPOCHS = 200\n# This configuration works on GTX 1080 Ti\nBATCH = 6\n")}, "GTX 1080 TI"),
    ({"README.md": "Trained on 4x Titan X for two days.\n"}, "TITAN X"),
    # a tensor-core card named anywhere in the documentation: two kinds of GPUs, no hint
    ({"README.md": "Trained on a GTX 1080 Ti; ~1.5 h on a 2080 Ti.\n"}, ""),
    ({"README.md": "Trained on a GTX 1080 Ti.\n", "docs/cloud.md": "We also ran it on an A100.\n"}, ""),
    # a name that is not said to be where the project runs: a table of other cards
    ({"README.md": "| GTX 1080 Ti | 11 GB |\n"}, ""),
    # layumi/Person_reID_baseline_pytorch README: a post-processing speed-up, not where it trains
    ({"README.md": "On the Market-1501 dataset, we accelerate the re-ranking from 89.2s to 9.4ms with one K40m GPU.\n"}, ""),
], ids=["notebook-comment", "readme", "two-kinds", "two-files", "not-a-statement", "other-work"])
def test_the_documentation_can_say_the_project_runs_on_a_gpu_without_tensor_cores(tmp_path: Path, files, expected) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    hint = read_gpu_hint(tmp_path)
    assert (expected in hint and "the project says it runs on" in hint) if expected else hint == "", hint


# ---- the model is built by the script that calls the training function ---------------------------

LOOP_MODULE = """
import torch

def train(model, loader, optimizer, device):
    for images, masks in loader:
        images, masks = images.to(device), masks.to(device)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(images), masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""
CALLER = """
import torch
from model import BUILDER
from training import train

device = "cuda" if torch.cuda.is_available() else "cpu"
model = BUILDER(num_classes=1).to(device)
train(model, loader, torch.optim.Adam(model.parameters()), device)
"""


def test_a_large_model_built_by_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the shape of christianmcb/Deep-Learning-Project code/training.py, trained by code/main.py, which
    # builds a DeepLabV3 segmentation model defined in code/model.py
    model = "import torch.nn as nn\nclass DeepLabV3_MobileNet_V3_Large(nn.Module):\n    pass\nclass SmallNet(nn.Module):\n    pass\n"
    write_project(tmp_path, {"training.py": LOOP_MODULE, "main.py": CALLER.replace("BUILDER", "DeepLabV3_MobileNet_V3_Large"),
                      "model.py": model})
    [finding] = _gl101(tmp_path, "training.py", monkeypatch)
    assert finding.impact.level == "high" and "in `main.py`, which calls this module's training function" in finding.message
    # control: a caller that builds a plainly named small net gives no evidence
    write_project(tmp_path, {"main.py": CALLER.replace("BUILDER", "SmallNet")})
    [finding] = _gl101(tmp_path, "training.py", monkeypatch)
    assert finding.impact.level == "low"


def test_caller_text_evidence() -> None:
    from greenlint.caller_workload import heavy_model_in_callers

    assert "resnet50" in heavy_model_in_callers([("main.py", "model = torchvision.models.resnet50(weights=None)\n")])
    assert "AutoModelForSequenceClassification" in heavy_model_in_callers(
        [("run.py", 'm = AutoModelForSequenceClassification.from_pretrained("roberta-base")\n')])
    # a tiny checkpoint, a commented-out line and a plain class are not evidence
    assert heavy_model_in_callers([("run.py", 'm = AutoModel.from_pretrained("prajjwal1/bert-tiny")\n')]) == ""
    assert heavy_model_in_callers([("main.py", "# model = resnet50()\nmodel = Net()\n")]) == ""


def test_an_architecture_option_of_the_caller() -> None:
    # the shape of facebookresearch/detr main.py (`--backbone` defaults to resnet50; the loop is in engine.py)
    from greenlint.caller_workload import heavy_model_in_callers

    text = "parser.add_argument('--backbone', default='resnet50', type=str,\n    help='backbone')\n"
    assert "`--backbone` defaults to `resnet50`" in heavy_model_in_callers([("main.py", text)])
    assert heavy_model_in_callers([("main.py", text.replace("resnet50", "resnet18"))]) == ""


# ---- the project's own resize and crop transforms ------------------------------------------------
# xuebinqin/U-2-Net (blind33): `transforms.Compose([RescaleT(320), RandomCrop(288), ToTensorLab()])`
# with the three classes from data_loader.py; the U2NET model class says nothing by its name.

SALIENCY = """
import torch
from data_loader import RescaleT, RandomCrop
from model import U2NET

dataset = SalObjDataset(names, transform=Compose([RescaleT(SIDE), RandomCrop(CROP)]))
net = U2NET(3, 1).cuda()
optimizer = torch.optim.Adam(net.parameters())
for images, labels in DataLoader(dataset, batch_size=12):
    loss = net(images.cuda()).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""
CROPS = """
class RescaleT(object):
    def __init__(self, output_size):
        self.output_size = output_size

class RandomCrop(object):
    def __init__(self, output_size):
        self.output_size = output_size
"""


@pytest.mark.parametrize(("side", "crop", "level"), [("320", "288", "high"), ("40", "32", "low")])
def test_the_projects_own_resize_gives_the_image_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side, crop, level) -> None:
    write_project(tmp_path, {"train.py": SALIENCY.replace("SIDE", side).replace("CROP", crop), "data_loader.py": CROPS,
                             "model.py": "import torch.nn as nn\nclass U2NET(nn.Module):\n    pass\n"})
    [finding] = _gl101(tmp_path, "train.py", monkeypatch)
    assert finding.impact.level == level, finding.impact
    assert ("320-pixel input images" in finding.message) is (level == "high")


def test_a_zoo_named_builder_from_a_star_import_of_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ndb796/Pytorch-Adversarial-Training-CIFAR (blind39): `from models import *`, whose package
    star-imports `.resnet`, then `net = ResNet18()`: a CIFAR ResNet-18 of the project."""
    main = ("import torch\nfrom models import *\nnet = ResNet18().cuda()\n"
            "optimizer = torch.optim.SGD(net.parameters(), lr=0.1)\n"
            "for x, y in loader:\n    loss = torch.nn.functional.cross_entropy(net(x.cuda()), y.cuda())\n"
            "    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n")
    write_project(tmp_path, {"train.py": main, "models/__init__.py": "from .resnet import *\n",
                             "models/resnet.py": "import torch.nn as nn\ndef ResNet18():\n    return nn.Module()\n"})
    [finding] = _gl101(tmp_path, "train.py", monkeypatch)
    assert "`ResNet18`, a deep architecture from another module" in finding.message, finding.message


def test_a_stated_gpu_count_and_a_folder_that_is_not_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GL408's evidence from the documentation (read_stated_gpu_count): the first line stating 2-64
    GPUs; none in a folder too large to be a project (a home folder's or a data tree's READMEs say
    nothing about this code's runs), as read_gpu_hint already did."""
    from greenlint import launch_scripts
    from greenlint.gpu_hints import read_stated_gpu_count

    (tmp_path / "README.md").write_text("# Model\n\nWe trained it with 4 gpus for two days.\n")
    (tmp_path / "NOTES.md").write_text("Single GPU: 1 gpus.\n")
    assert read_stated_gpu_count(tmp_path) == "README.md:3 says `4 gpus`"
    for index in range(6):
        (tmp_path / f"data_{index}.txt").write_text("x")
    monkeypatch.setattr(launch_scripts, "MAX_VISITED_FILES", 5)
    assert read_stated_gpu_count(tmp_path) == ""
