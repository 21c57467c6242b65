from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from greenlint.cli import main


def write_project(root: Path, files: dict[str, str]) -> None:
    """A small project under `root`: a pyproject.toml (the project-root marker) and `files`
    (relative path -> dedented text), folders made as needed."""
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


class Runner:
    """Runs `greenlint ...` in-process in a temporary project directory."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def findings(self, *args: str) -> list[dict]:
        code, out, err = self.run("check", "--format", "json", *args)
        assert code in (0, 1), err
        return json.loads(out)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Runner:
    monkeypatch.chdir(tmp_path)
    return Runner(tmp_path, capsys)


# The machinery tests' fixture (output formats, exit codes, fixes, caching): two findings, each with an
# unsafe fix: GL301 (default set; the data loaded again every epoch, 7:12) and GL309 (a preview rule;
# the same weights copied to the GPU every step, 9:13). It also trains in float32 on the GPU, which the
# preview rule GL101 reports (8:5); tests about GL101 select it explicitly. Without options only GL301
# is reported; with GPU_TRAINING_RULES exactly GL301 and GL309 are.
GPU_TRAINING = """import torch

model = torch.nn.Linear(4096, 4096).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
weights = torch.rand(4096)
for epoch in range(3):
    data = torch.load("train.pt")
    for x, y in data:
        w = weights.cuda()
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda(), weight=w)
        loss.backward()
        optimizer.step()
"""
GPU_TRAINING_RULES = ("--preview", "--ignore", "GL101")
