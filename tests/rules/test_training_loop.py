"""GL4xx training-loop hygiene: true positives in several spellings, the traps that must stay
silent (from the rule catalog's false-positive risks), and each fix's before/after."""

from __future__ import annotations

import textwrap

import pytest
from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)


def _source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def rows(code: str, source: str) -> list[int]:
    """Rows at which `code` fires, with every rule enabled."""
    return [f.location.row for f in lint_source(_source(source).encode(), "x.py", ALL) if f.code == code]


def messages(code: str, source: str) -> list[str]:
    return [f.message for f in lint_source(_source(source).encode(), "x.py", ALL) if f.code == code]


def fixed(code: str, source: str, unsafe: bool = True) -> str:
    """The text after applying `code`'s fixes only (other rules' fixes would blur the comparison)."""
    text = _source(source)
    outcome = fix_request(LintRequest(None, "x.py", text.encode(), frozenset({code})), unsafe=unsafe)  # type: ignore[arg-type]
    result = outcome.fixed_text if outcome.fixed_text is not None else text
    # idempotent: the fixed text no longer has a fixable finding of this rule
    again = fix_request(LintRequest(None, "x.py", result.encode(), frozenset({code})), unsafe=unsafe)  # type: ignore[arg-type]
    assert again.fixed_text is None, f"{code} fix is not idempotent:\n{again.fixed_text}"
    return result


GPU_HEADER = """
import torch
import torch.nn.functional as F

model = Net().cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
"""


# ---- GL401 host-device-sync-in-hot-loop ------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "total += loss.item()",
        "preds.append(out.argmax(1).cpu())",
        "ids = out.argmax(-1).tolist()",
        "acc = float((out.argmax(1) == y).sum())",
        "print((out.argmax(1) == y).sum())",
        "torch.cuda.synchronize()",
    ],
)
def test_gl401_sync_every_step(line):
    assert rows("GL401", _step_with(line)) == [12]


def _step_with(line: str) -> str:
    """A GPU training loop whose step ends with `line` (row 12)."""
    return GPU_HEADER + textwrap.indent(
        _source("""
            for x, y in loader:
                out = model(x.cuda())
                loss = F.cross_entropy(out, y.cuda())
                loss.backward()
                opt.step()
                opt.zero_grad()
                LINE
        """).replace("LINE", line),
        "",
    )


def test_gl401_leaves_a_per_step_empty_cache_to_gl415():
    # one problem, one finding: GL415 (default set) reports it with its own measured saving
    # (McGregorWwww/UCTransNet, blind54, had both)
    source = _step_with("torch.cuda.empty_cache()")
    assert rows("GL401", source) == []
    assert rows("GL415", source) == [12]


@pytest.mark.parametrize("line", ["print(loss)", 'print(f"loss {loss:.3f}")', 'print("loss", loss.item())'])
def test_gl401_leaves_a_per_step_loss_print_to_gl504(line):
    # one finding per problem: the per-step print of the loss is GL504's (heavy-per-step-logging)
    source = GPU_HEADER + _source("""
        for x, y in loader:
            out = model(x.cuda())
            loss = F.cross_entropy(out, y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            LINE
    """).replace("LINE", line)
    assert rows("GL401", source) == []
    assert rows("GL504", source) == [12]


def test_gl401_sync_in_a_helper_called_every_step():
    source = """
        import torch

        model = Net().to("cuda")

        def train_step(batch):
            loss = model(batch).mean()
            loss.backward()
            optimizer.step()
            return loss.item()

        for batch in loader:
            train_step(batch)
    """
    found = messages("GL401", source)
    assert len(found) == 1 and "in `train_step()`, which runs on every step" in found[0]


def test_gl401_scaler_and_accelerate_spellings():
    source = """
        import torch
        from accelerate import Accelerator

        accelerator = Accelerator()
        for x, y in loader:
            loss = criterion(model(x), y)
            accelerator.backward(loss)
            optimizer.step()
            running = float(loss)
    """
    assert rows("GL401", source) == [9]


@pytest.mark.parametrize(
    "body",
    [
        # a logging guard
        """
        if step % 100 == 0:
            print(f"loss {loss.item():.4f}")
        """,
        # control flow needs the value: NaN check and early exit
        """
        value = loss.item()
        if not math.isfinite(value):
            break
        """,
        # an `if` test itself
        """
        if loss.item() > 1e3:
            break
        """,
        # reinforcement learning: the environment needs the action on the host
        """
        action = policy(obs).argmax()
        obs, reward, done, info = env.step(action.item())
        """,
        # already on the host
        """
        n = float(len(x))
        print(step, "done")
        """,
    ],
)
def test_gl401_traps(body):
    source = GPU_HEADER + "for step, (x, y) in enumerate(loader):\n" + textwrap.indent(
        _source("""
            loss = F.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
        """) + _source(body),
        "    ",
    )
    assert rows("GL401", source) == []


def test_gl401_helper_parameters_that_are_host_numbers():
    source = """
        import torch

        model = Net().cuda()

        def compute_loss(batch, weight):
            out = model(batch)
            return out.mean() + float(weight) * out.std()

        for batch in loader:
            loss = compute_loss(batch, args.weight)
            loss.backward()
            optimizer.step()
    """
    assert rows("GL401", source) == []


def test_gl401_silent_in_test_modules():
    source = GPU_HEADER + "import pytest\n" + _source("""
        for x, y in loader:
            loss = F.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            losses.append(loss.item())
    """)
    assert rows("GL401", source) == []


def test_gl401_silent_on_cpu_only_modules_and_outside_the_step_loop():
    cpu = """
        import torch

        for x, y in loader:
            loss = model(x).sum()
            loss.backward()
            opt.step()
            total += loss.item()
    """
    assert rows("GL401", cpu) == []
    per_epoch = GPU_HEADER + _source("""
        for epoch in range(10):
            for x, y in loader:
                loss = F.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                opt.step()
            print(loss.item())
    """)
    assert rows("GL401", per_epoch) == []


def test_gl401_fix_accumulates_on_the_device():
    after = fixed("GL401", GPU_HEADER + _source("""
        for epoch in range(3):
            running_loss = 0.0
            for x, y in loader:
                loss = F.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                opt.step()
                running_loss += loss.item() * x.size(0)
            history.append(running_loss / len(loader))
    """))
    assert after.endswith(_source("""
        for epoch in range(3):
            running_loss = 0.0
            for x, y in loader:
                loss = F.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                opt.step()
                running_loss += loss.detach().float() * x.size(0)
            running_loss = float(running_loss)
            history.append(running_loss / len(loader))
    """))


def test_gl401_no_fix_when_the_total_is_read_inside_the_loop():
    source = GPU_HEADER + _source("""
        running_loss = 0.0
        for i, (x, y) in enumerate(loader):
            loss = F.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            running_loss += loss.item()
            if i % 100 == 99:
                print(running_loss / 100)
                running_loss = 0.0
    """)
    assert rows("GL401", source) == [11]
    assert fixed("GL401", source) == _source(source)


# ---- GL402 eval-without-no-grad ----------------------------------------------------------------------


def test_gl402_eval_function_without_no_grad():
    source = """
        import torch

        def evaluate(model, loader):
            correct = 0
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum()
            return correct
    """
    assert rows("GL402", source) == [6]  # the forward pass


def test_gl402_after_model_eval_in_the_training_function():
    source = """
        import torch

        def main():
            for epoch in range(10):
                model.train()
                for x, y in train_loader:
                    loss = model(x).sum()
                    loss.backward()
                    optimizer.step()
                model.eval()
                for x, y in val_loader:
                    out = model(x)
    """
    assert rows("GL402", source) == [12]


def test_gl402_self_attribute_model_and_forward():
    source = """
        import torch as T

        class Runner:
            def validate(self):
                self.net.train(False)
                for batch in self.loader:
                    logits = self.net.forward(batch)
                    scores = self.classifier(logits)
    """
    assert rows("GL402", source) == [7]


@pytest.mark.parametrize(
    "source",
    [
        # decorated
        """
        import torch

        @torch.inference_mode()
        def evaluate(model, loader):
            for x, y in loader:
                out = model(x)
        """,
        # the caller switches autograd off
        """
        import torch

        def evaluate(model, loader):
            for x, y in loader:
                out = model(x)

        with torch.no_grad():
            evaluate(model, val_loader)
        """,
        # run-time choice (the classic transfer-learning tutorial)
        """
        import torch

        def validate(model, loader, phase):
            with torch.set_grad_enabled(phase == "train"):
                for x, y in loader:
                    out = model(x)
        """,
        # gradient-based evaluation: saliency
        """
        import torch

        def evaluate_saliency(model, loader):
            for x, y in loader:
                x.requires_grad_()
                score = model(x).max()
                score.backward()
        """,
        # Hugging Face generate is already no-grad
        """
        import torch

        def predict(model, loader):
            model.eval()
            for batch in loader:
                tokens = model.generate(**batch)
        """,
        # a pytest test
        """
        import pytest
        import torch

        def test_forward_shapes(model):
            for shape in [(1, 3), (2, 3)]:
                out = model(torch.zeros(shape))
        """,
        # `with torch.no_grad():` inside the loop, around the forward pass (the Accelerate examples)
        """
        import torch

        def main():
            model.eval()
            for step, batch in enumerate(eval_dataloader):
                with torch.no_grad():
                    outputs = model(**batch)
                predictions = outputs.logits.argmax(dim=-1)
        """,
        # a method with "model" inside its name is not the forward pass
        """
        import torch

        def preview(self, split_mod):
            split_mod.eval()
            for node in split_mod.graph.nodes:
                self._lower_model_to_backend(node)
        """,
        # Lightning: validation_step runs without grad
        """
        import torch
        import lightning as L

        class Module(L.LightningModule):
            def validation_step(self, batch, batch_idx):
                for x in batch:
                    self.model(x)
        """,
    ],
)
def test_gl402_traps(source):
    assert rows("GL402", source) == []


def test_gl402_fix_wraps_the_loop_in_no_grad():
    after = fixed("GL402", """
        from torch import nn

        def evaluate(model, loader):
            model.eval()
            # score every batch
            for x, y in loader:
                out = model(x)
            return out
    """)
    assert after == _source("""
        from torch import nn
        import torch

        def evaluate(model, loader):
            model.eval()
            # score every batch
            with torch.no_grad():
                for x, y in loader:
                    out = model(x)
            return out
    """)


def test_gl402_no_fix_in_a_generator():
    source = """
        import torch

        def predict(model, loader):
            for x in loader:
                yield model(x)
    """
    assert rows("GL402", source) == [5]
    assert fixed("GL402", source) == _source(source)


# ---- GL403 cudnn-benchmark-off / GL404 channels-last-missing --------------------------------------------

CNN_TRAINING = """
import torch
import torchvision
from torchvision import transforms

tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
model = torchvision.models.resnet50().cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(90):
    for x, y in loader:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        opt.step()
"""


def test_gl403_and_gl404_fire_on_a_resnet_training_script():
    assert rows("GL403", CNN_TRAINING) == [8]  # where training starts (the epoch loop)
    assert rows("GL404", CNN_TRAINING) == [9]


def test_gl403_conv_layers_and_stl10():
    source = """
        import torch
        from torch import nn
        from torchvision.datasets import STL10

        train = STL10("data", split="train", download=True)
        net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10)).to("cuda")
        optimizer = torch.optim.Adam(net.parameters())
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
    """
    assert rows("GL403", source) == [8]
    assert rows("GL404", source) == []  # float32: GL101's business, not channels_last


def test_gl403_timm_and_literal_tensor_sizes():
    source = """
        import timm
        import torch

        model = timm.create_model("resnet18").cuda()
        for step in range(100):
            x = torch.randn(64, 3, 224, 224, device="cuda")
            loss = model(x).sum()
            loss.backward()
            opt.step()
    """
    assert rows("GL403", source) == [5]


@pytest.mark.parametrize(
    "extra",
    [
        "torch.backends.cudnn.benchmark = True",
        "torch.backends.cudnn.benchmark = args.benchmark",
        "torch.backends.cudnn.deterministic = args.deterministic",
        "torch.use_deterministic_algorithms(args.deterministic)",
        "set_deterministic(seed=0)",
    ],
)
def test_gl403_traps_benchmark_or_determinism_chosen(extra):
    assert rows("GL403", CNN_TRAINING.replace("opt = ", extra + "\nopt = ")) == []


@pytest.mark.parametrize(
    "extra",
    [
        "torch.backends.cudnn.deterministic = True",
        "torch.use_deterministic_algorithms(True)",
        "torch.backends.cudnn.benchmark = False",
    ],
)
def test_gl403_reports_determinism_forced_at_its_line(extra):
    # a seeding block that forces deterministic algorithms / turns benchmark off for a fixed-size
    # CNN run: labelled waste in all four dev corpora (jionie/Bengaliai 02b580d train.py:125,
    # vltkv/Generate-faces-with-GAN c886e7f main.py:50, rasbt/deeplearning-models cnn-vgg16-celeba)
    source = CNN_TRAINING.replace("opt = ", extra + "\nopt = ")
    assert rows("GL403", source) == [7]
    assert "bit-exact reproducibility" in messages("GL403", source)[0]
    # set back to True later (a benchmark switch after the seeding block): the module chose
    both = CNN_TRAINING.replace("opt = ", extra + "\ntorch.backends.cudnn.benchmark = True\nopt = ")
    assert rows("GL403", both) == []


def test_gl403_trap_variable_input_sizes_and_cpu():
    no_fixed_size = CNN_TRAINING.replace("transforms.RandomResizedCrop(224), ", "")
    assert rows("GL403", no_fixed_size) == []
    cpu = CNN_TRAINING.replace(".cuda()", "").replace('"cuda"', '"cpu"')
    assert rows("GL403", cpu) == []


def test_gl403_trap_a_dummy_tensor_is_no_evidence_of_fixed_inputs():
    source = """
        import torch
        from torch import nn
        from torchvision import datasets

        data = datasets.ImageFolder("train")
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten()).to("cuda")
        print(model(torch.randn(1, 3, 64, 64).cuda()).shape)
        for x, y in loader:
            loss = model(x.cuda()).sum()
            loss.backward()
            opt.step()
    """
    assert rows("GL403", source) == []


def test_gl403_fix_inserts_the_flag_before_training():
    after = fixed("GL403", CNN_TRAINING)
    assert "opt = torch.optim.SGD(model.parameters(), lr=0.1)\ntorch.backends.cudnn.benchmark = True\nfor epoch in range(90):" in after


@pytest.mark.parametrize(
    "change",
    [
        ("model = torchvision", "model = torchvision.models.resnet50().cuda().to(memory_format=torch.channels_last)\nm2 = torchvision"),
        ('with torch.autocast("cuda", dtype=torch.bfloat16):', "if True:"),  # no mixed precision
        ('torch.autocast("cuda", dtype=torch.bfloat16)', 'torch.autocast("cuda", enabled=args.amp)'),  # configurable
        ("torchvision.models.resnet50()", "torchvision.models.vit_b_16()"),  # not a CNN
    ],
)
def test_gl404_traps(change):
    old, new = change
    assert rows("GL404", CNN_TRAINING.replace(old, new)) == []


def test_gl404_conv2d_with_grad_scaler_and_half():
    for precision in ("scaler = torch.cuda.amp.GradScaler()", "model = model.half()"):
        source = f"""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten()).cuda()
{precision}
for x, y in loader:
    loss = model(x).sum()
    loss.backward()
    opt.step()
"""
        assert rows("GL404", source) == [6]


# ---- GL405 optimizer-not-fused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        'import torch\nmodel = Net().cuda()\nopt = torch.optim.AdamW(model.parameters(), lr=3e-4)\n',
        'from torch.optim import Adam\nmodel = Net().to("cuda")\nopt = Adam(model.parameters())\n',
        'import torch.optim as optim\nimport torch\ndevice = torch.device("cuda")\nopt = optim.Adam(params, 1e-3, (0.9, 0.99))\n',
    ],
)
def test_gl405_fires(source):
    assert len(rows("GL405", source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        'import torch\nmodel = Net().cuda()\nopt = torch.optim.AdamW(model.parameters(), fused=True)\n',
        'import torch\nmodel = Net().cuda()\nopt = torch.optim.AdamW(model.parameters(), foreach=False)\n',
        'import torch\nmodel = Net().cuda()\nopt = torch.optim.AdamW(model.parameters(), **cfg.optim)\n',
        'import torch\nmodel = Net()\nopt = torch.optim.AdamW(model.parameters())\n',  # CPU module
        'import torch\nmodel = Net().cuda()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n',
        (
            'from transformers import Trainer, TrainingArguments\nargs = TrainingArguments("out", bf16=True)\n'
            "Trainer(model=model.cuda(), args=args).train()\n"
        ),
    ],
)
def test_gl405_traps(source):
    assert rows("GL405", source) == []


def test_gl405_fix_sets_fused():
    after = fixed("GL405", """
        import torch

        model = Net().cuda()
        opt = torch.optim.AdamW(
            model.parameters(),
            lr=3e-4,
        )
    """)
    assert "    lr=3e-4,\n    fused=True,\n)" in after


# ---- GL406 zero-grad-set-to-none-false ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call", ["optimizer.zero_grad(set_to_none=False)", "model.zero_grad(False)", "self.opt.zero_grad(set_to_none = False)"]
)
def test_gl406_fires(call):
    assert rows("GL406", f"import torch\n{call}\n") == [2]


@pytest.mark.parametrize(
    "call", ["optimizer.zero_grad()", "optimizer.zero_grad(set_to_none=True)", "optimizer.zero_grad(set_to_none=args.keep)",
             "zero_grad(False)"]
)
def test_gl406_traps(call):
    assert rows("GL406", f"import torch\n{call}  # set_to_none=False\n") == []


def test_gl406_fix_is_safe_and_keeps_the_style():
    assert fixed("GL406", "opt.zero_grad(set_to_none=False)\nmodel.zero_grad(False)\n", unsafe=False) == (
        "opt.zero_grad(set_to_none=True)\nmodel.zero_grad(True)\n"
    )


def test_gl406_fix_is_unsafe_when_the_module_reads_grad():
    source = "opt.zero_grad(set_to_none=False)\nnorms = [p.grad.norm() for p in model.parameters()]\n"
    assert fixed("GL406", source, unsafe=False) == source
    assert "set_to_none=True" in fixed("GL406", source, unsafe=True)


def test_gl406_silent_when_the_module_accumulates_into_grad():
    # a parameter server adds worker gradients into the zeroed tensors: it needs them to exist
    source = "import torch\nopt.zero_grad(set_to_none=False)\nfor p, g in zip(params, grads):\n    p.grad += g\n"
    assert rows("GL406", source) == []


# ---- GL407 debug-apis-left-enabled ---------------------------------------------------------------------


def test_gl407_fires_on_each_switch():
    source = """
        import torch
        import tensorflow as tf
        from torch.autograd import profiler

        torch.autograd.set_detect_anomaly(True)
        tf.config.run_functions_eagerly(True)
        model.compile(optimizer="adam", run_eagerly=True)

        with torch.autograd.detect_anomaly():
            pass

        def train():
            for x in loader:
                loss = model(x).sum()
                loss.backward()
                opt.step()

        with profiler.profile() as prof:
            train()
    """
    assert rows("GL407", source) == [5, 6, 7, 9, 18]


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nif args.debug:\n    torch.autograd.set_detect_anomaly(True)\n",
        "import torch\ntorch.autograd.set_detect_anomaly(args.debug)\n",
        "import torch\ntorch.autograd.set_detect_anomaly(False)\n",
        "import keras\nmodel.compile(optimizer='adam', run_eagerly=False)\n",
        # a bounded profiling window
        """import torch
with torch.profiler.profile(schedule=torch.profiler.schedule(wait=1, warmup=1, active=3)) as prof:
    for x in loader:
        loss = model(x).sum()
        loss.backward()
        opt.step()
        prof.step()
""",
        # profiling inference only
        """import torch
with torch.autograd.profiler.profile() as prof:
    model(x)
""",
    ],
)
def test_gl407_traps(source):
    assert rows("GL407", source) == []


def test_gl407_fix_switches_anomaly_detection_off():
    assert fixed("GL407", "import torch\ntorch.autograd.set_detect_anomaly(True)\n") == (
        "import torch\ntorch.autograd.set_detect_anomaly(False)\n"
    )
    assert fixed("GL407", "import keras\nmodel.compile(loss='mse', run_eagerly=True)\n") == (
        "import keras\nmodel.compile(loss='mse', run_eagerly=False)\n"
    )


# ---- GL408 dataparallel-instead-of-ddp ---------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nmodel = torch.nn.DataParallel(model)\n",
        "import torch.nn as nn\nmodel = nn.DataParallel(model, device_ids=[0, 1]).cuda()\n",
        "from torch.nn.parallel import DataParallel as DP\nnet = DP(net)\n",
        # earhian/Humpback-Whale-Identification-1st- 2bcb126 train.py: the functional form per step
        "from torch.nn.parallel.data_parallel import data_parallel\nfor x in loader:\n    out = data_parallel(model, x)\n",
        "import torch\nout = torch.nn.parallel.data_parallel(model, x, device_ids=[0, 1])\n",
    ],
)
def test_gl408_fires(source):
    assert len(rows("GL408", source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        # the module offers DDP: DataParallel is the deliberate fallback
        (
            "import torch\nif args.distributed:\n    model = torch.nn.parallel.DistributedDataParallel(model)\n"
            "else:\n    model = torch.nn.DataParallel(model)\n"
        ),
        "import torch\nif isinstance(model, torch.nn.DataParallel):\n    model = model.module\n",
        "DataParallel(model)\n",  # not torch's
        "def data_parallel(m, x):\n    return m(x)\nout = data_parallel(model, x)\n",  # the module's own function
    ],
)
def test_gl408_traps(source):
    assert rows("GL408", source) == []


# ---- GL409 keras-predict-in-loop ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        """
        from tensorflow import keras
        model = keras.models.load_model("m.keras")
        for image in images:
            scores.append(model.predict(image[None]))
        """,
        """
        import tensorflow as tf
        net = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        for i in range(len(x)):
            y = net.predict(x[i:i + 1], verbose=0)
        """,
        """
        import keras
        while not done:
            q = model.predict(state.reshape(1, -1))
            state, reward, done = env.step(q.argmax())
        """,
    ],
)
def test_gl409_fires(source):
    assert len(rows("GL409", source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        # predicting the validation set once per epoch
        """
        import keras
        for epoch in range(10):
            model.fit(x, y, epochs=1)
            val = model.predict(x_val)
        """,
        # the same input every time
        """
        import keras
        for threshold in thresholds:
            scores = model.predict(x_test)
        """,
        # scikit-learn model in a module that also imports Keras
        """
        import keras
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression().fit(x, y)
        for row in rows:
            p = clf.predict(row)
        """,
        # no Keras at all
        """
        for row in rows:
            p = model.predict(row)
        """,
    ],
)
def test_gl409_traps(source):
    assert rows("GL409", source) == []


# ---- GL411 xla-disabled -------------------------------------------------------------------------------

TF_STEP = """
import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")

DECORATOR
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""


@pytest.mark.parametrize("decorator", ["@tf.function", "@tf.function(reduce_retracing=True)", "@tf.function(jit_compile=False)"])
def test_gl411_train_step_without_xla(decorator):
    assert rows("GL411", TF_STEP.replace("DECORATOR", decorator)) == [5]


def test_gl411_keras_compile_jit_false():
    assert rows("GL411", "import keras\nmodel.compile(optimizer='adam', jit_compile=False)\n") == [2]


@pytest.mark.parametrize(
    "source",
    [
        TF_STEP.replace("DECORATOR", "@tf.function(jit_compile=True)"),
        TF_STEP.replace("DECORATOR", "@tf.function(jit_compile=args.xla)"),
        TF_STEP.replace("DECORATOR", "@tf.function").replace('gpus = tf.config.list_physical_devices("GPU")', ""),  # no GPU
        TF_STEP.replace("DECORATOR", "@tf.function") + "tf.config.optimizer.set_jit(True)\n",  # auto-clustering
        "import tensorflow as tf\n@tf.function\ndef serve(x):\n    return model(x)\n",
        "import keras\nmodel.compile(optimizer='adam', jit_compile=cfg.jit)\n",
    ],
)
def test_gl411_traps(source):
    assert rows("GL411", source) == []


def test_gl411_fixes():
    after = fixed("GL411", TF_STEP.replace("DECORATOR", "@tf.function"))
    assert "@tf.function(jit_compile=True)\ndef train_step" in after
    assert fixed("GL411", "import keras\nmodel.compile(loss='mse', jit_compile=False)\n") == (
        "import keras\nmodel.compile(loss='mse', jit_compile=True)\n"
    )


# ---- GL412 conv-bias-before-batchnorm ---------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import torch.nn as nn\nblock = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU())\n",
        "from torch.nn import Conv1d, BatchNorm1d\nlayers = [Conv1d(3, 8, 5, bias=True), BatchNorm1d(8)]\n",
        "import torch\nb = torch.nn.Sequential(torch.nn.Conv3d(1, 4, 3, padding=1), torch.nn.SyncBatchNorm(4))\n",
    ],
)
def test_gl412_fires(source):
    assert rows("GL412", source) == [2]


@pytest.mark.parametrize(
    "source",
    [
        "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64))\n",
        "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3, bias=cfg.bias), nn.BatchNorm2d(64))\n",
        "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.BatchNorm2d(64))\n",  # BN after ReLU
        "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm1d(64))\n",  # other dimensionality
        "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3), nn.GroupNorm(8, 64))\n",
    ],
)
def test_gl412_traps(source):
    assert rows("GL412", source) == []


def test_gl412_fix():
    assert fixed("GL412", "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))\n", unsafe=False) == (
        "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64))\n"
    )


def test_gl412_fix_is_unsafe_when_the_module_loads_weights():
    source = "import torch.nn as nn\nb = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))\nb.load_state_dict(sd)\n"
    assert fixed("GL412", source, unsafe=False) == source
    assert "bias=False" in fixed("GL412", source, unsafe=True)


# ---- regressions from the whole-repository precision run (docs/precision.md) -------------------------

INTEL_CPU_TRAINING = """
import intel_extension_for_pytorch as ipex
import torch
from accelerate import Accelerator

accelerator = Accelerator()
text_encoder.to(accelerator.device)
optimizer = torch.optim.AdamW(text_encoder.parameters(), lr=1e-4)
text_encoder, optimizer = ipex.optimize(text_encoder, optimizer=optimizer, dtype=torch.bfloat16)
for batch in loader:
    with torch.cpu.amp.autocast(enabled=True, dtype=torch.bfloat16):
        loss = text_encoder(batch).mean()
    accelerator.backward(loss)
    optimizer.step()
"""


def test_gl405_silent_on_intel_cpu_training_with_ipex():
    # diffusers' intel_opts textual inversion: ipex.optimize fuses the optimizer, and there is no CUDA
    assert rows("GL405", INTEL_CPU_TRAINING) == []
    assert rows("GL405", INTEL_CPU_TRAINING.replace("text_encoder.to(accelerator.device)", 'text_encoder.to("cuda")')) == [7]


def test_gl407_silent_in_a_numerics_utility_that_trains_nothing():
    # torch/_inductor/fx_passes/numeric_utils.py: anomaly mode around a numerics comparison
    source = _source("""
        import torch
        from torch import optim

        def run_model(model_base, model_control, model_input, num_iterations=10):
            for i in range(num_iterations):
                model_base(*model_input)[0].sum().backward(retain_graph=True)
                optimizer_base = optim.SGD(model_base.parameters(), lr=0.01)
                optimizer_base.step()

        def numeric_check_if_enabled(gm_before, gm_after, example_inputs, num_iterations):
            try:
                with torch.autograd.set_detect_anomaly(True):
                    run_model(gm_before, gm_after, example_inputs, num_iterations=num_iterations)
            except Exception as e:
                logger.warning("numeric check failed: %s", e)
    """)
    assert rows("GL407", source) == []
    # the same switch in a function of a module that trains is reported
    trains = source + _source("""
        opt = optim.Adam(model.parameters())
        for x in loader:
            model(x).sum().backward()
            opt.step()
    """)
    assert rows("GL407", trains) == [12]


def test_gl408_silent_in_a_frameworks_data_parallel_strategy():
    # Lightning's DataParallelStrategy.setup_module: DP is the strategy its user selected
    assert rows("GL408", _source("""
        from torch.nn import DataParallel

        class DataParallelStrategy(ParallelStrategy):
            def setup_module(self, module):
                return DataParallel(module=module, device_ids=self.parallel_devices)
    """)) == []
    assert rows("GL408", _source("""
        import torch

        class Runner:
            def setup(self, model):
                self.model = torch.nn.DataParallel(model).cuda()

            def fit(self, loader, opt):
                for x, y in loader:
                    loss = self.model(x).sum()
                    loss.backward()
                    opt.step()
    """)) == [5]


def test_gl405_still_fires_in_training_examples_that_import_mocked_test_loaders():
    # Accelerate's by_feature examples swap in `accelerate.test_utils` dataloaders for their CI only
    assert rows("GL405", _source("""
        import os
        import torch
        from accelerate import Accelerator

        if os.environ.get("TESTING_MOCKED_DATALOADERS", None) == "1":
            from accelerate.test_utils.training import mocked_dataloaders

        accelerator = Accelerator()
        optimizer = torch.optim.AdamW(params=model.parameters(), lr=2e-5)
    """)) == [9]


def test_gl401_item_of_a_numpy_scalar_is_no_gpu_sync():
    # `.item()` on a numpy result runs on the host; only the loss's `.item()` waits for the GPU.
    source = """\
import numpy as np
import torch

model = torch.nn.Linear(2, 2).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
total = 0.0
for x, y in loader:
    out = model(x.cuda())
    loss = out.sum()
    loss.backward()
    opt.step()
    acc = np.mean(y == 0)
    total += acc.item()
    total += np.float64(3).item()
    total += loss.item()
"""
    assert rows("GL401", source) == [15]


def test_gl402_silent_for_volatile_variables():
    """PyTorch < 0.4's spelling of no_grad (bamos/densenet.pytorch train.py:139, blind31: judged
    `present = false`): `Variable(data, volatile=True)` computes nothing for autograd."""
    from rule_helpers import findings

    source = """
        import torch
        import torch.nn.functional as F
        from torch.autograd import Variable

        def test(net, loader):
            net.eval()
            for data, target in loader:
                data, target = data.cuda(), target.cuda()
                data, target = Variable(data, volatile=VOLATILE), Variable(target)
                output = net(data)
                loss = F.nll_loss(output, target)
    """
    assert findings(source.replace("VOLATILE", "True"), "GL402") == []
    assert len(findings(source.replace("VOLATILE", "False"), "GL402")) == 1
