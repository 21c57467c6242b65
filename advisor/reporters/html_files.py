"""The profiled files in the HTML report: which file each profile line and advice item belongs to
(``_FileIndex``: paths matched by tail, anchors per source line) and the source listing with the
energy of each line as a heat map (``_sources``)."""

from __future__ import annotations

import os
import re
from html import escape
from typing import Any, Iterable

from greenlint.profiler.phases import top_phases
from greenlint.reporters.html_basics import energy as _energy, pct as _pct, section as _section
from greenlint.reporters.html_basics import badge as _badge, display_base, display_name, num as _num, text as _text
from greenlint.reporters.html_charts import heat_legend_svg


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's own line ends (not str.splitlines' \f, \x1c, ...)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _same_file(a: str, b: str) -> bool:
    """The profile names files by absolute path, findings often relative to the working
    directory: a match is equality or one path being a tail of the other at a separator."""
    a, b = os.path.normpath(a), os.path.normpath(b)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return long.endswith(os.sep + short)


def _match_file(name: str, candidates: Iterable[str]) -> str | None:
    for candidate in candidates:
        if _same_file(name, candidate):
            return candidate
    return None


def _source_lines(text: str) -> list[str]:
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return [_CONTROL.sub("\ufffd", line) for line in lines]


class _FileIndex:
    """The profiled files in the page's order, each with its attributed lines and advice; the
    anchor of each source line is f{file index}-L{line}."""

    def __init__(self, p: dict[str, Any], advice: list[dict[str, Any]], sources: dict[str, str],
                 script: str | None = None) -> None:
        self.sources = {str(k): str(v) for k, v in sources.items()}
        self.text_lines = {name: _source_lines(text) for name, text in self.sources.items()}
        self.lines: dict[str, dict[int, dict[str, Any]]] = {}
        for row in p.get("lines") or []:
            if isinstance(row, dict) and isinstance(row.get("filename"), str) and _num(row.get("line")) is not None:
                self.lines.setdefault(row["filename"], {})[int(row["line"])] = row
        energy = {name: sum(_num(r.get("energy_j")) or 0.0 for r in rows.values()) for name, rows in self.lines.items()}
        self.energy = {name: sum(e for n, e in energy.items() if _same_file(n, name)) for name in self.sources}
        self.order = sorted(self.sources, key=lambda name: (-self.energy[name], name))
        self.index = {name: k for k, name in enumerate(self.order)}
        self.max_line_energy = max((_num(r.get("energy_j")) or 0.0 for rows in self.lines.values() for r in rows.values()),
                                   default=0.0)
        # advice in table order: file -> line -> [(row index in the advice table, item)]
        self.advice: dict[str, dict[int, list[tuple[int, dict[str, Any]]]]] = {}
        for k, item in enumerate(advice):
            name = _match_file(str(item.get("filename", "")), self.order)
            line = _num(item.get("line"))
            if name is not None and line is not None:
                self.advice.setdefault(name, {}).setdefault(int(line), []).append((k, item))
        self.unsourced = sorted(n for n in self.lines if _match_file(n, self.order) is None)
        # file names as the terminal shows them (relative to where the command ran)
        self.base = display_base(script, [*self.sources, *self.lines])

    def display(self, name: Any) -> str:
        return display_name(name, self.base)

    def location(self, filename: Any, line: Any) -> str:
        shown = self.display(filename)
        label = f"{shown}:{line}" if line is not None else shown
        anchor = self.anchor(str(filename), line)
        return f'<a href="#{anchor}">{escape(label)}</a>' if anchor else escape(label)

    def anchor(self, filename: str, line: Any) -> str | None:
        name = _match_file(filename, self.order)
        number = _num(line)
        if name is None or number is None or number < 1:
            return None
        if int(number) > len(self.text_lines[name]):
            return None
        return f"f{self.index[name]}-L{int(number)}"

    def line_rows(self, name: str) -> dict[int, dict[str, Any]]:
        rows: dict[int, dict[str, Any]] = {}
        for filename, by_line in self.lines.items():
            if _same_file(filename, name):
                rows.update(by_line)
        return rows


def _location(files: _FileIndex, filename: Any, line: Any) -> str:
    return files.location(filename, line)


def _sources(files: _FileIndex) -> str:
    if not files.order and not files.unsourced:
        return ""
    parts = [f'<p>Background: the line\'s share of the attributed CPU energy, relative to the hottest line '
             f'({escape(_energy(files.max_line_energy))}); energy {_badge("estimated")} in the gutter. '
             f"Lines with advice are marked; the marks link to the advice.</p>"
             f"{heat_legend_svg(_energy(files.max_line_energy))}"
             '<label class="js-only"><input type="checkbox" id="hot-only"> show only lines with energy or advice</label>']
    for name in files.order:
        index = files.index[name]
        rows = files.line_rows(name)
        advice_by_line = files.advice.get(name, {})
        lines = files.text_lines[name]
        out = []
        for number, code in enumerate(lines, start=1):
            row = rows.get(number)
            energy = _num(row.get("energy_j")) if row else None
            style = ""
            if energy and files.max_line_energy > 0:
                # at most half opacity: the code and its numbers stay dark on a light background
                alpha = 0.06 + 0.44 * min(energy / files.max_line_energy, 1.0)
                style = f' style="background:rgba(214,69,35,{alpha:.3f})"'
            gutter = (f"{escape(_energy(energy))} <small>{escape(_pct(_num(row.get('share'))))}</small>"
                      if row and energy is not None else "")
            phases = top_phases(row.get("phases") if row and isinstance(row.get("phases"), dict) else None)
            gutter_title = f' title="training phases: {_text(phases)}"' if phases else ""
            marks = "".join(f'<a class="mark" href="#advice-{k}" title="{_text(item.get("message"))}">'
                            f"{_text(item.get('code'))}</a>" for k, item in advice_by_line.get(number, []))
            css = ' class="advised"' if marks else ("" if energy else ' class="cold"')
            out.append(f'<tr id="f{index}-L{number}"{css}{style}><td class="ln"><a href="#f{index}-L{number}">{number}</a></td>'
                       f'<td class="energy"{gutter_title}>{gutter}</td><td class="marks">{marks}</td>'
                       f"<td class=\"code\">{escape(code)}</td></tr>")
        beyond = sorted(n for n in rows if n > len(lines))
        note = (f"<p class=\"basis\">{len(beyond)} attributed line(s) are past the end of the file "
                "(edited since the run?).</p>" if beyond else "")
        total = files.energy.get(name, 0.0)
        parts.append(f'<section class="source" id="f{index}"><h3>{escape(files.display(name))}</h3>'
                     f"<p>{escape(_energy(total))} {_badge('estimated')} attributed to this file's lines.</p>{note}"
                     f'<table class="src"><tbody>{"".join(out)}</tbody></table></section>')
    if files.unsourced:
        items = "".join(f"<li>{escape(files.display(n))}</li>" for n in files.unsourced)
        parts.append(f"<p>Source not available (missing or unreadable) for:</p><ul>{items}</ul>")
    return _section("sources", "Source with energy per line", "".join(parts))
