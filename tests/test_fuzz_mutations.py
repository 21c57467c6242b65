"""Mutation fuzzing on real ML training scripts (issue 17, "the fuzzing that held stays in the
suite"): hypothesmith (tests/test_engine.py) generates grammar, this breaks the scripts greenlint
is written for: lines deleted, duplicated, swapped or re-indented, brackets and keywords
inserted, bytes that are not UTF-8, NULs, BOMs and stray line ends.

Seeded and bounded for CI: the same seeds give the same mutants on every run, and each seed is
one small batch. The properties are the engine's promises: nothing escapes as an exception, no
GL000, a fix never turns a file that compiles into one that does not, and fixing twice changes
nothing the second time."""

from __future__ import annotations

import ast
import random
import warnings
from pathlib import Path

import pytest
from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)
ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted([*ROOT.glob("examples/*.py"), *ROOT.glob("tests/scenarios/gl1*.py"), *ROOT.glob("tests/scenarios/gl3*.py")])
BATCHES, PER_BATCH = 6, 12
INSERTIONS = [
    b"(", b")", b"[", b"]", b"{", b"}", b":", b"\n", b"    ", b"\t", b"'", b'"', b'"""', b"\\", b"#", b",",
    b"lambda ", b"yield ", b"await ", b"async ", b"return ", b"not ", b"*", b"**", b"=", b":=", b"@",
    b".cuda()", b".half()", b"torch.", b"model.train()\n", b"with torch.autocast('cuda'):\n    ",
    b"for batch in loader:\n    ", b"loss.backward()\n", b"optimizer.step()\n", b"if True:\n",
    b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\x0c", b"# type: ignore\n",
    b"# noqa: GL101\n", b"# -*- coding: latin-1 -*-\n", b"# -*- coding: nonsense -*-\n",
]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 4)):
        lines = data.split(b"\n")
        operation = rng.randrange(7)
        if operation == 0 and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
        elif operation == 1:
            index = rng.randrange(len(lines))
            lines.insert(index, lines[index])
        elif operation == 2 and len(lines) > 1:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
        elif operation == 3:
            index = rng.randrange(len(lines))
            lines[index] = rng.choice([b"", b"    ", b"        ", b"\t"]) + lines[index].lstrip()
        elif operation == 4 and data:
            start = rng.randrange(len(data))
            data = data[:start] + data[start + rng.randint(1, 40):]
            continue
        elif operation == 5:
            position = rng.randrange(len(data) + 1)
            data = data[:position] + rng.choice(INSERTIONS) + data[position:]
            continue
        else:
            data = data[: rng.randrange(len(data) + 1)]  # truncated, as a partial save leaves it
            continue
        data = b"\n".join(lines)
    return data


def _compiles(data: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, "<mutant>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _mutants(batch: int) -> list[bytes]:
    rng = random.Random(f"greenlint-mutation-fuzz-{batch}")
    return [_mutate(rng.choice(CORPUS).read_bytes(), rng) for _ in range(PER_BATCH)]


def test_the_corpus_is_there():
    assert len(CORPUS) >= 20
    assert _mutants(0) == _mutants(0)  # deterministic


@pytest.mark.parametrize("batch", range(BATCHES))
def test_mutated_ml_scripts_never_crash_the_engine(batch):
    for data in _mutants(batch):
        findings = lint_source(data, "train.py", ALL)
        assert not [f for f in findings if f.code == "GL000"], (data, findings)


@pytest.mark.parametrize("batch", range(BATCHES))
def test_fixing_mutated_ml_scripts_never_breaks_them_and_is_stable(batch):
    for data in _mutants(batch):
        outcome = fix_request(LintRequest(Path("train.py"), "train.py", data, ALL), unsafe=True)
        assert not [f for f in outcome.remaining if f.code == "GL000"], (data, outcome.remaining)
        if outcome.new_bytes is None:
            continue
        if _compiles(data):
            assert _compiles(outcome.new_bytes), (data, outcome.new_bytes)
        again = fix_request(LintRequest(Path("train.py"), "train.py", outcome.new_bytes, ALL), unsafe=True)
        assert again.new_bytes is None, (data, outcome.new_bytes, again.new_bytes)
