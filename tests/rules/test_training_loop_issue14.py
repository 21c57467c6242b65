"""GL4xx changes for issue 14, each with the case that was wrong on the development corpus:
guards that hold on every step (GL401), MNIST/CIFAR-size inputs (GL403), CUDA sync debugging
switches (GL407) and the impact each rule declares."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES, get_rule
from greenlint.rules.training_loop.sync_guards import every_step_guard

ALL = frozenset(ALL_CODES)


def rows(code: str, source: str) -> list[int]:
    text = textwrap.dedent(source).lstrip("\n")
    return [f.location.row for f in lint_source(text.encode(), "train.py", ALL) if f.code == code]


def messages(code: str, source: str) -> list[str]:
    text = textwrap.dedent(source).lstrip("\n")
    return [f.message for f in lint_source(text.encode(), "train.py", ALL) if f.code == code]


# ---- GL401: guards that are true on every (optimizer) step ----------------------------------------

STEP_LOOP = """
import torch

model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for i, (x, y) in enumerate(loader):
    loss = model(x.cuda(), y.cuda())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if GUARD:
        running = loss.item()
"""


@pytest.mark.parametrize(
    "guard",
    [
        "RANK in {-1, 0}",
        "args.local_rank in [-1, 0]",
        "rank == 0",
        "0 == local_rank",
        "dist.get_rank() == 0",
        "not rank",
        "is_main_process()",
        "utils.is_main_process()",
        "accelerator.is_main_process",
        "trainer.is_global_zero",
        "master_process",
        "not args.distributed or rank == 0",
        "(i + 1) % accum_steps == 0",
        "(i + 1) % args.gradient_accumulation_steps == 0",
        "i - last_opt_step >= accumulate",
        "accelerator.sync_gradients",
        "(i + 1) % accum_iter == 0 or (i + 1) == len(loader)",
    ],
)
def test_gl401_item_under_a_guard_true_on_every_step_is_per_step(guard):
    source = STEP_LOOP.replace("GUARD", guard)
    assert rows("GL401", source) == [11]
    [message] = messages("GL401", source)
    assert "which is true on every" in message


@pytest.mark.parametrize(
    "guard",
    [
        "i % 100 == 0",
        "i % args.log_interval == 0",
        "(i + 1) % print_freq == 0",
        "rank == 1",
        "RANK in {-1, 0} and i % 50 == 0",
        "is_main_process() and i % args.log_every == 0",
        "args.debug",
    ],
)
def test_gl401_item_under_a_rare_guard_stays_silent(guard):
    assert rows("GL401", STEP_LOOP.replace("GUARD", guard)) == []


def test_gl401_rare_guard_around_a_main_process_guard_stays_silent():
    source = STEP_LOOP.replace(
        "    if GUARD:\n        running = loss.item()\n",
        "    if i % 100 == 0:\n        if rank == 0:\n            running = loss.item()\n",
    )
    assert rows("GL401", source) == []


def test_gl401_else_branch_of_a_main_process_guard_stays_conditional():
    source = STEP_LOOP.replace(
        "    if GUARD:\n        running = loss.item()\n",
        "    if rank == 0:\n        pass\n    else:\n        running = loss.item()\n",
    )
    assert rows("GL401", source) == []


def test_gl401_guarded_item_gets_no_accumulate_fix():
    source = STEP_LOOP.replace("GUARD", "rank in {-1, 0}")
    text = textwrap.dedent(source).lstrip("\n")
    [finding] = [f for f in lint_source(text.encode(), "train.py", ALL) if f.code == "GL401"]
    assert finding.fix is None


def test_gl401_numpy_and_python_values_are_no_sync():
    source = """
        import numpy as np
        import torch

        model = Net().cuda()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            loss = model(x.cuda(), y.cuda())
            loss.backward()
            optimizer.step()
            hits = np.mean(scores)
            value = hits.item()
            lr = np.float32(0.1).item()
            total = float(len(y))
    """
    assert rows("GL401", source) == []


def test_gl401_scheduled_optimizer_wrapper_step_makes_a_training_loop():
    # `optimizer.step_and_update_lr()` (a ScheduledOptim wrapper) is the loop's optimizer step
    source = """
        import torch

        model = Transformer().to(torch.device("cuda"))
        optimizer = ScheduledOptim(torch.optim.Adam(model.parameters()), 2.0, 512, 4000)
        for batch in data:
            optimizer.zero_grad()
            pred = model(batch.src.cuda(), batch.trg.cuda())
            loss = compute_loss(pred)
            loss.backward()
            optimizer.step_and_update_lr()
            total_loss += loss.item()
    """
    assert rows("GL401", source) == [11]


def test_gl401_scheduler_step_prefix_is_not_an_optimizer_step():
    source = """
        import torch

        model = Net().cuda()
        for x, y in loader:
            loss = model(x.cuda(), y.cuda())
            loss.backward()
            lr_scheduler_opt.step_update(num_updates)
            total += loss.item()
    """
    assert rows("GL401", source) == []


def test_every_step_guard_reads_names_only():
    def reason(test: str) -> str | None:
        return every_step_guard(cst.parse_expression(test))

    assert reason("rank in (0, -1)") is not None
    assert reason("rank in {0, 1}") is None  # rank 1 is not the main process
    assert reason("step % accumulate == 1") is None
    assert reason("(step + 1) % 4 == 0") is None  # a literal period: rare, whatever it is called
    assert reason("is_main_process") is not None
    assert reason("main") is None


# ---- GL403: MNIST/CIFAR-size inputs --------------------------------------------------------------

CNN = """
import torch
from torch import nn
from torchvision import datasets, transforms

DATA
net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10)).cuda()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    nn.functional.cross_entropy(net(x.cuda()), y.cuda()).backward()
    optimizer.step()
"""


@pytest.mark.parametrize(
    "data",
    [
        'data = datasets.MNIST("data", download=True)',
        'data = datasets.CIFAR10("data", transform=transforms.RandomCrop(32, padding=4))',
        'data = datasets.MNIST("data", transform=transforms.Compose([transforms.Resize(opt.img_size)]))',
        'data = datasets.ImageFolder("data", transform=transforms.CenterCrop((28, 28)))',
    ],
)
def test_gl403_silent_on_mnist_and_cifar_size_inputs(data):
    assert rows("GL403", CNN.replace("DATA", data)) == []


@pytest.mark.parametrize(
    "data",
    [
        'data = datasets.STL10("data", download=True)',
        'data = datasets.ImageFolder("data", transform=transforms.Resize((224, 224)))',
        'data = datasets.ImageFolder("data", transform=transforms.Resize((64, 64)))',
        'data = datasets.ImageFolder("data", transform=transforms.RandomResizedCrop(args.size))',
    ],
)
def test_gl403_reports_larger_fixed_inputs(data):
    assert rows("GL403", CNN.replace("DATA", data)) == [8]


def test_gl403_silent_on_a_small_cnn_over_a_known_small_dataset_even_resized():
    # MNIST resized to 64 pixels through a one-layer CNN: minutes of training (session 6)
    data = 'data = datasets.MNIST("data", transform=transforms.Resize((64, 64)))'
    assert rows("GL403", CNN.replace("DATA", data)) == []


# ---- GL407: CUDA sync debugging switches ------------------------------------------------------------

TRAIN = """
import os
import torch

SWITCH
model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    loss = model(x.cuda(), y.cuda())
    loss.backward()
    optimizer.step()
"""


@pytest.mark.parametrize(
    "switch",
    [
        'os.environ["CUDA_LAUNCH_BLOCKING"] = "1"',
        "os.environ['CUDA_LAUNCH_BLOCKING'] = '1'",
        'os.environ.setdefault("CUDA_LAUNCH_BLOCKING", "1")',
        'os.putenv("CUDA_LAUNCH_BLOCKING", "1")',
        'os.environ.update(CUDA_LAUNCH_BLOCKING="1")',
        'torch.cuda.set_sync_debug_mode("warn")',
        "torch.cuda.set_sync_debug_mode(2)",
    ],
)
def test_gl407_cuda_sync_debug_switches(switch):
    assert rows("GL407", TRAIN.replace("SWITCH", switch)) == [4]


@pytest.mark.parametrize(
    "switch",
    [
        'os.environ["CUDA_LAUNCH_BLOCKING"] = "0"',
        'os.environ["CUDA_VISIBLE_DEVICES"] = "1"',
        'os.environ["CUDA_LAUNCH_BLOCKING"] = args.blocking',
        'torch.cuda.set_sync_debug_mode("default")',
        'torch.cuda.set_sync_debug_mode(0)',
        'if args.debug:\n    os.environ["CUDA_LAUNCH_BLOCKING"] = "1"',
    ],
)
def test_gl407_sync_switches_off_or_guarded_stay_silent(switch):
    assert rows("GL407", TRAIN.replace("SWITCH", switch)) == []


def test_gl407_launch_blocking_in_the_main_block_counts():
    source = TRAIN.replace("SWITCH", "") + 'if __name__ == "__main__":\n    os.environ["CUDA_LAUNCH_BLOCKING"] = "1"\n'
    assert rows("GL407", source) == [12]


def test_gl407_launch_blocking_in_a_utility_function_of_a_module_that_trains_nothing():
    source = """
        import os

        def debug_env():
            os.environ["CUDA_LAUNCH_BLOCKING"] = "1"
    """
    assert rows("GL407", source) == []


# ---- impact declared from the cited evidence -------------------------------------------------------


def test_gl4xx_impacts_match_their_evidence():
    assert get_rule("GL401").impact.frequency == "every-step"
    # no_grad: 0 % measured, within 1 % published: under a per cent of an evaluation's energy
    gl402 = get_rule("GL402").impact
    assert gl402.frequency == "every-eval" and gl402.size.high <= 0.01
    # fused against the foreach default: 1.63-3.62 % (torchtitan) to 6 % (greenlint's H100)
    gl405 = get_rule("GL405").impact
    assert (gl405.size.low, gl405.size.high) == (0.016, 0.06) and "foreach" in gl405.size.basis
    for code in ("GL403", "GL404", "GL405"):
        assert get_rule(code).impact.frequency == "run-wide"
    for code in ("GL406", "GL407", "GL408", "GL409", "GL411", "GL412"):
        assert get_rule(code).impact is None  # no quantified source


# ---- GL401: one sync per element in an evaluation loop -------------------------------------------

EVAL = """
import torch

model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def validate(model, loader):
    labels = []
    with torch.no_grad():
        for x, lengths in loader:
            pred = model(x.cuda()).argmax(-1)
            BODY
    return labels


for epoch in range(10):
    for x, y in loader:
        loss = model(x.cuda()).sum()
        loss.backward()
        optimizer.step()
    validate(model, val_loader)
"""


def _eval(body: str) -> str:
    return EVAL.replace("BODY", textwrap.indent(textwrap.dedent(body).strip(), " " * 12).lstrip())


def test_gl401_per_element_item_in_an_evaluation_loop():
    source = _eval("""
        for j in range(len(lengths)):
            for i in range(lengths[j]):
                labels.append(pred[j][i].item())
    """)
    assert rows("GL401", source) == [14]
    [message] = messages("GL401", source)
    assert "one sync per element" in message and "`for x, lengths in loader`" in message


@pytest.mark.parametrize(
    "body",
    [
        "total = pred.sum().item()",  # one sync per batch: not per element
        "host = pred.cpu().numpy()\nfor i in range(len(host)):\n    labels.append(host[i].item())",
        "for name, value in {'a': pred}.items():\n    labels.append(value.item())",
        "for i in range(len(pred)):\n    if i % 100 == 0:\n        labels.append(pred[i].item())",
    ],
)
def test_gl401_evaluation_loop_without_per_element_syncs_stays_silent(body):
    assert rows("GL401", _eval(body)) == []


def test_gl401_per_element_loop_outside_evaluation_stays_silent():
    # a loop over a dataset that calls no model and is in no evaluation function: not evaluation
    source = _eval("pass").replace("def validate(", "def collect(").replace("with torch.no_grad():", "if True:")
    source = source.replace("            pass\n", "            for i in range(len(pred)):\n                labels.append(pred[i].item())\n")
    source = source.replace("pred = model(x.cuda()).argmax(-1)", "pred = x.cuda().argmax(-1)")
    assert rows("GL401", source) == []


# ---- GL401: a tensor formatted as text (a progress bar's description) -----------------------------

FORMAT_LOOP = """
import torch

model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
mloss = torch.zeros(3, device="cuda")
for i, (x, y) in enumerate(loader):
    loss, loss_items = compute_loss(model(x.cuda()), y.cuda())
    loss.backward()
    optimizer.step()
    if RANK in {-1, 0}:
        mloss = (mloss * i + loss_items) / (i + 1)
        LINE
"""


@pytest.mark.parametrize(
    "line",
    [
        'pbar.set_description(("%10s" * 2 + "%10.4g" * 3) % (f"{i}", "x", *mloss))',
        'pbar.set_postfix(loss=f"{loss:.4f}")',
        'pbar.desc = "%g" % loss',
    ],
)
def test_gl401_formatting_a_gpu_tensor_as_text(line):
    source = FORMAT_LOOP.replace("LINE", line)
    assert rows("GL401", source) == [12]
    [message] = messages("GL401", source)
    assert "formatting the GPU tensor" in message and "main process" in message


@pytest.mark.parametrize(
    "line",
    [
        'pbar.set_description(f"epoch {i} of {len(loader)}")',
        'name = "%s_%d.pt" % ("ckpt", i)',
        'pbar.set_postfix(loss=f"{loss.item():.4f}")',  # reported once, at the .item()
        'remainder = i % 7',
    ],
)
def test_gl401_formats_of_host_values_are_not_a_second_report(line):
    source = FORMAT_LOOP.replace("LINE", line)
    expected = [12] if ".item()" in line else []
    assert rows("GL401", source) == expected
    assert all("formatting" not in m for m in messages("GL401", source))


# A model class that builds the project's own copy of a torchvision CNN, trained at a fixed 224 size
# (duonglong289/age-gender@36424fe models/net.py:57-125, blind3): reported at the epoch loop.
PROJECT_CNN = """
import torch
import torchvision.transforms as T
from .mbnetv2 import BUILDER

class AgeGender:
    def init_model(self):
        self.model = BUILDER(pretrained=True)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters())

    def train(self, num_epochs):
        for epoch in range(num_epochs):
            for image, label in self.loader:
                loss = self.loss(self.model(image.to(self.device)), label.to(self.device))
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()

    def build_transform(self):
        return T.Compose([T.Resize([224, 224]), T.ToTensor()])
"""


def test_gl403_project_cnn_builder_named_like_torchvision():
    assert rows("GL403", PROJECT_CNN.replace("BUILDER", "mobilenet_v2")) == [13]


def test_gl403_project_builder_with_another_name_is_no_cnn_evidence():
    assert rows("GL403", PROJECT_CNN.replace("BUILDER", "build_backbone")) == []


# bamos/densenet.pytorch train.py (blind31, post hoc): `import densenet` (a module of the project),
# `densenet.DenseNet(growthRate=12, depth=100, ...)` trained on RandomCrop(32) CIFAR for 300 epochs
MODULE_CNN = """
import torch
import torchvision.transforms as transforms
import MODULE

train_transform = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])
net = MODULE.CLASS(growthRate=12, depth=100).cuda()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for epoch in range(300):
    for data, target in loader:
        loss = torch.nn.functional.cross_entropy(net(data.cuda()), target.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize(("module", "cls", "reported"), [
    ("densenet", "DenseNet", True),
    ("densenet", "Trainer", False),  # not named after a CNN family
    ("torch_densenet", "DenseNet", False),  # not a module of the project: unknown
], ids=["project-cnn", "not-a-cnn-name", "not-a-project-module"])
def test_gl403_a_cnn_class_of_a_project_module(project, module, cls, reported):
    project.write("densenet.py", "import torch.nn as nn\n\nclass DenseNet(nn.Module):\n    pass\n")
    project.write("train.py", MODULE_CNN.replace("MODULE", module).replace("CLASS", cls))
    found = [f for f in project.findings("--no-cache", "--preview", "--select", "GL403", "train.py")]
    assert bool(found) is reported, found


# xuebinqin/U-2-Net u2net_train.py (blind33, post hoc): `from model import U2NET` (a module whose
# layers are `nn.Conv2d`s) and the project's own `RandomCrop(288)` from data_loader.py
U2NET_TRAIN = """
import torch
from torchvision import transforms
from data_loader import RescaleT, RandomCrop, SalObjDataset
from model import U2NET

dataset = SalObjDataset(transform=transforms.Compose([RescaleT(320), RandomCrop(CROP)]))
net = U2NET(3, 1).cuda()
optimizer = torch.optim.Adam(net.parameters())
for epoch in range(100000):
    for data in loader:
        loss = net(data["image"].cuda()).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""
DATA_LOADER = """
class RescaleT(object):
    def __init__(self, output_size):
        self.output_size = output_size

class RandomCrop(object):
    def __init__(self, output_size):
        self.output_size = output_size

class SalObjDataset:
    pass
"""


@pytest.mark.parametrize(("model_module", "crop", "reported"), [
    ("import torch.nn as nn\n\nclass U2NET(nn.Module):\n    def __init__(self, i, o):\n        self.c = nn.Conv2d(i, o, 3)\n", "288", True),
    # a model module without convolutions (an MLP): no CNN
    ("import torch.nn as nn\n\nclass U2NET(nn.Module):\n    def __init__(self, i, o):\n        self.c = nn.Linear(i, o)\n", "288", False),
    # a crop size it cannot read is no fixed-size evidence
    ("import torch.nn as nn\n\nclass U2NET(nn.Module):\n    def __init__(self, i, o):\n        self.c = nn.Conv2d(i, o, 3)\n", "size", False),
], ids=["conv-model-fixed-crop", "no-convolutions", "unknown-crop"])
def test_gl403_a_convolutional_model_class_and_crop_of_the_project(project, model_module, crop, reported):
    project.write("model.py", model_module)
    project.write("data_loader.py", DATA_LOADER)
    project.write("u2net_train.py", U2NET_TRAIN.replace("CROP", crop))
    found = project.findings("--no-cache", "--preview", "--select", "GL403", "u2net_train.py")
    assert bool(found) is reported, found
