"""GL602: a DataFrame grown one piece at a time inside a loop (quadratic copying)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.dataframes_facts import PANDAS_ROOTS, frame_facts
from greenlint.rules.analysis.experiment_facts import range_length
from greenlint.rules.analysis.growth_count import dead_version_branch, per_file_pieces
from greenlint.rules.analysis.search_fits import sequence_length
from greenlint.rules.analysis.tree import walk as _walk
from greenlint.rules.base import Evidence, Report, Rule

# The joins that grow something (analysis/frame_growth.py): a pandas concat, a `.loc[len(df)]` row,
# a numpy join. An append grows only as `x = x.append(...)` or `a = np.append(a, ...)`: an `append(`
# right after `=`. A list's `rows.append(r)` statement never is one, and it is in nearly every file.
_GROWING_JOINS = ("concat(", ".loc[", "concatenate(", "vstack(", "hstack(", "_stack(")
_ASSIGNED_APPEND = re.compile(r"=\s*\(?\s*(?:[A-Za-z_][\w.]*\.)?_?append\(")

# A loop over a literal list this short grows a frame a few times: not worth a finding.
SMALL_LOOP = 10
# Growing an array copies everything so far; below this many iterations that is cheap.
LONG_ARRAY_LOOP = 1000

_HOW = {
    "concat": "`{target} = pd.concat([{target}, ...])`",
    "append": "`{target} = {target}.append(...)`",
    "loc": "`{target}.loc[len({target})] = ...`",
    "array": "`{target} = {call}(({target}, ...))`",
}


class DataFrameGrowInLoop(Rule):
    code = "GL602"
    # Out of the default set (issue 14, rule under 80 % blind precision): 0 of 6 findings worth acting on in the third blind corpus
    # (48 % on the second): most growth loops run over a handful of pieces.
    preview = True
    name = "dataframe-grow-in-loop"
    summary = "A DataFrame is grown inside a loop: every iteration copies all rows collected so far"
    detects = """
        Inside a `for`/`while` loop: `df = pd.concat([df, ...])` (the frame itself among the pieces),
        `df = df.append(...)` (removed in pandas 2.0), or `df.loc[len(df)] = row` (also
        `len(df.index)`, `df.shape[0]`), in a module that imports pandas; and the same growth of a
        numpy array: `a = np.concatenate((a, x))`, `np.vstack`/`np.hstack`,
        `np.append(a, x)`, when the join is the array's only binding in the loop, runs on every
        iteration (not under an `if`) and the loop is not known to run under 1,000 times. Loops over a written-out
        list of fewer than 10 items are not reported, nor loops over a directory listing (`os.listdir`,
        `glob.glob`, `Path.glob`) that read a whole table per file (`pd.read_csv`, `json.load`): a
        handful of pieces. Growth in the branch of a pandas version test that pandas 2.0 and later
        never take (`if version.parse(pd.__version__) >= version.parse("1.3.2"): ... else: df = df.append(...)`)
        is not reported either.
    """
    why = """
        `concat` and `append` build a new frame and copy every existing row into it, so n iterations
        copy about n^2/2 rows; `.loc[len(df)] = ...` enlarges the frame's blocks each time. Collecting
        the pieces in a list and concatenating once copies each row once.
    """
    bad_example = """
        import pandas as pd

        results = pd.DataFrame()
        for record in records:
            row = pd.DataFrame([record])
            results = pd.concat([results, row], ignore_index=True)
    """
    good_example = """
        import pandas as pd

        rows = []
        for record in records:
            rows.append(record)
        results = pd.DataFrame(rows)
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
    # Only pandas frames and numpy joins can grow here (`torch.cat` is left out, see dataframes_facts),
    # so a torch file without pandas or numpy is never parsed for this rule: a list's `.append(` in
    # every torch file made this trigger parse a third of an ML corpus for nothing.
    trigger = (
        (".concat(", ".append(", "._append(", ".loc[len(", ".loc[df.shape", ".concatenate(", ".vstack(", ".hstack(", "_stack("),
        ("pandas", "numpy"),
    )

    def could_match(self, text: str) -> bool:
        # the trigger admits every numpy file with a list `.append(`; parsing them only to find no
        # grow doubled the cost of the full catalogue on fairseq (docs/benchmarks.md, session 9)
        if not super().could_match(text):
            return False
        return any(word in text for word in _GROWING_JOINS) or _ASSIGNED_APPEND.search(text) is not None

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if not any(value.startswith(PANDAS_ROOTS + ("numpy", "torch")) for value in facts.imports.bindings.values()):
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
            if per_file_pieces(loop, facts) is not None:
                continue  # one table per input file: a handful of pieces, the reads cost more than the copies
            if dead_version_branch(analysis.module, grow.node, facts) is not None:
                continue  # `else: df = df.append(...)` under a pandas version test that pandas 2.0+ never takes
            if grow.how == "array":
                if not _growing_buffer(grow, facts):
                    continue
                call = analysis.module.code_for_node(grow.node.func)  # type: ignore[attr-defined]
                yield Report(
                    grow.node,
                    f"{_HOW['array'].format(target=grow.target, call=call)} inside a loop copies the whole array "
                    "collected so far on each iteration (quadratic in the number of pieces); collect the pieces in a "
                    f"list and call `{call}` once after the loop (or compute the whole result with one array expression)",
                )
                continue
            spelled = _HOW[grow.how].format(target=grow.target)
            removed = " (`DataFrame.append` was removed in pandas 2.0)" if grow.how == "append" else ""
            yield Report(
                grow.node,
                f"{spelled} inside a loop copies every row collected so far on each iteration (quadratic in the "
                f"number of pieces){removed}; collect the pieces in a list and build the frame once after the loop",
            )


def _growing_buffer(grow, facts) -> bool:
    """An array join worth reporting: the join is the array's only binding in the loop (not
    `img = imread(...)` then `img = np.concatenate([img, img, img])`), it runs on every iteration
    (not under an `if`), and the loop is not known to be short (under 1,000 iterations the copies
    cost little next to the loop's own work)."""
    info = next((loop for loop in facts.loops if loop.node is grow.loop), None)
    if info is None or info.binding_counts.get(grow.target.rsplit(".", 1)[-1], 0) > 1 and "." not in grow.target:
        return False
    if isinstance(grow.loop, cst.For):
        length = sequence_length(grow.loop.iter, facts) or range_length(grow.loop.iter, facts)
        if length is not None and length < LONG_ARRAY_LOOP:
            return False
    return not any(
        isinstance(node, (cst.If, cst.IfExp)) and any(inner is grow.node for inner in _walk(node))
        for node in _walk(grow.loop.body)
    )


RULE = DataFrameGrowInLoop()
