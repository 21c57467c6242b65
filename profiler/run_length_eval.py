"""Evaluating a loop's count with the values the probe recorded at run time (``Runtime``): each
number ``Known`` with where it came from, or ``Unknown`` with what is missing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from greenlint.profiler.run_length_expr import Expr, base_name, format_count
from greenlint.profiler.run_length_loops import LoopCount
from greenlint.profiler.run_length_script import ScriptStructure


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
        return f"{option.option}, {base_name(self.s.file)}:{option.line}" if option else ""

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
                return Known(value, [f"{text} = {format_count(value)} from argparse {where or option} at run time"])
            option = self.s.argparse_options.get(attr) if base in self.s.argparse_vars else None
            if not self.rt.argparse and option is not None and option.default is not None and depth < 3:
                known = self.evaluate(option.default, "<module>", depth + 1)
                if isinstance(known, Known):
                    what = (f"{text} = {format_count(known.value)}: the default of argparse {option.option}, "
                            f"{base_name(self.s.file)}:{option.line} (no run-time value)")
                    return Known(known.value, [what])
        # A literal (or computable) assignment in the source: a module constant, a local.
        assignments = [a for a in self.s.assignments.get(text, []) if a[2] in (function, "<module>")]
        if len(assignments) == 1 and depth < 3:
            line, value_expr, _ = assignments[0]
            known = self.evaluate(value_expr, function, depth + 1)
            if isinstance(known, Known):
                what = (f"{text} = {format_count(known.value)}, {base_name(self.s.file)}:{line}" if value_expr.kind == "num" else
                        f"{text} = {value_expr.text} = {format_count(known.value)}, {base_name(self.s.file)}:{line}")
                return Known(known.value, [what, *known.sources])
        return Unknown([f"the value of `{text}`"])

    def _describe(self, text: str, value: Any, where: str) -> str:
        _, _, attr = text.partition(".")
        if attr and "." not in attr and attr in self.rt.argparse and self.rt.argparse[attr][0] == value:
            return f"{text} = {format_count(value)} from argparse {self._option(attr) or self.rt.argparse[attr][1]} at run time"
        literal = [(line, e) for line, e, fn in self.s.assignments.get(text, []) if fn == where and e.kind == "num"]
        if literal and all(e.value == value for _, e in literal):
            return f"{text} = {format_count(value)}, {base_name(self.s.file)}:{literal[0][0]}"
        if literal:
            return (f"{text} = {format_count(value)} at the first optimizer step ({base_name(self.s.file)}:{literal[0][0]} "
                    f"sets {format_count(literal[0][1].value)}; changed before the loop)")
        return f"{text} = {format_count(value)} at the first optimizer step"

    def _len(self, inner: Expr, function: str) -> Known | Unknown:
        if inner.kind == "ref":
            for where in (function, "<module>"):
                frame = self.rt.frame(self.s.file, where)
                if frame is not None and inner.text in frame.get("lengths", {}):
                    value = frame["lengths"][inner.text]
                    return Known(value, [f"len({inner.text}) = {format_count(value)} at run time"])
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
            how = f"{loop.counter} = {format_count(start)} when the loop began (read at the first optimizer step)"
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
            if not iterated_at_loop(record, loop):
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


def iterated_at_loop(record: dict[str, Any], loop: LoopCount) -> bool:
    """Was this DataLoader iterated from the loop's header? Any of the recorded user frames counts:
    the innermost one is inside the user's own wrapper when the loop iterates one (a prefetcher)."""
    first, last = loop.header_lines
    return any(file == loop.file and first <= line <= last for file, line in record.get("sites") or [])
