"""GL401: `if` tests that are true on every (optimizer) step, so what they guard still runs per step.

A `.item()` under `if step % 100 == 0:` runs once in a hundred steps and is fine. The same call
under `if rank in {-1, 0}:` (the main process of a distributed run, and the only process of a
single-GPU run), under `if is_main_process():`, or under the gradient-accumulation test
`if (step + 1) % accum_steps == 0:` runs on every step that does any work on the main process, or
on every optimizer step: it is a per-step sync all the same (issue 14: such guards were treated as
rare and the syncs were missed).

`every_step_guard(test)` returns a short reason when the test is one of those, else None. It reads
names only (no values), so it recognises the common spellings and nothing else:
- rank tests: a name or attribute ending in `rank` (`rank`, `RANK`, `local_rank`, `args.local_rank`,
  `dist.get_rank()`) compared with 0 / -1, or a set/tuple/list of them (`RANK in {-1, 0}`), or `not rank`;
- main-process predicates: `is_main_process()`, `accelerator.is_main_process`, `is_master`,
  `master_process`, `trainer.is_global_zero`, `is_world_process_zero()`, `is_rank_zero()`;
- gradient accumulation: `X % M == 0` where M's name mentions accumulation (`accum`, `accumulate`,
  `gradient_accumulation_steps`, `update_freq`), `ni - last_opt_step >= accumulate` (the same,
  counted), and Accelerate's `accelerator.sync_gradients`;
- `a or b` when either side is such a test (`if not distributed or rank == 0:`), `a and b` when both are.
"""

from __future__ import annotations

import re

import libcst as cst
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import terminal_name

_RANK = re.compile(r"(^|_)rank$", re.IGNORECASE)
_MAIN_PROCESS = re.compile(
    r"^_*(is_)?(local_)?(main_process|master|master_process|global_zero|world_process_zero|rank_zero|rank_0|main_rank)$",
    re.IGNORECASE,
)
_ACCUMULATION = re.compile(r"accum|update_freq|grad_acc", re.IGNORECASE)
_MAIN_RANKS = (0, -1)

MAIN_PROCESS_REASON = "true on every step of the main process (the only process of a single-GPU run)"
ACCUMULATION_REASON = "true on every optimizer step"


def every_step_guard(test: cst.BaseExpression) -> str | None:
    """Why this `if` test holds on every (optimizer) step of the main process, or None."""
    if isinstance(test, cst.BooleanOperation):
        left, right = every_step_guard(test.left), every_step_guard(test.right)
        if isinstance(test.operator, cst.Or):
            return left or right
        return left if left is not None and right is not None else None
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        # `not rank`: rank 0;  `not args.distributed` is no such test
        return MAIN_PROCESS_REASON if _is_rank(test.expression) else None
    if _main_process_predicate(test):
        return MAIN_PROCESS_REASON
    if isinstance(test, cst.Attribute) and test.attr.value == "sync_gradients":
        return ACCUMULATION_REASON  # Accelerate's `if accelerator.sync_gradients:`
    if isinstance(test, cst.Comparison):
        return _comparison(test)
    return None


def _name_of(expr: cst.BaseExpression) -> str | None:
    """`rank`, `args.local_rank` -> the last name; `dist.get_rank()` -> `get_rank`."""
    if isinstance(expr, cst.Call):
        if expr.args:
            return None
        expr = expr.func
    if isinstance(expr, (cst.Name, cst.Attribute)):
        return terminal_name(expr)
    return None


def _is_rank(expr: cst.BaseExpression) -> bool:
    name = _name_of(expr)
    return name is not None and _RANK.search(name) is not None


def _main_process_predicate(expr: cst.BaseExpression) -> bool:
    name = _name_of(expr)
    return name is not None and _MAIN_PROCESS.match(name) is not None


def _main_ranks(expr: cst.BaseExpression) -> bool:
    """A literal 0 or -1, or a set/tuple/list of only those."""
    if isinstance(expr, cst.Set):  # literal_value reads tuples and lists, not sets
        return all(isinstance(e, cst.Element) and _is_main_rank(literal_value(e.value)) for e in expr.elements)
    value = literal_value(expr)
    if isinstance(value, (set, frozenset, tuple, list)):
        return bool(value) and all(_is_main_rank(v) for v in value)
    return _is_main_rank(value)


def _is_main_rank(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in _MAIN_RANKS


def _comparison(test: cst.Comparison) -> str | None:
    if len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    operator, left, right = target.operator, test.left, target.comparator
    if isinstance(operator, (cst.Equal, cst.In, cst.LessThanEqual)) and _is_rank(left) and _main_ranks(right):
        return MAIN_PROCESS_REASON  # `rank == 0`, `RANK in {-1, 0}`, `local_rank <= 0`
    if isinstance(operator, cst.Equal) and _is_rank(right) and _main_ranks(left):
        return MAIN_PROCESS_REASON  # `0 == rank`
    if isinstance(operator, cst.Equal) and _main_process_predicate(left) and literal_value(right) is True:
        return MAIN_PROCESS_REASON  # `is_main_process() == True`
    if isinstance(operator, cst.Equal) and literal_value(right) == 0 and _accumulation_modulo(left):
        return ACCUMULATION_REASON  # `(step + 1) % accum_steps == 0`
    if isinstance(operator, (cst.GreaterThanEqual, cst.GreaterThan)) and _mentions_accumulation(right):
        return ACCUMULATION_REASON  # `ni - last_opt_step >= accumulate`
    return None


def _accumulation_modulo(expr: cst.BaseExpression) -> bool:
    if not isinstance(expr, cst.BinaryOperation) or not isinstance(expr.operator, cst.Modulo):
        return False
    return _mentions_accumulation(expr.right)


def _mentions_accumulation(expr: cst.BaseExpression) -> bool:
    """A name or attribute (`accum_steps`, `args.gradient_accumulation_steps`, `self.accumulate`)
    whose last part names gradient accumulation."""
    if isinstance(expr, (cst.Name, cst.Attribute)):
        name = terminal_name(expr)
        return name is not None and _ACCUMULATION.search(name) is not None
    return False

