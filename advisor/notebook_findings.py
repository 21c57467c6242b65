"""Findings of a notebook in its own coordinates: a cell that does not parse is reported (GL001)
and masked so that the other cells are still linted; rows of the concatenated cells map back to
(cell, row in cell)."""

from __future__ import annotations

import re
from dataclasses import replace

from greenlint.findings import Edit, Finding, Fix, Location
from greenlint.notebook import Notebook, mask_cell
from greenlint.syntax_check import _syntax_only


def mask_unparsable_cells(notebook: Notebook, display_path: str) -> tuple[Notebook, list[Finding]]:
    """A cell that does not parse is reported (GL001) and masked, so the other cells are linted."""
    errors: list[Finding] = []
    masked: set[int] = set()
    for _attempt in range(len(notebook.line_map)):
        found = _syntax_only(notebook.text, display_path, frozenset({"GL001"}))
        if not found:
            break
        error = found[0]
        # "(detected at line N)" counts lines of the concatenated cells: meaningless to the user
        message = re.sub(r" \(detected at line \d+\)", "", error.message)
        opener = re.search(r" on line (\d+)$", message)
        if opener:
            # "expected an indented block after function definition on line N": the cell at fault
            # is the one holding line N (a `def` left empty in an exercise notebook), not the cell
            # where Python noticed, which may be a later cell or the end of the notebook
            row = int(opener.group(1))
            message = message[: opener.start()] + f" on line {notebook.locate(row)[1]}"
            error = replace(error, location=Location(row, 1), end_location=Location(row, 1))
        cell, _ = notebook.locate(error.location.row)
        if cell in masked:
            break  # masking changed nothing: never report the same cell twice
        masked.add(cell)
        errors.append(replace(error, message=message))
        notebook = mask_cell(notebook, cell)
    return notebook, errors


def to_cell_coordinates(notebook: Notebook, finding: Finding) -> Finding:
    cell, row = notebook.locate(finding.location.row)
    _, end_row = notebook.locate(finding.end_location.row)
    fix = finding.fix
    if fix is not None:
        edits = []
        for edit in fix.edits:
            edit_cell, start = notebook.locate(edit.location.row)
            _, stop = notebook.locate(edit.end_location.row)
            edits.append(Edit(edit.content, Location(start, edit.location.column), Location(stop, edit.end_location.column), cell=edit_cell))
        fix = Fix(fix.message, fix.applicability, tuple(edits))
    return replace(
        finding,
        location=Location(row, finding.location.column),
        end_location=Location(end_row, finding.end_location.column),
        noqa_row=row,
        fix=fix,
        extra={**finding.extra, "cell": cell},
    )
