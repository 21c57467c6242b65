"""The HTML report's measurement sections: the header, top lines, devices, torchrun ranks, power
timelines, energy per step, the full-run projection, CO2e and the notices."""

from __future__ import annotations

from html import escape
from typing import Any

from greenlint.profiler.labels import FULL_RUN, MEASURED_STEPS, PROFILED_RUN, energy_label, projection_how
from greenlint.profiler.phases import top_phases
from greenlint.profiler.units import format_grams as _grams, format_kwh, format_number, format_time
from greenlint.profiler.units import format_watts as _watts
from greenlint.reporters.html_basics import badge as _badge, energy as _energy, how_from_basis as _how_from_basis
from greenlint.reporters.html_basics import how_of_method as _how_of_method, kwh as _kwh, num as _num, pct as _pct
from greenlint.reporters.html_basics import section as _section, text as _text
from greenlint.reporters.html_charts import MAX_BOUNDARY_LINES, clip_points, range_svg, step_bars_svg, timeline_svg
from greenlint.reporters.html_files import _FileIndex, _location


TOP_LINES = 10
ZOOM_BELOW = 0.25  # the measured steps get a zoomed timeline when they span less of the run than this


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


def _notices(p: dict[str, Any], advice_notices: Any) -> str:
    notices = [*(p.get("notices") or []), *(advice_notices if isinstance(advice_notices, list) else [])]
    if not notices:
        return ""
    return _section("notices", "Notices", "<ul>" + "".join(f"<li>{_text(n)}</li>" for n in notices) + "</ul>")
