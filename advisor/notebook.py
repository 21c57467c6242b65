"""Jupyter notebooks: lint the code cells as one module, report in cell coordinates, fix in place.

Code cells are concatenated in order, each preceded by a boundary comment line. IPython syntax
that is not Python (`%magic`, `!shell`, `%%cell magics`, `x = !cmd`, `obj?`) where a logical
line starts (a `%` that continues a statement in brackets is Python: notebook_magic.py) is
replaced line for line by `pass  # greenlint-magic-N` at the same indentation, so it neither
fails the parse nor shifts any line; fixes are applied to that text, then split back into the cells at the boundary
comments, and the masked lines are restored by their number. Outputs, metadata and the JSON
layout are left exactly as they were: a notebook whose JSON greenlint cannot reproduce byte for
byte is not rewritten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from greenlint.notebook_magic import escape_lines

BOUNDARY = "# greenlint-cell-boundary-{}"
_BOUNDARY_RE = re.compile(r"^# greenlint-cell-boundary-(\d+)$")
_MASK = "pass  # greenlint-magic-{}"
_MASK_RE = re.compile(r"^(\s*)pass  # greenlint-magic-(\d+)$")
# Cell magics whose body is still Python: only the `%%` line is masked.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "pypy"})


class NotebookError(Exception):
    pass


@dataclass
class Notebook:
    raw: dict[str, Any]
    text: str  # the concatenated, masked Python source that is linted
    # for each line of `text` (0-based): (cell number, 1-based; line in cell, 1-based) or None
    line_map: list[tuple[int, int] | None]
    masks: dict[int, str] = field(default_factory=dict)  # mask number -> original line
    indent: int | str | None = 1
    ensure_ascii: bool = False
    trailing_newline: bool = True
    source_json: str = ""  # the file's text, to check that re-serialising reproduces it

    def locate(self, row: int) -> tuple[int, int]:
        """(cell, row in cell) for a 1-based row of `text`; boundary lines map to the next cell."""
        index = min(max(row - 1, 0), len(self.line_map) - 1) if self.line_map else 0
        for candidate in range(index, len(self.line_map)):
            if self.line_map[candidate] is not None:
                return self.line_map[candidate]  # type: ignore[return-value]
        for candidate in range(index, -1, -1):
            if self.line_map[candidate] is not None:
                return self.line_map[candidate]  # type: ignore[return-value]
        return (1, 1)


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        if not all(isinstance(part, str) for part in source):
            raise NotebookError("a cell's `source` is not a list of strings")
        return "".join(source)
    if isinstance(source, str):
        return source
    raise NotebookError("a cell's `source` is neither a string nor a list of strings")


def _mask_line(line: str, masks: dict[int, str], indent: str | None = None) -> str:
    """Replace one line by a numbered `pass`; `indent` defaults to the line's own indentation."""
    number = len(masks)
    masks[number] = line
    if indent is None:
        indent = line[: len(line) - len(line.lstrip())]
    return indent + _MASK.format(number)


def _python_lines(source: str, masks: dict[int, str]) -> list[str]:
    """A cell's lines with IPython-only syntax masked, line for line."""
    cell_lines = source.splitlines() or [""]
    first_code = next((line for line in cell_lines if line.strip()), "")
    # IPython removes the first line's indentation from a whole cell; so do we (masking keeps rows)
    leading = first_code[: len(first_code) - len(first_code.lstrip())]
    head: list[str] = []
    if cell_lines[0].startswith("%%"):
        line = cell_lines[0]
        magic = line[2:].split(maxsplit=1)[0] if line[2:].strip() else ""
        head = [_mask_line(line, masks, "")]
        if magic not in _PYTHON_CELL_MAGICS:
            return head + [_mask_line(line, masks, "") for line in cell_lines[1:]]
        cell_lines = cell_lines[1:]
    lines = head + [line[len(leading):] if leading and line.startswith(leading) else line for line in cell_lines]
    escapes = escape_lines(lines)
    return [_mask_line(line, masks, escapes[index]) if index in escapes else line for index, line in enumerate(lines)]


def mask_cell(notebook: Notebook, cell: int) -> Notebook:
    """The same notebook with one code cell masked entirely (used when that cell does not parse,
    so that the others are still linted)."""
    lines = notebook.text.split("\n")
    masks = dict(notebook.masks)
    for index, where in enumerate(notebook.line_map):
        if where is not None and where[0] == cell:
            lines[index] = _mask_line(lines[index], masks, "")
    return replace(notebook, text="\n".join(lines), masks=masks)


def _detect_layout(data: str) -> tuple[int | str | None, bool]:
    match = re.search(r"\n([ \t]+)\"", data)
    indent: int | str | None = None
    if match:
        whitespace = match.group(1)
        indent = len(whitespace) if set(whitespace) == {" "} else whitespace
    ensure_ascii = bool(re.search(r"\\u[0-9a-fA-F]{4}", data)) and not re.search(r"[^\x00-\x7f]", data)
    return indent, ensure_ascii


def dump(raw: dict[str, Any], notebook: Notebook) -> str:
    text = json.dumps(raw, indent=notebook.indent, ensure_ascii=notebook.ensure_ascii)
    return text + ("\n" if notebook.trailing_newline else "")


def parse_notebook(data: bytes) -> Notebook:
    try:
        text = data.decode("utf-8-sig")
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"not a valid notebook: the file is not JSON ({exc})") from None
    except (RecursionError, MemoryError):
        # json's C decoder recurses per nesting level; a bad notebook is one finding, not the end of the run
        raise NotebookError("not a valid notebook: its JSON is nested too deeply to read") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError("not a valid notebook: no `cells` list")
    language = (raw.get("metadata") or {}).get("language_info", {}) if isinstance(raw.get("metadata"), dict) else {}
    if isinstance(language, dict) and language.get("name") not in (None, "python"):
        raise NotebookError(f"not a Python notebook (language {language.get('name')!r})")
    indent, ensure_ascii = _detect_layout(text)
    lines: list[str] = []
    line_map: list[tuple[int, int] | None] = []
    masks: dict[int, str] = {}
    for number, cell in enumerate(raw["cells"], start=1):
        if not isinstance(cell, dict):
            raise NotebookError(f"not a valid notebook: cell {number} is not an object")
        if cell.get("cell_type") != "code":
            continue
        lines.append(BOUNDARY.format(number))
        line_map.append(None)
        for row, line in enumerate(_python_lines(_cell_source(cell), masks), start=1):
            lines.append(line)
            line_map.append((number, row))
    return Notebook(raw, "\n".join(lines) + "\n", line_map, masks, indent, ensure_ascii, text.endswith("\n"), text)


def rebuild(notebook: Notebook, new_text: str) -> str | None:
    """The notebook's JSON with `new_text` split back into its code cells; None if that is not
    possible without disturbing it (boundaries lost, layout not reproducible)."""
    try:
        if dump(notebook.raw, notebook) != notebook.source_json:
            return None  # we could not write it back byte for byte where nothing changed
        return _rebuild(notebook, new_text)
    except (RecursionError, MemoryError):
        return None  # JSON that parsed just under the recursion limit but does not re-serialise


def _rebuild(notebook: Notebook, new_text: str) -> str | None:
    cells: dict[int, list[str]] = {}
    current: int | None = None
    for line in new_text.split("\n"):
        boundary = _BOUNDARY_RE.match(line)
        if boundary:
            current = int(boundary.group(1))
            cells[current] = []
            continue
        if current is None:
            if line.strip():
                return None  # code landed above the first cell
            continue
        mask = _MASK_RE.match(line)
        if mask:
            line = notebook.masks[int(mask.group(2))]
        cells[current].append(line)
    if cells:
        last = cells[max(cells)]
        if last and last[-1] == "":
            last.pop()  # the newline that ends the concatenated text
    raw = json.loads(json.dumps(notebook.raw))  # a deep copy
    for number, cell in enumerate(raw["cells"], start=1):
        if cell.get("cell_type") != "code":
            continue
        if number not in cells:
            return None
        body = cells[number] or [""]
        source_text = "\n".join(body)
        original = _cell_source(cell)
        if original.endswith("\n"):
            source_text += "\n"
        if source_text == original:
            continue
        if isinstance(cell.get("source"), list):
            cell["source"] = source_text.splitlines(keepends=True)
        else:
            cell["source"] = source_text
    return dump(raw, notebook)
