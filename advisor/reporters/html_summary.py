"""The HTML report's first screen (fits 1280x800): how much energy and how sure, where it goes,
and what to fix first, with the exact command; and the training-phases section.

Every figure carries its own label (profiler/labels.py): the full-run energy is projected, or, when
the run went to its end (--full), measured or estimated like the rest of the profile; times are
measured; savings are estimated.
"""

from __future__ import annotations

from html import escape
from typing import Any

from greenlint.profiler.labels import (
    FULL_RUN,
    MEASURED_STEPS,
    PROFILED_RUN,
    PROJECTED,
    confidence_words,
    devices_how,
    energy_label,
    projection_how,
    tolerance_words,
)
from greenlint.profiler.phases import OTHER, top_phases
from greenlint.profiler.units import (
    format_energy,
    format_grams,
    format_kwh_of_joules,
    format_number,
    format_percent,
    format_time,
)
from greenlint.reporters.html_basics import badge, command_html, fix_command, num, text

FIX_FIRST = 3
WHERE_ROWS = 4


def _tolerance(p: dict[str, Any]) -> float:
    pairs = [(num(d.get("energy_j")) or 0.0, num(d.get("tolerance")) or 0.0)
             for d in p.get("devices") or [] if isinstance(d, dict)]
    total = sum(e for e, _ in pairs)
    return sum(e * t for e, t in pairs) / total if total else max((t for _, t in pairs), default=0.0)


def _energy_card(p: dict[str, Any], carbon: Any) -> str:
    how = energy_label(p.get("energy_how")) if num(p.get("energy_j")) is not None else "n/a"
    measured_by = devices_how(d for d in p.get("devices") or [] if isinstance(d, dict))
    proj = p.get("projection") if isinstance(p.get("projection"), dict) else {}
    point = num(proj.get("energy_j"))
    lines = []
    if point is not None:
        full_how = projection_how(proj, how)
        steps = proj.get("total_steps")
        what = (f"{FULL_RUN}" + (f", {steps} steps" if isinstance(steps, int) else "")
                + (" (ran to its end)" if full_how != PROJECTED else ""))
        headline = (f'<p class="big">{escape(format_energy(point))} {badge(full_how)}</p>'
                    f"<p>{escape(what)}, {escape(format_time(num(proj.get('time_s'))))}; "
                    f"range {escape(format_energy(num(proj.get('low_j'))))} - "
                    f"{escape(format_energy(num(proj.get('high_j'))))}</p>")
    else:
        headline = (f'<p class="big">{escape(format_energy(num(p.get("energy_j"))))} {badge(how)}</p>'
                    f"<p>{escape(PROFILED_RUN)}; {escape(FULL_RUN)} not projected (see below)</p>")
    lines.append(headline)
    if isinstance(carbon, dict) and num(carbon.get("co2e_g")) is not None:
        kwh = format_kwh_of_joules(point if point is not None else num(p.get("energy_j")))
        co2 = (f"<p>= {escape(kwh)}, {escape(format_grams(num(carbon.get('co2e_g'))))} CO2e {badge('estimated')} "
               f"at {text(format_number(num(carbon.get('grid_g_per_kwh'))))} gCO2e/kWh</p>")
        lines.append(co2)
    energy_words = escape(measured_by if measured_by != "none" else "not read")
    sure = [f"energy {energy_words}: {escape(tolerance_words(measured_by, _tolerance(p)))}"]
    if point is not None and projection_how(proj, how) == PROJECTED:
        sure.append(f"projected from {text(int(num(p.get('steps')) or 0))} {MEASURED_STEPS} "
                    "(range: their 10th-90th percentile)")
    lines.append(f'<p class="sure"><strong>How sure:</strong> {"; ".join(sure)}.</p>')
    steps = int(num(p.get("steps")) or 0)
    per_step = (f"; {escape(format_energy(num(p.get('j_per_step'))))}/step {badge(how)}" if steps else "")
    lines.append(f"<p><small>{escape(PROFILED_RUN.capitalize())}: {escape(format_energy(num(p.get('energy_j'))))} "
                 f"{badge(how)} in {escape(format_time(num(p.get('duration_s'))))} {badge('measured')}{per_step}"
                 "</small></p>")
    return f'<div class="card glance-card"><h2>How much energy</h2>{"".join(lines)}</div>'


def _bar_row(label: str, share: float | None, extra: str = "") -> str:
    width = max(min((share or 0.0) * 100, 100.0), 0.0)
    return (f'<tr><td class="where-label">{label}</td><td class="num">{escape(format_percent(share, 0))}</td>'
            f'<td class="where-bar"><span style="width:{width:.1f}%"></span></td><td>{extra}</td></tr>')


def _where_card(p: dict[str, Any], files: Any) -> str:
    span = MEASURED_STEPS if num(p.get("steps")) else PROFILED_RUN
    phases = [ph for ph in p.get("phases") or [] if isinstance(ph, dict)]
    rows = []
    if any(ph.get("name") != OTHER for ph in phases):
        rows.append(f'<tr><th colspan="4">training phases ({escape(span)}, time sampled, energy '
                    f'{badge("estimated")})</th></tr>')
        for ph in phases[:WHERE_ROWS]:
            rows.append(_bar_row(text(ph.get("name")), num(ph.get("share")),
                                 f"<small>{escape(format_energy(num(ph.get('energy_j'))))}</small>"))
    lines = [r for r in p.get("lines") or [] if isinstance(r, dict)]
    if lines:
        rows.append(f'<tr><th colspan="4">your lines ({escape(span)}, share of samples, energy '
                    f'{badge("estimated")})</th></tr>')
        for r in lines[:WHERE_ROWS - (1 if phases else 0)]:
            split = top_phases(r.get("phases") if isinstance(r.get("phases"), dict) else None, 2)
            rows.append(_bar_row(files.location(r.get("filename", ""), r.get("line")), num(r.get("share")),
                                 f"<small>{escape(format_energy(num(r.get('energy_j'))))}"
                                 f"{escape(f'; {split}') if split else ''}</small>"))
    body = f'<table class="where">{"".join(rows)}</table>' if rows else "<p>No line was sampled.</p>"
    return f'<div class="card glance-card"><h2>Where it goes</h2>{body}</div>'


def _addresses(item: dict[str, Any]) -> str:
    share = num(item.get("phase_share"))
    if not item.get("phase"):
        return ""
    return f"; addresses {item['phase']}" + (f" ({format_percent(share, 0)} of the time)" if share is not None else "")


def _fix_first(advice: list[dict[str, Any]], files: Any, quantified: Any) -> str:
    if not advice:
        return ('<div class="card fix-first"><h2>Fix first</h2><p>greenlint found nothing to fix in the code '
                "that ran.</p></div>")
    rows = []
    for k, item in enumerate(advice[:FIX_FIRST]):
        is_q = quantified(item)
        if is_q:
            pct = num(item.get("estimated_savings_pct"))
            saving = (f"<strong>{escape(format_energy(num(item.get('estimated_savings_j'))))}</strong>"
                      f"{escape(f' ({format_number(pct)} % of the run)') if pct is not None else ''} "
                      f"{badge('estimated')}")
            rng = f"{escape(format_energy(num(item.get('low_j'))))} - {escape(format_energy(num(item.get('high_j'))))}"
        else:
            saving, rng = "not quantified", "-"
        rows.append(
            f'<tr><td class="num">{text(item.get("rank"))}</td>'
            f'<td><a href="#advice-{k}"><code>{text(item.get("code"))}</code></a> {text(item.get("name"))}'
            f"<br><small>{files.location(item.get('filename', ''), item.get('line'))}"
            f"{escape(_addresses(item))}</small></td>"
            f"<td>{saving}</td><td class=\"num\">{rng}</td>"
            f"<td>{escape(confidence_words(item.get('confidence'), is_q))}</td>"
            f"<td>{command_html(fix_command(item, files.base))}</td></tr>")
    more = (f'<p><a href="#advice">All {len(advice)} advice items</a> (each with its basis).</p>'
            if len(advice) > FIX_FIRST else "")
    return ('<div class="card fix-first"><h2>Fix first</h2><table class="fix"><thead><tr><th>#</th><th>what</th>'
            "<th>saving over the run</th><th>range</th><th>confidence</th><th>command</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{more}</div>")


def summary(p: dict[str, Any], advice: list[dict[str, Any]], carbon: Any, files: Any, quantified: Any) -> str:
    """The first screen: energy and how sure, where it goes, and what to fix first."""
    return (f'<section id="summary" class="summary"><div class="glance">{_energy_card(p, carbon)}'
            f"{_where_card(p, files)}</div>{_fix_first(advice, files, quantified)}</section>")


def phases_section(p: dict[str, Any], advice: list[dict[str, Any]]) -> str:
    """Where the time inside libraries goes, phase by phase, with the advice that addresses each."""
    phases = [ph for ph in p.get("phases") or [] if isinstance(ph, dict)]
    if not any(ph.get("name") != OTHER for ph in phases):
        return ""
    codes_present = {str(a.get("code")): k for k, a in enumerate(advice)}
    rows = []
    for ph in phases:
        rules = [str(c) for c in ph.get("rules") or []]
        found = [f'<a href="#advice-{codes_present[c]}"><code>{escape(c)}</code></a>' for c in rules if c in codes_present]
        addressed = ", ".join(found) if found else ("none found in this code" if rules else "-")
        rows.append(f"<tr><td>{text(ph.get('name'))}</td>"
                    f'<td class="num">{escape(format_energy(num(ph.get("energy_j"))))}</td>'
                    f'<td class="num">{escape(format_percent(num(ph.get("share"))))}</td>'
                    f'<td class="num">{escape(format_time(num(ph.get("time_s"))))}</td><td>{addressed}</td></tr>')
    span = MEASURED_STEPS if num(p.get("steps")) else PROFILED_RUN
    table = ("<table><thead><tr><th>phase</th><th>energy</th><th>share of samples</th><th>time (sampled)</th>"
             f"<th>advice found that addresses it</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return (f'<section id="phases"><h2>Training phases</h2><p>Where the time inside library code goes '
            f"({escape(span)}); energy {badge('estimated')}, time sampled.</p>{table}"
            f'<p class="basis">{text(p.get("phases_basis"))}</p></section>')
