"""GL401 on two shapes the dev corpora's misses showed (session 7, helper nlp):

- PyTorch < 0.4 spelled `loss.item()` as `loss.data[0]` (share020/dl@73c10db
  assignments/mp4/src/part-2/src/utils.py, blind4): a one-element tensor indexed with 0 returned a
  Python number, copied from the GPU;
- a trainer module that names no device and gets `device` from the script that calls it
  (vltkv/Generate-faces-with-GAN@c886e7f training/training.py, called by main.py, blind4).
Shapes written from the labelled code, not copied.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import write_project

from greenlint.config import Settings
from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

ALL = frozenset(ALL_CODES)


def rows(source: str) -> list[int]:
    text = textwrap.dedent(source).lstrip("\n")
    return sorted(f.location.row for f in lint_source(text.encode(), "train.py", ALL) if f.code == "GL401")


LEGACY = """
import torch
from torch.autograd import Variable

def train_model(net, optimizer, criterion, trainloader, epochs):
    for epoch in range(epochs):
        running_loss = 0.0
        for i, (inputs, labels) in enumerate(trainloader):
            inputs, labels = Variable(inputs.cuda()), Variable(labels.cuda())
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.data[0]
            first = outputs.data[0]
            correct = (outputs.max(1)[1] == labels).sum().data[0]
            if i % 100 == 0:
                print(loss.data[0])
"""


def test_legacy_data_index_of_the_loss_is_a_sync():
    # line 14: the loss; line 16: a reduction; line 15 is a model output's first row (a tensor, no
    # copy) and line 18 is under a logging guard
    assert rows(LEGACY) == [14, 16]


def test_legacy_data_index_message_names_the_expression():
    text = textwrap.dedent(LEGACY).lstrip("\n")
    [first, _] = [f for f in lint_source(text.encode(), "train.py", ALL) if f.code == "GL401"]
    assert first.message.startswith("`loss.data[0]` copies a value from the GPU on every step")
    assert first.fix is None  # the `.detach()` rewrite is for `.item()` only


def test_data_index_of_a_host_value_is_not_a_sync():
    source = LEGACY.replace("running_loss += loss.data[0]", "batch = trainloader.dataset.data[0]")
    assert rows(source) == [16]


TRAINER = """
import torch

def train_gan(dataloader, netG, netD, optG, optD, criterion, epochs, device):
    g_losses = []
    for epoch in range(epochs):
        for i, data in enumerate(dataloader):
            real = data[0].to(device)
            netD.zero_grad()
            d_loss = criterion(netD(real).view(-1), torch.ones(real.size(0), device=device))
            d_loss.backward()
            optD.step()
            netG.zero_grad()
            noise = torch.randn(real.size(0), 100, 1, 1, device=device)
            g_loss = criterion(netD(netG(noise)).view(-1), torch.ones(real.size(0), device=device))
            g_loss.backward()
            optG.step()
            g_losses.append(g_loss.item())
    return g_losses
"""

MAIN = """
import torch
from training import train_gan

if __name__ == "__main__":
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    netG, netD = Generator().to(device), Discriminator().to(device)
    train_gan(loader, netG, netD, optG, optD, torch.nn.BCELoss(), 5, device)
"""



def gl401(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("GL401",), preview=True))
    findings = lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings
    return [f.location.row for f in findings if f.code == "GL401" and f.filename == "training.py"]


def test_trainer_module_run_on_cuda_by_its_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"training.py": TRAINER, "main.py": MAIN})
    assert gl401(tmp_path, monkeypatch) == [17]
    # control: the same caller on the CPU puts nothing on a GPU
    (tmp_path / "main.py").write_text(
        textwrap.dedent(MAIN).replace('"cuda:0" if torch.cuda.is_available() else "cpu"', '"cpu"')
    )
    assert gl401(tmp_path, monkeypatch) == []
