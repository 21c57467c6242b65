"""Which lines of a notebook cell IPython reads as its own syntax (`%magic`, `!shell`, `obj?`).

IPython looks for these escapes only where a logical line starts. A `%` or `!` that opens a line
inside brackets, after a backslash continuation or inside a triple-quoted string is Python: the
`%` of percent formatting wrapped onto a continuation line, a `!=` that begins a wrapped
comparison, text in a docstring. Masking such a line breaks the statement around it, and the
whole cell becomes one syntax error that hides every finding in it.

Where logical lines start is found with the standard library's tokenizer, streamed over the
cell: it asks for a line only after it has yielded every token of the line before (so on 3.10 to
3.13; the tests in test_notebook_magic_lines.py would catch a tokenizer that reads ahead), so at
each request the tokens seen so far say whether the next line continues a statement. The line
is then decided, and the tokenizer is given either the line or, for an escape, a neutral `pass`:
it never sees escape text, where a shell command such as `!echo it's` would open a string that
never closes. One pass, linear in the cell.
"""

from __future__ import annotations

import io
import re
import tokenize

_ASSIGNED_ESCAPE = re.compile(r"^[\w.\[\]]+\s*=\s*[!%]")  # files = !ls, t = %timeit -o f()
_HELP = re.compile(r"^(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})$")  # ?obj, ??obj, obj?, obj??
_OPENING = frozenset("([{")
_CLOSING = frozenset(")]}")
_NEUTRAL = "pass\n"  # what the tokenizer sees in place of an escape line


def looks_like_escape(line: str) -> bool:
    """The line is IPython syntax if it starts a logical line (see `escape_lines`)."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return True
    if _ASSIGNED_ESCAPE.match(stripped):
        return True
    return bool(_HELP.match(stripped))


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


class _Cell:
    """Feeds a cell to the tokenizer line by line, deciding each line as it is asked for."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.fed = 0
        self.escapes: dict[int, str] = {}  # line index -> the indentation its mask gets
        self.continuation: str | None = None  # indentation of an escape line that ends with "\\"
        self.depth = 0
        self.at_start = True  # the tokens so far end a logical line

    def see(self, token: tokenize.TokenInfo) -> None:
        if token.type == tokenize.ERRORTOKEN and token.string in ("'", '"'):
            # 3.10/3.11 report an unterminated string this way and go on reading its text as code
            # (its brackets too); 3.12+ stop there. Stop here too, so both decide alike.
            raise tokenize.TokenError("unterminated string literal", token.start)
        if token.type == tokenize.OP and token.string in _OPENING:
            self.depth += 1
        elif token.type == tokenize.OP and token.string in _CLOSING:
            self.depth = max(self.depth - 1, 0)
        # a NEWLINE ends a logical line; an NL does outside brackets (blank and comment lines);
        # any other last token (inside brackets, a backslash, an open string) leaves it open
        self.at_start = token.type == tokenize.NEWLINE or (token.type == tokenize.NL and self.depth == 0)

    def decide(self, index: int, starts_logical_line: bool) -> bool:
        """Record line `index`; True when it is escape syntax (masked)."""
        line = self.lines[index]
        if self.continuation is not None:
            self.escapes[index] = self.continuation
            if not line.rstrip().endswith("\\"):
                self.continuation = None
            return True
        if starts_logical_line and looks_like_escape(line):
            self.escapes[index] = _indent(line)
            if line.rstrip().endswith("\\"):
                self.continuation = _indent(line)
            return True
        return False

    def readline(self) -> str:
        if self.fed == len(self.lines):
            return ""
        index = self.fed
        self.fed += 1
        if self.decide(index, self.at_start):
            return _NEUTRAL
        # Indentation is dropped: it never moves a bracket or a string's end, and without it a
        # cell whose first line was indented (or a bad dedent) cannot stop the tokenizer.
        return self.lines[index].lstrip(" \t\f") + "\n"


def escape_lines(lines: list[str]) -> dict[int, str]:
    """The (0-based) lines of a cell that are IPython syntax, each with the indentation its mask
    gets (its own; for the continuation lines of a `!cmd \\`, the command's)."""
    cell = _Cell(lines)
    try:
        for token in tokenize.generate_tokens(cell.readline):
            cell.see(token)
    except (tokenize.TokenError, SyntaxError):
        # The cell does not tokenize (an unclosed bracket at its end, or on 3.12+ an unterminated
        # string): lines not reached yet are decided by their look alone, as they were before.
        for index in range(cell.fed, len(lines)):
            cell.decide(index, True)
    return cell.escapes
