"""How many optimizer steps the whole run takes, from what the script itself says.

The projection needs the run's total step count. This module reads it from the script's source
(parsed with libcst, never imported or run) combined with values recorded in the child at run time
(``run_length_probe.py``): the loops that enclose the optimizer step and how often each runs.

- the loops: from the first optimizer step's call stack (the user's frames, as the probe saw
  them), each frame's line enclosed by loops of its function; without a stack, statically: the
  optimizer ``.step()`` call sites that the rules' training-loop facts find, then the callers of
  the function that holds them. Optimizer steps = the product of the enclosing loops' counts.
- a loop's count: ``range(...)`` (literal, module constant, ``args.epochs``, ``config.num_epochs``,
  arithmetic on those), the length of the DataLoader it iterates (``len()`` at run time), or a
  ``while step < max_iters`` / ``while True: ... if step >= max_iters: break`` counter loop.
- gradient accumulation: the step under ``if (i + 1) % ACCUM == 0`` divides the innermost loop's
  count (floor; ceil when the condition also steps on the last batch). A measured batches-per-step
  ratio (the DataLoader iterator's own counter) checks it, or stands in when no condition is seen.
- HF ``Trainer`` / Lightning ``Trainer``: their step counts when the probe found one on the first
  step's stack; else ``TrainingArguments(max_steps=...)`` / ``Trainer(max_steps=...)`` keywords.

Every number carries where it came from; ``TotalSteps.basis`` says it in one sentence.
"""

from __future__ import annotations

import math
import os
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import FunctionInfo, LoopInfo, is_optimizer_step
from greenlint.rules.analysis.literals import literal_value, string_value
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.fixes import loop_header
from libcst.metadata import MetadataWrapper, PositionProvider

MAX_SOURCE_BYTES = 2_000_000
_MAX_CALLER_DEPTH = 4
_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "progress_bar"})
_TRANGES = frozenset({"trange", "tqdm.trange", "tqdm.auto.trange"})
_HF_ARGS_SUFFIXES = ("TrainingArguments", "SFTConfig", "DPOConfig", "GRPOConfig", "RewardConfig", "ORPOConfig", "KTOConfig")
_LIGHTNING_TRAINERS = frozenset({
    "lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer",
    "lightning.pytorch.trainer.Trainer", "pytorch_lightning.trainer.Trainer",
    "lightning.pytorch.trainer.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
})
_HF_KEYWORDS = ("max_steps", "num_train_epochs", "gradient_accumulation_steps")
_LIGHTNING_KEYWORDS = ("max_epochs", "max_steps", "accumulate_grad_batches", "limit_train_batches")


# ------------------------------------------------------------------------------------ expressions


@dataclass(frozen=True)
class Expr:
    """A number the script computes: a literal, a name, arithmetic, or something unknown."""

    kind: str  # num | ref | len | op | unknown
    text: str  # the source text, for messages
    value: float | None = None  # num
    op: str = ""  # op: + - * // / int ceil min max range
    args: tuple[Expr, ...] = ()


def _num(value: float, text: str | None = None) -> Expr:
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
        return _num(value, text)
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
    start, stop, step = (_num(0), parts[0], _num(1)) if len(parts) == 1 else (parts[0], parts[1], parts[2] if len(parts) == 3 else _num(1))
    return Expr("op", text, op="range", args=(start, stop, step))


# ----------------------------------------------------------------------------------- static facts


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


@dataclass
class ArgOption:
    option: str  # "--epochs"
    line: int
    default: Expr | None


@dataclass
class FrameworkCall:
    framework: str  # transformers | lightning
    file: str
    line: int
    call: str  # "TrainingArguments(...)"
    keywords: dict[str, Expr]


@dataclass(eq=False)
class ScriptStructure:
    """What one file's source says that the run-length reading needs."""

    file: str
    module: cst.Module | None
    analysis: ModuleAnalysis | None
    positions: Any = None
    argparse_options: dict[str, ArgOption] = field(default_factory=dict)  # dest -> option
    argparse_vars: set[str] = field(default_factory=set)  # names bound to a parse_args() result
    # name -> [(line, value expression, function name or "<module>")] for every simple assignment
    assignments: dict[str, list[tuple[int, Expr, str]]] = field(default_factory=dict)
    frameworks: list[FrameworkCall] = field(default_factory=list)
    error: str | None = None

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self.positions[node]
        return pos.start.line, pos.end.line


def read_source(path: str) -> str:
    if os.path.getsize(path) > MAX_SOURCE_BYTES:
        raise ValueError(f"larger than {MAX_SOURCE_BYTES // 1_000_000} MB")
    with tokenize.open(path) as fh:  # honours a coding cookie, as Python does
        return fh.read()


def analyse(source: str, file: str) -> ScriptStructure:
    """Parse one file and collect its facts; a file that does not parse gives an empty structure."""
    try:
        module = cst.parse_module(source)
    except Exception as exc:  # noqa: BLE001 - libcst's ParserSyntaxError and friends
        return ScriptStructure(file, None, None, error=f"does not parse ({type(exc).__name__})")
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    structure = ScriptStructure(file, module, ModuleAnalysis.of(module), positions)
    _collect(structure)
    return structure


def _function_name(function: FunctionInfo | None) -> str:
    return function.name if function is not None else "<module>"


def _collect(s: ScriptStructure) -> None:
    module, facts = s.module, s.analysis.facts
    for site in facts.calls:
        call = site.node
        if site.attr == "add_argument":
            _collect_option(s, call)
        qualname = site.qualname or ""
        framework = None
        if qualname.startswith(("transformers.", "trl.")) and qualname.endswith(_HF_ARGS_SUFFIXES):
            framework, wanted = "transformers", _HF_KEYWORDS
        elif qualname in _LIGHTNING_TRAINERS:
            framework, wanted = "lightning", _LIGHTNING_KEYWORDS
        if framework is not None:
            keywords = {a.keyword.value: to_expr(a.value, module) for a in call.args
                        if a.keyword is not None and a.keyword.value in wanted}
            name = (dotted_name(call.func) or qualname).rsplit(".", 1)[-1]
            s.frameworks.append(FrameworkCall(framework, s.file, s.line(call), f"{name}(...)", keywords))
    for target, value, function in _simple_assignments(module):
        parsed = isinstance(value, cst.Call) and (dotted_name(value.func) or "").endswith((".parse_args", ".parse_known_args"))
        if parsed and isinstance(target, (cst.Tuple, cst.List)) and target.elements:
            target = target.elements[0].value  # `args, unknown = parser.parse_known_args()`
        name = ref_text(target)
        if name is None:
            continue
        if parsed:
            s.argparse_vars.add(name)
        s.assignments.setdefault(name, []).append((s.line(target), to_expr(value, module), function))


def _collect_option(s: ScriptStructure, call: cst.Call) -> None:
    strings = [string_value(a.value) for a in call.args if a.keyword is None and not a.star]
    strings = [x for x in strings if x]
    if not strings:
        return
    dest_arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "dest"), None)
    longs = [x for x in strings if x.startswith("--")]
    option = longs[0] if longs else strings[0]
    dest = string_value(dest_arg.value) if dest_arg is not None else None
    if dest is None:
        dest = option.lstrip("-").replace("-", "_")
    default_arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "default"), None)
    default = to_expr(default_arg.value, s.module) if default_arg is not None else None
    s.argparse_options[dest] = ArgOption(option, s.line(call), default)


def _simple_assignments(module: cst.Module) -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression, str]]:
    """(target, value, enclosing function's name) for every single-target assignment."""
    stack: list[tuple[cst.CSTNode, str]] = [(module, "<module>")]
    while stack:
        node, function = stack.pop()
        if isinstance(node, cst.FunctionDef):
            function = node.name.value
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            yield node.targets[0].target, node.value, function
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            yield node.target, node.value, function
        stack.extend((child, function) for child in reversed(node.children))


# ------------------------------------------------------------------------------ the loops around a step


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
            notes.append(f"`{header}` has a `break` ({_base(s.file)}:{s.line(breaks[0])}): its count is an upper bound")
        if kind == "range":
            count = range_count(inner, module)
            return LoopCount(s.file, line, header, header_lines, function, "range" if count else "unknown", count,
                             target=target, notes=notes)
        if isinstance(inner, (cst.List, cst.Tuple)):
            return LoopCount(s.file, line, header, header_lines, function, "range", _num(len(inner.elements)),
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
                    how = f"break at {_base(s.file)}:{s.line(statement)}"
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
        notes.append(f"`{header}` has a `break` ({_base(s.file)}:{s.line(breaks[0])}): its count is an upper bound")
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
    return best if best is not None else _num(0, "0 (no literal start value found)")


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
            unread.append(f"{_base(frame['file'])}:{frame['line']}")
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
    return [(f"`{s.module.code_for_node(site.node)}` at {_base(s.file)}:{s.line(site.node)}",
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
                         f"following the one at {_base(s.file)}:{s.line(callers[0].node)}")
        lines.append(s.line(callers[0].node))
        function = callers[0].function
    frames = [{"file": s.file, "line": line} for line in lines]
    plan = plan_from_stack({s.file: s}, frames)
    if plan is not None:
        plan.found_by = f"the source: the optimizer step at {_base(s.file)}:{lines[0]}"
        plan.notes.extend(notes)
    return plan


# ------------------------------------------------------------------------------------ evaluation


@dataclass
class Runtime:
    """The probe's values (raw result's "run_length"), indexed for lookups."""

    argparse: dict[str, tuple[Any, str]] = field(default_factory=dict)  # dest -> (value, option)
    frames: list[dict[str, Any]] = field(default_factory=list)
    loaders: list[dict[str, Any]] = field(default_factory=list)
    frameworks: list[dict[str, Any]] = field(default_factory=list)
    seen_first_step: bool = False

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Runtime:
        if not data:
            return cls()
        args: dict[str, tuple[Any, str]] = {}
        for namespace in data.get("argparse") or []:
            options = namespace.get("options", {})
            for dest, value in namespace.get("values", {}).items():
                args[dest] = (value, options.get(dest, f"--{dest}"))
        first = data.get("first_step") or {}
        return cls(args, list(first.get("frames") or []), list(data.get("loaders") or []),
                   list(data.get("frameworks") or []), bool(first))

    def frame(self, file: str, function: str) -> dict[str, Any] | None:
        for frame in self.frames:
            if frame.get("file") == file and frame.get("function") == function:
                return frame
        return None


@dataclass
class Known:
    value: float
    sources: list[str]


@dataclass
class Unknown:
    missing: list[str]


def _base(path: str) -> str:
    return os.path.basename(path)


def _fmt(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.4g}"


class Evaluator:
    """Evaluates a loop's count with the run-time values, saying where each number came from."""

    def __init__(self, structure: ScriptStructure, runtime: Runtime) -> None:
        self.s = structure
        self.rt = runtime

    def evaluate(self, expr: Expr, function: str, depth: int = 0) -> Known | Unknown:
        if expr.kind == "num":
            return Known(expr.value, [])
        if expr.kind == "ref":
            return self._ref(expr.text, function, depth)
        if expr.kind == "len":
            return self._len(expr.args[0], function)
        if expr.kind == "op":
            parts = [self.evaluate(a, function, depth) for a in expr.args]
            missing = [m for p in parts if isinstance(p, Unknown) for m in p.missing]
            if missing:
                return Unknown(missing)
            values = [p.value for p in parts]
            sources = list(dict.fromkeys(src for p in parts for src in p.sources))
            try:
                return Known(_apply(expr.op, values), sources)
            except (ZeroDivisionError, ValueError, OverflowError):
                return Unknown([f"`{expr.text}` (not computable: {values})"])
        return Unknown([f"`{expr.text}`"])

    def _option(self, dest: str) -> str:
        option = self.s.argparse_options.get(dest)
        return f"{option.option}, {_base(self.s.file)}:{option.line}" if option else ""

    def _ref(self, text: str, function: str, depth: int) -> Known | Unknown:
        base, _, attr = text.partition(".")
        for where in (function, "<module>"):
            frame = self.rt.frame(self.s.file, where)
            if frame is None or text not in frame.get("values", {}):
                continue
            value = frame["values"][text]
            if not _is_number(value):
                return Unknown([f"`{text}` (= {value!r} at run time, not a number)"])
            return Known(value, [self._describe(text, value, where)])
        if attr and "." not in attr:
            # `args.epochs` read nowhere on the stack (a helper's parameter): the parsed value of
            # the option with that dest.
            if attr in self.rt.argparse and _is_number(self.rt.argparse[attr][0]):
                value, option = self.rt.argparse[attr]
                where = self._option(attr)
                return Known(value, [f"{text} = {_fmt(value)} from argparse {where or option} at run time"])
            option = self.s.argparse_options.get(attr) if base in self.s.argparse_vars else None
            if not self.rt.argparse and option is not None and option.default is not None and depth < 3:
                known = self.evaluate(option.default, "<module>", depth + 1)
                if isinstance(known, Known):
                    what = (f"{text} = {_fmt(known.value)}: the default of argparse {option.option}, "
                            f"{_base(self.s.file)}:{option.line} (no run-time value)")
                    return Known(known.value, [what])
        # A literal (or computable) assignment in the source: a module constant, a local.
        assignments = [a for a in self.s.assignments.get(text, []) if a[2] in (function, "<module>")]
        if len(assignments) == 1 and depth < 3:
            line, value_expr, _ = assignments[0]
            known = self.evaluate(value_expr, function, depth + 1)
            if isinstance(known, Known):
                what = (f"{text} = {_fmt(known.value)}, {_base(self.s.file)}:{line}" if value_expr.kind == "num" else
                        f"{text} = {value_expr.text} = {_fmt(known.value)}, {_base(self.s.file)}:{line}")
                return Known(known.value, [what, *known.sources])
        return Unknown([f"the value of `{text}`"])

    def _describe(self, text: str, value: Any, where: str) -> str:
        _, _, attr = text.partition(".")
        if attr and "." not in attr and attr in self.rt.argparse and self.rt.argparse[attr][0] == value:
            return f"{text} = {_fmt(value)} from argparse {self._option(attr) or self.rt.argparse[attr][1]} at run time"
        literal = [(line, e) for line, e, fn in self.s.assignments.get(text, []) if fn == where and e.kind == "num"]
        if literal and all(e.value == value for _, e in literal):
            return f"{text} = {_fmt(value)}, {_base(self.s.file)}:{literal[0][0]}"
        if literal:
            return (f"{text} = {_fmt(value)} at the first optimizer step ({_base(self.s.file)}:{literal[0][0]} "
                    f"sets {_fmt(literal[0][1].value)}; changed before the loop)")
        return f"{text} = {_fmt(value)} at the first optimizer step"

    def _len(self, inner: Expr, function: str) -> Known | Unknown:
        if inner.kind == "ref":
            for where in (function, "<module>"):
                frame = self.rt.frame(self.s.file, where)
                if frame is not None and inner.text in frame.get("lengths", {}):
                    value = frame["lengths"][inner.text]
                    return Known(value, [f"len({inner.text}) = {_fmt(value)} at run time"])
        return Unknown([f"len({inner.text})"])

    def loop(self, loop: LoopCount) -> Known | Unknown:
        if loop.kind == "while" and loop.count is not None:
            return self._while(loop)
        if loop.kind == "range" and loop.count is not None:
            return self.evaluate(loop.count, loop.function)
        if loop.kind == "iterable":
            return self._iterable(loop)
        return Unknown([f"how often `{loop.header}` runs"])

    def _while(self, loop: LoopCount) -> Known | Unknown:
        """Iterations of a counter loop: bound - start (+ 1 when `<=` / `>`)."""
        bound = self.evaluate(loop.count, loop.function)
        if isinstance(bound, Unknown):
            return bound
        frame = self.rt.frame(loop.file, loop.function)
        at_step = frame.get("values", {}).get(loop.counter) if frame else None
        if _is_number(at_step):
            # The counter at the first optimizer step is where this run started (a resumed run
            # starts above the source's literal), plus one if it is incremented before the step.
            start = at_step - (1 if loop.incremented_before_step else 0)
            how = f"{loop.counter} = {_fmt(start)} when the loop began (read at the first optimizer step)"
        else:
            start_known = self.evaluate(loop.counter_start, loop.function)
            if isinstance(start_known, Unknown):
                return start_known
            start = start_known.value
            how = f"{loop.counter} starts at {loop.counter_start.text}"
        value = max(bound.value - start + (0 if loop.strict else 1), 0)
        comparison = "<" if loop.strict else "<="
        return Known(value, [f"while {loop.counter} {comparison} {loop.count.text} ({loop.bound_from})",
                             *bound.sources, how])

    def _iterable(self, loop: LoopCount) -> Known | Unknown:
        why = None
        for record in self.rt.loaders:
            if not _iterated_at(record, loop):
                continue
            lengths = record.get("lengths") or []
            if len(lengths) == 1:
                return Known(lengths[0], ["len() of the DataLoader it iterates, at run time"])
            if len(lengths) > 1:
                return Unknown([f"the length of `{loop.iterable}` (DataLoaders of lengths {lengths} from the same line)"])
            why = record.get("why_unknown")
        frame = self.rt.frame(loop.file, loop.function)
        if why is None and frame is not None and loop.iterable in frame.get("lengths", {}):
            value = frame["lengths"][loop.iterable]
            return Known(value, [f"len({loop.iterable}) at run time"])
        if why is None:
            ran = self.rt.seen_first_step or self.rt.loaders
            why = "not a DataLoader with a length" if ran else "known only at run time"
        return Unknown([f"the length of `{loop.iterable}` ({why})"])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _apply(op: str, v: list[float]) -> float:
    if op == "+":
        return v[0] + v[1]
    if op == "-":
        return v[0] - v[1]
    if op == "*":
        return v[0] * v[1]
    if op == "//":
        return v[0] // v[1]
    if op == "/":
        return v[0] / v[1]
    if op == "int":
        return float(int(v[0]))
    if op == "ceil":
        return float(math.ceil(v[0]))
    if op == "min":
        return min(v)
    if op == "max":
        return max(v)
    if op == "range":
        start, stop, step = v
        return max(math.ceil((stop - start) / step), 0)
    raise ValueError(op)


# ---------------------------------------------------------------------------------------- the total


@dataclass
class TotalSteps:
    total_steps: int | None
    basis: str  # where the number came from; or, when unknown, what was tried
    notes: list[str] = field(default_factory=list)


def _plan_total(plan: LoopPlan, structures: dict[str, ScriptStructure], runtime: Runtime,
                tried: list[str]) -> TotalSteps | None:
    if plan.unread:
        # A loop in an unread file would multiply the count: better unknown than too small.
        tried.append(f"the first step's call stack passes through code that could not be parsed "
                     f"({', '.join(plan.unread)})")
        return None
    if not plan.loops:
        file, line = plan.step_site
        tried.append(f"no loop encloses the optimizer step ({_base(file)}:{line})")
        return None
    terms, total, missing = [], 1.0, []
    innermost = plan.loops[-1]
    notes = [n for lp in plan.loops for n in lp.notes]
    for loop in plan.loops:
        known = Evaluator(structures[loop.file], runtime).loop(loop)
        if isinstance(known, Unknown):
            missing.extend(known.missing)
            continue
        count = int(known.value)
        where = f"`{loop.header}` at {_base(loop.file)}:{loop.line}"
        detail = "; ".join([where, *known.sources])
        if loop is innermost:
            innermost_count, innermost_detail = count, detail
        else:
            terms.append(f"{_fmt(count)} {loop.label} ({detail})")
            total *= count
    if missing:
        tried.append(f"the loops around the optimizer step ({plan.found_by}): "
                     f"{', '.join(f'`{lp.header}`' for lp in plan.loops)}, but not known: {'; '.join(missing)}")
        return None
    per, inner_term = _accumulate(plan, structures, runtime, innermost, innermost_count, innermost_detail, notes)
    if per is None:
        tried.append(inner_term)
        return None
    terms.append(inner_term)
    total *= per
    value = int(total)
    basis = f"total steps {_fmt(value)} = " + " x ".join(terms) + f"; loops found from {plan.found_by}"
    return TotalSteps(value, basis, notes + plan.notes)


def _accumulate(plan: LoopPlan, structures: dict[str, ScriptStructure], runtime: Runtime, loop: LoopCount,
                count: int, detail: str, notes: list[str]) -> tuple[int | None, str]:
    """The innermost loop's optimizer steps: its count, divided by gradient accumulation."""
    measured = _measured_ratio(loop, runtime)
    acc = plan.accumulation
    term = f"{_fmt(count)} {loop.label} ({detail})"
    calls = plan.step_calls
    if calls and not all(unconditional for _, unconditional in calls):
        notes.append(f"{len(calls)} optimizer step calls in `{loop.header}` ({', '.join(c for c, _ in calls)}), "
                     "some under a condition: the total counts one step per iteration and may be low")
        calls = []
    if acc is None:
        if measured is not None:
            batches, steps = measured
            every = _whole_ratio(batches, steps)
            if every is not None and every >= 2:
                per = count // every
                return per, (f"{_fmt(per)} optimizer steps per pass = {term} // {every} (measured: {batches} batches "
                             f"for {steps} optimizer steps since the loop's iter(); no accumulation condition was found)")
            times = _whole_ratio(steps, batches)
            if times is not None and times >= 2 and not calls:
                return count * times, (f"{_fmt(count * times)} optimizer steps per pass = {term} x {times} (measured: "
                                       f"{steps} optimizer steps for {batches} batches since the loop's iter())")
        if calls:
            return count * len(calls), (f"{_fmt(count * len(calls))} optimizer steps per pass = {term} x {len(calls)} "
                                        f"optimizer step calls per iteration ({', '.join(c for c, _ in calls)})")
        return count, term
    known = Evaluator(structures[acc.file], runtime).evaluate(acc.every, loop.function)
    where = f"gradient accumulation: the step is under `if {acc.condition}`, {_base(acc.file)}:{acc.line}"
    if isinstance(known, Unknown):
        return None, f"{where}, but not known: {'; '.join(known.missing)}"
    every = int(known.value)
    if every < 1:
        return None, f"{where}, which evaluates to {every}"
    per = math.ceil(count / every) if acc.steps_on_last else count // every
    rounding = "ceil: it also steps on the last batch" if acc.steps_on_last else "floor"
    if measured is not None and _whole_ratio(*measured) != every:
        notes.append(f"measured {measured[0]} batches for {measured[1]} optimizer steps, "
                     f"not the {every} per step that `{acc.condition}` suggests")
    sources = "; ".join([where, *known.sources, rounding])
    return per, f"{_fmt(per)} optimizer steps per pass = {term} / {every} ({sources})"


def _measured_ratio(loop: LoopCount, runtime: Runtime) -> tuple[int, int] | None:
    """(batches, optimizer steps) since the latest iter() of the DataLoader the loop iterates: the
    iterator's own batch counter, read by the probe at the end."""
    if loop.kind != "iterable":
        return None
    for record in runtime.loaders:
        if _iterated_at(record, loop):
            batches, steps = record.get("batches_since_iter"), record.get("steps_since_iter")
            if isinstance(batches, int) and isinstance(steps, int) and min(batches, steps) >= 1 and max(batches, steps) >= 2:
                return batches, steps
    return None


def _iterated_at(record: dict[str, Any], loop: LoopCount) -> bool:
    """Was this DataLoader iterated from the loop's header? Any of the recorded user frames counts:
    the innermost one is inside the user's own wrapper when the loop iterates one (a prefetcher)."""
    first, last = loop.header_lines
    return any(file == loop.file and first <= line <= last for file, line in record.get("sites") or [])


def _whole_ratio(a: int, b: int) -> int | None:
    """a / b when it is (within 5 %) a whole number, else None."""
    if b <= 0:
        return None
    ratio = a / b
    return round(ratio) if round(ratio) >= 1 and abs(ratio - round(ratio)) <= 0.05 * ratio else None


def _framework_total(runtime: Runtime, tried: list[str]) -> TotalSteps | None:
    for record in runtime.frameworks:
        values = record.get("values", {})
        name = record.get("class", "Trainer")
        if record.get("framework") == "transformers":
            total, done = values.get("state.max_steps"), values.get("state.global_step") or 0
            if isinstance(total, int) and total > 0:
                args = ", ".join(f"{k.split('.', 1)[1]}={values[k]}" for k in
                                 ("args.max_steps", "args.num_train_epochs", "args.gradient_accumulation_steps")
                                 if values.get(k) is not None)
                resumed = f" minus {done} steps done before this run (resumed)" if done else ""
                return TotalSteps(total - done, f"total steps {_fmt(total - done)} = the HF {name}'s state.max_steps "
                                  f"({_fmt(total)}{resumed}) at run time; training arguments: {args}")
            tried.append(f"the HF {name} on the first step's stack has no max_steps yet")
        elif record.get("framework") == "lightning":
            result = _lightning_total(values, name)
            if isinstance(result, TotalSteps):
                return result
            tried.append(result)
    return None


def _lightning_total(values: dict[str, Any], name: str) -> TotalSteps | str:
    epochs, max_steps = values.get("max_epochs"), values.get("max_steps")
    batches, accumulate = values.get("num_training_batches"), values.get("accumulate_grad_batches") or 1
    done = values.get("global_step") or 0
    settings = (f"max_epochs={epochs}, max_steps={max_steps}, num_training_batches={batches}, "
                f"accumulate_grad_batches={accumulate}")
    if isinstance(batches, int) and isinstance(epochs, int) and epochs >= 0:
        per = math.ceil(batches / accumulate)
        total = per * max(epochs, 1)
        how = f"{_fmt(max(epochs, 1))} epochs x ceil({batches} batches / {accumulate})"
        if isinstance(max_steps, int) and max_steps != -1 and max_steps < total:
            total, how = max_steps, f"max_steps, below {how}"
    elif isinstance(max_steps, int) and max_steps != -1:
        total, how = max_steps, "max_steps (epochs or batches unbounded)"
    else:
        return f"the Lightning {name} on the first step's stack ({settings}) runs without a bound"
    resumed = f" minus {done} steps done before this run (resumed)" if done else ""
    return TotalSteps(total - done, f"total steps {_fmt(total - done)} = the Lightning {name}'s {how}{resumed}, "
                      f"read at run time ({settings}; Lightning's own estimated_stepping_batches formula)")


def _static_framework_total(structures: dict[str, ScriptStructure], runtime: Runtime,
                            tried: list[str]) -> TotalSteps | None:
    for s in structures.values():
        for call in s.frameworks:
            ev = Evaluator(s, runtime)
            values = {k: ev.evaluate(e, "<module>") for k, e in call.keywords.items()}
            where = f"{call.call} at {_base(s.file)}:{call.line}"
            steps = values.get("max_steps")
            if isinstance(steps, Known) and steps.value > 0:
                epochs = values.get("max_epochs")
                if (call.framework == "lightning" and "max_epochs" in call.keywords
                        and not (isinstance(epochs, Known) and epochs.value == -1)):
                    tried.append(f"{where} sets max_steps and max_epochs: the smaller bound needs the batches per epoch")
                    continue
                sources = "; ".join(steps.sources)
                return TotalSteps(int(steps.value), f"total steps {_fmt(steps.value)} = max_steps of {where}"
                                  + (f" ({sources})" if sources else "") + " (read from the source)")
            given = ", ".join(f"{k}={call.keywords[k].text}" for k in call.keywords) or "no step or epoch bound"
            tried.append(f"{where} ({given}): the batches per epoch are only known once the trainer runs")
    return None


def resolve_total_steps(structures: dict[str, ScriptStructure], runtime: Runtime,
                        main_file: str | None = None) -> TotalSteps:
    """The run's total optimizer steps from the script; `total_steps` is None when not known, and
    `basis` then says what was tried."""
    tried: list[str] = []
    if runtime.frameworks:
        found = _framework_total(runtime, tried)
        if found is not None:
            return found
    plan = None
    if runtime.frames:
        plan = plan_from_stack(structures, runtime.frames)
    elif runtime.seen_first_step:
        tried.append("the first optimizer step was called from library code only (no frame in the script's files)")
    elif main_file in structures:
        plan = static_plan(structures[main_file])
        if plan is None:
            tried.append(f"no optimizer step was found in {_base(main_file)}")
    if plan is not None and not runtime.frameworks:
        found = _plan_total(plan, structures, runtime, tried)
        if found is not None:
            return found
    found = _static_framework_total(structures, runtime, tried)
    if found is not None:
        return found
    for s in structures.values():
        if s.error:
            tried.append(f"{_base(s.file)} {s.error}")
    if not structures:
        tried.append("no source file of the script could be read")
    return TotalSteps(None, "; ".join(tried) or "nothing in the script bounds the number of steps")


# -------------------------------------------------------------------------------- the parent's entry


def total_steps_from_run(raw: dict[str, Any] | None) -> TotalSteps:
    """Read the script's files named in the child's result and resolve the total step count."""
    data = (raw or {}).get("run_length") or {}
    runtime = Runtime.of(data)
    files: list[str] = []
    main_file = data.get("main_file")
    for frame in runtime.frames:
        if frame.get("is_main") and main_file is None:
            main_file = frame.get("file")
        files.append(frame.get("file"))
    if main_file:
        files.append(main_file)
    structures: dict[str, ScriptStructure] = {}
    unreadable = []
    for file in dict.fromkeys(f for f in files if f):
        try:
            structures[file] = analyse(read_source(file), file)
        except (OSError, ValueError, SyntaxError, UnicodeDecodeError) as exc:
            unreadable.append(f"{_base(file)} could not be read ({exc})")
    result = resolve_total_steps(structures, runtime, main_file)
    if result.total_steps is None and unreadable:
        result.basis = "; ".join([result.basis, *unreadable])
    return result


def choose_total_steps(raw: dict[str, Any] | None, user_total: int | None) -> TotalSteps:
    """The projection's total: --total-steps wins; then a run that completed (its own count); then
    what the script says. Empty basis where there is nothing to project (no result, --full)."""
    if user_total is not None:
        return TotalSteps(user_total, "--total-steps")
    if raw is None or (raw.get("config") or {}).get("full"):
        return TotalSteps(None, "")
    seen = int(raw.get("steps_seen") or 0)
    if raw.get("outcome") == "completed" and seen:
        return TotalSteps(seen, f"measured: the run completed after {_fmt(seen)} optimizer steps")
    try:
        found = total_steps_from_run(raw)
    except Exception as exc:  # noqa: BLE001 - the profile must not be lost to a reading problem
        return TotalSteps(None, f"reading the script failed ({type(exc).__name__}: {exc})")
    if found.total_steps is not None and found.total_steps < seen:
        return TotalSteps(None, f"{found.basis}; but {_fmt(seen)} steps already ran, so that reading is wrong "
                                "and is not used", found.notes)
    return found
