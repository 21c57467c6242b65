"""Small pieces shared by the HTML report's modules (html*.py): reading numbers from the document
safely, escaping, the measured/estimated/projected badge, file names as the terminal shows them,
the command that applies an advice item, number formats and a section with its heading."""

from __future__ import annotations

import math
import os
import re
from html import escape
from typing import Any

from greenlint.profiler.labels import UNQUANTIFIED, label_of_basis, method_how
from greenlint.profiler.units import format_energy, format_kwh_of_joules, format_percent

HOW_CLASSES = {"measured": "measured", "estimated": "estimated", "projected": "projected",
               "partly estimated": "estimated", UNQUANTIFIED: "unquantified"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def num(value: Any) -> float | None:
    """A finite number from the document, or None (a malformed field must not break the page)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def text(value: Any) -> str:
    return escape(_CONTROL.sub("\ufffd", "" if value is None else str(value)))


def badge(how: str) -> str:
    css = HOW_CLASSES.get(how, "other")
    return f'<span class="how how-{css}">{escape(how)}</span>'


def how_from_basis(basis: Any, default: str) -> str:
    """A basis starts with how its number was obtained ("projected: ...")."""
    return label_of_basis(basis, default)


def display_base(script: str | None, names: list[str]) -> str | None:
    """The directory the user's command ran in, as far as the report can tell: the profiled script
    was named relative to it (``examples/train.py``) and the profile holds its absolute path
    (``/home/me/proj/examples/train.py``). None when the script was named by an absolute path or
    is not among ``names``."""
    if not script or os.path.isabs(script):
        return None
    tail = os.sep + os.path.normpath(script)
    for name in names:
        full = os.path.normpath(name)
        if os.path.isabs(full) and full.endswith(tail):
            return full[: -len(tail)] or os.sep
    return None


def display_name(name: Any, base: str | None) -> str:
    """A file as the terminal shows it: relative to the command's directory when it is inside it
    (never a temporary directory's absolute path when the user typed ``train.py``)."""
    name = str(name)
    if base and os.path.isabs(name):
        rel = os.path.relpath(os.path.normpath(name), base)
        if not rel.startswith(".."):
            return rel
    return name


def fix_command(item: dict[str, Any], base: str | None) -> str:
    """The exact command for an advice item: its autofix, else the rule's documentation."""
    code = str(item.get("code") or "")
    fix = item.get("fix_applicability")
    where = display_name(item.get("filename") or "", base)
    quoted = where if re.fullmatch(r"[\w./@%+=:,-]+", where) else "'" + where.replace("'", "'\\''") + "'"
    if fix == "safe":
        return f"greenlint check --select {code} --fix {quoted}"
    if fix == "unsafe":
        return f"greenlint check --select {code} --fix --unsafe-fixes {quoted}"
    return f"greenlint rule {code}"


def command_html(command: str) -> str:
    """A shell command that wraps only between its arguments (never inside ``--unsafe-fixes``)."""
    tokens = " ".join(f'<span class="tok">{text(t)}</span>' for t in command.split(" "))
    return f'<code class="cmd">{tokens}</code>'


def how_of_method(method: Any) -> str:
    return method_how(method)


def energy(joules: float | None) -> str:
    return format_energy(joules)


def kwh(joules: float | None) -> str:
    return format_kwh_of_joules(joules)


def pct(fraction: float | None) -> str:
    return format_percent(fraction)


def section(anchor: str, heading: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>{content}</section>'
