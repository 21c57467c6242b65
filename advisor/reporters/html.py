"""`greenlint profile --html FILE`: the profile, its advice and its carbon as one HTML page.

One self-contained file: inline CSS, inline SVG plots, a few lines of optional script (a cursor
readout on the timelines), nothing fetched (a Content-Security-Policy forbids it, so a mistake
shows up as a console error in the browser test rather than as a silent request). Everything read
from the document or the sources is escaped; element ids are built from indices, never from names.
``render_html`` is a pure function of its arguments, so the same profile gives the same bytes.

Every number says how it was obtained, as in the text report: measured, estimated or projected.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import stat
import tempfile
from html import escape
from typing import Any, Iterable

import greenlint
from greenlint.profiler.labels import (
    FULL_RUN,
    MEASURED_STEPS,
    PROFILED_RUN,
    UNQUANTIFIED,
    confidence_words,
    energy_label,
    method_how,
    projection_how,
)
from greenlint.profiler.phases import top_phases
from greenlint.profiler.units import (
    format_energy,
    format_grams as _grams,
    format_kwh,
    format_kwh_of_joules,
    format_number,
    format_percent,
    format_time,
    format_watts as _watts,
)
from greenlint.reporters.html_basics import badge as _badge, command_html, display_base, display_name, fix_command
from greenlint.reporters.html_basics import how_from_basis as _how_from_basis, num as _num, text as _text
from greenlint.reporters.html_summary import phases_section, summary
from greenlint.reporters.html_charts import (
    MAX_BOUNDARY_LINES,
    clip_points,
    heat_legend_svg,
    range_svg,
    saving_svg,
    step_bars_svg,
    timeline_svg,
)
from greenlint.reporters.html_measured import measured_fixes_section

TOP_LINES = 10
ZOOM_BELOW = 0.25  # the measured steps get a zoomed timeline when they span less of the run than this
CONFIDENCE_CLASSES = {"high": "high", "medium": "medium", "low": "low"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's own line ends (not str.splitlines' \f, \x1c, ...)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# ----------------------------------------------------------------------------------- small pieces


def _how_of_method(method: Any) -> str:
    return method_how(method)


def _energy(joules: float | None) -> str:
    return format_energy(joules)


def _kwh(joules: float | None) -> str:
    return format_kwh_of_joules(joules)


def _pct(fraction: float | None) -> str:
    return format_percent(fraction)


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


def _quantified(item: dict[str, Any]) -> bool:
    return bool(item.get("quantified")) and _num(item.get("estimated_savings_j")) is not None


def order_advice(advice: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quantified items by rank, then the unquantified ones by rank."""
    def rank(item: dict[str, Any]) -> float:
        value = _num(item.get("rank"))
        return value if value is not None else math.inf

    return [*sorted((a for a in advice if _quantified(a)), key=rank),
            *sorted((a for a in advice if not _quantified(a)), key=rank)]


def _source_lines(text: str) -> list[str]:
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return [_CONTROL.sub("\ufffd", line) for line in lines]


# ----------------------------------------------------------------------------------- the page


def render_html(document: dict[str, Any], sources: dict[str, str], script: str | None = None) -> str:
    """The report page for ``{"profile": ..., "advice": [...], "carbon": {...}}``.

    ``sources`` maps a profiled filename to its text (see load_sources); ``script`` is the profiled
    target as the user named it (default: the document's "script", if any).
    """
    profile = document.get("profile") or {}
    advice = order_advice([a for a in document.get("advice") or [] if isinstance(a, dict)])
    carbon = document.get("carbon")
    script = script if script is not None else document.get("script")
    files = _FileIndex(profile, advice, sources, script)
    title = f"greenlint profile: {script}" if script else "greenlint profile"
    # The first screen answers how much energy (and how sure), where it goes and what to fix first;
    # the details follow in the order a reader asks for them.
    body = [
        summary(profile, advice, carbon, files, _quantified),
        _advice(advice, files),
        measured_fixes_section(document),  # --measure-fixes (html_measured.py): what a fix measurably saved
        _top_lines(profile, files),
        phases_section(profile, advice),
        _devices(profile),
        _ranks(profile),
        _timelines(profile),
        _steps(profile),
        _projection(profile),
        _carbon(carbon) if isinstance(carbon, dict) else "",
        _sources(files),
        _notices(profile, document.get("advice_notices")),
        f'<footer>Generated by greenlint {escape(greenlint.__version__)}. This file is self-contained: '
        "it loads nothing from the network and reads fine without scripts.</footer>",
    ]
    present = {m.group(1) for part in body for m in re.finditer(r'<section id="([^"]+)"', part)}
    body.insert(0, _header(title, profile, present))
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        _csp_meta(scripts=[_JS], styles=[_CSS]),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',  # no favicon request either
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>",
        *body,
        f"</main><script>{_JS}</script></body></html>\n",
    ])


def _csp_meta(scripts: list[str], styles: list[str]) -> str:
    """The page's Content-Security-Policy: only the inline <script> and <style> blocks whose text is
    given here run or apply (their sha256, computed at render time), never a script that reached the
    page some other way. Every inline block the page writes must be listed; a test checks that.
    style attributes (the heat map's shading) stay allowed: they cannot run code."""
    def hashes(blocks: list[str]) -> str:
        return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode("ascii") + "'"
                        for b in blocks)

    policy = (f"default-src 'none'; script-src {hashes(scripts)}; style-src {hashes(styles)}; "
              "style-src-attr 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def write_html_report(path: str | os.PathLike[str], document: dict[str, Any], sources: dict[str, str],
                      script: str | None = None) -> None:
    """Render and write atomically: a new temporary file beside the target, then os.replace, so a
    crash or a full disk never leaves half a report where the last good one was.

    The temporary file is made by mkstemp (a random name, O_CREAT | O_EXCL, which never follows a
    symlink), so a link planted in a shared folder cannot make greenlint write anywhere else; the
    rename replaces a link at the target path itself rather than writing through it. The report
    gets the permissions of the file it replaces, or those any new file would get (umask)."""
    page = render_html(document, sources, script).encode("utf-8")
    target = os.path.abspath(os.fspath(path))
    try:
        st = os.lstat(target)
        mode = stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None
    except FileNotFoundError:
        mode = None
    if mode is None:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(page)
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_sources(profile_json: dict[str, Any], also: Iterable[str] = ()) -> dict[str, str]:
    """The text of every file the profile attributed energy to (plus ``also``, e.g. the files the
    advice points at), read as UTF-8 with undecodable bytes replaced; missing or unreadable files
    are left out (the report then says their source is not available)."""
    names = [row.get("filename") for row in profile_json.get("lines") or [] if isinstance(row, dict)]
    out: dict[str, str] = {}
    for name in [*names, *also]:
        if not isinstance(name, str) or not name or name in out or _match_file(name, out) is not None:
            continue
        try:
            with open(name, encoding="utf-8", errors="replace") as fh:
                out[name] = fh.read()
        except (OSError, ValueError):
            continue
    return out


def _section(anchor: str, heading: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>{content}</section>'


_OUTCOMES = {"stopped": "stopped after the measured steps", "completed": "ran to completion",
             "failed": "the script failed", "interrupted": "interrupted: partial profile",
             "terminated": "terminated: partial profile", "no-result": "no result from the script"}


def _header(title: str, p: dict[str, Any], present: set[str]) -> str:
    outcome = str(p.get("outcome", ""))
    outcome_text = _OUTCOMES.get(outcome, outcome)
    if outcome == "failed":
        outcome_text += f" (exit {_text(p.get('exit_code'))})"
    steps = int(_num(p.get("steps")) or 0)
    steps_text = (f"{steps} {MEASURED_STEPS} after {_text(p.get('warmup_steps', 0))} warm-up, "
                  f"{escape(format_time(_num(p.get('step_time_s'))))}/step {_badge('measured')}"
                  if steps else "no measured steps (see notices)")
    nav = "".join(f'<a href="#{a}">{escape(n)}</a>' for a, n in (
        ("advice", "advice"), ("lines", "lines"), ("phases", "phases"), ("devices", "devices"),
        ("timeline", "power"), ("steps", "per step"), ("projection", FULL_RUN), ("carbon", "CO2e"),
        ("sources", "source")) if a in present)
    return (f"<header><h1>{escape(title)}</h1><p class=\"outcome\">{escape(outcome_text)}; {steps_text}</p>"
            f'<nav class="no-print">{nav}</nav></header>')


def _devices(p: dict[str, Any]) -> str:
    devices = [d for d in p.get("devices") or [] if isinstance(d, dict)]
    if not devices:
        return _section("devices", "Devices and methods", "<p>No energy source was read.</p>")
    rows = []
    for d in devices:
        how = _how_of_method(d.get("method"))
        tol = _num(d.get("tolerance"))
        window = _num(d.get("window_energy_j"))
        rows.append(
            f"<tr><td>{_text(d.get('kind'))}</td><td>{_text(d.get('name'))}</td><td><code>{_text(d.get('method'))}</code></td>"
            f'<td class="num">{escape(_energy(_num(d.get("energy_j"))))} {_badge(how)}</td>'
            f'<td class="num">{escape(_energy(window)) + " " + _badge(how) if window is not None else "-"}</td>'
            f'<td class="num">{"±" + format(tol, ".0%") if tol is not None else "n/a"}</td>'
            f"<td class=\"basis\">{_text(d.get('basis'))}</td></tr>")
    table = (f"<table><thead><tr><th>kind</th><th>device</th><th>method</th><th>{PROFILED_RUN}</th>"
             f"<th>{MEASURED_STEPS}</th><th>stated tolerance</th><th>basis</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    return _section("devices", "Devices and methods", table)


def _ranks(p: dict[str, Any]) -> str:
    """A torchrun run's ranks: who counted which steps and read which devices (empty for one process)."""
    ranks = [r for r in p.get("ranks") or [] if isinstance(r, dict)]
    if not ranks:
        return ""
    rows = "".join(
        f"<tr><td class=\"num\">{_text(r.get('rank'))}</td><td class=\"num\">{_text(r.get('local_rank'))}</td>"
        f"<td>{_text(r.get('node'))}</td><td class=\"num\">{_text(r.get('steps'))}</td>"
        f'<td class="num">{escape(_energy(_num(r.get("energy_j"))))}</td>'
        f"<td>{_text(', '.join(str(d) for d in r.get('devices') or []) or '-')}</td>"
        f"<td>{_text(r.get('outcome'))}</td></tr>"
        for r in ranks)
    table = ("<table><thead><tr><th>rank</th><th>local rank</th><th>node</th><th>measured steps</th>"
             "<th>energy of its devices (methods: see Devices)</th><th>devices it read</th><th>outcome</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>")
    note = ("<p>Each device is read by exactly one rank (GPUs by the local rank that owns them, RAPL by local "
            "rank 0, each process's CPU estimate by itself), so the ranks' energies add up without double "
            "counting.</p>")
    return _section("ranks", "Ranks (torchrun)", note + table)


def _points(raw: Any) -> list[tuple[float, float]]:
    points = []
    for item in raw or []:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            t, w = _num(item[0]), _num(item[1])
            if t is not None and w is not None:
                points.append((t, w))
    return points


def _bounds(p: dict[str, Any]) -> list[float]:
    return [b for b in (_num(v) for v in p.get("step_bounds_s") or []) if b is not None]


def _timelines(p: dict[str, Any]) -> str:
    devices = [d for d in p.get("devices") or [] if isinstance(d, dict)]
    bounds = _bounds(p)
    x_max = max(_num(p.get("duration_s")) or 0.0, bounds[-1] if bounds else 0.0)
    window = (bounds[0], bounds[-1]) if len(bounds) >= 2 else None
    zoom = None
    if window and x_max > 0 and window[1] - window[0] < ZOOM_BELOW * x_max:
        pad = max(0.15 * (window[1] - window[0]), 1e-3)
        zoom = (max(window[0] - pad, 0.0), min(window[1] + pad, x_max))
    figures = []
    for d in devices:
        points = _points(d.get("timeline"))
        name = f"{d.get('name', '')} ({d.get('method', '')})"
        if len(points) < 2:
            figures.append(f"<p>{escape(name)}: no timeline recorded.</p>")
            continue
        how = _how_from_basis(d.get("timeline_basis"), _how_of_method(d.get("method")))
        peak = max(w for _, w in points)
        charts = timeline_svg(points, 0.0, x_max, bounds, f"power of {name} over the run ({how})")
        zoomed = clip_points(points, *zoom) if zoom else []
        if len(zoomed) >= 2:
            charts += (f'<p class="legend-text">Zoom on the measured steps ({escape(f"{zoom[0]:.3f}")} s to '
                       f'{escape(f"{zoom[1]:.3f}")} s):</p>'
                       + timeline_svg(zoomed, zoom[0], zoom[1], bounds, f"power of {name} during the measured steps ({how})"))
        figures.append(
            f"<figure><figcaption><strong>{escape(name)}</strong>: power {_badge(how)}, peak {escape(_watts(peak))}"
            f"<br><small>{_text(d.get('timeline_basis'))}</small></figcaption>{charts}</figure>")
    if not figures:
        return _section("timeline", "Power over time", "<p>No timeline recorded.</p>")
    if len(bounds) >= 2:
        drawn = ("step boundaries as thin lines" if len(bounds) <= MAX_BOUNDARY_LINES
                 else f"{len(bounds) - 1} boundaries, too dense to draw")
        legend = (f"<p class=\"legend-text\">Shaded: the measured steps ({escape(f'{bounds[0]:.2f}')} s to "
                  f"{escape(f'{bounds[-1]:.2f}')} s; {drawn}). Each level holds until the next reading.</p>")
    else:
        legend = f"<p class=\"legend-text\">No measured steps: the {PROFILED_RUN} is shown.</p>"
    return _section("timeline", "Power over time", legend + "".join(figures))


def _steps(p: dict[str, Any]) -> str:
    energies = [e for e in (_num(v) for v in p.get("step_energy_j") or []) if e is not None]
    steps = int(_num(p.get("steps")) or 0)
    if not energies or not steps:
        return _section("steps", "Energy per step", "<p>No measured steps (see the notices).</p>")
    how = energy_label(p.get("energy_how"))
    group = max(int(_num(p.get("step_group")) or 1), 1)
    refs = [(css, name, v) for css, name, v in (
        ("mean", "mean", _num(p.get("j_per_step"))), ("p10", "10th percentile", _num(p.get("j_per_step_p10"))),
        ("p90", "90th percentile", _num(p.get("j_per_step_p90")))) if v is not None]
    grouped = f" Each bar is the mean of {group} consecutive steps." if group > 1 else ""
    legend = " ".join(f'<span class="key {css}"></span>{escape(name)} {escape(_energy(v))}' for css, name, v in refs)
    svg = step_bars_svg(energies, group, steps, refs, f"energy per measured step ({how})", _energy)
    return _section("steps", "Energy per step", (
        f"<p>{steps} measured steps, energy {_badge(how)}.{escape(grouped)} Cheap sources are read at every step; "
        "a GPU counter's window energy is split between steps by its power samples (see the notices).</p>"
        f'<figure>{svg}<figcaption class="legend-text">{legend}</figcaption></figure>'))


def _projection(p: dict[str, Any]) -> str:
    proj = p.get("projection") or {}
    point = _num(proj.get("energy_j"))
    basis = f'<p class="basis">{_text(proj.get("basis"))}</p>'
    heading = FULL_RUN.capitalize()
    if point is None:
        return _section("projection", heading, f"<p>Not projected.</p>{basis}")
    energy_how = energy_label(p.get("energy_how"))
    how = projection_how(proj, energy_how)
    low, high = _num(proj.get("low_j")), _num(proj.get("high_j"))
    rows = [(f"{FULL_RUN} ({how})", low, point, high)]
    measured = _num(p.get("energy_j"))
    if how == "projected" and measured is not None:
        rows.append((f"{PROFILED_RUN} ({energy_how})", None, measured, None))
    total = proj.get("total_steps")
    text = (f"<p><strong>{escape(_energy(point))}</strong> ({escape(_kwh(point))}) {_badge(how)}, range "
            f"{escape(_energy(low))} - {escape(_energy(high))} ({escape(_kwh(low))} - {escape(_kwh(high))}), "
            f"{_text(total if total is not None else 'n/a')} steps, {escape(format_time(_num(proj.get('time_s'))))} "
            f"{_badge('projected' if how == 'projected' else 'measured')}.</p>")
    return _section("projection", heading, text + f"<figure>{range_svg(rows, _energy, 'full-run energy and its range')}"
                                                 f"</figure>{basis}")


def _carbon(c: dict[str, Any]) -> str:
    how = _how_from_basis(c.get("basis"), "estimated")
    rows = [
        ("Energy", f"{escape(_kwh_value(c.get('energy_kwh')))} {_badge(how)}",
         f"range {escape(_kwh_value(c.get('low_kwh')))} - {escape(_kwh_value(c.get('high_kwh')))}"),
        ("Grid carbon intensity", f"{_text(_fmt_g(c.get('grid_g_per_kwh')))} gCO2e/kWh (stated figure)",
         _text(c.get("grid_source"))),
        ("PUE", f"{_text(_fmt_g(c.get('pue')))} (stated figure)", "data-centre overhead multiplier"),
        ("CO2e", f"<strong>{escape(_grams(_num(c.get('co2e_g'))))}</strong> {_badge('estimated')}",
         f"range {escape(_grams(_num(c.get('low_g'))))} - {escape(_grams(_num(c.get('high_g'))))}"),
    ]
    table = "<table class=\"kv\"><tbody>" + "".join(
        f"<tr><th>{escape(k)}</th><td>{v}</td><td class=\"basis\">{extra}</td></tr>" for k, v, extra in rows
    ) + "</tbody></table>"
    return _section("carbon", "Energy and CO2e", table + f'<p class="basis">{_text(c.get("basis"))}</p>')


def _kwh_value(value: Any) -> str:
    return format_kwh(_num(value))


def _fmt_g(value: Any) -> str:
    return format_number(_num(value), 6)


# ----------------------------------------------------------------------------------- files


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


def _advice(advice: list[dict[str, Any]], files: _FileIndex) -> str:
    if not advice:
        return _section("advice", "Advice", "<p>No advice for this profile.</p>")

    ranked = [a for a in advice if _quantified(a)]
    rest = [a for a in advice if not _quantified(a)]
    scale = max((_num(a.get("high_j")) or _num(a.get("estimated_savings_j")) or 0.0 for a in ranked), default=0.0)
    rows = []
    for k, item in enumerate(advice):
        conf = str(item.get("confidence") or "")
        conf_words = confidence_words(conf, _quantified(item))
        conf_cell = f'<span class="conf conf-{CONFIDENCE_CLASSES.get(conf, "other")}">{escape(conf_words)}</span>'
        if _quantified(item):
            point = _num(item.get("estimated_savings_j")) or 0.0
            low, high, pct = _num(item.get("low_j")), _num(item.get("high_j")), _num(item.get("estimated_savings_pct"))
            range_text = f"{_energy(low)} - {_energy(high)}" if low is not None and high is not None else "range n/a"
            saving = (f"<strong>{escape(_energy(point))}</strong>"
                      f"{escape(f' ({format_number(pct)} %)') if pct is not None else ''} {_badge('estimated')}"
                      f"<br><small>{escape(range_text)}</small><br>"
                      f"{saving_svg(point, low, high, scale, f'estimated saving {_energy(point)}, {range_text}')}")
            row_class = ""
        else:
            saving = f"{_badge(UNQUANTIFIED)}<br><small>saving not quantified from this profile</small>"
            row_class = ' class="unquantified"'
        rows.append(
            f'<tr id="advice-{k}"{row_class}><td class="num">{_text(item.get("rank"))}</td>'
            f"<td><code>{_text(item.get('code'))}</code><br><small>{_text(item.get('name'))}</small>{_autofix(item)}"
            f"{_phase_note(item)}</td>"
            f"<td>{_location(files, item.get('filename', ''), item.get('line'))}</td>"
            f"<td>{saving}</td><td>{conf_cell}</td>"
            f"<td>{_text(item.get('message'))}<br>{command_html(fix_command(item, files.base))}"
            f"<br><small class=\"basis\">{_text(item.get('basis'))}</small></td></tr>")
    note = (f"<p>{len(ranked)} quantified item(s), ranked by estimated saving"
            f"{f'; {len(rest)} unquantified item(s) after them' if rest else ''}. Savings are estimates "
            "(see each item's basis); the bar shows the point estimate, the whisker its low-high range.</p>")
    table = ("<table class=\"advice\"><thead><tr><th>rank</th><th>rule</th><th>location</th>"
             "<th>estimated saving</th><th>confidence</th><th>what and basis</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    return _section("advice", "Advice", note + table)


def _phase_note(item: dict[str, Any]) -> str:
    if not item.get("phase"):
        return ""
    share = _num(item.get("phase_share"))
    return (f'<br><small>addresses {_text(item.get("phase"))}'
            f'{escape(" (" + format_percent(share, 0) + " of the time)") if share is not None else ""}</small>')


def _autofix(item: dict[str, Any]) -> str:
    fix = item.get("fix_applicability")
    if fix not in ("safe", "unsafe"):
        return ""
    option = "--fix" if fix == "safe" else "--fix --unsafe-fixes"
    return f'<br><small class="fix">autofix: {fix} (<code>greenlint check {option}</code>)</small>'


def _top_lines(p: dict[str, Any], files: _FileIndex) -> str:
    rows = [r for r in p.get("lines") or [] if isinstance(r, dict)]
    if not rows:
        return ""
    span = MEASURED_STEPS if _num(p.get("steps")) else PROFILED_RUN
    phased = any(top_phases(r.get("phases") if isinstance(r.get("phases"), dict) else None) for r in rows[:TOP_LINES])
    # a traced GPU splits each line's energy: its CPU share, the kernels it launched, the GPU's idle time on it
    gpu = any(_num(r.get("gpu_active_j")) or _num(r.get("gpu_idle_j")) for r in rows)
    split_keys = ("cpu_j", "gpu_active_j", "gpu_idle_j") if gpu else ()
    body = "".join(
        f"<tr><td>{_location(files, r.get('filename', ''), r.get('line'))}</td>"
        f'<td class="num">{escape(_energy(_num(r.get("energy_j"))))}</td>'
        + "".join(f'<td class="num">{escape(_energy(_num(r.get(key))))}</td>' for key in split_keys)
        + f'<td class="num">{escape(_pct(_num(r.get("share"))))}</td>'
        f'<td class="num">{escape(format_time(_num(r.get("time_s"))))}</td>'
        + (f"<td>{escape(top_phases(r.get('phases') if isinstance(r.get('phases'), dict) else None) or '-')}</td>"
           if phased else "") + "</tr>"
        for r in rows[:TOP_LINES])
    split_heads = "<th>cpu</th><th>gpu kernels</th><th>gpu idle</th>" if gpu else ""
    table = (f"<table><thead><tr><th>line</th><th>energy</th>{split_heads}<th>share of CPU samples</th>"
             f"<th>time (sampled)</th>{'<th>phases (sampled)</th>' if phased else ''}</tr></thead>"
             f"<tbody>{body}</tbody></table>")
    return _section("lines", "Top lines", (
        f"<p>The {min(len(rows), TOP_LINES)} lines with the most energy ({escape(span)}); energy "
        f"{_badge('estimated')}.</p>{table}<p class=\"basis\">{_text(p.get('lines_basis'))}</p>"))


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


def _notices(p: dict[str, Any], advice_notices: Any) -> str:
    notices = [*(p.get("notices") or []), *(advice_notices if isinstance(advice_notices, list) else [])]
    if not notices:
        return ""
    return _section("notices", "Notices", "<ul>" + "".join(f"<li>{_text(n)}</li>" for n in notices) + "</ul>")


_CSS = """
:root{color-scheme:light;--fg:#1d1f21;--muted:#5b6168;--line:#d9dde2;--bg:#fff}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px}
header h1{font-size:1.5rem;margin:0 0 12px;overflow-wrap:anywhere}
section{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:16px 20px;margin:16px 0}
h2{font-size:1.15rem;margin:0 0 10px}
h3{font-size:.95rem;margin:18px 0 6px;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace}
figure{margin:8px 0 18px}
figcaption{margin-bottom:4px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px;margin:0}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.card dt{font-size:.78rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card dd{margin:4px 0 0}
nav{margin-top:10px}nav a{margin-right:14px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
td.num{text-align:right;white-space:nowrap}
table.kv th{width:14em}
.basis,.legend-text{color:var(--muted);font-size:.85rem}
.how{display:inline-block;font-size:.72rem;line-height:1.4;padding:0 6px;border-radius:9px;border:1px solid;white-space:nowrap}
.how-measured{color:#1f6f43;border-color:#1f6f43;background:#e8f5ee}
.how-estimated{color:#8a5a00;border-color:#c08a1e;background:#fdf3dc}
.how-projected{color:#1d4f91;border-color:#1d4f91;background:#e6eefa}
.how-unquantified,.how-other{color:#555;border-color:#999;background:#f0f0f0}
.conf{font-weight:600}.conf-high{color:#1f6f43}.conf-medium{color:#8a5a00}.conf-low{color:#a03030}.conf-other{color:#555}
tr.unquantified td{color:#555}
svg.chart{width:100%;height:auto;display:block}
svg text{font:11px system-ui,sans-serif;fill:#444}
svg .axis-label{font-size:12px;fill:#333}
svg .row-label{font-size:12px;fill:#222}
svg .grid{stroke:#e6e8eb}
svg .axis,svg .tickmark{stroke:#888}
svg .power{fill:none;stroke:#c2410c;stroke-width:1.5}
svg .window{fill:#1d4f91;fill-opacity:.07}
svg .bounds{stroke:#1d4f91;stroke-opacity:.35;stroke-width:.6;fill:none}
svg .bar,svg .saving-bar{fill:#2f7d5b}
svg .ref{stroke-width:1.4;stroke-dasharray:5 3}
svg .ref.mean{stroke:#111}svg .ref.p10{stroke:#1d4f91}svg .ref.p90{stroke:#b91c1c}
.key{display:inline-block;width:16px;height:3px;margin:0 4px 3px 12px;vertical-align:middle}
.key.mean{background:#111}.key.p10{background:#1d4f91}.key.p90{background:#b91c1c}
svg .span{fill:#1d4f91;fill-opacity:.25}
svg .point{stroke:#111;stroke-width:2.5}
svg.saving{display:inline-block;vertical-align:middle}
svg .whisker{stroke:#111;stroke-width:1.2;fill:none}
svg .cursor{stroke:#111;stroke-width:.8;visibility:hidden}
svg .readout{font-weight:600;fill:#111}
table.src{font:12.5px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;border:1px solid var(--line)}
table.src td{border:0;padding:0 6px}
table.src td.ln{text-align:right;color:#888;width:1%;white-space:nowrap;border-left:3px solid transparent}
table.src td.ln a{color:inherit;text-decoration:none}
table.src td.energy{text-align:right;white-space:nowrap;width:1%;font-size:11px;color:#111}
table.src td.marks{width:1%;white-space:nowrap}
table.src td.code{white-space:pre-wrap;overflow-wrap:anywhere;tab-size:4}
table.src tr.advised td.ln{border-left-color:#1d4f91}
section.source{border:0;padding:0;margin:8px 0 20px}
a.mark{display:inline-block;font-size:10.5px;padding:0 4px;border-radius:3px;background:#1d4f91;color:#fff;text-decoration:none;margin-right:2px}
tr:target{outline:2px solid #1d4f91}
footer{color:var(--muted);font-size:.8rem;margin:20px 0}
header .outcome{margin:0 0 4px;color:var(--muted)}
section.summary{background:none;border:0;padding:0;margin:8px 0}
.glance{display:grid;grid-template-columns:1fr 1.3fr;gap:12px;margin-bottom:12px}
.glance-card,.fix-first{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:12px 16px}
.glance-card h2,.fix-first h2{font-size:1rem;margin:0 0 6px}
.glance-card p{margin:4px 0}
.big{font-size:1.7rem;font-weight:650;line-height:1.2}
.sure{font-size:.88rem}
table.where td,table.where th{border:0;padding:2px 6px;font-size:.86rem}
table.where th{color:var(--muted);font-weight:500;padding-top:6px}
td.where-bar{width:30%}
td.where-bar span{display:block;height:10px;background:#c2410c;border-radius:2px;min-width:1px}
table.fix td{font-size:.88rem}
code.cmd{font-size:.82rem;background:#f0f2f4;padding:1px 4px;border-radius:3px}
code.cmd .tok{white-space:nowrap}
.js-only{display:none}.js .js-only{display:inline-block;margin:6px 0}
.hot-only tr.cold{display:none}
@page{margin:12mm}
@media print{
body{background:#fff;font-size:10pt}
main{max-width:none;padding:0}
section{border:0;padding:0;margin:12pt 0}
figure,.card,tr{break-inside:avoid}
h2,h3{break-after:avoid}
.no-print,.js-only,svg .cursor,svg .readout{display:none!important}
.hot-only tr.cold{display:table-row}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:inherit;text-decoration:none}
}
"""

# Optional: a cursor readout on the timelines and the "hot lines only" switch. The page says
# everything without it.
_JS = """
(function () {
  document.documentElement.className += " js";
  var toggle = document.getElementById("hot-only");
  var sources = document.getElementById("sources");
  if (toggle && sources) {
    toggle.addEventListener("change", function () {
      sources.classList.toggle("hot-only", toggle.checked);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg.timeline"), function (svg) {
    var points = (svg.getAttribute("data-points") || "").split(" ").filter(Boolean).map(function (p) {
      var pair = p.split(",");
      return [parseFloat(pair[0]), parseFloat(pair[1])];
    });
    var map = (svg.getAttribute("data-map") || "").split(",").map(parseFloat);
    var cursor = svg.querySelector(".cursor");
    var readout = svg.querySelector(".readout");
    if (!points.length || map.length !== 4 || !cursor || !readout) {
      return;
    }
    function hide() {
      cursor.style.visibility = "hidden";
      readout.textContent = "";
    }
    svg.addEventListener("mousemove", function (event) {
      var ctm = svg.getScreenCTM();
      if (!ctm) {
        return;
      }
      var at = svg.createSVGPoint();
      at.x = event.clientX;
      at.y = event.clientY;
      var x = at.matrixTransform(ctm.inverse()).x;
      if (x < map[2] || x > map[3]) {
        hide();
        return;
      }
      var t = map[0] + (x - map[2]) / (map[3] - map[2]) * (map[1] - map[0]);
      var lo = 0, hi = points.length - 1;
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (points[mid][0] <= t) { lo = mid; } else { hi = mid - 1; }
      }
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.style.visibility = "visible";
      readout.textContent = t.toFixed(2) + " s: " + String(Number(points[lo][1].toPrecision(3))) + " W";
    });
    svg.addEventListener("mouseleave", hide);
  });
})();
"""
