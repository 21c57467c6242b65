"""Autofixes: each fix's before/after, idempotence, encodings, line endings, and never a broken file."""

from __future__ import annotations

import os
import stat
import textwrap

import pytest

from conftest import GPU_TRAINING
from greenlint.engine import LintRequest
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES

# The fixes under test here; other rules' fixes are tested with their rules (tests/rules/).
ALL = frozenset(code for code in ALL_CODES if code.startswith("GL0")) | {"GL101", "GL102", "GL301", "GL309"}
# The command-line tests fix GPU_TRAINING's two findings (GL301, and the preview rule GL309: hence
# --preview), both unsafe fixes.
SELECT = ("--preview", "--select", "GL0,GL301,GL309")


def fixed(source: str, unsafe: bool = True) -> str:
    source = textwrap.dedent(source).lstrip("\n")
    outcome = fix_request(LintRequest(None, "x.py", source.encode(), ALL), unsafe=unsafe)  # type: ignore[arg-type]
    return outcome.fixed_text if outcome.fixed_text is not None else source


def test_gl101_wraps_forward_and_loss_only():
    after = fixed("""
        import torch

        model = torch.nn.Linear(4, 2).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            x, y = x.cuda(), y.cuda()
            opt.zero_grad()
            # forward
            out = model(x)
            loss = torch.nn.functional.cross_entropy(out, y)  # keep me
            loss.backward()
            opt.step()
    """)
    assert after == textwrap.dedent("""\
        import torch

        model = torch.nn.Linear(4, 2).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            x, y = x.cuda(), y.cuda()
            opt.zero_grad()
            # forward
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                out = model(x)
                loss = torch.nn.functional.cross_entropy(out, y)  # keep me
            loss.backward()
            opt.step()
    """)


def test_gl101_in_a_helper_uses_the_torch_alias():
    after = fixed("""
        import torch as T

        def step(batch):
            loss = model(batch).mean()
            loss.backward()
            optimizer.step()

        model = model.cuda()
        for batch in data:
            step(batch)
    """)
    assert '    with T.autocast(device_type="cuda", dtype=T.bfloat16):\n        loss = model(batch).mean()\n    loss.backward()' in after


def test_gl101_adds_the_import_only_when_missing():
    after = fixed("""
        \"\"\"Docstring.\"\"\"
        from torch import nn

        model = nn.Linear(2, 2).cuda()
        for x in data:
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
    """)
    assert after.startswith('"""Docstring."""\nfrom torch import nn\nimport torch\n')
    assert after.count("import torch\n") == 1


def test_gl101_no_fix_when_forward_is_in_the_backward_line():
    source = """
        import torch
        model = model.cuda()
        for x in data:
            model(x).sum().backward()
            optimizer.step()
    """
    assert fixed(source) == textwrap.dedent(source).lstrip("\n")


def test_gl102_keyword_in_the_call_style():
    after = fixed("""
        from transformers import TrainingArguments, Trainer
        import lightning as L
        from accelerate import Accelerator

        args = TrainingArguments(
            output_dir="out",
            num_train_epochs=3,
        )
        short = TrainingArguments("out", num_train_epochs=1)
        trainer = L.Trainer(max_epochs=3)
        acc = Accelerator(mixed_precision="no")
    """)
    assert 'args = TrainingArguments(\n    output_dir="out",\n    num_train_epochs=3,\n    bf16=True,\n)' in after
    assert 'TrainingArguments("out", num_train_epochs=1, bf16=True)' in after
    assert 'L.Trainer(max_epochs=3, precision="bf16-mixed")' in after
    assert 'Accelerator(mixed_precision="bf16")' in after


def test_gl102_keyword_goes_before_double_star():
    after = fixed("""
        from transformers import TrainingArguments
        args = TrainingArguments("out", fp16=False)
    """)
    assert 'TrainingArguments("out", fp16=False, bf16=True)' in after


def test_gl301_hoists_an_invariant_assignment():
    after = fixed("""
        import torch
        for epoch in range(10):
            # the data
            data = torch.load("train.pt")
            for x, y in data:
                loss = model(x).sum()
                loss.backward()
                optimizer.step()
    """)
    assert after.startswith('import torch\n# the data\ndata = torch.load("train.pt")\nfor epoch in range(10):\n    for x, y in data:')


@pytest.mark.parametrize(
    "prelude",
    [
        "    print(data)\n",  # read before the load: the first iteration would change
        '    path = "train.pt"\n',  # an input bound inside the loop
    ],
)
def test_gl301_not_hoisted_when_not_provably_the_same(prelude):
    source = (
        "import torch\npath = 'x'\ndata = None\nfor epoch in range(10):\n" + prelude
        + "    data = torch.load(path)\n    for x in data:\n        model(x).sum().backward()\n        opt.step()\n"
    )
    outcome = fix_request(LintRequest(None, "x.py", source.encode(), ALL), unsafe=True)  # type: ignore[arg-type]
    assert outcome.fixed_text is None


def test_unsafe_fixes_need_the_flag():
    assert fixed(GPU_TRAINING, unsafe=False) == GPU_TRAINING


def _cli_fix(project, *extra):
    return project.run("check", "--no-cache", "--fix", "--unsafe-fixes", *SELECT, *extra)


def test_fix_is_idempotent_and_reports_what_remains(project):
    path = project.write("train.py", GPU_TRAINING)
    code, out, _ = _cli_fix(project)
    assert code == 0 and "Fixed 2 findings." in out
    once = path.read_bytes()
    code, out, _ = _cli_fix(project)
    assert code == 0 and path.read_bytes() == once
    assert project.run("check", "--no-cache", *SELECT)[0] == 0


def test_diff_writes_nothing(project):
    path = project.write("train.py", GPU_TRAINING)
    before = path.read_bytes()
    code, out, _ = project.run("check", "--no-cache", "--diff", "--unsafe-fixes", *SELECT)
    assert code == 1
    assert out.startswith("--- a/train.py\n+++ b/train.py\n")
    assert "-        w = weights.cuda()\n" in out and "+w = weights.cuda()\n" in out
    assert path.read_bytes() == before
    assert project.run("check", "--no-cache", "--diff", *SELECT)[0] == 0  # no safe fixes: no diff


def test_fix_only_exits_zero(project):
    project.write("train.py", GPU_TRAINING.replace("torch.nn.Linear(8, 2)", "torchvision.models.resnet152()"))
    code, _, err = project.run("check", "--no-cache", "--fix-only", "--unsafe-fixes", *SELECT)
    assert code == 0 and "Fixed 2 findings" in err


def test_latin1_crlf_and_permissions_are_kept(project):
    source = "# -*- coding: latin-1 -*-\r\n# donn\xe9es\r\n" + GPU_TRAINING.replace("\n", "\r\n")
    path = project.root / "train.py"
    path.write_bytes(source.encode("latin-1"))
    os.chmod(path, 0o754)
    assert _cli_fix(project)[0] == 0
    data = path.read_bytes()
    assert b"# donn\xe9es\r\n" in data
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b'\r\ndata = torch.load("train.pt")\r\nw = weights.cuda()\r\nfor epoch in range(3):\r\n' in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o754


def test_bom_is_kept(project):
    path = project.root / "train.py"
    path.write_bytes(b"\xef\xbb\xbf" + GPU_TRAINING.encode())
    _cli_fix(project)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfimport torch") and b"\nw = weights.cuda()\nfor epoch" in data


def test_unparsable_file_is_never_touched(project):
    path = project.write("broken.py", GPU_TRAINING + "\nfor x in :\n")
    before = path.read_bytes()
    code, out, _ = _cli_fix(project)
    assert code == 1 and "GL001" in out
    assert path.read_bytes() == before


def test_interrupted_write_leaves_the_original(project, monkeypatch):
    path = project.write("train.py", GPU_TRAINING)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    code, _, err = _cli_fix(project)
    assert code == 130 and "interrupted" in err
    assert path.read_bytes() == before
    assert [p.name for p in project.root.iterdir()] == ["train.py"]


def test_a_fix_that_would_break_the_file_is_dropped(monkeypatch):
    from greenlint import fixer

    monkeypatch.setattr(fixer, "source_compiles", lambda text: False)
    outcome = fix_request(LintRequest(None, "x.py", GPU_TRAINING.encode(), ALL), unsafe=True)  # type: ignore[arg-type]
    assert outcome.fixed_text is None
    assert outcome.problems and "would not compile" in outcome.problems[0]
