"""`greenlint compare` for the terminal: the measured saving with its 95 % interval, next to the
advice's prediction; every energy figure says whether it is measured, estimated or projected."""

from __future__ import annotations

import os

from greenlint.compare import Comparison
from greenlint.profiler.units import format_energy
from rich.console import Console


def signed_energy(joules: float | None) -> str:
    """format_energy for values that may be negative (a regression): "-89.5 J", not "-8.95e+04 mJ"."""
    if joules is None:
        return "n/a"
    return ("-" if joules < 0 else "") + format_energy(abs(joules))


def _band(low: float | None, high: float | None) -> str:
    return f"{signed_energy(low)} to {signed_energy(high)}"


def render_comparison(c: Comparison, console: Console) -> None:
    say = lambda text, **kw: console.print(text, highlight=False, markup=False, soft_wrap=True, **kw)
    console.print("[bold]greenlint compare[/bold]")
    labels = c.labels
    say(f"Energy per step: {format_energy(c.before_j_per_step)} before ({labels.get('before_j_per_step')}), "
        f"{format_energy(c.after_j_per_step)} after ({labels.get('after_j_per_step')})")
    per_step = labels.get("saved_j_per_step", "estimated")
    s = c.saving
    if s is not None:
        pct = (f" ({c.saved_pct_per_step:.1f} %; 95 % interval {c.saved_pct_low:.1f} % to {c.saved_pct_high:.1f} %)"
               if c.saved_pct_low is not None and c.saved_pct_per_step is not None else "")
        head = "Saved per step" if s.significant and s.low > 0 else \
            "More per step" if s.significant else "No significant difference per step"
        value = s.point if head != "More per step" else -s.point
        say(f"{head}: {signed_energy(value)}{pct}, 95 % interval {_band(s.low, s.high)} of saving ({per_step})")
    elif c.saved_j_per_step is not None:
        pct = f" ({c.saved_pct_per_step:.1f} %)" if c.saved_pct_per_step is not None else ""
        say(f"Saved per step: {signed_energy(c.saved_j_per_step)}{pct} ({per_step}; no interval: too few steps)")
    if c.measured_run_saving_j is not None:
        band = (f", 95 % interval {_band(c.run_saving_low_j, c.run_saving_high_j)}"
                if c.run_saving_low_j is not None else "")
        say(f"Saved over {c.total_steps:,} steps: {signed_energy(c.measured_run_saving_j)}{band} "
            f"(projected: {per_step} per step x {c.total_steps:,} steps)")
    for p in c.applied:
        where = f"{os.path.basename(p.filename)}:{p.line}"
        if p.estimated_savings_j is None:
            say(f"Applied {p.code} at {where}: no prediction (unquantified)")
        else:
            say(f"Applied {p.code} at {where}: predicted {format_energy(p.estimated_savings_j)} "
                f"(range {format_energy(p.low_j)}-{format_energy(p.high_j)}; estimated)")
    if c.verdict:
        against = (f" the predicted range {format_energy(c.predicted_low_j)}-{format_energy(c.predicted_high_j)}"
                   if c.within_prediction is not None else "")
        say(f"Verdict: {c.verdict}" + (f" (the measured interval against{against})" if against else ""),
            style=None if c.within_prediction in (True, None) else "yellow")
    if s is not None and s.method.startswith("paired"):
        say(f"statistics: {s.method} ({s.n_before} rounds of BEFORE and AFTER, J/step: the rounds' mean), "
            f"{s.df:.0f} degrees of freedom, 95 % confidence", style="dim")
    elif s is not None:
        say(f"statistics: {s.method}, {s.n_before} + {s.n_after} observations, {s.df:.1f} degrees of freedom, "
            "95 % confidence; it covers the variation inside each run, not a change of the machine's load "
            "between the two runs: give several pairs made alternately (compare B1 A1 B2 A2 ...) or use "
            "`greenlint profile --measure-fixes` to cover that", style="dim")
    say(f"before: {c.labels_how.get('before', '')}; after: {c.labels_how.get('after', '')}", style="dim")
    say(c.basis, style="dim")
    if c.gate is not None:
        say(f"Energy gate (--fail-over {c.gate.fail_over_pct:g} %): {'FAIL' if c.gate.failed else 'pass'}: "
            f"{c.gate.reason}", style="red" if c.gate.failed else None)
    for notice in c.notices:
        say(f"note: {notice}", style="yellow")
