"""Text edits: how a fix travels (JSON, cache) and how it is applied to a file's text.

A rule's fix is a libcst transform; the engine turns its result into line-granular edits by
diffing the old and new text. Applying edits is then plain text surgery, the same whether the
finding came fresh from the engine or from the cache.
"""

from __future__ import annotations

import difflib

from greenlint.findings import Edit, Location


def _lines_keepends(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    # str.splitlines also splits on \f, \v, \x1c..., which Python does not treat as line ends;
    # re-join those pieces so that line numbers agree with the parser's.
    merged: list[str] = []
    for line in lines:
        if merged and not merged[-1].endswith(("\n", "\r")):
            merged[-1] += line
        else:
            merged.append(line)
    return merged


def diff_edits(old: str, new: str) -> tuple[Edit, ...]:
    """Edits that turn `old` into `new`, each replacing whole lines (rows are 1-based)."""
    old_lines, new_lines = _lines_keepends(old), _lines_keepends(new)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(Edit("".join(new_lines[j1:j2]), Location(i1 + 1, 1), Location(i2 + 1, 1)))
    return tuple(edits)


def _offsets(text: str) -> list[int]:
    offsets, position = [0], 0
    for line in _lines_keepends(text):
        position += len(line)
        offsets.append(position)
    return offsets


def _offset(offsets: list[int], location: Location) -> int:
    row = min(max(location.row, 1), len(offsets))
    return offsets[row - 1] + location.column - 1


def apply_edits(text: str, edits: list[Edit] | tuple[Edit, ...]) -> str:
    """Apply non-overlapping edits (any order) to `text`, in one pass over it (thousands of edits
    in a large file must not copy the whole text once per edit)."""
    offsets = _offsets(text)
    spans = sorted((_offset(offsets, e.location), _offset(offsets, e.end_location), e.content) for e in edits)
    pieces, position = [], 0
    for start, end, content in spans:
        if start < position:
            raise ValueError("overlapping edits")
        pieces += [text[position:start], content]
        position = max(end, start)
    pieces.append(text[position:])
    return "".join(pieces)


def edits_overlap(a: tuple[Edit, ...], b: tuple[Edit, ...]) -> bool:
    """Whether two fixes touch the same lines (insertions at the same row count as touching)."""
    for x in a:
        for y in b:
            x_start, x_end = x.location.row, max(x.end_location.row, x.location.row + 1)
            y_start, y_end = y.location.row, max(y.end_location.row, y.location.row + 1)
            if x_start < y_end and y_start < x_end:
                return True
    return False
