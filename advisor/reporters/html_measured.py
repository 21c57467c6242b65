"""The HTML report's "Measured fixes" section (`greenlint profile --measure-fixes`): one row per
fix with its measured saving, 95 % interval, prediction and verdict. Kept apart from html.py so the
page's layout can change without touching it; html.py calls `measured_fixes_section`."""

from __future__ import annotations

import os
from html import escape
from typing import Any

from greenlint.profiler.units import format_energy


def _signed(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    return ("-" if value < 0 else "") + format_energy(abs(float(value)))


def _cell(text: str, numeric: bool = False) -> str:
    return f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def measured_fixes_section(document: dict[str, Any]) -> str:
    """The section's HTML, or "" when the document has no measured fixes."""
    trials = [t for t in document.get("measured_fixes") or [] if isinstance(t, dict)]
    if not trials:
        return ""
    rows = []
    for t in trials:
        where = f"{os.path.basename(str(t.get('filename', '')))}:{t.get('line', '')}"
        saving = t.get("saving") if isinstance(t.get("saving"), dict) else None
        if saving is not None:
            unit = "step" if t.get("unit") == "step" else "run"
            measured = (f"{_signed(saving.get('point'))}/{unit} ({_signed(saving.get('low'))} to "
                        f"{_signed(saving.get('high'))}), {t.get('label', '')}")
            over_run = (f"{_signed(t.get('run_saving_j'))} ({_signed(t.get('run_saving_low_j'))} to "
                        f"{_signed(t.get('run_saving_high_j'))}), {t.get('scale_basis', '')}")
            outcome = str(t.get("verdict", ""))
        else:
            measured = over_run = "-"
            outcome = f"{t.get('status', '')}: {t.get('why', '')}"
        predicted = (f"{_signed(t.get('predicted_j'))} ({_signed(t.get('predicted_low_j'))} to "
                     f"{_signed(t.get('predicted_high_j'))}), estimated" if t.get("predicted_j") is not None
                     else "unquantified")
        rows.append("<tr>" + _cell(str(t.get("measured_rank") or "-"), True) + _cell(str(t.get("code", "")))
                    + _cell(where) + _cell(measured) + _cell(over_run) + _cell(predicted) + _cell(outcome) + "</tr>")
    intro = ("<p>Each fix was applied alone to a scratch copy of the project; the original and the fixed copy "
             "were profiled alternately, and the saving's 95 % interval comes from the rounds' differences. "
             "An interval that contains 0 is no measurable effect; one that overlaps the predicted range "
             "confirms it. The user's files were not changed.</p>")
    table = ("<table class=\"measured-fixes\"><thead><tr><th>rank</th><th>rule</th><th>location</th>"
             "<th>measured saving (95 % interval)</th><th>over the run</th><th>predicted</th><th>verdict</th>"
             "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return ('<section id="measured-fixes"><h2>Measured fixes</h2>' + intro + table + "</section>")
