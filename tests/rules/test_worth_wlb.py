"""Findings worth acting on (issue 14) for GL306 and GL602: a DataLoader iterated only once gets the
frequency "once"; a frame grown once per input file, or in a branch of a pandas version test that
current pandas never takes, is not reported."""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import dataloader_sites
from greenlint.rules.analysis.loader_frequency import single_pass
from rule_helpers import findings, silent

GPU_HEADER = """
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

class Pictures(Dataset):
    def __init__(self, paths):
        self.paths = paths
    def __len__(self):
        return len(self.paths)
    def __getitem__(self, i):
        return Image.open(self.paths[i]).convert("RGB")

device = torch.device("cuda")
model = Net().to(device)
"""

EPOCHS = """
for epoch in range(30):
    for images, labels in train_loader:
        loss = criterion(model(images.to(device)), labels.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def _gl306(source: str) -> list:
    return findings(source, "GL306")


def test_gl306_training_loader_iterated_every_epoch_stays_every_step():
    found = _gl306(GPU_HEADER + "train_loader = DataLoader(Pictures(paths), batch_size=64)\n" + EPOCHS)
    assert len(found) == 1
    assert found[0].impact.frequency == "every-step"
    assert found[0].impact.level != "low"


def test_gl306_one_batch_for_a_plot_is_once():
    found = _gl306(GPU_HEADER + """
preview_loader = DataLoader(Pictures(paths), batch_size=8, shuffle=True)
for images, labels in preview_loader:
    break
show(images)
""" + EPOCHS.replace("train_loader", "[]"))
    assert len(found) == 1
    assert found[0].impact.frequency == "once" and found[0].impact.level == "low"
    assert "iterated only once" in found[0].message


def test_gl306_statistics_pass_before_the_loader_is_rebuilt_is_once():
    # the first binding is read once to compute channel means, then the name is rebound for training
    source = GPU_HEADER + """
train_loader = DataLoader(Pictures(paths), batch_size=5000, shuffle=False)
means = []
for i, batch in enumerate(train_loader):
    means.append(batch[0].mean())
train_loader = DataLoader(Pictures(paths), batch_size=64, shuffle=True, num_workers=4)
""" + EPOCHS
    found = _gl306(source)
    assert [f.impact.frequency for f in found] == ["once"]


def test_gl306_test_pass_through_a_module_function_is_once():
    source = GPU_HEADER + """
def accuracy(model, loader):
    correct = 0
    for x, y in loader:
        correct += (model(x.to(device)).argmax(1) == y.to(device)).sum()
    return correct

train_loader = DataLoader(Pictures(paths), batch_size=64, num_workers=4)
test_loader = DataLoader(Pictures(test_paths), batch_size=64)
""" + EPOCHS + """
print(accuracy(model, test_loader))
"""
    found = _gl306(source)
    assert [f.impact.frequency for f in found] == ["once"]


def test_gl306_function_that_loops_epochs_over_its_loader_is_not_once():
    source = GPU_HEADER + """
def fit(model, loader, epochs):
    for epoch in range(epochs):
        for x, y in loader:
            model(x.to(device)).sum().backward()
            optimizer.step()

train_loader = DataLoader(Pictures(paths), batch_size=64)
fit(model, train_loader, 30)
"""
    found = _gl306(source)
    assert len(found) == 1 and found[0].impact.frequency == "every-step"


def test_gl306_evaluation_loader_used_inside_the_epoch_loop_stays_every_eval():
    source = GPU_HEADER + """
def accuracy(model, loader):
    return sum((model(x.to(device)).argmax(1) == y.to(device)).sum() for x, y in loader)

train_loader = DataLoader(Pictures(paths), batch_size=64, num_workers=4)
valid_loader = DataLoader(Pictures(valid_paths), batch_size=64)
for epoch in range(30):
    for images, labels in train_loader:
        criterion(model(images.to(device)), labels.to(device)).backward()
        optimizer.step()
    print(accuracy(model, valid_loader))
"""
    found = _gl306(source)
    assert [f.impact.frequency for f in found] == ["every-eval"]


def test_single_pass_is_none_for_a_loader_handed_to_an_imported_function():
    source = GPU_HEADER + """
from trainer import run
train_loader = DataLoader(Pictures(paths), batch_size=64)
run(model, train_loader)
"""
    analysis = ModuleAnalysis.of(cst.parse_module(source))
    sites = list(dataloader_sites(analysis))
    assert len(sites) == 1 and single_pass(sites[0], analysis) is None


def test_single_pass_is_none_for_a_loader_never_used():
    analysis = ModuleAnalysis.of(cst.parse_module(GPU_HEADER + "train_loader = DataLoader(Pictures(paths))\n"))
    assert single_pass(next(iter(dataloader_sites(analysis))), analysis) is None


# ==== GL602 ============================================================================================

def test_gl602_one_table_per_input_file_is_silent():
    silent("GL602", """
        import os
        import pandas as pd

        def load(folder):
            merged = pd.DataFrame()
            for name in sorted(os.listdir(folder)):
                part = pd.read_csv(os.path.join(folder, name))
                merged = merged.append(part)
            return merged
    """)
    silent("GL602", """
        import glob, json
        import pandas as pd

        frame = pd.DataFrame()
        for path in glob.glob("runs/*.json"):
            with open(path) as handle:
                data = json.load(handle)
            frame = pd.concat([frame, pd.DataFrame.from_dict(data, orient="index")])
    """)


def test_gl602_one_row_per_file_of_a_listing_still_fires():
    found = findings("""
        import os
        import pandas as pd

        reviews = pd.DataFrame()
        for name in os.listdir("reviews"):
            with open(os.path.join("reviews", name)) as handle:
                text = handle.read()
            reviews = pd.concat([reviews, pd.DataFrame([[text, 1]])], ignore_index=True)
    """, "GL602")
    assert len(found) == 1


VERSIONED = """
    import pandas as pd
    from packaging import version

    frame = pd.DataFrame()
    for text, label in rows:
        if {test}:
            frame = pd.concat([frame, pd.DataFrame([[text, label]])], ignore_index=True)
        else:
            frame = frame.append([[text, label]], ignore_index=True)
"""


def test_gl602_branch_current_pandas_never_takes_is_silent():
    found = findings(VERSIONED.format(test='version.parse(pd.__version__) >= version.parse("1.3.2")'), "GL602")
    assert [f.message.split("`")[1] for f in found] == ["frame = pd.concat([frame, ...])"]


def test_gl602_reversed_version_test_silences_the_other_branch():
    found = findings(VERSIONED.format(test='pd.__version__ < "1.3.2"'), "GL602")
    assert [f.message.split("`")[1] for f in found] == ["frame = frame.append(...)"]


def test_gl602_version_test_that_later_pandas_can_flip_reports_both():
    found = findings(VERSIONED.format(test='version.parse(pd.__version__) >= version.parse("2.2")'), "GL602")
    assert len(found) == 2


# ==== GL502 / GL503: small runs ==========================================================================

SMALL_CNN = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import pytorch_lightning as pl
from torchvision import datasets, transforms

class LeNet(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(256, 120)
        self.fc2 = nn.Linear(120, 10)
    def training_step(self, batch, i):
        x, y = batch
        return F.cross_entropy(self(x), y)
    def validation_step(self, batch, i):
        x, y = batch
        self.log("valid_loss", F.cross_entropy(self(x), y))

train = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
trainer = pl.Trainer(max_epochs=40, accelerator="gpu")
trainer.fit(LeNet(), train_loader, valid_loader)
"""


def test_gl502_small_cnn_on_mnist_is_scaled_to_low():
    [found] = findings(SMALL_CNN, "GL502")
    assert found.impact.level == "low"
    assert "scale x0.05" in found.impact.basis and "MNIST" in found.impact.basis


def test_gl502_deep_model_on_the_same_data_keeps_its_level():
    deep = SMALL_CNN.replace("class LeNet(", "class ResNetSmall(").replace("LeNet()", "ResNetSmall()")
    [found] = findings(deep, "GL502")
    assert found.impact.level == "high" and "scale" not in found.impact.basis


def test_gl502_small_model_on_unknown_data_keeps_its_level():
    unknown = SMALL_CNN.replace('datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())',
                                'FolderOfScans("data")')
    [found] = findings(unknown, "GL502")
    assert found.impact.level == "high"


def test_gl502_mlp_with_written_out_hidden_widths_on_mnist_is_low():
    source = """
import torch.nn as nn
import torch.nn.functional as F
import pytorch_lightning as pl
from torchvision.datasets import MNIST

class Perceptron(pl.LightningModule):
    def __init__(self, image_shape=(1, 28, 28), hidden_units=(64, 32)):
        super().__init__()
        layers = [nn.Flatten()]
        size = 784
        for width in hidden_units:
            layers += [nn.Linear(size, width), nn.ReLU()]
            size = width
        layers.append(nn.Linear(hidden_units[-1], 10))
        self.net = nn.Sequential(*layers)
    def training_step(self, batch, i):
        return F.cross_entropy(self.net(batch[0]), batch[1])
    def validation_step(self, batch, i):
        self.log("valid_loss", F.cross_entropy(self.net(batch[0]), batch[1]))

data = MNIST("data", download=True)
pl.Trainer(max_epochs=100).fit(Perceptron(), train_loader, valid_loader)
"""
    [found] = findings(source, "GL502")
    assert found.impact.level == "low" and "64" in found.impact.basis.split("; scale")[1]  # the width bound is named (wording from model_size or run_size)
    wide = source.replace("hidden_units=(64, 32)", "hidden_units=(4096, 32)")
    [found] = findings(wide, "GL502")
    assert found.impact.level == "high"


LONG_LOOP = """
import torch
import torch.nn as nn
from torchvision import datasets, transforms

model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 26 * 26, 10)).cuda()
train = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
for epoch in range(100):
    for x, y in train_loader:
        loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def test_gl503_small_model_on_mnist_is_silent():
    silent("GL503", LONG_LOOP)


def test_gl503_same_loop_without_known_small_data_still_fires():
    unknown = LONG_LOOP.replace('datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())',
                                'ScanFolder("data")')
    assert findings(unknown, "GL503")


def test_gl503_tiny_mlp_on_unknown_data_still_fires():
    # small_workload calls this MLP launch-bound on any data; the run's length depends on the data
    tiny = LONG_LOOP.replace('nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 26 * 26, 10))',
                             'nn.Linear(32, 2)').replace(
        'datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())', 'Rows("table.parquet")')
    assert findings(tiny, "GL503")


TABLE_MLP = """
import pandas as pd
import torch
import pytorch_lightning as pl

table = pd.read_csv("https://example.org/ordinal/{name}.csv")

class Regressor(pl.LightningModule):
    def __init__(self, input_size, hidden_units=(24, 16)):
        super().__init__()
        layers = []
        for width in hidden_units:
            layers.append(torch.nn.Linear(input_size, width))
            layers.append(torch.nn.ReLU())
            input_size = width
        self.net = torch.nn.Sequential(*layers)
        self.bias = torch.nn.Parameter(torch.zeros(3))
    def training_step(self, batch, i):
        return self.net(batch[0]).sum()
    def validation_step(self, batch, i):
        self.log("valid_mae", self.net(batch[0]).sum())

pl.Trainer(max_epochs=200).fit(Regressor(8), train_loader, valid_loader)
"""


def test_gl502_mlp_on_a_known_small_table_is_low():
    [found] = findings(TABLE_MLP.format(name="cement_strength"), "GL502")
    assert found.impact.level == "low" and "998 rows" in found.impact.basis


def test_gl502_mlp_on_an_unknown_table_keeps_its_level():
    [found] = findings(TABLE_MLP.format(name="sales_2024"), "GL502")
    assert found.impact.level == "high"


def test_gl502_recurrent_layer_is_not_a_plain_mlp():
    source = TABLE_MLP.format(name="cement_strength").replace(
        "self.bias = torch.nn.Parameter(torch.zeros(3))", "self.rnn = torch.nn.LSTM(8, 64)")
    [found] = findings(source, "GL502")
    assert found.impact.level == "high"
