"""Reading literal values and call arguments out of libcst nodes."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import libcst as cst


class _NotLiteral:
    def __repr__(self) -> str:
        return "NOT_LITERAL"


NOT_LITERAL: Any = _NotLiteral()


def literal_value(node: cst.BaseExpression | None) -> Any:
    """The Python value of a literal expression (str, int, float, bool, None, tuples/lists/dicts of
    those), or NOT_LITERAL for anything that is computed (names, calls, f-strings ...)."""
    if node is None:
        return NOT_LITERAL
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if value is not None else NOT_LITERAL
    if isinstance(node, cst.Integer):
        return node.evaluated_value
    if isinstance(node, cst.Float):
        return node.evaluated_value
    if isinstance(node, cst.Name):
        return {"True": True, "False": False, "None": None}.get(node.value, NOT_LITERAL)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal_value(node.expression)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
        return NOT_LITERAL
    if isinstance(node, (cst.Tuple, cst.List)):
        values = []
        for element in node.elements:
            if not isinstance(element, cst.Element):
                return NOT_LITERAL
            value = literal_value(element.value)
            if value is NOT_LITERAL:
                return NOT_LITERAL
            values.append(value)
        return tuple(values) if isinstance(node, cst.Tuple) else values
    if isinstance(node, cst.Dict):
        result = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return NOT_LITERAL
            key, value = literal_value(element.key), literal_value(element.value)
            if key is NOT_LITERAL or value is NOT_LITERAL:
                return NOT_LITERAL
            try:
                result[key] = value
            except TypeError:  # an unhashable literal key such as a list
                return NOT_LITERAL
        return result
    return NOT_LITERAL


# -- values a module reads from its configuration (argparse defaults, config files ...) ----------
#
# Opt-in per caller: `literal_value` keeps meaning "written out here", because many rules use "not a
# literal" to mean "the user's choice" (precision.py: CONFIGURABLE). A rule that wants the default a
# configuration gives calls `resolved_value`, and names the origin with `value_source`. The engine
# installs the module's resolver (rules/analysis/config_values.py) around the rules of one module.


class ValueResolver(Protocol):
    def lookup(self, node: cst.BaseExpression) -> Any:
        """An object with `.value` and `.source`, or None when the expression is not resolved."""


_RESOLVER: ContextVar[ValueResolver | None] = ContextVar("greenlint_value_resolver", default=None)


@contextmanager
def resolving_values(resolver: ValueResolver | None) -> Iterator[None]:
    token = _RESOLVER.set(resolver)
    try:
        yield
    finally:
        _RESOLVER.reset(token)


def _resolved(node: cst.BaseExpression | None) -> Any:
    resolver = _RESOLVER.get()
    if resolver is None or node is None or isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        return None
    return resolver.lookup(node)


def resolved_value(node: cst.BaseExpression | None) -> Any:
    """`literal_value`, or else the value the module's configuration gives the expression (an
    argparse default, a dataclass field default, a module constant, a key of a config file), or
    NOT_LITERAL when neither is known."""
    value = literal_value(node)
    if value is not NOT_LITERAL:
        return value
    found = _resolved(node)
    return NOT_LITERAL if found is None else found.value


def resolved_mapping(node: cst.BaseExpression | None) -> tuple[dict[Any, Any], str] | None:
    """The configuration mapping an expression holds, with where it comes from: a loaded config
    file or one of its sections, a Hydra config parameter's whole composed tree (`cfg`), a dict
    literal; None when unknown."""
    literal = literal_value(node)
    if isinstance(literal, dict):
        return literal, ""
    resolver = _RESOLVER.get()
    mapping = getattr(resolver, "mapping", None)
    if mapping is None or node is None:
        return None
    found = mapping(node)
    return None if found is None else (found.value, found.source)


def value_source(node: cst.BaseExpression | None) -> str | None:
    """Where a resolved value comes from and how to change it ("`--num-workers` defaults to 0
    (train.py:14)"); None for literals and unresolved expressions."""
    if node is None or literal_value(node) is not NOT_LITERAL:
        return None
    found = _resolved(node)
    return None if found is None else found.source


def string_value(node: cst.BaseExpression | None) -> str | None:
    value = literal_value(node)
    return value if isinstance(value, str) else None


def simple_string_value(node: cst.SimpleString) -> str | None:
    try:
        with warnings.catch_warnings():  # invalid escapes in the user's strings are not our warning
            warnings.simplefilter("ignore")
            value = ast.literal_eval(node.value)
    except (ValueError, SyntaxError, MemoryError):
        return None
    return value if isinstance(value, str) else None


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def argument(call: cst.Call, name: str, position: int | None = None) -> cst.BaseExpression | None:
    """The expression passed for a parameter, by keyword or (if `position` is given) by position."""
    arg = keyword_arg(call, name)
    if arg is not None:
        return arg.value
    if position is not None:
        positional = positional_args(call)
        if len(positional) > position and not any(a.star == "*" for a in call.args[: position + 1]):
            return positional[position].value
    return None


def has_double_star(call: cst.Call) -> bool:
    return any(a.star == "**" for a in call.args)


# -- the bound of `for i in range(...)` over a sequence (the dataframe and array rules) ---------


def range_stop(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`x` in `range(x)` or `range(0, x)`, else None."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range"):
        return None
    args = [arg.value for arg in node.args]
    if len(args) == 2 and literal_value(args[0]) == 0:
        args = args[1:]
    return args[0] if len(args) == 1 else None


def len_argument(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`a` in `len(a)`, else None."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len" and len(node.args) == 1:
        return node.args[0].value
    return None


def shape_of(node: cst.BaseExpression, axis: int | None) -> cst.BaseExpression | None:
    """`a` in `a.shape[axis]`, else None."""
    if (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "shape"
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
        and literal_value(node.slice[0].slice.value) == axis
    ):
        return node.value.value
    return None


def runs_once(loop: cst.For | cst.While) -> bool:
    """A `for` loop that runs exactly one iteration: over a written-out list, tuple or set of one
    element (`for fold in [1]:`, a Kaggle kernel's leftover of a cross-validation loop) or over
    `range(1)`. Such a loop repeats nothing: work inside it runs once per run of its parent."""
    if not isinstance(loop, cst.For):
        return False
    iterable = loop.iter
    if isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
        return len(iterable.elements) == 1 and not isinstance(iterable.elements[0], cst.StarredElement)
    stop = range_stop(iterable)
    return stop is not None and literal_value(stop) == 1
