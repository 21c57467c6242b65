"""Walking a libcst tree without a visitor (the rules' quick scans of one statement or loop)."""

from __future__ import annotations

from typing import Iterator

import libcst as cst


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and all its descendants, depth first in source order, without recursion (deeply
    nested expressions must not hit Python's recursion limit)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
