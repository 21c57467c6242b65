"""Whether a loop body only computes on values (GL601): the test that tells a row loop pandas could
vectorise (`total += row["a"] * row["b"]`) from one that calls a model, an API or does I/O per row.

Separate from dataframes_facts.py, which knows which names hold frames and arrays: this reads only
the calls in a piece of code and the module's own helper functions, never a frame's kind.
"""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.tree import walk as _walk

_SAFE_MODULES = ("numpy", "pandas", "math", "re", "datetime", "string", "collections", "itertools", "operator", "statistics", "decimal", "fractions")
_SAFE_BUILTINS = frozenset(
    {
        "abs", "min", "max", "round", "len", "float", "int", "str", "bool", "sum", "any", "all", "isinstance",
        "zip", "enumerate", "range", "list", "dict", "tuple", "set", "sorted", "divmod", "pow",
    }
)
_SAFE_METHODS = frozenset(
    {
        "get", "append", "extend", "add", "update", "setdefault", "items", "keys", "values", "lower", "upper",
        "strip", "lstrip", "rstrip", "split", "rsplit", "replace", "startswith", "endswith", "format", "join",
        "count", "find", "isdigit", "isalpha", "isnumeric", "title", "capitalize", "isna", "notna", "isnull",
        "notnull", "fillna", "astype", "sum", "mean", "max", "min", "tolist", "to_dict", "item", "pop", "zfill",
        "round", "total_seconds", "strftime", "date", "timestamp", "isoformat", "group", "groups", "std",
        "any", "all", "index",
    }
)
MAX_HELPER_DEPTH = 2


def is_plain_computation(node: cst.CSTNode, facts: ModuleFacts, depth: int = 0) -> bool:
    """Whether the code only computes on values: builtins, numpy/pandas/math functions, str/list/dict
    methods, and same-module helpers that do the same. Any I/O, model call, object construction or
    unknown callable (an API client, `model(x)`, `requests.get`) makes it False."""
    for child in _walk(node):
        if isinstance(child, (cst.Await, cst.Yield)):
            return False
        if not isinstance(child, cst.Call):
            continue
        func = child.func
        qualname = facts.imports.resolve(func)
        if qualname is not None:
            if qualname.split(".", 1)[0] not in _SAFE_MODULES:
                return False
            continue
        if isinstance(func, cst.Name):
            if func.value in _SAFE_BUILTINS:
                continue
            helpers = [f for f in facts.functions.get(func.value, []) if f.class_name is None]
            if helpers and depth < MAX_HELPER_DEPTH and all(
                is_plain_computation(h.node.body, facts, depth + 1) for h in helpers
            ):
                continue
            return False
        if isinstance(func, cst.Attribute) and func.attr.value in _SAFE_METHODS:
            continue
        return False
    return True
