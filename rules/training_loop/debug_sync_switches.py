"""GL407: CUDA debugging switches that make every kernel launch (or every sync) wait.

- `CUDA_LAUNCH_BLOCKING=1` set from Python (`os.environ["CUDA_LAUNCH_BLOCKING"] = "1"`,
  `os.environ.setdefault(...)`, `os.putenv(...)`, `os.environ.update(CUDA_LAUNCH_BLOCKING="1")`):
  every CUDA kernel launch becomes synchronous, so the CPU can never queue work ahead of the GPU;
  NVIDIA and PyTorch document it as a debugging aid for locating the kernel that failed.
- `torch.cuda.set_sync_debug_mode("warn" | "error" | 1 | 2)`: checks (and warns about) every
  synchronising call; a tool for finding syncs, not for training runs.

Like the other GL407 switches, only unconditional settings are reported (not under an `if`,
`else` or `except`), and inside a function only when the module trains.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument, keyword_arg, literal_value
from greenlint.rules.analysis.scope_facts import module_trains
from greenlint.rules.base import Report

LAUNCH_BLOCKING = "CUDA_LAUNCH_BLOCKING"
SET_SYNC_DEBUG_MODE = frozenset({"torch.cuda.set_sync_debug_mode"})
_ENV_SETTERS = frozenset({"os.environ.setdefault", "os.putenv"})
_ENV_UPDATE = "os.environ.update"
_OFF_VALUES = ("", "0", 0, False, None)
_DEBUG_MODES = ("warn", "error", 1, 2)

LAUNCH_BLOCKING_MESSAGE = (
    "`CUDA_LAUNCH_BLOCKING=1` makes every CUDA kernel launch wait for the kernel to finish, so the "
    "CPU can never queue work ahead of the GPU: a debugging aid for locating a failing kernel; "
    "remove it or guard it behind a debug flag"
)
SYNC_DEBUG_MESSAGE = (
    "`torch.cuda.set_sync_debug_mode(...)` checks every synchronising call (and warns or raises): "
    "a tool for finding syncs, not for training runs; remove it or guard it behind a debug flag"
)


def sync_switch_reports(analysis: ModuleAnalysis) -> Iterable[Report]:
    trains: bool | None = None
    for node, in_function in _switches(analysis):
        if in_function:
            if trains is None:
                trains = module_trains(analysis)
            if not trains:
                continue
        message = SYNC_DEBUG_MESSAGE if isinstance(node, cst.Call) and _is_sync_debug(analysis, node) else LAUNCH_BLOCKING_MESSAGE
        yield Report(node, message, frequency="run-wide")


def _is_sync_debug(analysis: ModuleAnalysis, call: cst.Call) -> bool:
    return analysis.facts.imports.resolve(call.func) in SET_SYNC_DEBUG_MODE


def _switches(analysis: ModuleAnalysis) -> Iterator[tuple[cst.CSTNode, bool]]:
    """(node to report, inside a function?) for every unconditional switch of the module."""
    resolve = analysis.facts.imports.resolve
    for site in analysis.facts.calls:
        if site.cond_depth > 0:
            continue
        qualname = site.qualname
        call = site.node
        in_function = site.function is not None
        if qualname in SET_SYNC_DEBUG_MODE:
            mode = literal_value(argument(call, "debug_mode", 0))
            if mode in _DEBUG_MODES:
                yield call, in_function
        elif qualname in _ENV_SETTERS and len(call.args) >= 2:
            if literal_value(call.args[0].value) == LAUNCH_BLOCKING and _on(call.args[1].value):
                yield call, in_function
        elif qualname == _ENV_UPDATE:
            arg = keyword_arg(call, LAUNCH_BLOCKING)
            if arg is not None and _on(arg.value):
                yield call, in_function
    for statement, in_function in _unconditional_statements(analysis.module.body, False):
        for small in statement.body:
            if isinstance(small, cst.Assign) and _on(small.value):
                for target in small.targets:
                    if _environ_key(target.target, resolve) == LAUNCH_BLOCKING:
                        yield small, in_function


def _on(value: cst.BaseExpression) -> bool:
    literal = literal_value(value)
    return isinstance(literal, (str, int)) and literal not in _OFF_VALUES


def _environ_key(target: cst.BaseExpression, resolve) -> object:  # noqa: ANN001
    """`os.environ["KEY"]` -> "KEY"."""
    if not isinstance(target, cst.Subscript) or resolve(target.value) != "os.environ" or len(target.slice) != 1:
        return None
    index = target.slice[0].slice
    return literal_value(index.value) if isinstance(index, cst.Index) else None


def _unconditional_statements(
    body: Iterable[cst.CSTNode], in_function: bool
) -> Iterator[tuple[cst.SimpleStatementLine, bool]]:
    """Simple statements not under an `if`/`else`/`except`/`match` (loops, `with` and `try`
    bodies run; so do function bodies, when the function is called)."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement, in_function
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            inner = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
            yield from _unconditional_statements(inner, True)
        elif isinstance(statement, (cst.For, cst.While, cst.With, cst.Try)) or _main_guard(statement):
            inner = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
            yield from _unconditional_statements(inner, in_function)


def _main_guard(statement: cst.CSTNode) -> bool:
    """`if __name__ == "__main__":`: the script's own entry point, not a debug guard."""
    if not isinstance(statement, cst.If) or not isinstance(statement.test, cst.Comparison):
        return False
    test = statement.test
    sides = [test.left, *(c.comparator for c in test.comparisons)]
    return any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides) and "__main__" in [
        literal_value(s) for s in sides
    ]
