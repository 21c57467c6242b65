"""`--format github`: GitHub Actions workflow commands, which show as annotations on the diff.

    ::warning file=train.py,line=7,col=5,endLine=7,endColumn=21,title=GL101::training loop ...

Escaping follows @actions/core (`toCommandProperties` / `escapeData` / `escapeProperty`):
data escapes `%`, CR and LF; property values also escape `:` and `,`.
"""

from __future__ import annotations

from greenlint.findings import Finding
from greenlint.notebook_lines import NotebookLineCache
from greenlint.reporters.escaping import display_text
from greenlint.reporters.sarif import level_of


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: list[Finding]) -> str:
    lines = []
    notebooks = NotebookLineCache()
    for f in findings:
        properties = {
            "file": display_text(f.filename),  # no raw control characters or undecodable bytes
            "line": f.location.row,
            "col": f.location.column,
            "endLine": f.end_location.row,
            "endColumn": f.end_location.column,
            "title": f.code,
        }
        if "cell" in f.extra:
            # a notebook finding: the annotation goes on the .ipynb file's own line; columns in
            # the cell are not columns of the JSON line, so none are given (the title has the cell's)
            rows = notebooks.rows(f.filename, f.extra["cell"], f.location.row, f.end_location.row)
            properties = {"file": display_text(f.filename), "line": rows[0] if rows else 1, "endLine": rows[1] if rows else 1,
                          "title": f"{f.code} (cell {f.extra['cell']}:{f.location.row}:{f.location.column})"}
        joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
        message = escape_data(display_text(f.message, keep="\r\n"))  # CR/LF: escape_data's %0D/%0A
        lines.append(f"::{level_of(f.code)} {joined}::{message}")
    return "".join(line + "\n" for line in lines)
