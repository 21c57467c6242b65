"""GL207, GL413-GL416 (issue 14): true positives in several spellings, the traps that must stay
silent, and the fixes. Written from scratch in the shape of real training code."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from greenlint.config import Settings
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection
from rule_helpers import findings, fires, silent

HEADER = """
import torch
import torch.nn.functional as F
from models import Transformer

model = Transformer().cuda()
opt = torch.optim.AdamW(model.parameters())
"""


def loop(body: str, epochs: str = "100", header: str = HEADER) -> str:
    """A training loop of `epochs` epochs whose step ends with `body` (8-space indented)."""
    steps = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return textwrap.dedent(header) + (
        f"for epoch in range({epochs}):\n"
        "    for step, (x, y) in enumerate(loader):\n"
        "        loss = F.cross_entropy(model(x.cuda()), y.cuda())\n"
        "        opt.zero_grad()\n"
        "        loss.backward()\n"
        "        opt.step()\n"
        f"{steps}\n"
    )


# ---- GL413 torch-compile-missing -------------------------------------------------------------------

AMP = HEADER + "scaler = torch.amp.GradScaler()\n"  # mixed precision is on: GL413's turn


def test_gl413_long_gpu_run_without_compile():
    found = findings(loop("pass", header=AMP), "GL413")
    assert len(found) == 1 and "100 epochs" in found[0].message


def test_gl413_leaves_float32_loops_to_gl101():
    assert not findings(loop("pass"), "GL413") and findings(loop("pass"), "GL101")


def test_gl413_configured_epochs_and_step_loops():
    argparse_header = AMP + "import argparse\np = argparse.ArgumentParser()\np.add_argument('--epochs', type=int, default=300)\nargs = p.parse_args()\n"
    assert "by default" in findings(loop("pass", epochs="args.epochs", header=argparse_header), "GL413")[0].message
    steps = AMP + """
step = 0
while step < 20000:
    x, y = next(batches)
    loss = F.cross_entropy(model(x.cuda()), y.cuda())
    loss.backward()
    opt.step()
    opt.zero_grad()
    step += 1
"""
    fires("GL413", steps)


@pytest.mark.parametrize(
    "change",
    [
        ("model = Transformer().cuda()", "model = torch.compile(Transformer().cuda())"),
        ("model = Transformer().cuda()", "model = Transformer().cuda()\nmodel.compile()"),
        ("opt = torch", "# torch.compile breaks on our custom kernels\nopt = torch"),
        ("opt = torch", "if args.compile:\n    pass\nopt = torch"),
        ("from models import Transformer", "import pytest\nfrom models import Transformer"),
        (".cuda()", ""),  # no GPU
        ("opt = torch", "cuda = False\nopt = torch"),  # the GPU code is switched off
    ],
)
def test_gl413_silent_when_compiled_or_not_a_gpu_run(change):
    source = loop("pass", header=AMP).replace(*change)
    silent("GL413", source)


@pytest.mark.parametrize("epochs", ["3", "20", "args.epochs", "n_epochs"])
def test_gl413_silent_on_short_or_unknown_runs(epochs):
    silent("GL413", loop("pass", epochs=epochs, header=AMP))


def test_gl413_silent_on_tiny_models_and_mnist():
    tiny = AMP.replace("from models import Transformer\n", "").replace("Transformer()", "torch.nn.Linear(784, 10)")
    silent("GL413", loop("pass", header=tiny))
    mnist = AMP + "from torchvision import datasets\ndata = datasets.MNIST('.', download=True)\n"
    silent("GL413", loop("pass", header=mnist))
    # the same tiny layer repeated in a comprehension is not known to be tiny
    stacked = tiny.replace("torch.nn.Linear(784, 10)", "torch.nn.Sequential(*[torch.nn.Linear(784, 784) for _ in range(8)])")
    fires("GL413", loop("pass", header=stacked))


def _lint_project(root: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list:
    (root / "pyproject.toml").write_text("")
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("ALL",)))
    return lint_files([root / "train.py"], settings, use_cache=False, jobs=1).findings


def test_gl413_knows_another_project_file_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    files = {"train.py": loop("pass", header=AMP) + "\nif __name__ == '__main__':\n    pass\n", "models.py": "class Transformer:\n    pass\n"}
    assert "GL413" in [f.code for f in _lint_project(tmp_path, files, monkeypatch)]
    files["utils.py"] = "import torch\n\ndef build(model):\n    return torch.compile(model)\n"
    assert "GL413" not in [f.code for f in _lint_project(tmp_path, files, monkeypatch)]


# ---- GL414 loss-tensor-accumulated -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["losses.append(loss)", "total_loss += loss", "total_loss = total_loss + loss", "running += loss * x.size(0)"]
)
def test_gl414_fires_and_fix_detaches(line):
    source = loop(line)
    [finding] = findings(source, "GL414")
    assert finding.fix is not None and finding.fix.applicability == "safe"
    from rule_helpers import fixed

    assert "loss.detach()" in fixed(source)


@pytest.mark.parametrize(
    "line",
    [
        "losses.append(loss.item())",
        "total_loss += loss.detach()",
        "total_loss += float(loss)",
        "total_loss += loss.data",
        "if step % 100 == 0:\n    losses.append(loss)",
        "if torch.isnan(loss):\n    bad.append(loss)",
        "preds.append(x)",
    ],
)
def test_gl414_silent_on_detached_or_rare_accumulation(line):
    silent("GL414", loop(line))


def test_gl414_silent_when_the_accumulator_is_backpropagated():
    source = HEADER + """
for x, y in loader:
    losses = []
    for part in x.chunk(4):
        loss = F.cross_entropy(model(part.cuda()), y.cuda())
        losses.append(loss)
    torch.stack(losses).mean().backward()
    opt.step()
"""
    silent("GL414", source)


def test_gl414_silent_when_the_name_is_rebound_to_a_number():
    silent("GL414", loop("loss = loss.item()\nlosses.append(loss)"))


def test_gl414_scaler_backward_counts():
    source = loop("total += loss").replace("loss.backward()", "scaler.scale(loss).backward()")
    fires("GL414", source)


# ---- GL415 cache-cleared-every-step ----------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "torch.cuda.empty_cache()",
        "gc.collect()",
        "if torch.cuda.is_available():\n    torch.cuda.empty_cache()",
        "free_memory()",
    ],
)
def test_gl415_fires_every_step(line):
    header = "import gc\n" + HEADER + "\ndef free_memory():\n    gc.collect()\n    torch.cuda.empty_cache()\n"
    assert len(findings(loop(line, header=header), "GL415")) == 1


@pytest.mark.parametrize(
    "line",
    [
        "if step % 1000 == 0:\n    torch.cuda.empty_cache()",
        "try:\n    pass\nexcept RuntimeError:\n    torch.cuda.empty_cache()",
        "if args.clear_cache:\n    torch.cuda.empty_cache()",
        "if step % 10 == 0:\n    rare_cleanup()",
    ],
)
def test_gl415_silent_under_rare_guards(line):
    header = "import gc\n" + HEADER + "\ndef rare_cleanup():\n    torch.cuda.empty_cache()\n"
    silent("GL415", loop(line, header=header))


def test_gl415_once_per_epoch_or_in_evaluation_is_silent():
    source = loop("pass") + "    torch.cuda.empty_cache()\n"  # after the step loop: once per epoch
    silent("GL415", source)
    evaluation = HEADER + "with torch.no_grad():\n    for x, y in val_loader:\n        model(x.cuda())\n        torch.cuda.empty_cache()\n"
    silent("GL415", evaluation)


def test_gl415_per_step_hooks_and_trainer_arguments():
    callback = """
import torch
from transformers import TrainerCallback, TrainingArguments

class ClearCache(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        torch.cuda.empty_cache()

class Periodic(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % 50 == 0:
            torch.cuda.empty_cache()

args = TrainingArguments("out", torch_empty_cache_steps=1)
ok = TrainingArguments("out", torch_empty_cache_steps=100)
"""
    assert len(findings(callback, "GL415")) == 2


# ---- GL416 ddp-find-unused-parameters --------------------------------------------------------------

DDP = HEADER + "from torch.nn.parallel import DistributedDataParallel as DDP\n"


@pytest.mark.parametrize(
    "line",
    [
        "model = DDP(model, device_ids=[0], find_unused_parameters=True)",
        "import lightning as L\ntrainer = L.Trainer(strategy='ddp_find_unused_parameters_true')",
        "from lightning.pytorch.strategies import DDPStrategy\ns = DDPStrategy(find_unused_parameters=True)",
        "from transformers import TrainingArguments\na = TrainingArguments('o', ddp_find_unused_parameters=True)",
        "from accelerate import DistributedDataParallelKwargs\nk = DistributedDataParallelKwargs(find_unused_parameters=True)",
    ],
)
def test_gl416_fires_without_a_sign_of_need(line):
    [finding] = findings(loop("pass", header=DDP + line + "\n"), "GL416")
    assert finding.fix is not None and finding.fix.applicability == "unsafe"


@pytest.mark.parametrize(
    "extra",
    [
        "model = DDP(model, find_unused_parameters=True)  # the aux head is unused on some steps",
        "model = DDP(model, find_unused_parameters=False)",
        "for p in model.backbone.parameters():\n    p.requires_grad = False\nmodel = DDP(model, find_unused_parameters=True)",
        "model = DDP(model, find_unused_parameters=True, static_graph=True)",
        "model = DDP(model, find_unused_parameters=args.unused)",
        "d_opt = torch.optim.Adam(disc.parameters())\nmodel = DDP(model, find_unused_parameters=True)",
    ],
)
def test_gl416_silent_when_need_is_shown_or_flag_off(extra):
    silent("GL416", loop("pass", header=DDP + extra + "\n"))


def test_gl416_silent_when_forward_skips_a_submodule():
    model = """
class Net(torch.nn.Module):
    def forward(self, x):
        if self.training:
            x = self.aux(x)
        return self.head(x)

model = DDP(Net().cuda(), find_unused_parameters=True)
"""
    silent("GL416", loop("pass", header=DDP + model))


# ---- GL207 eager-attention -------------------------------------------------------------------------

ATTENTION = """
import math
import torch
import torch.nn.functional as F

class Attention(torch.nn.Module):
    def forward(self, q, k, v, mask=None):
{body}
"""


def attention(body: str) -> str:
    return ATTENTION.format(body=textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8))


@pytest.mark.parametrize(
    "body",
    [
        """
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        return att @ v
        """,
        """
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        if mask is not None:
            scores = scores + mask
        probs = scores.softmax(dim=-1)
        return torch.matmul(probs, v)
        """,
        """
        w = torch.einsum("bhqd,bhkd->bhqk", q, k) * self.scale
        w = torch.softmax(w.float(), dim=-1).type_as(q)
        return torch.einsum("bhqk,bhkd->bhqd", w, v)
        """,
    ],
)
def test_gl207_hand_written_attention(body):
    [finding] = findings(attention(body), "GL207")
    assert "scaled_dot_product_attention" in finding.message


@pytest.mark.parametrize(
    "body",
    [
        # the weights are the result: SDPA does not give them
        "w = F.softmax(q @ k.transpose(-2, -1), dim=-1)\nreturn w",
        # the weights are returned, and never multiplied with the values here
        "w = F.softmax(q @ k.transpose(-2, -1), dim=-1)\nreturn w, v",
        # a score function SDPA cannot express
        "s = q @ k.transpose(-2, -1)\ns = self.mask_fn(s)\nw = F.softmax(s, dim=-1)\nreturn w @ v",
        # tanh soft-capping of the logits
        "s = torch.tanh(q @ k.transpose(-2, -1) / 50.0) * 50.0\nw = F.softmax(s, dim=-1)\nreturn w @ v",
        # a learned bias computed on the fly
        "s = q @ k.transpose(-2, -1) + self.rel_pos(q.size(1))\nw = F.softmax(s, dim=-1)\nreturn w @ v",
        # softmax over another axis: not attention as SDPA computes it
        "w = F.softmax(q @ k.transpose(-2, -1), dim=1)\nreturn w @ v",
        # weights stored for visualisation
        "w = F.softmax(q @ k.transpose(-2, -1), dim=-1)\nself.last_weights = w\nreturn w @ v",
    ],
)
def test_gl207_silent_where_sdpa_cannot_apply(body):
    silent("GL207", attention(body))


def test_gl207_weights_returned_beside_the_output():
    body = """
    attn = torch.matmul(q / self.temperature, k.transpose(2, 3))
    if mask is not None:
        attn = attn.masked_fill(mask == 0, -1e9)
    attn = self.dropout(F.softmax(attn, dim=-1))
    return torch.matmul(attn, v), attn
    """
    [finding] = findings(attention(body), "GL207")
    assert "also returns the weights" in finding.message


def test_gl207_silent_when_the_module_has_a_fused_path():
    body = """
    if self.flash:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    att = F.softmax(q @ k.transpose(-2, -1), dim=-1)
    return att @ v
    """
    silent("GL207", attention(body))


HF = """
import torch
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-3.2-1B"{load})
trainer = Trainer(model=model, args=TrainingArguments("out"), train_dataset=data)
trainer.train()
"""


def test_gl207_hf_eager_and_output_attentions():
    found = findings(HF.format(load=', attn_implementation="eager"'), "GL207")
    assert len(found) == 1 and found[0].fix is not None
    assert findings(HF.format(load=", output_attentions=True"), "GL207")
    raw = loop("pass").replace("model(x.cuda())", "model(x.cuda(), output_attentions=True).logits")
    fires("GL207", raw)


@pytest.mark.parametrize(
    "load",
    [
        ', attn_implementation="sdpa"',
        ', attn_implementation="eager")\nmaps = model(x).attentions\nplot(maps)\n_ = (0',  # the weights are read
    ],
)
def test_gl207_hf_silent(load):
    silent("GL207", HF.format(load=load))


def test_gl207_hf_silent_for_gemma2_and_inference():
    silent("GL207", HF.format(load=', attn_implementation="eager"').replace("meta-llama/Llama-3.2-1B", "google/gemma-2-9b"))
    inference = 'from transformers import AutoModel\nmodel = AutoModel.from_pretrained("bert-base-uncased", attn_implementation="eager")\n'
    silent("GL207", inference)


def test_gl207_output_attentions_in_forward_with_unread_weights():
    source = loop("pass").replace("from models import Transformer\n", "from transformers import AutoModel\n") + """
class Classifier(torch.nn.Module):
    def forward(self, ids):
        output = self.transformer(ids, output_attentions=True)
        attention = output.attentions[-1]  # assigned, never read
        return self.fc(output.last_hidden_state[:, 0])
"""
    fires("GL207", source)
    silent("GL207", source.replace("return self.fc(", "self.maps = attention\n        return self.fc("))


def test_gl416_fixes_each_flag_with_its_own_replacement():
    from rule_helpers import fixed

    source = DDP + (
        "import lightning as L\n"
        "trainer = L.Trainer(strategy='ddp_find_unused_parameters_true')\n"
        "model = DDP(model, find_unused_parameters=True)\n"
    )
    result = fixed(loop("pass", header=source))
    assert "strategy=\"ddp\"" in result and "find_unused_parameters=False" in result


def test_gl416_an_apex_branch_and_its_else_are_one_backward_pass():
    """kekmodel/FixMatch-pytorch train.py (blind42, post hoc): `if args.amp: with amp.scale_loss(...)
    as scaled_loss: scaled_loss.backward()` / `else: loss.backward()` is one backward pass per
    step, not the two of a GAN that would show a need for `find_unused_parameters`."""
    from rule_helpers import findings

    source = """
        import torch
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank], find_unused_parameters=True)
        for x, y in loader:
            loss = model(x).sum()
            if args.amp:
                with amp.scale_loss(loss, optimizer) as scaled_loss:
                    scaled_loss.backward()
            else:
                loss.backward()
            optimizer.step()
    """
    assert len(findings(source, "GL416")) == 1
    # two passes that both run (a GAN's discriminator and generator) still show a need
    two = source.replace("            optimizer.step()\n", "            optimizer.step()\n            g_loss.backward()\n")
    assert findings(two, "GL416") == []
