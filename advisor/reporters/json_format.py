"""`--format json`: a list of findings in the shape ruff users' tooling reads (DESIGN.md)."""

from __future__ import annotations

import json

from greenlint.findings import Finding
from greenlint.reporters.escaping import encodable


def render_json(findings: list[Finding]) -> str:
    # a file name that is not UTF-8 must not make the document invalid UTF-8 (see escaping.py)
    return json.dumps([encodable(f.to_json()) for f in findings], indent=2, ensure_ascii=False) + "\n"
