"""`greenlint compare` for the terminal: measured saving next to the advice's prediction."""

from __future__ import annotations

import os

from rich.console import Console

from greenlint.compare import Comparison
from greenlint.profiler.units import format_energy


def render_comparison(c: Comparison, console: Console) -> None:
    console.print("[bold]greenlint compare[/bold]")
    console.print(f"Energy per step: {format_energy(c.before_j_per_step)} before, {format_energy(c.after_j_per_step)} "
                  "after (measured)", highlight=False)
    if c.saved_j_per_step is not None:
        pct = f" ({c.saved_pct_per_step:.1f} %)" if c.saved_pct_per_step is not None else ""
        console.print(f"Saved per step: {format_energy(c.saved_j_per_step)}{pct} (measured)", highlight=False)
    if c.measured_run_saving_j is not None:
        console.print(f"Saved over {c.total_steps:,} steps: {format_energy(c.measured_run_saving_j)} "
                      "(measured per step, projected over the run)", highlight=False)
    for p in c.applied:
        where = f"{os.path.basename(p.filename)}:{p.line}"
        if p.estimated_savings_j is None:
            console.print(f"Applied {p.code} at {where}: no prediction (unquantified)", highlight=False)
        else:
            console.print(f"Applied {p.code} at {where}: predicted {format_energy(p.estimated_savings_j)} "
                          f"(range {format_energy(p.low_j)}-{format_energy(p.high_j)})", highlight=False)
    if c.within_prediction is not None:
        verdict = "inside" if c.within_prediction else "OUTSIDE"
        console.print(f"Measured saving {format_energy(c.measured_run_saving_j)} is {verdict} the predicted range "
                      f"{format_energy(c.predicted_low_j)}-{format_energy(c.predicted_high_j)}",
                      style=None if c.within_prediction else "yellow", highlight=False)
    console.print(c.basis, style="dim", highlight=False, markup=False, soft_wrap=True)
    for notice in c.notices:
        console.print(f"note: {notice}", style="yellow", highlight=False, markup=False)
