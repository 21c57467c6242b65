"""Which names hold pandas DataFrames or numpy/torch arrays (GL601, GL602, GL604).

A name is a *known frame* in a scope (a function, or the module) when every assignment to it in
that scope builds a DataFrame: a pandas reader (`pd.read_csv`), `pd.DataFrame(data)`,
`pd.concat`/`pd.merge`, or a frame method that returns a frame (`df.dropna()`, `df[mask]`,
`df.merge(...)`). Frames built from literals, `head(n)`/`describe()`/`value_counts()` results are
*small*: iterating them costs nothing worth reporting. Function parameters are unknown. The same
for arrays (`np.zeros(n)`, `np.load(...)`, `torch.randn(...)`, `df.to_numpy()`).

The collector runs once per module and only when a GL6 rule's trigger matched. Whether a row loop's
body is plain arithmetic is plain_computation.py's question; which loops grow a frame or an array is
frame_growth.py's (`FrameFacts.grows` runs it and caches the answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst
from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, literal_value
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.tree import visit, walk as _walk

if TYPE_CHECKING:
    from greenlint.rules.analysis.frame_growth import GrowInLoop

PANDAS_ROOTS = ("pandas", "modin.pandas")
_FRAME_FACTORIES = frozenset(
    {
        "read_csv", "read_table", "read_excel", "read_parquet", "read_json", "read_feather", "read_pickle",
        "read_sql", "read_sql_query", "read_sql_table", "read_hdf", "read_orc", "read_stata", "read_sas",
        "read_spss", "read_fwf", "read_xml", "read_gbq", "concat", "merge", "merge_asof", "json_normalize",
        "get_dummies", "DataFrame",
    }
)
# DataFrame methods that return a DataFrame of (about) the same rows.
_FRAME_METHODS = frozenset(
    {
        "copy", "dropna", "fillna", "drop", "drop_duplicates", "reset_index", "set_index", "sort_values",
        "sort_index", "merge", "join", "query", "assign", "rename", "astype", "filter", "replace",
        "reindex", "where", "mask", "select_dtypes", "convert_dtypes", "infer_objects", "ffill", "bfill",
        "interpolate", "explode", "melt", "round", "clip", "abs", "apply", "applymap", "map", "transform",
        "pipe", "loc", "iloc", "sample", "rename_axis", "reorder_levels", "swaplevel", "append",
        "_append", "combine_first", "update", "to_frame", "frame",
    }
)
# Methods whose result is small (a summary) or cut to a literal number of rows.
_SMALL_METHODS = frozenset({"head", "tail", "describe", "value_counts", "corr", "cov", "nlargest", "nsmallest", "info"})
SMALL_LITERAL_ROWS = 1000

_ARRAY_FACTORIES = frozenset(
    {
        "array", "asarray", "asanyarray", "ascontiguousarray", "zeros", "ones", "empty", "full", "zeros_like",
        "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace", "load", "loadtxt",
        "genfromtxt", "fromfile", "frombuffer", "concatenate", "stack", "vstack", "hstack", "copy",
        "tensor", "as_tensor", "from_numpy", "randn", "rand", "randint", "normal", "uniform", "random",
        "random_sample", "standard_normal", "randn_like", "rand_like", "memmap",
    }
)
_ARRAY_ROOTS = ("numpy", "torch", "cupy", "jax.numpy")
_FRAME_ANNOTATIONS = frozenset({"pandas.DataFrame", "pandas.core.frame.DataFrame", "modin.pandas.DataFrame"})
_ARRAY_ANNOTATIONS = frozenset({"numpy.ndarray", "numpy.typing.NDArray", "torch.Tensor", "cupy.ndarray"})


@dataclass
class _Scope:
    assignments: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # bound by something else (for targets, params, tuples)
    typed: dict[str, str] = field(default_factory=dict)  # parameters annotated as a frame or an array


class FrameFacts:
    """Computed lazily: a scope's assignments are collected the first time a rule asks about a name
    in it, so a module without a candidate loop pays nothing beyond the shared analysis."""

    def __init__(self, module: cst.Module, facts: ModuleFacts) -> None:
        self.module = module
        self.facts = facts
        self._scopes: dict[int | None, _Scope] = {}
        self._functions = {id(f.node): f for infos in facts.functions.values() for f in infos}
        self._memo: dict[tuple[str, int | None, str], str | None] = {}
        self._comprehensions: list[tuple[cst.CompFor, cst.CSTNode, int | None]] | None = None
        self._grows: list[GrowInLoop] | None = None

    def scope(self, key: int | None) -> _Scope:
        """The names a function (by id of its node) or the module (None) binds, and how."""
        found = self._scopes.get(key)
        if found is not None:
            return found
        scope = _Scope()
        collector = _ScopeCollector(self, scope)
        if key is None:
            statements = list(self.module.body)
        else:
            function = self._functions.get(key)
            if function is None:
                self._scopes[key] = scope
                return scope
            node = function.node
            for param in (*node.params.params, *node.params.posonly_params, *node.params.kwonly_params):
                kind = self._annotated_kind(param.annotation)
                if kind is None:
                    scope.unknown.add(param.name.value)
                else:
                    scope.typed[param.name.value] = kind
            for star in (node.params.star_arg, node.params.star_kwarg):
                if isinstance(star, cst.Param):
                    scope.unknown.add(star.name.value)
            statements = [node.body]
        for statement in statements:
            visit(statement, collector)
        self._scopes[key] = scope
        return scope

    def _annotated_kind(self, annotation: cst.Annotation | None) -> str | None:
        """`df: pd.DataFrame` -> "frame"; `x: np.ndarray`, `x: NDArray[np.float64]`, `t: torch.Tensor` -> "array"."""
        if annotation is None:
            return None
        node = annotation.annotation
        if isinstance(node, cst.Subscript):
            node = node.value
        qualname = self.facts.imports.resolve(node)
        if qualname in _FRAME_ANNOTATIONS:
            return "frame"
        if qualname in _ARRAY_ANNOTATIONS:
            return "array"
        return None

    @property
    def comprehensions(self) -> list[tuple[cst.CompFor, cst.CSTNode, int | None]]:
        """(for clause, element, scope) of every comprehension, collected only in modules that call
        `iterrows`/`itertuples` at all."""
        if self._comprehensions is None:
            self._comprehensions = []
            if any(site.attr in ("iterrows", "itertuples") for site in self.facts.calls):
                visit(self.module, _ComprehensionCollector(self._comprehensions))
        return self._comprehensions

    @property
    def grows(self) -> list[GrowInLoop]:
        """`df = pd.concat([df, ...])`, `df = df.append(...)`, `df.loc[len(df)] = ...` inside loops;
        only loops that call concat/append/len are walked."""
        if self._grows is None:
            # imported here: frame_growth.py imports PANDAS_ROOTS from this module
            from greenlint.rules.analysis.frame_growth import _GROW_CALLS, _GrowCollector

            self._grows = []
            candidates = [
                loop for loop in self.facts.loops
                if any(site.attr in _GROW_CALLS for site in loop.calls)
            ]
            ids = {id(loop) for loop in candidates}
            for loop in candidates:
                if loop.parent is not None and any(id(outer) in ids for outer in loop.parent.enclosing()):
                    continue  # walked with its outermost candidate loop
                walker = _GrowCollector(self, scope_of(loop.function))
                visit(loop.node, walker)
        return self._grows

    # ---- kinds of expressions ---------------------------------------------------------------------
    def frame_kind(self, node: cst.BaseExpression | None, scope: int | None, depth: int = 0) -> str | None:
        """"data" (a DataFrame of unknown, possibly large size), "small", "series", or None (unknown)."""
        if node is None or depth > 6:
            return None
        if isinstance(node, (cst.Name, cst.Attribute)) and not (isinstance(node, cst.Attribute) and node.attr.value in ("loc", "iloc")):
            name = dotted_name(node)
            qualname = self.facts.imports.resolve(node)
            if name is None or qualname is not None:
                return None
            return self._name_kind(name, scope, depth)
        if isinstance(node, cst.Call):
            qualname = self.facts.imports.resolve(node.func)
            if qualname is not None:
                root, _, last = qualname.rpartition(".")
                if root in PANDAS_ROOTS and last in _FRAME_FACTORIES:
                    if last == "DataFrame":
                        data = argument(node, "data", 0)
                        if data is None or literal_value(data) is not NOT_LITERAL or _written_out(data):
                            return "small"  # empty or written-out data
                    return "data"
                return None
            if isinstance(node.func, cst.Attribute):
                method = node.func.attr.value
                inner = self.frame_kind(node.func.value, scope, depth + 1)
                if inner not in ("data", "small"):
                    return None
                if method in _SMALL_METHODS:
                    if method in ("head", "tail", "nlargest", "nsmallest"):
                        n = literal_value(argument(node, "n", 0))
                        if n is not NOT_LITERAL and (n is None or (type(n) is int and n <= SMALL_LITERAL_ROWS)):
                            return "small"
                        return inner
                    return "small"
                if method == "sample":
                    n = literal_value(argument(node, "n", 0))
                    if type(n) is int and n <= SMALL_LITERAL_ROWS:
                        return "small"
                    return inner
                if method in _FRAME_METHODS:
                    return inner
            return None
        if isinstance(node, cst.Subscript):
            value = node.value
            if isinstance(value, cst.Attribute) and value.attr.value in ("loc", "iloc"):
                return self.frame_kind(value.value, scope, depth + 1)
            inner = self.frame_kind(value, scope, depth + 1)
            if inner not in ("data", "small"):
                return None
            if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
                index = node.slice[0].slice.value
                if literal_value(index) is not NOT_LITERAL and not isinstance(index, (cst.List, cst.Tuple)):
                    return "series"  # df["col"]
            return inner
        return None

    def _name_kind(self, name: str, scope: int | None, depth: int) -> str | None:
        return self._resolve_name(name, scope, depth, self.frame_kind, "frame")

    def _resolve_name(self, name: str, scope: int | None, depth: int, kind_of, what: str) -> str | None:
        """The kind of a name: every assignment to it in its scope (the function if it binds the
        name there, else the module) must give a known kind. Self-referencing assignments
        (`df = df.dropna()`) are read after the others, against their kind."""
        key = (what, scope, name)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None  # recursion guard
        local = self.scope(scope)
        owner = scope if (name in local.assignments or name in local.unknown or name in local.typed) else None
        target = self.scope(owner)
        typed = target.typed.get(name)
        if name in target.unknown or (name not in target.assignments and typed is None):
            return None
        values = target.assignments.get(name, [])
        plain = [v for v in values if not _reads(v, name)]
        recursive = [v for v in values if _reads(v, name)]
        kinds = [kind_of(v, owner, depth + 1) for v in plain]
        if typed is not None:
            kinds.append("data" if typed == what else None)
        if not kinds:
            return None
        result = _merge(kinds)
        if result is not None and recursive:
            self._memo[key] = result
            result = _merge(kinds + [kind_of(v, owner, depth + 1) for v in recursive])
        self._memo[key] = result
        return result

    def array_kind(self, node: cst.BaseExpression | None, scope: int | None, depth: int = 0) -> str | None:
        """"data" (an array or tensor of unknown size), "small" (built from a literal), or None."""
        if node is None or depth > 6:
            return None
        if isinstance(node, cst.Name):
            if node.value in self.facts.imports.bindings:
                return None
            return self._resolve_name(node.value, scope, depth, self.array_kind, "array")
        if isinstance(node, cst.Call):
            qualname = self.facts.imports.resolve(node.func)
            if qualname is not None:
                root, _, last = qualname.rpartition(".")
                top = root.split(".", 1)[0]
                if (root in _ARRAY_ROOTS or top in ("numpy", "torch")) and last in _ARRAY_FACTORIES:
                    if last in ("array", "asarray", "tensor", "as_tensor") and node.args and literal_value(node.args[0].value) is not NOT_LITERAL:
                        return "small"
                    return "data"
                return None
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("to_numpy", "numpy"):
                return "data"
            return None
        if isinstance(node, cst.Attribute) and node.attr.value == "values":
            return "data" if self.frame_kind(node.value, scope, depth + 1) in ("data", "series") else None
        return None


def _reads(value: cst.BaseExpression, name: str) -> bool:
    """`df = df.dropna()`: the value reads the name it is assigned to."""
    return any(isinstance(n, (cst.Name, cst.Attribute)) and dotted_name(n) == name for n in _walk(value))


def _written_out(node: cst.BaseExpression) -> bool:
    """`{"a": [1, 2], "b": [x, y]}` or `[[1, 2], [3, 4]]`: rows typed into the source."""
    if isinstance(node, cst.Dict):
        values = [e.value for e in node.elements if isinstance(e, cst.DictElement)]
    elif isinstance(node, (cst.List, cst.Tuple)):
        values = [e.value for e in node.elements if isinstance(e, cst.Element)]
    else:
        return False
    return len(values) == len(node.elements) and all(isinstance(v, (cst.List, cst.Tuple, cst.Dict)) or literal_value(v) is not NOT_LITERAL for v in values)


def _merge(kinds: list[str | None]) -> str | None:
    if not kinds or any(k is None for k in kinds):
        return None
    if "series" in kinds:
        return None
    return "data" if "data" in kinds else "small"


def frame_facts(analysis) -> FrameFacts:
    cached = analysis.__dict__.get("_gl6_frame_facts")
    if cached is None:
        cached = FrameFacts(analysis.module, analysis.facts)
        analysis.__dict__["_gl6_frame_facts"] = cached
    return cached


def scope_of(function) -> int | None:
    return id(function.node) if function is not None else None


class _ScopeCollector(cst.CSTVisitor):
    """The bindings of one scope: nested functions, classes and lambdas are not entered."""

    def __init__(self, owner: FrameFacts, scope: _Scope) -> None:
        super().__init__()
        self.owner = owner
        self.scope = scope

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.scope.unknown.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.scope.unknown.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_For(self, node: cst.For) -> None:
        self._unknown(node.target)

    def _unknown(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.scope.unknown.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._unknown(element.value)
        elif isinstance(target, cst.StarredElement):
            self._unknown(target.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = dotted_name(target.target)
            if name is not None and len(node.targets) == 1:
                self.scope.assignments.setdefault(name, []).append(node.value)
            elif name is not None:
                self.scope.unknown.add(name)
            else:
                self._unknown(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = dotted_name(node.target)
        if name is not None and node.value is not None:
            self.scope.assignments.setdefault(name, []).append(node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._unknown(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._unknown(node.asname.name)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.scope.unknown.add(item.name.value)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self.scope.unknown.add(item.name.value)


class _ComprehensionCollector(cst.CSTVisitor):
    def __init__(self, found: list[tuple[cst.CompFor, cst.CSTNode, int | None]]) -> None:
        super().__init__()
        self.found = found
        self.stack: list[int | None] = [None]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(id(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self.found.append((node.for_in, node.elt, self.stack[-1]))

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self.found.append((node.for_in, node.elt, self.stack[-1]))

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.found.append((node.for_in, node.elt, self.stack[-1]))

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self.found.append((node.for_in, cst.Tuple([cst.Element(node.key), cst.Element(node.value)]), self.stack[-1]))
