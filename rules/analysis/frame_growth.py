"""Where a loop grows a DataFrame or a numpy array by copying it (GL602): `df = pd.concat([df, row])`,
`df = df.append(...)`, `df.loc[len(df)] = ...`, `a = np.concatenate((a, x))`, `a = np.append(a, x)`.

Separate from dataframes_facts.py, which knows which names hold frames and arrays: this walks only
the loops that call a join and records each growing assignment; `FrameFacts.grows` runs it once
per module and caches the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
from greenlint.rules.analysis.dataframes_facts import PANDAS_ROOTS
from greenlint.rules.analysis.literals import argument, literal_value
from greenlint.rules.analysis.names import dotted_name

if TYPE_CHECKING:
    from greenlint.rules.analysis.dataframes_facts import FrameFacts


@dataclass(frozen=True)
class GrowInLoop:
    node: cst.CSTNode  # the statement's value call, or the `.loc[len(df)]` target
    target: str  # the frame's name
    how: str  # "concat", "append", "loc"; "array" for `a = np.concatenate((a, x))` / `torch.cat`
    loop: cst.For | cst.While
    scope: int | None


class _GrowCollector(cst.CSTVisitor):
    """Assignments that grow a frame, inside one loop (and the loops nested in it)."""

    def __init__(self, owner: FrameFacts, scope: int | None) -> None:
        super().__init__()
        self.owner = owner
        self.scope = scope
        self.loops: list[cst.For | cst.While] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_For(self, node: cst.For) -> None:
        self.loops.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        self.loops.pop()

    def visit_While(self, node: cst.While) -> None:
        self.loops.append(node)

    def leave_While(self, original_node: cst.While) -> None:
        self.loops.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self.loops or len(node.targets) != 1:
            return
        loop = self.loops[-1]
        target = node.targets[0].target
        target_name = dotted_name(target)
        value = node.value
        imports = self.owner.facts.imports
        grows = self.owner._grows
        assert grows is not None
        if target_name is not None and isinstance(value, cst.Call):
            qualname = imports.resolve(value.func)
            if _grows_array(value, qualname, target_name):
                grows.append(GrowInLoop(value, target_name, "array", loop, self.scope))
                return
            if qualname is not None and qualname.rpartition(".")[0] in PANDAS_ROOTS and qualname.endswith(".concat"):
                first = argument(value, "objs", 0)
                if isinstance(first, (cst.List, cst.Tuple)) and any(
                    isinstance(e, cst.Element) and dotted_name(e.value) == target_name for e in first.elements
                ):
                    grows.append(GrowInLoop(value, target_name, "concat", loop, self.scope))
                return
            func = value.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in ("append", "_append")
                and dotted_name(func.value) == target_name
            ):
                grows.append(GrowInLoop(value, target_name, "append", loop, self.scope))
            return
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Attribute) and target.value.attr.value == "loc":
            frame = dotted_name(target.value.value)
            if frame is None or len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
                return
            if _is_length_of(target.slice[0].slice.value, frame):
                grows.append(GrowInLoop(target, frame, "loc", loop, self.scope))


# Calls that may grow something inside a loop (pandas and the numpy/torch array joins).
_GROW_CALLS = frozenset({"concat", "append", "_append", "len", "concatenate", "vstack", "hstack", "row_stack", "column_stack"})
# numpy only: `torch.cat` in a loop is mostly architecture (DenseNet feature concatenation over a few
# blocks) or a handful of detections, not a growing buffer.
_ARRAY_JOINS = frozenset({"numpy.concatenate", "numpy.vstack", "numpy.hstack", "numpy.row_stack", "numpy.column_stack"})


def _grows_array(call: cst.Call, qualname: str | None, target: str) -> bool:
    """`a = np.concatenate((a, x))`, `a = np.vstack([a, row])`, `a = torch.cat([a, x])`, `a = np.append(a, x)`:
    the array itself is among the pieces, so each iteration copies everything collected so far."""
    if qualname == "numpy.append":
        first = argument(call, "arr", 0)
        return first is not None and dotted_name(first) == target
    if qualname not in _ARRAY_JOINS:
        return False
    pieces = argument(call, "arrays", 0) if qualname == "numpy.concatenate" else argument(call, "tup", 0)
    return isinstance(pieces, (cst.List, cst.Tuple)) and any(
        isinstance(e, cst.Element) and dotted_name(e.value) == target for e in pieces.elements
    )


def _is_length_of(node: cst.BaseExpression, frame: str) -> bool:
    """`len(df)`, `len(df.index)`, `df.shape[0]`."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len" and len(node.args) == 1:
        inner = dotted_name(node.args[0].value)
        return inner in (frame, f"{frame}.index")
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
        return dotted_name(node.value.value) == frame and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and literal_value(node.slice[0].slice.value) == 0
    return False
