"""The loops around the optimizer step (``LoopPlan``) and how each one's count can be known
(``LoopCount``): from the first step's call stack (``plan_from_stack``) or, without a run, from the
optimizer step call sites and their callers (``static_plan``); ``range()`` / iterable / counter
``while`` loops, and gradient accumulation (``Accumulation``) between the loop and the step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from greenlint.profiler.run_length_expr import Expr, base_name, number_expr, range_count, ref_text, to_expr
from greenlint.profiler.run_length_script import ScriptStructure
from greenlint.rules.analysis.facts import FunctionInfo, LoopInfo
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.training_steps import is_optimizer_step
from greenlint.rules.fixes import loop_header

_MAX_CALLER_DEPTH = 4
_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "progress_bar"})
_TRANGES = frozenset({"trange", "tqdm.trange", "tqdm.auto.trange"})


@dataclass
class LoopCount:
    """One loop around the optimizer step, and how its number of iterations can be known."""

    file: str
    line: int
    header: str  # `for epoch in range(args.epochs)`, cut for messages
    header_lines: tuple[int, int]  # first and last line of the header (where iter() is called)
    function: str  # the enclosing function's name, "<module>" at the top level
    kind: str  # range | iterable | while | unknown
    count: Expr | None  # range / while: the iterations; iterable: None (a length at run time)
    iterable: str | None = None  # iterable: the iterated expression (wrappers such as enumerate removed)
    target: str = ""
    # while-counter loops: runs while `counter` < bound (strict) or <= bound, counting up by 1
    counter: str | None = None
    counter_start: Expr | None = None  # its value before the loop, from the source
    strict: bool = True
    incremented_before_step: bool = False  # the `+= 1` comes before the optimizer step in the body
    bound_from: str = ""  # "loop test" / "break at train.py:40"
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.kind == "iterable":
            return "batches"
        return "epochs" if "epoch" in self.target.lower() else "iterations"


@dataclass
class Accumulation:
    """`if (i + 1) % ACCUM == 0:` around the optimizer step: one step every ACCUM iterations."""

    file: str
    line: int
    condition: str
    every: Expr
    steps_on_last: bool  # the condition also steps at the end of the epoch: ceil, not floor


def _function_name(function: FunctionInfo | None) -> str:
    return function.name if function is not None else "<module>"


@dataclass
class LoopPlan:
    """The loops around the optimizer step, outermost first, and how the step is reached."""

    loops: list[LoopCount]
    accumulation: Accumulation | None
    step_site: tuple[str, int]  # file, line of the innermost frame / the step call
    found_by: str  # "the first optimizer step's call stack" / "the source: ..."
    notes: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # stack frames in files that could not be parsed
    # the optimizer step calls directly in the innermost loop, when there is more than one
    # (a GAN's two optimizers): (call text with its line, unconditional)
    step_calls: list[tuple[str, bool]] = field(default_factory=list)


def _innermost_function(s: ScriptStructure, line: int) -> FunctionInfo | None:
    best, best_span = None, None
    for infos in s.analysis.facts.functions.values():
        for info in infos:
            start, end = s.span(info.node)
            if start <= line <= end and (best_span is None or end - start < best_span):
                best, best_span = info, end - start
    return best


def _loops_at(s: ScriptStructure, line: int) -> list[LoopInfo]:
    """The loops of the function executing `line` whose body holds it, outermost first."""
    function = _innermost_function(s, line)
    found = []
    for loop in s.analysis.facts.loops:
        if loop.function is not function:
            continue
        body_start, body_end = s.span(loop.node.body)
        if body_start <= line <= body_end:
            found.append(loop)
    found.sort(key=lambda lp: len(lp.enclosing()))
    return found


def _unwrap_iterable(node: cst.BaseExpression, s: ScriptStructure) -> tuple[str, cst.BaseExpression]:
    """('range', call) / ('iterable', expr): `enumerate(tqdm(loader))` -> loader; trange(n) -> range."""
    for _ in range(4):
        if not isinstance(node, cst.Call):
            break
        name = dotted_name(node.func) or ""
        qualified = s.analysis.facts.imports.resolve(node.func) or name
        if name == "range":
            return "range", node
        if name in _TRANGES or qualified in _TRANGES:
            return "range", node
        if (name in _WRAPPERS or qualified in _WRAPPERS) and node.args and node.args[0].keyword is None:
            node = node.args[0].value
            continue
        break
    if isinstance(node, cst.Call) and (dotted_name(node.func) or "") == "range":
        return "range", node
    return "iterable", node


def loop_count(s: ScriptStructure, loop: LoopInfo, step_line: int | None = None) -> LoopCount:
    node, module = loop.node, s.module
    header = loop_header(module, node, width=80)
    function = _function_name(loop.function)
    line = s.line(node)
    notes: list[str] = []
    breaks = _direct_breaks(node)
    if isinstance(node, cst.For):
        header_lines = (line, s.span(node.iter)[1])
        target = module.code_for_node(node.target)
        kind, inner = _unwrap_iterable(node.iter, s)
        if breaks:
            notes.append(f"`{header}` has a `break` ({base_name(s.file)}:{s.line(breaks[0])}): its count is an upper bound")
        if kind == "range":
            count = range_count(inner, module)
            return LoopCount(s.file, line, header, header_lines, function, "range" if count else "unknown", count,
                             target=target, notes=notes)
        if isinstance(inner, (cst.List, cst.Tuple)):
            return LoopCount(s.file, line, header, header_lines, function, "range", number_expr(len(inner.elements)),
                             target=target, notes=notes)
        text = " ".join(module.code_for_node(inner).split())
        return LoopCount(s.file, line, header, header_lines, function, "iterable", None,
                         iterable=ref_text(inner) or text, target=target, notes=notes)
    return _while_count(s, loop, header, function, line, breaks, step_line)


def _direct_breaks(loop: cst.For | cst.While) -> list[cst.Break]:
    """`break` statements of this loop itself (not of loops or functions inside it)."""
    found, stack = [], [loop.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Break):
            found.append(node)
            continue
        if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        stack.extend(node.children)
    return found


_STRICT = {cst.LessThan: True, cst.LessThanEqual: False, cst.GreaterThan: True, cst.GreaterThanEqual: False}


def _counter_bound(test: cst.BaseExpression, module: cst.Module, *, loop_test: bool) -> tuple[str, Expr, bool] | None:
    """(counter, bound, strict) from `i < n` / `n > i` (a while test) or `i >= n` / `n <= i` (a break test)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    comp = test.comparisons[0]
    op = type(comp.operator)
    if op not in _STRICT:
        return None
    less = op in (cst.LessThan, cst.LessThanEqual)
    left, right = test.left, comp.comparator
    # while: the counter is on the small side; break: on the large side.
    counter_node, bound_node = (left, right) if less == loop_test else (right, left)
    counter = ref_text(counter_node)
    if counter is None:
        return None
    strict = _STRICT[op] if loop_test else not _STRICT[op]
    # while i < n: n - start iterations (strict); break if i >= n: the same; `<=` / `>`: one more.
    return counter, to_expr(bound_node, module), strict


def _while_count(s: ScriptStructure, loop: LoopInfo, header: str, function: str, line: int,
                 breaks: list[cst.Break], step_line: int | None) -> LoopCount:
    node, module = loop.node, s.module
    header_lines = (line, s.span(node.test)[1])
    found = _counter_bound(node.test, module, loop_test=True)
    how = "loop test"
    if found is None and literal_value(node.test) in (True, 1):
        for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            if isinstance(statement, cst.If) and statement.orelse is None and _is_just_break(statement.body):
                found = _counter_bound(statement.test, module, loop_test=False)
                if found is not None:
                    how = f"break at {base_name(s.file)}:{s.line(statement)}"
                    break
    if found is None:
        return LoopCount(s.file, line, header, header_lines, function, "unknown", None)
    counter, bound, strict = found
    increment = _increment_line(node, counter, s)
    if increment is None:
        return LoopCount(s.file, line, header, header_lines, function, "unknown", None,
                         notes=[f"`{counter}` is not incremented by 1 in `{header}`"])
    notes = []
    if how == "loop test" and breaks:
        notes.append(f"`{header}` has a `break` ({base_name(s.file)}:{s.line(breaks[0])}): its count is an upper bound")
    return LoopCount(s.file, line, header, header_lines, function, "while", bound, target=counter, counter=counter,
                     counter_start=_start_value(s, counter, function, line), strict=strict,
                     incremented_before_step=step_line is not None and increment < step_line,
                     notes=notes, bound_from=how)


def _is_just_break(body: cst.BaseSuite) -> bool:
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        small = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else [statement]
        if any(isinstance(x, cst.Break) for x in small):
            return True
    return False


def _increment_line(loop: cst.While, counter: str, s: ScriptStructure) -> int | None:
    """The line of `counter += 1` in the loop's own body (not in loops or functions inside it)."""
    stack: list[cst.CSTNode] = [loop.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if (isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign)
                and ref_text(node.target) == counter and literal_value(node.value) == 1):
            return s.line(node)
        stack.extend(node.children)
    return None


def _start_value(s: ScriptStructure, counter: str, function: str, before_line: int) -> Expr:
    """The counter's value before the loop: its last literal assignment above the loop, else 0."""
    best = None
    for line, expr, where in s.assignments.get(counter, []):
        if where == function and line < before_line and expr.kind == "num":
            best = expr
    return best if best is not None else number_expr(0, "0 (no literal start value found)")


def _accumulation(s: ScriptStructure, loop: LoopInfo, line: int) -> Accumulation | None:
    """An `if (i + 1) % N == 0` (or `i % N == 0`) between the loop and `line`."""
    stack: list[cst.CSTNode] = [loop.node.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(node, cst.If):
            start, end = s.span(node.body)
            if start <= line <= end:
                found = _modulus_condition(node.test, s)
                if found is not None:
                    every, last = found
                    condition = " ".join(s.module.code_for_node(node.test).split())
                    return Accumulation(s.file, s.line(node), condition, every, last)
        stack.extend(node.children)
    return None


def _modulus_condition(test: cst.BaseExpression, s: ScriptStructure) -> tuple[Expr, bool] | None:
    """(N, steps on the last batch too) for `X % N == 0`, optionally `or <anything>`."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
        for side in (test.left, test.right):
            found = _modulus_condition(side, s)
            if found is not None:
                return found[0], True
        return None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comp = test.comparisons[0]
        if isinstance(comp.operator, cst.Equal):
            for a, b in ((test.left, comp.comparator), (comp.comparator, test.left)):
                if literal_value(b) == 0 and isinstance(a, cst.BinaryOperation) and isinstance(a.operator, cst.Modulo):
                    return to_expr(a.right, s.module), False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = test.expression
        if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Modulo):
            return to_expr(inner.right, s.module), False
    return None


def plan_from_stack(structures: dict[str, ScriptStructure], frames: list[dict[str, Any]]) -> LoopPlan | None:
    """The loops around the first optimizer step, from the user frames the probe recorded
    (innermost first): each frame's line, inside the loops of its function."""
    loops: list[LoopCount] = []
    accumulation = None
    step_site = None
    unread = []
    step_calls: list[tuple[str, bool]] = []
    for frame in frames:  # innermost first
        s = structures.get(frame["file"])
        if s is None or s.analysis is None:
            unread.append(f"{base_name(frame['file'])}:{frame['line']}")
            continue
        line = int(frame["line"])
        if step_site is None:
            step_site = (s.file, line)
        found = _loops_at(s, line)
        if found and accumulation is None and not step_calls:
            accumulation = _accumulation(s, found[-1], line)
            step_calls = _step_calls(s, found[-1]) or [("", True)]
        inner_first = [loop_count(s, lp, line) for lp in reversed(found)]
        loops.extend(inner_first)
    if step_site is None and not unread:
        return None
    loops.reverse()  # outermost first
    return LoopPlan(loops, accumulation, step_site or ("", 0), "the first optimizer step's call stack", unread=unread,
                    step_calls=[c for c in step_calls if c[0]])


def _step_calls(s: ScriptStructure, loop: LoopInfo) -> list[tuple[str, bool]]:
    """Optimizer step calls directly in the loop (not in loops inside it), if more than one."""
    facts = s.analysis.facts
    sites = [site for site in facts.calls if site.loop is loop and is_optimizer_step(site, facts.optimizer_names)]
    if len(sites) < 2:
        return []
    return [(f"`{s.module.code_for_node(site.node)}` at {base_name(s.file)}:{s.line(site.node)}",
             site.cond_depth == loop.cond_depth) for site in sites]


def static_plan(s: ScriptStructure) -> LoopPlan | None:
    """Without a run: the optimizer step call sites of the file, and the loops around them and
    around the calls of the function that holds them (followed up to a few callers)."""
    if s.analysis is None:
        return None
    facts = s.analysis.facts
    steps = [site for site in facts.calls if is_optimizer_step(site, facts.optimizer_names)]
    if not steps:
        return None
    # Prefer a step inside a training loop (backward + step), then one inside any loop.
    steps.sort(key=lambda site: (not (site.loop and site.loop.does_training), site.loop is None, s.line(site.node)))
    site = steps[0]
    lines = [s.line(site.node)]
    notes = []
    function = site.function
    for _ in range(_MAX_CALLER_DEPTH):
        if function is None:
            break
        callers = [c for c in facts.calls if function in facts.local_functions_called(c)]
        if not callers:
            break
        callers.sort(key=lambda c: (c.loop is None, s.line(c.node)))
        if len({id(c.node) for c in callers}) > 1:
            notes.append(f"`{function.name}` is called from {len(callers)} places; "
                         f"following the one at {base_name(s.file)}:{s.line(callers[0].node)}")
        lines.append(s.line(callers[0].node))
        function = callers[0].function
    frames = [{"file": s.file, "line": line} for line in lines]
    plan = plan_from_stack({s.file: s}, frames)
    if plan is not None:
        plan.found_by = f"the source: the optimizer step at {base_name(s.file)}:{lines[0]}"
        plan.notes.extend(notes)
    return plan
