"""GL601: a pandas DataFrame processed row by row in Python."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.dataframes_facts import (
    FrameFacts,
    frame_facts,
    scope_of,
)
from greenlint.rules.analysis.facts import CallSite, LoopInfo, ModuleFacts
from greenlint.rules.analysis.literals import argument, len_argument, literal_value, range_stop, shape_of
from greenlint.rules.analysis.names import dotted_name, terminal_name
from greenlint.rules.analysis.plain_computation import is_plain_computation
from greenlint.rules.analysis.run_frequency import enclosing_function, innermost_loop, loop_frequency
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.evidence import PANDAS_ROW_LOOP_SIZE
from greenlint.rules.impact import RuleImpact
from greenlint.rules.analysis.tree import walk as _walk

_ROW_ITERATORS = frozenset({"iterrows", "itertuples"})
# `for i, row in enumerate(df.iterrows())`, `tqdm(df.iterrows(), total=len(df))`
_WRAPPERS = frozenset({"enumerate", "tqdm", "trange", "iter", "list", "zip"})
_ROW_ACCESSORS = frozenset({"loc", "iloc", "at", "iat"})


class PandasRowIteration(Rule):
    code = "GL601"
    # Out of the default set (issue 14, rule under 80 % blind precision): 0 of 8 findings worth acting on in the second blind corpus (3 of 30 on the tuning corpus):
    # most row loops run once over a table of thousands of rows, next to a training run.
    preview = True
    name = "pandas-row-iteration"
    summary = "A DataFrame is processed row by row in Python where a column expression would do"
    detects = """
        `for ... in df.iterrows()` / `df.itertuples()` (also in comprehensions and through
        `enumerate`/`tqdm`), `for i in range(len(df))` or `for i in df.index` reading `df.loc/iloc/at/iat[i]`,
        and `df.apply(f, axis=1)`, where `df` is known to be a DataFrame: assigned in the same function
        (or the module) from a pandas reader, `pd.DataFrame(data)`, `pd.concat`/`merge`, or a frame
        method of such a frame, or a parameter annotated `pd.DataFrame`. The loop body (or `f`) must
        be plain computation: arithmetic, comparisons, builtins, numpy/pandas/math functions,
        str/list/dict methods, and helpers of the module that do the same. Not reported: frames of unknown origin (unannotated parameters), frames
        typed into the source or cut to a literal `head(n)`/`sample(n)`/`describe()`, and bodies that
        call anything else (an API client, a model, file or image I/O, object construction), which
        could not be vectorised.
    """
    why = """
        `iterrows` builds a Series object for every row and runs the body in the interpreter; a column
        expression runs the same arithmetic in compiled loops over contiguous arrays. On CPU-bound
        preprocessing this is one to two orders of magnitude of CPU time, and energy, for the same
        result.
    """
    bad_example = """
        import pandas as pd

        df = pd.read_csv("sales.csv")
        totals = []
        for _, row in df.iterrows():
            totals.append(row["price"] * row["quantity"])
        df["total"] = totals
    """
    good_example = """
        import pandas as pd

        df = pd.read_csv("sales.csv")
        df["total"] = df["price"] * df["quantity"]
    """
    fix = """
        Write the body as column expressions: `df["c"] = df["a"] * df["b"]`, `np.where(cond, x, y)` or
        `np.select` for branches, `Series.map(dict)` for lookups, `groupby(...).transform(...)` for
        per-group values, `df.to_dict("records")` when plain dicts are needed. If a loop must stay,
        `itertuples()` is far cheaper than `iterrows()`.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "100k rows: vectorised 0.029 s, itertuples 0.13 s, iterrows 4.68 s (about 160x)",
            "benchmark gist datlife/21b48fa0 (CPU, pandas)",
            "blog",
        ),
        Evidence(
            "pandas documents that iterating through pandas objects is generally slow and vectorised methods should be preferred",
            "pandas user guide, 'Essential basic functionality: iteration' (quoted by Zhang et al. 2022)",
            "doc",
        ),
        Evidence(
            "'Unnecessary Iteration' is one of 22 code smells for ML applications",
            "Zhang, Cruz, van Deursen, 'Code Smells for Machine Learning Applications', CAIN 2022",
            "paper",
        ),
    )
    saving_scope = "the CPU time of the row loop (one to two orders of magnitude for plain column arithmetic)"
    # typically preprocessing run once before training; each finding says where it really runs
    impact = RuleImpact(size=PANDAS_ROW_LOOP_SIZE, frequency="once")
    trigger = (
        ("iterrows(", "itertuples(", "axis=1", "axis=\"columns\"", "axis='columns'", "range(len(", ".index:", ".shape[0])"),
        ("pandas",),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        frames = frame_facts(analysis)
        for loop in facts.loops:
            if isinstance(loop.node, cst.For):
                report = _row_iterator(loop.node, loop.node.iter, loop.node.body, scope_of(loop.function), facts, frames)
                if report is None:
                    report = _index_loop(loop, facts, frames)
                if report is not None:
                    yield _with_frequency(report, loop_frequency(loop.parent, facts, loop.function))
        for for_in, element, scope in frames.comprehensions:
            report = _row_iterator(for_in, for_in.iter, element, scope, facts, frames)
            if report is not None:
                outer = innermost_loop(for_in, facts)
                function = outer.function if outer is not None else enclosing_function(for_in, facts)
                yield _with_frequency(report, loop_frequency(outer, facts, function))
        for site in facts.calls:
            if site.attr == "apply" and site.receiver is not None:
                report = _apply_rows(site, facts, frames)
                if report is not None:
                    yield _with_frequency(report, loop_frequency(site.loop, facts, site.function))


def _with_frequency(report: Report, frequency: str | None) -> Report:
    """`report` with where its loop runs: "once" next to a training run (the earlier blind corpus's
    main false positive: a row loop over a small frame run once), per epoch or step inside the
    training loops, "unknown" in a pure data job where the loop may be the whole run."""
    return dataclasses.replace(report, frequency=frequency or "unknown")


def _frame_name(node: cst.BaseExpression) -> str:
    return dotted_name(node) or "the DataFrame"


def _unwrap(node: cst.BaseExpression) -> cst.BaseExpression:
    """`enumerate(df.iterrows())`, `tqdm(df.iterrows(), total=len(df))` -> `df.iterrows()`."""
    while isinstance(node, cst.Call) and terminal_name(node.func) in _WRAPPERS and node.args and node.args[0].keyword is None:
        node = node.args[0].value
    return node


def _row_iterator(
    loop_node: cst.For | cst.CompFor,
    iterable: cst.BaseExpression,
    body: cst.CSTNode,
    scope: int | None,
    facts: ModuleFacts,
    frames: FrameFacts,
) -> Report | None:
    call = _unwrap(iterable)
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in _ROW_ITERATORS):
        return None
    receiver = call.func.value
    if not is_plain_computation(body, facts):
        return None
    if isinstance(loop_node, cst.CompFor) and any(not is_plain_computation(c.test, facts) for c in loop_node.ifs):
        return None
    if frames.frame_kind(receiver, scope) != "data":
        return None
    method = call.func.attr.value
    if method == "iterrows":
        measured = "on 100k rows iterrows took 4.68 s, itertuples 0.13 s and a vectorised version 0.029 s in a CPU benchmark (blog)"
    else:
        measured = "on 100k rows itertuples took 0.13 s and a vectorised version 0.029 s in a CPU benchmark (blog)"
    return Report(
        loop_node,
        end_node=iterable,
        message=(
            f"`{_frame_name(receiver)}.{method}()` runs the body once per row in Python, and the body only computes "
            'on the row\'s values: write it as column expressions (`df["c"] = df["a"] * df["b"]`, `np.where`, '
            f"`.str` methods, `.map`); {measured}"
        ),
    )


def _apply_rows(site: CallSite, facts: ModuleFacts, frames: FrameFacts) -> Report | None:
    call = site.node
    axis = argument(call, "axis", 1)
    if axis is None or literal_value(axis) not in (1, "columns"):
        return None
    func = argument(call, "func", 0)
    if isinstance(func, cst.Lambda):
        if not is_plain_computation(func.body, facts):
            return None
    elif isinstance(func, cst.Name) and func.value not in facts.imports.bindings:
        helpers = [f for f in facts.functions.get(func.value, []) if f.class_name is None]
        if not helpers or not all(is_plain_computation(h.node.body, facts) for h in helpers):
            return None
    elif func is not None and (facts.imports.resolve(func) or "").split(".", 1)[0] in ("numpy", "math"):
        pass
    else:
        return None
    if frames.frame_kind(site.receiver, scope_of(site.function)) != "data":
        return None
    name = _frame_name(site.receiver)  # type: ignore[arg-type]
    return Report(
        call,
        f"`{name}.apply(..., axis=1)` calls a Python function once per row, building a Series for each; the "
        "function only computes on the row's values, so write it as column expressions (arithmetic on columns, "
        "`np.where`, `np.select`, `.str` methods)",
    )


def _index_loop(loop: LoopInfo, facts: ModuleFacts, frames: FrameFacts) -> Report | None:
    """`for i in range(len(df)): ... df.loc[i, "a"] ...` or `for i in df.index: ... df.at[i, "a"]`."""
    node = loop.node
    if not isinstance(node, cst.For) or not isinstance(node.target, cst.Name):
        return None
    index_var = node.target.value
    frame = _indexed_frame(node.iter)
    if frame is None:
        return None
    frame_name = dotted_name(frame)
    if not _reads_rows(node.body, frame_name, index_var) or not is_plain_computation(node.body, facts):
        return None
    if frames.frame_kind(frame, scope_of(loop.function)) != "data":
        return None
    return Report(
        node,
        end_node=node.iter,
        message=(
            f"the loop reads `{frame_name}` one row at a time by index (`.loc`/`.iloc`/`.at`); each lookup goes "
            "through pandas' indexing machinery in Python, and the body only computes on those values: write it "
            "as column expressions"
        ),
    )


def _indexed_frame(iterable: cst.BaseExpression) -> cst.BaseExpression | None:
    """`df` in `range(len(df))`, `range(df.shape[0])`, `range(0, len(df))`, `df.index`."""
    if isinstance(iterable, cst.Attribute) and iterable.attr.value == "index":
        return iterable.value
    bound = range_stop(iterable)
    if bound is None:
        return None
    inner = len_argument(bound)
    if inner is not None:
        if isinstance(inner, cst.Attribute) and inner.attr.value == "index":
            return inner.value
        return inner
    return shape_of(bound, 0)


def _reads_rows(body: cst.CSTNode, frame: str | None, index_var: str) -> bool:
    """The body indexes the frame by the loop variable: `df.loc[i, ...]`, `df.iloc[i]`, `df.at[i, c]`,
    `df["c"][i]`."""
    if frame is None:
        return False
    for node in _walk(body):
        if not isinstance(node, cst.Subscript):
            continue
        value = node.value
        accessor = isinstance(value, cst.Attribute) and value.attr.value in _ROW_ACCESSORS and dotted_name(value.value) == frame
        column = isinstance(value, cst.Subscript) and dotted_name(value.value) == frame
        if not (accessor or column):
            continue
        first = node.slice[0].slice if node.slice else None
        if isinstance(first, cst.Index):
            index = first.value
            if isinstance(index, cst.Name) and index.value == index_var:
                return True
            if isinstance(index, cst.Tuple) and index.elements and isinstance(index.elements[0].value, cst.Name) and index.elements[0].value.value == index_var:
                return True
        if len(node.slice) >= 1 and isinstance(node.slice[0].slice, cst.Index):
            head = node.slice[0].slice.value
            if isinstance(head, cst.Name) and head.value == index_var:
                return True
    return False


RULE = PandasRowIteration()
