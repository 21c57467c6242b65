"""The shared ML analysis: one walk over a module that records what every rule reads.

Rules never walk the tree again for these facts. The walk records:

- every call, with its qualified name and where it sits (enclosing loops, function, class,
  whether an `if`/`except`/lambda stands between it and its innermost loop);
- loops, with the names each one assigns or mutates (for loop-invariance);
- functions and classes, so that a loop calling `train_step(...)` or `self.train_step(...)` is
  understood to do what that function does (calls are followed inside the module, with a bound);
- device and precision evidence (see `device.py` and `precision.py`, which read the calls).

After the walk, `training_steps.classify_training` marks training-step loops (they call `backward` and step an
optimizer, directly or through a called function) and the loops that enclose them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from greenlint.rules.analysis.literals import simple_string_value
from greenlint.rules.analysis.names import ImportTable, dotted_name, terminal_name
from greenlint.rules.analysis.tree import visit
from greenlint.rules.project_context import EMPTY_CONTEXT, ProjectContext

# Methods that change their receiver in place: `paths.append(p)` inside a loop makes `paths`
# loop-variant for invariance purposes.
MUTATING_METHODS = frozenset(
    {
        "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
        "setdefault", "add", "discard", "sort", "reverse", "__setitem__", "write", "seek",
        "shuffle", "set_epoch", "reset",
    }
)

# How deep `loop -> train_step() -> helper()` call chains are followed inside a module.
MAX_CALL_DEPTH = 4



@dataclass(eq=False)
class FunctionInfo:
    name: str
    node: cst.FunctionDef
    class_name: str | None
    calls: list[CallSite] = field(default_factory=list)
    loops: list[LoopInfo] = field(default_factory=list)  # every loop in the body, any depth
    params: frozenset[str] = frozenset()


@dataclass(eq=False)
class ClassInfo:
    name: str
    node: cst.ClassDef
    base_names: tuple[str, ...]  # qualified names where imported, else local dotted names


@dataclass(eq=False)
class LoopInfo:
    node: cst.For | cst.While
    parent: LoopInfo | None
    function: FunctionInfo | None
    # how many `if`/`except`/lambda levels enclose the loop's body (see CallSite.cond_depth)
    cond_depth: int
    children: list[LoopInfo] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)  # every call inside, any depth
    # names bound or mutated anywhere inside the loop (its target included)
    assigned: set[str] = field(default_factory=set)
    # attribute chains assigned inside the loop, such as "self.path"
    assigned_attrs: set[str] = field(default_factory=set)
    # `name = value` statements inside the loop, for the invariant-assignment refinement
    simple_assignments: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)
    # how many times each name is bound inside the loop, by any statement
    binding_counts: Counter[str] = field(default_factory=Counter)
    # filled in by classify_training
    does_backward: bool = False
    does_step: bool = False
    does_fit: bool = False
    contains_step_loop: bool = False

    @property
    def does_training(self) -> bool:
        """Trains a model on each iteration: backward + optimizer step, or a fit call."""
        return (self.does_backward and self.does_step) or self.does_fit

    @property
    def is_training_step(self) -> bool:
        """The innermost loop that runs backward and an optimizer step on each iteration."""
        return self.does_backward and self.does_step and not self.contains_step_loop

    def enclosing(self) -> list[LoopInfo]:
        """This loop and the loops around it, innermost first."""
        chain, loop = [], self
        while loop is not None:
            chain.append(loop)
            loop = loop.parent
        return chain


@dataclass(eq=False)
class CallSite:
    node: cst.Call
    loop: LoopInfo | None  # innermost enclosing loop in the same function
    function: FunctionInfo | None
    class_name: str | None
    # `if`/`elif`/`else`/`except`/ternary/lambda/boolean-operator levels around the call; a call is
    # unconditional inside a loop when this equals the loop's own `cond_depth`
    cond_depth: int
    imports: ImportTable

    @cached_property
    def qualname(self) -> str | None:
        return self.imports.resolve(self.node.func)

    @property
    def attr(self) -> str | None:
        """The called method or function's own name: `backward` for `loss.backward()`."""
        return terminal_name(self.node.func)

    @property
    def receiver(self) -> cst.BaseExpression | None:
        func = self.node.func
        return func.value if isinstance(func, cst.Attribute) else None

    @property
    def is_method_call(self) -> bool:
        return isinstance(self.node.func, cst.Attribute)


@dataclass
class ModuleFacts:
    imports: ImportTable
    calls: list[CallSite]
    loops: list[LoopInfo]
    functions: dict[str, list[FunctionInfo]]
    classes: dict[str, ClassInfo]
    cuda_strings: list[cst.CSTNode]  # string literals "cuda" / "cuda:N"
    watched_attributes: list[tuple[str, cst.Attribute]]  # (qualified name, node): dtypes, torch.cuda
    autocast_decorators: list[cst.Decorator]
    # every `name = value` / `self.name = value` statement, anywhere (dotted target names)
    assignments: list[tuple[str, cst.BaseExpression]]
    # filled in by later passes
    optimizer_names: set[str] = field(default_factory=set)
    # what the project index says about the local modules this one imports
    context: ProjectContext = EMPTY_CONTEXT
    # (qualified name, node) for each reference to a name the context has a fact about
    project_refs: list[tuple[str, cst.CSTNode]] = field(default_factory=list)
    # ids of the FunctionDef nodes nothing in the project calls (a script's leftover `train()`)
    dead_functions: set[int] = field(default_factory=set)

    def local_functions_called(self, site: CallSite) -> list[FunctionInfo]:
        """Functions of this module that a call may run: `f(...)` or `self.f(...)`."""
        func = site.node.func
        if isinstance(func, cst.Name):
            if func.value in self.imports.bindings:
                return []
            return [f for f in self.functions.get(func.value, []) if f.class_name is None]
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.value.value in ("self", "cls"):
                candidates = self.functions.get(func.attr.value, [])
                same_class = [f for f in candidates if f.class_name == site.class_name]
                return same_class or [f for f in candidates if f.class_name is not None]
        return []

    def class_bases(self, name: str, depth: int = 0) -> set[str]:
        """All (transitive) base names of a class defined in this module."""
        info = self.classes.get(name)
        if info is None or depth > MAX_CALL_DEPTH:
            return set()
        result = set(info.base_names)
        for base in info.base_names:
            if base in self.classes:
                result |= self.class_bases(base, depth + 1)
        return result


class _Collector(cst.CSTVisitor):
    def __init__(self, context: ProjectContext = EMPTY_CONTEXT) -> None:
        super().__init__()
        # relative imports resolve only where the project index found local modules to key them by
        self.imports = ImportTable(package=context.package if context.local_modules else None)
        self.imports.bindings.update(context.star_bindings)  # `from common import *`
        self.calls: list[CallSite] = []
        self.loops: list[LoopInfo] = []
        self.functions: dict[str, list[FunctionInfo]] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.cuda_strings: list[cst.CSTNode] = []
        self.watched_attributes: list[tuple[str, cst.Attribute]] = []
        self.autocast_decorators: list[cst.Decorator] = []
        self.assignments: list[tuple[str, cst.BaseExpression]] = []
        self._function_stack: list[FunctionInfo | None] = [None]
        self._class_stack: list[str | None] = [None]
        # one loop stack per function frame: a loop in a nested def is not inside the outer loop
        self._loop_stacks: list[list[LoopInfo]] = [[]]
        self._cond_depth = 0
        self._pending_attrs: list[cst.Attribute] = []

    # ---- scopes -------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = {p.name.value for p in node.params.params}
        params |= {p.name.value for p in node.params.posonly_params}
        params |= {p.name.value for p in node.params.kwonly_params}
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                params.add(star.name.value)
        info = FunctionInfo(
            name=node.name.value,
            node=node,
            class_name=self._class_stack[-1],
            params=frozenset(params),
        )
        self.functions.setdefault(info.name, []).append(info)
        self._mark_assigned(node.name.value)
        self._function_stack.append(info)
        self._class_stack.append(None)  # a class's methods see only their own class
        self._loop_stacks.append([])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._function_stack.pop()
        self._class_stack.pop()
        self._loop_stacks.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = []
        for arg in node.bases:
            name = self.imports.resolve(arg.value) or dotted_name(arg.value)
            if name:
                bases.append(name)
        self.classes[node.name.value] = ClassInfo(node.name.value, node, tuple(bases))
        self._mark_assigned(node.name.value)
        self._class_stack.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._class_stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._cond_depth += 1  # runs later, if at all
        for param in node.params.params:
            self._mark_assigned(param.name.value)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._cond_depth -= 1

    # ---- imports ------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        self.imports.add_import(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.imports.add_import_from(node)

    # ---- loops --------------------------------------------------------------------------
    def _enter_loop(self, node: cst.For | cst.While) -> LoopInfo:
        stack = self._loop_stacks[-1]
        parent = stack[-1] if stack else None
        loop = LoopInfo(node, parent, self._function_stack[-1], self._cond_depth)
        if parent is not None:
            parent.children.append(loop)
        function = self._function_stack[-1]
        if function is not None:
            function.loops.append(loop)
        self.loops.append(loop)
        stack.append(loop)
        return loop

    def visit_For(self, node: cst.For) -> bool:
        # The iterable is evaluated once, before the loop: visit it outside the loop.
        visit(node.iter, self)
        self._enter_loop(node)
        self._bind_target(node.target)
        visit(node.body, self)
        self._loop_stacks[-1].pop()
        if node.orelse is not None:
            visit(node.orelse, self)
        return False

    def visit_While(self, node: cst.While) -> None:
        self._enter_loop(node)

    def leave_While(self, original_node: cst.While) -> None:
        self._loop_stacks[-1].pop()

    # ---- conditions ---------------------------------------------------------------------
    def visit_If(self, node: cst.If) -> bool:
        visit(node.test, self)
        self._cond_depth += 1
        visit(node.body, self)
        if node.orelse is not None:
            visit(node.orelse, self)
        self._cond_depth -= 1
        return False

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        visit(node.test, self)
        self._cond_depth += 1
        visit(node.body, self)
        visit(node.orelse, self)
        self._cond_depth -= 1
        return False

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
        visit(node.left, self)
        self._cond_depth += 1
        visit(node.right, self)
        self._cond_depth -= 1
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._cond_depth += 1
        if node.name is not None:
            self._bind_target(node.name.name)

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self._cond_depth -= 1

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._cond_depth += 1

    def leave_ExceptStarHandler(self, original_node: cst.ExceptStarHandler) -> None:
        self._cond_depth -= 1

    def visit_MatchCase(self, node: cst.MatchCase) -> None:
        self._cond_depth += 1

    def leave_MatchCase(self, original_node: cst.MatchCase) -> None:
        self._cond_depth -= 1

    # ---- bindings -----------------------------------------------------------------------
    def _current_loops(self) -> list[LoopInfo]:
        return self._loop_stacks[-1]

    def _mark_assigned(self, name: str) -> None:
        for loop in self._current_loops():
            loop.assigned.add(name)
            loop.binding_counts[name] += 1

    def _bind_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._mark_assigned(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value)
        elif isinstance(target, cst.Attribute):
            name = dotted_name(target)
            if name:
                for loop in self._current_loops():
                    loop.assigned_attrs.add(name)
        elif isinstance(target, cst.Subscript):
            self._mark_mutated(target.value)

    def _mark_mutated(self, node: cst.BaseExpression) -> None:
        """`x[i] = v` or `x.append(v)`: x (or the attribute chain x.y) changes in place."""
        name = dotted_name(node)
        if name is None:
            return
        if "." in name:
            for loop in self._current_loops():
                loop.assigned_attrs.add(name)
        else:
            self._mark_assigned(name)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target)
            name = dotted_name(target.target)
            if name is not None:
                self.assignments.append((name.rsplit(".", 1)[-1], node.value))
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            for loop in self._current_loops():
                loop.simple_assignments.append((node.targets[0].target.value, node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._bind_target(node.target)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self._mark_assigned(item.name.value)

    # ---- calls and evidence -------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        loops = self._current_loops()
        site = CallSite(
            node=node,
            loop=loops[-1] if loops else None,
            function=self._function_stack[-1],
            class_name=self._enclosing_class(),
            cond_depth=self._cond_depth,
            imports=self.imports,
        )
        self.calls.append(site)
        for loop in loops:
            loop.calls.append(site)
        if site.function is not None:
            site.function.calls.append(site)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in MUTATING_METHODS:
            self._mark_mutated(func.value)

    def _enclosing_class(self) -> str | None:
        function = self._function_stack[-1]
        return function.class_name if function is not None else self._class_stack[-1]

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if "cuda" in node.value:
            value = simple_string_value(node)
            if value is not None and (value == "cuda" or value.startswith("cuda:")):
                self.cuda_strings.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in _WATCHED_ATTRS:
            self._pending_attrs.append(node)

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if not isinstance(node.decorator, cst.Call):
            self.autocast_decorators.append(node)

    def finish(self) -> ModuleFacts:
        for node in self._pending_attrs:
            qualname = self.imports.resolve(node)
            if qualname is not None:
                self.watched_attributes.append((qualname, node))
        return ModuleFacts(
            imports=self.imports,
            calls=self.calls,
            loops=self.loops,
            functions=self.functions,
            classes=self.classes,
            cuda_strings=self.cuda_strings,
            watched_attributes=self.watched_attributes,
            autocast_decorators=self.autocast_decorators,
            assignments=self.assignments,
        )


# Attribute names whose qualified names the analysis wants: torch dtypes (precision facts) and
# `torch.cuda` / `torch.backends.cudnn` (device facts). Resolved once, after the walk.
_WATCHED_ATTRS = frozenset({"float16", "half", "bfloat16", "float64", "double", "cuda", "cudnn", "accelerator"})

class _ProjectCollector(_Collector):
    """The walk when the project index knows facts about imported names: it also records every
    name and attribute chain, resolved after the walk, that refers to one of them. Only files that
    import such a module pay for this."""

    def __init__(self, context: ProjectContext) -> None:
        super().__init__(context)
        self.context = context
        # and the project classes that hold a CUDA device attribute (`Config` of `Config.device`):
        # a module using the class runs on its device (device.py)
        self._wanted = context.names() | {
            key.rsplit(".", 1)[0] for key in context.devices if key.count(".") >= 2 and key.rsplit(".", 2)[-2][:1].isupper()
        }
        self._references: list[cst.Name | cst.Attribute] = []

    def visit_Name(self, node: cst.Name) -> None:
        self._references.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        super().visit_Attribute(node)
        self._references.append(node)

    def project_refs(self) -> list[tuple[str, cst.CSTNode]]:
        found: list[tuple[str, cst.CSTNode]] = []
        star_names = self.context.star_names
        for node in self._references:
            qualname = self.imports.resolve(node)
            if qualname is None and star_names:
                # `from common import *` then `device`: common.py's own name, known to the index only
                name = dotted_name(node)
                head, _, rest = (name or "").partition(".")
                if head in star_names and head not in self.imports.bindings:
                    qualname = star_names[head] + (f".{rest}" if rest else "")
            if qualname is not None and qualname in self._wanted:
                found.append((qualname, node))
        return found


def collect_facts(module: cst.Module, context: ProjectContext = EMPTY_CONTEXT) -> ModuleFacts:
    collector = _ProjectCollector(context) if context.names() else _Collector(context)
    visit(module, collector)  # tree.visit: libcst's visit rebuilds every node it passes
    facts = collector.finish()
    facts.context = context
    if isinstance(collector, _ProjectCollector):
        facts.project_refs = collector.project_refs()
    if context.not_imported:
        from greenlint.rules.analysis.liveness import dead_functions

        facts.dead_functions = dead_functions(module, facts)
    # imported here: training_steps.py reads this module's dataclasses
    from greenlint.rules.analysis.training_steps import classify_training

    classify_training(facts)
    return facts
