"""Model saves that never run with the script's defaults (GL503).

A script can call `torch.save` and still never write a checkpoint: the save sits under a guard that
is false unless the user passes a flag. On the development corpus this hid three of the four
checkpointing misses: `if opt.checkpoint_interval != -1 and ...` with the argparse default -1,
`if args.output_dir:` with the default '', and `if (epoch + 1) % 10 == 0` in a run of 3 epochs.

`guarded_calls` records the `if` tests around each call whose name may persist something;
`never_true` evaluates a test with the configured defaults (rules/analysis/literals.resolved_value)
and, when the test reads the epoch loop's variable, for every value the loop takes. Anything it
cannot evaluate counts as possibly true: the save is then live and nothing is reported.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

import libcst as cst
from greenlint.rules.analysis.literals import NOT_LITERAL, resolved_value
from greenlint.rules.analysis.tree import visit

# Enough to cover the epoch counts GL503 looks at; a longer range is not enumerated.
_MAX_ITERATIONS = 100_000

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt, cst.GreaterThanEqual: operator.ge,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.Modulo: operator.mod, cst.FloorDivide: operator.floordiv,
}


@dataclass(frozen=True)
class Guard:
    """One `if` around a call: its test, and whether the call sits in the `else` branch."""

    test: cst.BaseExpression
    negated: bool


class _GuardCollector(cst.CSTVisitor):
    def __init__(self, wanted: Callable[[cst.Call], bool]) -> None:
        super().__init__()
        self.wanted = wanted
        self.stack: list[Guard] = []
        self.guards: dict[int, tuple[Guard, ...]] = {}
        self._elses: list[cst.If] = []

    def visit_If_body(self, node: cst.If) -> None:
        self.stack.append(Guard(node.test, False))

    def leave_If_body(self, node: cst.If) -> None:
        self.stack.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self.stack.append(Guard(node.test, True))

    def leave_If_orelse(self, node: cst.If) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # a function body starts without the guards of where it is defined
        self._saved = getattr(self, "_saved", [])
        self._saved.append(self.stack)
        self.stack = []

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack = self._saved.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if self.wanted(node):
            self.guards[id(node)] = tuple(self.stack)

    def visit_Assign(self, node: cst.Assign) -> None:
        # `checkpoint_paths = [...]` under `if args.output_dir:`: keyed by the assigned value
        self.guards.setdefault(id(node.value), tuple(self.stack))


def guarded_calls(module: cst.Module, wanted: Callable[[cst.Call], bool]) -> dict[int, tuple[Guard, ...]]:
    """id(call) -> the `if` guards around it (outermost first), for the calls `wanted` accepts."""
    collector = _GuardCollector(wanted)
    visit(module, collector)
    return collector.guards


def _value(node: cst.BaseExpression, env: dict[str, Any]) -> Any:
    """The value of `node` with the loop variable bound in `env` and configured defaults for the
    rest; NOT_LITERAL when unknown."""
    if isinstance(node, cst.Name) and node.value in env:
        return env[node.value]
    if isinstance(node, cst.BinaryOperation):
        function = _ARITHMETIC.get(type(node.operator))
        left, right = _value(node.left, env), _value(node.right, env)
        if function is None or left is NOT_LITERAL or right is NOT_LITERAL:
            return NOT_LITERAL
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            return NOT_LITERAL
        try:
            return function(left, right)
        except ZeroDivisionError:
            return NOT_LITERAL
    if isinstance(node, cst.UnaryOperation):
        inner = _value(node.expression, env)
        if inner is NOT_LITERAL:
            return NOT_LITERAL
        if isinstance(node.operator, cst.Not):
            return not inner
        if isinstance(node.operator, cst.Minus) and isinstance(inner, (int, float)):
            return -inner
        return NOT_LITERAL
    if isinstance(node, cst.Comparison):
        left = _value(node.left, env)
        for target in node.comparisons:
            function = _COMPARE.get(type(target.operator))
            right = _value(target.comparator, env)
            if function is None or left is NOT_LITERAL or right is NOT_LITERAL:
                return NOT_LITERAL
            try:
                if not function(left, right):
                    return False
            except TypeError:
                return NOT_LITERAL
            left = right
        return True
    if isinstance(node, cst.BooleanOperation):
        left, right = _value(node.left, env), _value(node.right, env)
        if isinstance(node.operator, cst.And):
            if (left is not NOT_LITERAL and not left) or (right is not NOT_LITERAL and not right):
                return False
        elif left is not NOT_LITERAL and right is not NOT_LITERAL:
            return bool(left or right)
        return NOT_LITERAL
    if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.SimpleString, cst.Integer, cst.Float)):
        return resolved_value(node)
    return NOT_LITERAL


def _reads(node: cst.CSTNode, name: str) -> bool:
    if isinstance(node, cst.Name) and node.value == name:
        return True
    return any(_reads(child, name) for child in node.children)


def never_true(guard: Guard, loop_var: str | None = None, loop_values: range | None = None) -> bool:
    """The guard's branch never runs: its test is known false (true for an `else` branch) with the
    configured defaults, for every value of `loop_var` in `loop_values` when the test reads it."""
    if loop_var is not None and loop_values is not None and _reads(guard.test, loop_var):
        if len(loop_values) > _MAX_ITERATIONS:
            return False
        return all(_branch_off(guard, {loop_var: value}) for value in loop_values)
    return _branch_off(guard, {})


def _branch_off(guard: Guard, env: dict[str, Any]) -> bool:
    value = _value(guard.test, env)
    if value is NOT_LITERAL:
        return False
    return bool(value) if guard.negated else not value


def describe(guard: Guard, module: cst.Module) -> str:
    """The guard's test as written, for the message."""
    text = module.code_for_node(guard.test)
    return f"not ({text})" if guard.negated else text
