"""rules/analysis/tree.py reads a libcst tree without libcst's node rebuilding; these tests check
that it sees exactly what libcst sees: the same children, in the same order, and the same
visit_* / leave_* calls, on greenlint's own sources and on a file using every kind of syntax."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from greenlint.rules.analysis.tree import children, visit, walk

ROOT = Path(__file__).resolve().parents[1]

# Syntax whose nodes have optional or conditionally visited fields (an f-string format spec is
# visited only when present), sequences given as one node (`from m import *`), and the rest.
EVERY_KIND = '''
from __future__ import annotations
import os.path as osp, sys
from . import sibling
from ..pkg import (a as b, c)
from m import *
x: int = 1
y = z = [i for i in range(3) if i] + [*a, *b]
d = {**e, "k": v} if g else {k: v for k, v in f.items()} or {1, 2}
s = f"{x!r:>{width}} {y=} {z:.2f} plain" "implicit"; b = b"bytes"
t = (lambda q, *r, s=1, **u: q)(1) ; w = x if y else z
@decorator(arg)
class C(Base, metaclass=Meta):
    attr: "C" = None
    async def m(self, /, p, *, k=2) -> None:
        global G
        async with a as (b, c), d:
            async for i in aiter():
                await i
        try:
            pass
        except* ValueError as e:
            raise RuntimeError from e
        else:
            pass
        finally:
            del x[0], y.z
        while (n := next(it)) is not None:
            if n > 1 and not n < -1 or n:
                continue
            elif n:
                break
            else:
                yield from n
        match command.split():
            case [action, *rest] if rest:
                return ~action
            case {"k": value, **others}:
                assert value, "message"
            case Point(x=0) | None:
                nonlocal_value = x[1:2, ::3] @ y ** 2 // 3
            case _:
                print(*args, sep="", **kw)
for i, (j, k) in enumerate(pairs):
    x += 1
else:
    pass
with open(p) as f: data = f.read()
'''


def _sources() -> list[tuple[str, str]]:
    files = sorted((ROOT / "advisor").glob("*.py"))[:8] + sorted((ROOT / "rules" / "analysis").glob("*.py"))[:8]
    return [("every_kind", EVERY_KIND)] + [(p.name, p.read_text(encoding="utf-8")) for p in files]


@pytest.fixture(scope="module")
def modules() -> list[tuple[str, cst.Module]]:
    return [(name, cst.parse_module(text)) for name, text in _sources()]


def test_children_are_libcsts_children(modules):
    checked = 0
    for name, module in modules:
        for node in walk(module):
            expected = node.children
            got = children(node)
            assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected)), (name, type(node).__name__)
            checked += 1
    assert checked > 10_000


def test_walk_is_libcsts_depth_first_order(modules):
    for name, module in modules[:3]:
        expected: list[cst.CSTNode] = []
        stack = [module]
        while stack:
            node = stack.pop()
            expected.append(node)
            stack.extend(reversed(node.children))
        got = list(walk(module))
        assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected)), name


def _recording_visitor_class() -> type:
    """A plain visitor with visit_/leave_ for every node class; it stops at lambdas (returns
    False) and re-enters an if's test by hand, like facts.py's collector does."""
    namespace = {}
    for name in dir(cst):
        node_class = getattr(cst, name)
        if isinstance(node_class, type) and issubclass(node_class, cst.CSTNode):
            namespace[f"visit_{name}"] = lambda self, node, n=name: self.events.append(("visit", n, id(node))) or (n != "Lambda")
            namespace[f"leave_{name}"] = lambda self, node, n=name: self.events.append(("leave", n, id(node)))

    def visit_If(self, node):  # noqa: N802 - libcst's naming
        self.events.append(("visit", "If", id(node)))
        self.walk(node.test, self)
        return True

    namespace["visit_If"] = visit_If
    return type("Recorder", (cst.CSTVisitor,), namespace)


def test_visit_makes_libcsts_calls_in_libcsts_order(modules):
    recorder_class = _recording_visitor_class()

    def run(walker):
        recorder_class.walk = staticmethod(walker)
        recorder = recorder_class()
        recorder.events = []
        for _, module in modules:
            walker(module, recorder)
        return recorder.events

    expected = run(lambda node, visitor: node.visit(visitor))
    assert run(visit) == expected
    assert any(event[1] == "Lambda" for event in expected)


def test_visitor_with_attribute_hooks_goes_through_libcst():
    class Hooked(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_Call_func(self, node: cst.Call) -> None:  # noqa: N802
            self.seen.append("func")

    hooked = Hooked()
    visit(cst.parse_module("f(x)\n"), hooked)
    assert hooked.seen == ["func"]
