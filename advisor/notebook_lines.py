"""Where a line of a notebook cell is in the .ipynb file itself, for reports that CI tools read.

Findings in a notebook carry their cell and their line in that cell (what a person in Jupyter
needs). GitHub annotations and SARIF results are placed on the file's own lines, so they need the
line of the .ipynb JSON that holds that source line: in the usual layout (nbformat's, one JSON
string per source line) the string of that line; when a cell's `source` is a single string, the
line that string is on.

The file is read again (static analysis already read it; the reporter only has the findings) and
walked with the standard library's JSON scanner, descending only into `cells[*].source`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.decoder import scanstring
from pathlib import Path

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class CellSource:
    """One cell's source strings: for each, its offset in the file and the text it decodes to."""

    strings: tuple[tuple[int, str], ...]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_space()
        if self.text[self.pos: self.pos + 1] != char:
            raise ValueError(f"expected {char!r} at offset {self.pos}")
        self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos: self.pos + 1]

    def string(self) -> tuple[int, str]:
        self.skip_space()
        start = self.pos
        if self.text[start: start + 1] != '"':
            raise ValueError(f"expected a string at offset {start}")
        value, self.pos = scanstring(self.text, start + 1)
        return start, value

    def skip_value(self) -> None:
        self.skip_space()
        _, self.pos = _DECODER.raw_decode(self.text, self.pos)

    def members(self):  # noqa: ANN201 - yields each key of an object, positioned at its value
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            _, key = self.string()
            self.expect(":")
            before = self.pos
            yield key
            if self.pos == before:  # the caller did not consume the value
                self.skip_value()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return

    def elements(self):  # noqa: ANN201 - yields at each element of an array
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            before = self.pos
            yield
            if self.pos == before:
                self.skip_value()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return


def cell_sources(text: str) -> list[CellSource | None]:
    """For each cell of the notebook (in order), its source strings; None for a cell without one."""
    scanner = _Scanner(text.lstrip("\ufeff"))
    offset = len(text) - len(text.lstrip("\ufeff"))
    cells: list[CellSource | None] = []
    for key in scanner.members():
        if key != "cells":
            continue
        for _ in scanner.elements():
            if scanner.peek() != "{":
                cells.append(None)
                continue
            source: CellSource | None = None
            for cell_key in scanner.members():
                if cell_key != "source":
                    continue
                if scanner.peek() == "[":
                    strings = []
                    for _ in scanner.elements():
                        start, value = scanner.string()
                        strings.append((start + offset, value))
                    source = CellSource(tuple(strings))
                elif scanner.peek() == '"':
                    start, value = scanner.string()
                    source = CellSource(((start + offset, value),))
            cells.append(source)
    return cells


class NotebookLines:
    """Maps (cell, line in cell) to the 1-based line of the .ipynb file."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._cells = cell_sources(text)

    @classmethod
    def read(cls, path: str | Path) -> NotebookLines | None:
        """None when the file cannot be read or is not the notebook it was (not JSON any more)."""
        try:
            return cls(Path(path).read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, IndexError):
            return None

    def file_line(self, cell: int, row: int) -> int | None:
        """The file line holding line `row` (1-based) of cell `cell` (1-based, counting every cell)."""
        if not 1 <= cell <= len(self._cells) or self._cells[cell - 1] is None:
            return None
        strings = self._cells[cell - 1].strings  # type: ignore[union-attr]
        if not strings:
            return None
        first_row = 1
        for start, value in strings:
            # the JSON string that holds this row: rows first_row .. first_row + its newlines
            last_row = first_row + value.count("\n") - (1 if value.endswith("\n") else 0)
            if row <= last_row:
                return self._line_of(start)
            first_row = last_row + 1
        return self._line_of(strings[-1][0])

    def _line_of(self, offset: int) -> int:
        return self._text.count("\n", 0, offset) + 1


class NotebookLineCache:
    """One NotebookLines per notebook file of a report (read once, however many findings)."""

    def __init__(self) -> None:
        self._files: dict[str, NotebookLines | None] = {}

    def rows(self, filename: str, cell: int, start_row: int, end_row: int) -> tuple[int, int] | None:
        """(start line, end line) in the .ipynb file, or None when it cannot be mapped."""
        if filename not in self._files:
            self._files[filename] = NotebookLines.read(filename)
        lines = self._files[filename]
        if lines is None:
            return None
        start = lines.file_line(cell, start_row)
        end = lines.file_line(cell, max(end_row, start_row))
        if start is None:
            return None
        return start, max(end or start, start)
