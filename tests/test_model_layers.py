"""advisor/model_layers.py: which model classes of a project module are small, or compute-heavy, by
their layers (the project index's `small_models` and `heavy_models` exports: mixed-precision advice on
a detected long run needs a compute-heavy step)."""

from __future__ import annotations

import textwrap

import pytest

from greenlint.module_exports import extract_exports

SRCNN = """
    from torch import nn

    class SRCNN(nn.Module):
        def __init__(self, num_channels=1):
            super().__init__()
            self.conv1 = nn.Conv2d(num_channels, 64, kernel_size=9, padding=9 // 2)
            self.conv2 = nn.Conv2d(64, 32, kernel_size=5, padding=5 // 2)
            self.conv3 = nn.Conv2d(32, num_channels, kernel_size=5, padding=5 // 2)
            self.relu = nn.ReLU(inplace=True)
"""
PPO = """
    import torch.nn as nn

    class PPO(nn.Module):
        def __init__(self, num_inputs, num_actions):
            super().__init__()
            self.conv1 = nn.Conv2d(num_inputs, 32, 3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
            self.linear = nn.Linear(32 * 6 * 6, 512)
            self.actor_linear = nn.Linear(512, num_actions)
"""


def _small(source: str) -> dict[str, str]:
    return extract_exports(textwrap.dedent(source), "").small_models


def test_small_cnns_of_known_widths():
    assert _small(SRCNN) == {"SRCNN": "a small CNN (3 convolutions, at most 64 channels)"}
    # the input channels (stacked frames) and the action head's width are the task's
    assert _small(PPO) == {"PPO": "a small CNN (2 convolutions, at most 32 channels)"}


@pytest.mark.parametrize("change", [
    ("nn.Conv2d(64, 32, kernel_size=5", "nn.Conv2d(64, width, kernel_size=5"),  # a hidden width not known
    ("nn.Conv2d(64, 32, kernel_size=5", "nn.Conv2d(64, 256, kernel_size=5"),  # wide
    ("self.relu = nn.ReLU(inplace=True)", "self.rnn = nn.LSTM(32, 32)"),  # recurrent
    ("self.relu = nn.ReLU(inplace=True)", "self.block = ResidualBlock(32)"),  # a block read elsewhere
    ("self.relu = nn.ReLU(inplace=True)", "self.fc = nn.Linear(25088, 4096)"),  # a VGG-style head
], ids=["unknown-width", "wide", "recurrent", "foreign-block", "big-head"])
def test_not_small_when_a_layer_is_unknown_or_large(change):
    assert _small(SRCNN.replace(*change)) == {}


TRAIN = """
import argparse
import torch
from models import SRCNN

parser = argparse.ArgumentParser()
parser.add_argument("--num-epochs", type=int, default=400)
args = parser.parse_args()
model = SRCNN().cuda()
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(args.num_epochs):
    for x, y in loader:
        loss = ((model(x.cuda()) - y.cuda()) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def _heavy(source: str) -> dict[str, str]:
    return extract_exports(textwrap.dedent(source), "").heavy_models


# four 512-channel convolutions: VGG-like widths
WIDE = ("self.relu = nn.ReLU(inplace=True)",
        "self.c4 = nn.Conv2d(32, 512, 3)\n            self.c5 = nn.Conv2d(512, 512, 3)\n"
        "            self.c6 = nn.Conv2d(512, 512, 3)\n            self.c7 = nn.Conv2d(512, 512, 3)")
BLOCKS = """
    import torch.nn as nn

    class Cnn14(nn.Module):
        def __init__(self, classes_num):
            super().__init__()
            self.conv_block1 = ConvBlock(in_channels=1, out_channels=64)
            self.conv_block2 = ConvBlock(in_channels=64, out_channels=128)
            self.conv_block3 = ConvBlock(in_channels=128, out_channels=256)
            self.conv_block4 = ConvBlock(in_channels=256, out_channels=2048)
            self.fc = nn.Linear(2048, classes_num)
"""
POINTNET = """
    import torch.nn as nn

    class PointNetfeat(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(3, 64, 1)
            self.conv2 = nn.Conv1d(64, 128, 1)
            self.conv3 = nn.Conv1d(128, 1024, 1)
            self.fc1 = nn.Linear(1024, 512)
"""


def test_heavy_model_classes_by_their_layers():
    assert _heavy(SRCNN.replace(*WIDE)) == {"SRCNN": "a CNN of 7 convolution layers up to 512 channels"}
    # project blocks by their output channels (audioset_tagging_cnn's Cnn14)
    assert _heavy(BLOCKS) == {"Cnn14": "a CNN of 4 convolution layers up to 2048 channels"}
    assert _heavy(SRCNN.replace("self.relu = nn.ReLU(inplace=True)", "self.fc = nn.Linear(4096, 4096)")) == {
        "SRCNN": "a 4096-wide `Linear` layer"}


@pytest.mark.parametrize("source", [SRCNN, PPO, POINTNET, BLOCKS.replace("2048", "256"),
                                    SRCNN.replace("nn.Conv2d(64, 32", "nn.Conv2d(64, width")],
                         ids=["srcnn", "ppo", "pointnet-three-convs", "narrow-blocks", "unknown-width"])
def test_not_heavy_without_wide_layers_of_known_width(source):
    assert _heavy(source) == {}


@pytest.mark.parametrize(("wide", "shown"), [(False, False), (True, True)])
def test_mixed_precision_on_a_detected_run_of_an_imported_cnn(project, wide, shown):
    """yjn870/SRCNN-pytorch (blind45): 400 epochs of a three-layer SRCNN imported from models.py are
    launch-bound; GL101 is not shown on the detected run. With four more 512-channel convolutions the
    imported class is compute-heavy evidence and it is."""
    import json

    project.write("models.py", textwrap.dedent(SRCNN.replace(*WIDE) if wide else SRCNN))
    project.write("train.py", TRAIN)
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    codes = {f["code"] for f in json.loads(out) if f["filename"] == "train.py"}
    assert ("GL101" in codes) is shown
