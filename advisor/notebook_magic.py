"""Which lines of a notebook cell IPython reads as its own syntax (`%magic`, `!shell`, `obj?`).

IPython only looks for these escapes where a logical line starts: a `%` or `!` that opens a line
inside brackets, after a backslash continuation or inside a triple-quoted string is Python (the
`%` of percent formatting on a continuation line, a `!=` that begins a wrapped comparison, text
in a docstring). Where a line starts is found with the standard library's tokenizer: a line
starts a logical line when the line before it ended with NEWLINE, or with NL outside brackets.

The tokenizer must not see the escape lines themselves (a shell command such as `!echo it's`
opens a string that never closes), so the cell is tokenized with every candidate line replaced
by a mask; the first candidate found inside a statement is given back its text, and the cell is
tokenized again. Lines before that candidate were decided with the same text before them, so
each round fixes one candidate for good: rounds <= candidates kept as Python + 1, and a cell
with no such line is tokenized once.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

_ASSIGNED_ESCAPE = re.compile(r"^[\w.\[\]]+\s*=\s*[!%]")  # files = !ls, t = %timeit -o f()
_HELP = re.compile(r"^(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})$")  # ?obj, ??obj, obj?, obj??
_OPENING = frozenset("([{")
_CLOSING = frozenset(")]}")


def looks_like_escape(line: str) -> bool:
    """The line reads as IPython syntax if it starts a logical line (see `logical_starts`)."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return True
    if _ASSIGNED_ESCAPE.match(stripped):
        return True
    return bool(_HELP.match(stripped))


@dataclass(frozen=True)
class LineStarts:
    """For a cell's lines: which (0-based) lines start a logical line, as far as it tokenized."""

    starts: frozenset[int]
    known: int  # lines 0 .. known - 1 were tokenized; beyond an error nothing is known

    def inside_statement(self, index: int) -> bool:
        """True only when the line is known to continue a statement (or a string) begun above it."""
        return index < self.known and index not in self.starts


def logical_starts(lines: list[str]) -> LineStarts:
    """Tokenize `lines` (without line ends) and say which lines start a logical line."""
    text = "".join(line + "\n" for line in lines)
    starts = {0}
    depth = 0
    known = len(lines)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP and token.string in _OPENING:
                depth += 1
            elif token.type == tokenize.OP and token.string in _CLOSING:
                depth = max(depth - 1, 0)
            elif token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                starts.add(token.end[0])  # the token's row is 1-based: its end row is the next line's index
    except tokenize.TokenError as exc:
        # The cell ends inside brackets or a string: every line was tokenized, and the lines in
        # there already count as inside a statement. Any other error (3.12's tokenizer stops at
        # an unterminated string) leaves the lines from its row on unknown.
        if "EOF in multi-line" not in str(exc.args[0]):
            known = max(exc.args[1][0] - 1, 0)
    except SyntaxError as exc:  # a dedent to no outer level: the cell does not parse anyway
        known = max((exc.lineno or 1) - 1, 0)
    return LineStarts(frozenset(starts), known)


def decide_escapes(
    lines: list[str], mask: Callable[[list[str], frozenset[int]], tuple[list[str], list[int]]]
) -> tuple[list[str], list[int]]:
    """Mask a cell's escape lines, keeping as Python those that continue a statement.

    `mask(lines, kept)` masks every candidate except the indexes in `kept` and returns the masked
    lines and the indexes of the candidates it masked (in order).
    """
    kept: frozenset[int] = frozenset()
    while True:
        masked, candidates = mask(lines, kept)
        if not candidates:
            return masked, candidates
        where = logical_starts(masked)
        inside = next((index for index in candidates if where.inside_statement(index)), None)
        if inside is None:
            return masked, candidates
        kept = kept | {inside}
