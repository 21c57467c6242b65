"""advisor/model_layers.py: which model classes of a project module are small by their layers (the
project index's `small_models` export, used to keep mixed-precision advice off launch-bound runs)."""

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


@pytest.mark.parametrize(("channels", "shown"), [("64", False), ("512", True)])
def test_mixed_precision_on_a_detected_run_of_an_imported_small_cnn(project, channels, shown):
    """yjn870/SRCNN-pytorch (blind45): 400 epochs of a three-layer SRCNN imported from models.py are
    launch-bound; GL101 is not shown on the detected run (a 512-channel model would be)."""
    import json

    project.write("models.py", textwrap.dedent(SRCNN).replace("nn.Conv2d(num_channels, 64", f"nn.Conv2d(num_channels, {channels}")
                  .replace("nn.Conv2d(64, 32", f"nn.Conv2d({channels}, 32"))
    project.write("train.py", TRAIN)
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    codes = {f["code"] for f in json.loads(out) if f["filename"] == "train.py"}
    assert ("GL101" in codes) is shown
