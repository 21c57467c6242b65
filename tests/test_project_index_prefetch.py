"""The project index's speed-ups must not change what it knows: the imported modules' exports read
ahead in the worker pool (ProjectIndex.prefetch_exports) and the searches extract_exports skips
in a module that lacks the words they look for."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenlint.config import Settings
from greenlint.module_exports import extract_exports
from greenlint.project_index import ProjectIndex
from greenlint.runner import _prepare
from greenlint.selection import RuleSelection

MODULE = """
import torch
DEVICE_{n} = torch.device("cuda:{n}")
WIDTH_{n} = {n}
@torch.no_grad()
def helper_{n}():
    pass
def smart_{n}(fn):
    return torch.inference_mode()(fn)
def step_{n}(model, opt, x):
    with torch.autocast("cuda"):
        loss = model(x).sum()
    loss.backward()
    opt.step()
class Config{n}:
    device = "cuda"
"""


def _project(root: Path, modules: int) -> list[Path]:
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    imports = []
    for n in range(modules):
        (root / "pkg" / f"mod{n}.py").write_text(textwrap.dedent(MODULE.format(n=n)))
        imports.append(f"from pkg.mod{n} import DEVICE_{n}, WIDTH_{n}, helper_{n}, smart_{n}, step_{n}, Config{n}")
    train = "\n".join(imports) + "\nimport torch\nfor x in data:\n    step_0(model, opt, x.to(DEVICE_0))\n"
    (root / "train.py").write_text(train)
    (root / "other.py").write_text("from pkg import mod1, mod2\nfrom pkg.mod3 import *\n")
    return sorted(root.rglob("*.py"))


def _contexts(root: Path, files: list[Path], jobs: int) -> dict[str, object]:
    settings = Settings(project_root=root, selection=RuleSelection(select=("ALL",), preview=True))
    index = ProjectIndex(root)
    prepared, _ = _prepare(files, settings, index, jobs)
    return {p.request.display_path: (p.request.context, p.digest) for p in prepared}


def test_exports_read_in_the_pool_give_the_same_contexts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _project(tmp_path, 10)
    monkeypatch.chdir(tmp_path)
    serial = _contexts(tmp_path, files, jobs=1)
    pooled = _contexts(tmp_path, files, jobs=2)
    assert pooled == serial
    train = serial["train.py"][0]
    assert "pkg.mod0.DEVICE_0" in train.devices and "pkg.mod0.step_0" in train.step_functions


def test_prefetch_reads_what_the_contexts_read_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _project(tmp_path, 10)
    monkeypatch.chdir(tmp_path)
    asked: list[tuple[str, str]] = []

    def serial_map(function, items):
        asked.extend(items)
        return [function(item) for item in items]

    index = ProjectIndex(tmp_path)
    texts = [(p, p.read_text()) for p in files]
    index.prefetch_exports(texts, serial_map)
    after_prefetch = dict(index._exports_by_hash)
    for path, text in texts:
        index.context_for(path, text)
    # every module the contexts needed was already there (star chains aside: none here)
    assert index._exports_by_hash == after_prefetch
    # the ten modules and the package's __init__ (`from pkg import mod1` reads pkg/__init__.py)
    assert len(asked) == len(after_prefetch) == 11


def test_searches_skipped_by_word_still_find_what_the_tree_says() -> None:
    # a module without the literal words: "cuda" spelled with an escape or split in two literals,
    # `backward` written in full-width letters (Python normalises identifiers: it is `backward`)
    escaped = extract_exports('DEVICE = "\\x63uda"\nOTHER = "cu" "da:1"\n', "")
    assert set(escaped.devices) == {"DEVICE", "OTHER"}
    wide = extract_exports("def step(loss, opt):\n    loss.\uff42\uff41\uff43\uff4b\uff57\uff41\uff52\uff44()\n    opt.step()\n", "")
    assert wide.step_functions == ["step"]
    plain = extract_exports("def step(loss, opt):\n    loss.backward()\n    opt.step()\n", "")
    assert plain.step_functions == ["step"]
    nothing = extract_exports("def f(x):\n    return x.cpu()\n", "")
    assert not nothing.devices and not nothing.step_functions and not nothing.autocast and not nothing.grad_off
