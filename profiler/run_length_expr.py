"""The run-length reading's expression model: the numbers a script computes (a literal, a name,
arithmetic, ``len()``, ``range()``), kept as ``Expr`` trees until run-time values evaluate them
(``run_length_eval.py``); and how file names and counts are written in its messages."""

from __future__ import annotations

import os
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis.literals import literal_value, string_value
from greenlint.rules.analysis.names import dotted_name


@dataclass(frozen=True)
class Expr:
    """A number the script computes: a literal, a name, arithmetic, or something unknown."""

    kind: str  # num | ref | len | op | unknown
    text: str  # the source text, for messages
    value: float | None = None  # num
    op: str = ""  # op: + - * // / int ceil min max range
    args: tuple[Expr, ...] = ()


def number_expr(value: float, text: str | None = None) -> Expr:
    return Expr("num", text if text is not None else str(value), value=value)


def ref_text(node: cst.BaseExpression) -> str | None:
    """`args.epochs`, `EPOCHS`, `config["epochs"]`: the form the probe records values under."""
    name = dotted_name(node)
    if name is not None:
        return name
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        base = dotted_name(node.value)
        key = string_value(index.value) if isinstance(index, cst.Index) else None
        if base is not None and "." not in base and key is not None:
            return f'{base}["{key}"]'
    return None


_OPS = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.FloorDivide: "//", cst.Divide: "/"}


def to_expr(node: cst.BaseExpression, module: cst.Module) -> Expr:
    text = " ".join(module.code_for_node(node).split())
    value = literal_value(node)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number_expr(value, text)
    ref = ref_text(node)
    if ref is not None:
        return Expr("ref", ref)
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _OPS:
        return Expr("op", text, op=_OPS[type(node.operator)],
                    args=(to_expr(node.left, module), to_expr(node.right, module)))
    if isinstance(node, cst.Call):
        func = dotted_name(node.func) or ""
        args = [a.value for a in node.args if a.keyword is None and not a.star]
        if func == "len" and len(args) == 1:
            inner = ref_text(args[0])
            return Expr("len", text, args=(Expr("ref", inner) if inner else Expr("unknown", text),))
        if func in ("int", "round", "math.ceil", "math.floor", "ceil", "floor") and len(args) == 1:
            return Expr("op", text, op={"round": "int", "math.floor": "int", "floor": "int", "math.ceil": "ceil"}.get(func, func),
                        args=(to_expr(args[0], module),))
        if func in ("min", "max") and len(args) >= 2:
            return Expr("op", text, op=func, args=tuple(to_expr(a, module) for a in args))
    return Expr("unknown", text)


def range_count(call: cst.Call, module: cst.Module) -> Expr | None:
    """How many values `range(...)` yields, as an expression; None if the call is not understood."""
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    if not 1 <= len(args) <= 3 or len(args) != len(call.args):
        return None
    text = " ".join(module.code_for_node(call).split())
    parts = [to_expr(a, module) for a in args]
    start, stop, step = (number_expr(0), parts[0], number_expr(1)) if len(parts) == 1 else (parts[0], parts[1], parts[2] if len(parts) == 3 else number_expr(1))
    return Expr("op", text, op="range", args=(start, stop, step))


def base_name(path: str) -> str:
    return os.path.basename(path)


def format_count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.4g}"
