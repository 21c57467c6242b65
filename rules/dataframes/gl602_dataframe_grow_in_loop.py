"""GL602: a DataFrame grown one piece at a time inside a loop (quadratic copying)."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.dataframes_facts import PANDAS_ROOTS, frame_facts
from greenlint.rules.analysis.experiment_facts import sequence_length
from greenlint.rules.base import Evidence, Report, Rule

# A loop over a literal list this short grows a frame a few times: not worth a finding.
SMALL_LOOP = 10

_HOW = {
    "concat": "`{target} = pd.concat([{target}, ...])`",
    "append": "`{target} = {target}.append(...)`",
    "loc": "`{target}.loc[len({target})] = ...`",
}


class DataFrameGrowInLoop(Rule):
    code = "GL602"
    name = "dataframe-grow-in-loop"
    summary = "A DataFrame is grown inside a loop: every iteration copies all rows collected so far"
    detects = """
        Inside a `for`/`while` loop: `df = pd.concat([df, ...])` (the frame itself among the pieces),
        `df = df.append(...)` (removed in pandas 2.0), or `df.loc[len(df)] = row` (also
        `len(df.index)`, `df.shape[0]`), in a module that imports pandas. Loops over a written-out
        list of fewer than 10 items are not reported.
    """
    why = """
        `concat` and `append` build a new frame and copy every existing row into it, so n iterations
        copy about n^2/2 rows; `.loc[len(df)] = ...` enlarges the frame's blocks each time. Collecting
        the pieces in a list and concatenating once copies each row once.
    """
    bad_example = """
        import pandas as pd

        results = pd.DataFrame()
        for path in paths:
            part = pd.read_csv(path)
            results = pd.concat([results, part], ignore_index=True)
    """
    good_example = """
        import pandas as pd

        parts = []
        for path in paths:
            parts.append(pd.read_csv(path))
        results = pd.concat(parts, ignore_index=True)
    """
    fix = """
        Append the pieces (frames, dicts or tuples) to a Python list inside the loop and build the
        frame once after it: `pd.concat(parts, ignore_index=True)` or `pd.DataFrame(rows)`.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "pandas documents that building a DataFrame by adding single rows in a loop is not recommended: "
            "collect the pieces in a list and concatenate once",
            "pandas.concat docstring",
            "doc",
        ),
        Evidence(
            "growing by concatenation copies about n^2/2 rows for n pieces instead of n",
            "arithmetic (quadratic copying)",
            "unquantified",
        ),
    )
    saving_scope = "the CPU time and memory traffic of the loop's copies: quadratic to linear in the number of pieces"
    # impact stays undeclared: the cited sources say quadratic copying but give no measured share
    impact = None
    trigger = ((".concat(", ".append(", "._append(", ".loc[len(", ".loc[df.shape"), ("pandas",))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if not any(value.startswith(PANDAS_ROOTS) for value in facts.imports.bindings.values()):
            return
        frames = frame_facts(analysis)
        for grow in frames.grows:
            if grow.how == "append" and frames.frame_kind(cst.parse_expression(grow.target), grow.scope) is None:
                continue  # `x = x.append(...)` on something not known to be a DataFrame
            loop = grow.loop
            if isinstance(loop, cst.For):
                length = sequence_length(loop.iter, facts)
                if length is not None and length < SMALL_LOOP:
                    continue
            spelled = _HOW[grow.how].format(target=grow.target)
            removed = " (`DataFrame.append` was removed in pandas 2.0)" if grow.how == "append" else ""
            yield Report(
                grow.node,
                f"{spelled} inside a loop copies every row collected so far on each iteration (quadratic in the "
                f"number of pieces){removed}; collect the pieces in a list and build the frame once after the loop",
            )


RULE = DataFrameGrowInLoop()
