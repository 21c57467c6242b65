"""Findings in mutually exclusive branches: `if val_set_size > 0: a = ds.map(f) ... else: a = ds.map(f)`.

Only one branch runs, so the same waste written in both is one waste: a rule reports the
branch that comes first and drops the copies in its `else` (or `elif`) branches.
"""

from __future__ import annotations

import libcst as cst

from greenlint.rules.analysis.tree import walk


def _ids(node: cst.CSTNode) -> set[int]:
    return {id(child) for child in walk(node)}


def later_alternatives(module: cst.Module, nodes: list[cst.CSTNode]) -> set[int]:
    """ids of the `nodes` that sit in an `else`/`elif` branch of an `if` whose body already holds
    one of the `nodes`."""
    if len(nodes) < 2:
        return set()
    wanted = {id(node) for node in nodes}
    dropped: set[int] = set()
    for statement in walk(module):
        if not isinstance(statement, cst.If) or statement.orelse is None:
            continue
        if not wanted & _ids(statement.body):
            continue
        dropped |= wanted & _ids(statement.orelse)
    return dropped
