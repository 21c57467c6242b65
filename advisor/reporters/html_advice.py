"""The HTML report's advice table: the items in the order shown (quantified by rank, then the
unquantified ones), each with its estimated saving, confidence, autofix and the command to apply it."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from greenlint.profiler.labels import UNQUANTIFIED, confidence_words
from greenlint.profiler.units import format_number, format_percent
from greenlint.reporters.html_basics import energy as _energy, section as _section
from greenlint.reporters.html_basics import badge as _badge, command_html, fix_command, num as _num, text as _text
from greenlint.reporters.html_charts import saving_svg
from greenlint.reporters.html_files import _FileIndex, _location


CONFIDENCE_CLASSES = {"high": "high", "medium": "medium", "low": "low"}


def is_quantified(item: dict[str, Any]) -> bool:
    return bool(item.get("quantified")) and _num(item.get("estimated_savings_j")) is not None


def order_advice(advice: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quantified items by rank, then the unquantified ones by rank."""
    def rank(item: dict[str, Any]) -> float:
        value = _num(item.get("rank"))
        return value if value is not None else math.inf

    return [*sorted((a for a in advice if is_quantified(a)), key=rank),
            *sorted((a for a in advice if not is_quantified(a)), key=rank)]


def advice_section(advice: list[dict[str, Any]], files: _FileIndex) -> str:
    if not advice:
        return _section("advice", "Advice", "<p>No advice for this profile.</p>")

    ranked = [a for a in advice if is_quantified(a)]
    rest = [a for a in advice if not is_quantified(a)]
    scale = max((_num(a.get("high_j")) or _num(a.get("estimated_savings_j")) or 0.0 for a in ranked), default=0.0)
    rows = []
    for k, item in enumerate(advice):
        conf = str(item.get("confidence") or "")
        conf_words = confidence_words(conf, is_quantified(item))
        conf_cell = f'<span class="conf conf-{CONFIDENCE_CLASSES.get(conf, "other")}">{escape(conf_words)}</span>'
        if is_quantified(item):
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
