"""`--format github`: GitHub Actions workflow commands, which show as annotations on the diff.

    ::warning file=train.py,line=7,col=5,endLine=7,endColumn=21,title=GL101::training loop ...

Escaping follows @actions/core (`toCommandProperties` / `escapeData` / `escapeProperty`):
data escapes `%`, CR and LF; property values also escape `:` and `,`.
"""

from __future__ import annotations

from greenlint.findings import Finding
from greenlint.reporters.escaping import display_text
from greenlint.reporters.sarif import level_of


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        properties = {
            "file": display_text(f.filename),  # no raw control characters or undecodable bytes
            "line": f.location.row,
            "col": f.location.column,
            "endLine": f.end_location.row,
            "endColumn": f.end_location.column,
            "title": f.code,
        }
        joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
        message = escape_data(display_text(f.message, keep="\r\n"))  # CR/LF: escape_data's %0D/%0A
        lines.append(f"::{level_of(f.code)} {joined}::{message}")
    return "".join(line + "\n" for line in lines)
