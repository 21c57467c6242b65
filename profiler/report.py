"""Rendering a Profile: rich text for people, `{"profile": ...}` JSON for tools.

Every number printed carries how it was obtained: measured, estimated or projected.
"""

from __future__ import annotations

import json
import os

from rich.console import Console
from rich.table import Table

from greenlint.profiler.profile import Profile
from greenlint.profiler.units import format_energy, format_time

TOP_LINES = 10
__all__ = ["format_energy", "format_time", "render_json", "render_text"]


def _how(method: str) -> str:
    return "estimated" if method == "estimate" else "measured"


def render_json(profile: Profile) -> str:
    # "advice" is filled by the advice step (next issue); the key is there so readers can rely on it.
    return json.dumps({"profile": profile.to_json(), "advice": []}, indent=2, ensure_ascii=False) + "\n"


def _display_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def render_text(profile: Profile, console: Console, target: str) -> None:
    p = profile
    end = {"stopped": f"stopped after {p.steps} measured steps", "completed": "ran to completion",
           "failed": f"the script failed (exit {p.exit_code})", "interrupted": "interrupted: partial profile",
           "terminated": "terminated: partial profile", "no-result": "no result from the script"}
    console.print(f"[bold]greenlint profile[/bold] {target}: {end.get(p.outcome, p.outcome)}", highlight=False)

    devices = Table(title="Devices", title_justify="left", show_edge=False)
    for col in ("kind", "device", "method", "whole run", "measured steps"):
        devices.add_column(col, justify="right" if col in ("whole run", "measured steps") else "left")
    for d in p.devices:
        devices.add_row(d.kind, d.name, d.method, f"{format_energy(d.energy_j)} ({_how(d.method)})",
                        format_energy(d.window_energy_j) if d.window_energy_j is not None else "-")
    console.print(devices)

    if p.ranks:
        _render_ranks(p, console)
    console.print(f"Whole run: {format_energy(p.energy_j)} ({p.energy_how}) in {format_time(p.duration_s)} (measured)",
                  highlight=False)
    if p.steps:
        console.print(f"Steps: {p.steps} measured after {p.warmup_steps} warm-up; "
                      f"{format_time(p.step_time_s)}/step (measured)", highlight=False)
        console.print(f"Energy per step: {format_energy(p.j_per_step)} ({p.energy_how}); "
                      f"10th-90th percentile {format_energy(p.j_per_step_p10)} - {format_energy(p.j_per_step_p90)}",
                      highlight=False)
    else:
        console.print("Steps: none measured (see notices)", highlight=False)

    if p.lines:
        lines = Table(title=f"Top lines ({'measured steps' if p.steps else 'whole run'}; energy estimated)",
                      title_justify="left", show_edge=False)
        gpu = any(line.gpu_active_j or line.gpu_idle_j for line in p.lines)
        columns = ["line", "energy (estimated)"] + (["cpu", "gpu kernels", "gpu idle"] if gpu else []) + [
            "CPU share", "time (sampled)"]
        for col in columns:
            lines.add_column(col, justify="left" if col == "line" else "right")
        for line in p.lines[:TOP_LINES]:
            split = [format_energy(line.cpu_j), format_energy(line.gpu_active_j), format_energy(line.gpu_idle_j)] if gpu else []
            lines.add_row(f"{_display_path(line.filename)}:{line.line}", format_energy(line.energy_j), *split,
                          f"{line.share:.1%}", format_time(line.time_s))
        console.print(lines)
        console.print(p.lines_basis, style="dim", highlight=False)

    proj = p.projection
    if proj is not None:
        if proj.energy_j is not None:
            label = "measured" if proj.basis.startswith("measured") else "projected"
            console.print(f"Full run ({label}): {format_energy(proj.energy_j)} "
                          f"(range {format_energy(proj.low_j)} - {format_energy(proj.high_j)}), "
                          f"{proj.total_steps} steps, {format_time(proj.time_s)}", highlight=False)
        else:
            console.print("Full run: not projected", highlight=False)
        console.print(proj.basis, style="dim", highlight=False)
    for notice in p.notices:
        console.print(f"note: {notice}", style="yellow", highlight=False, markup=False)


def _render_ranks(p: Profile, console: Console) -> None:
    """Per rank: its own step count and the energy of the devices it read (each device by one rank)."""
    table = Table(title=f"Ranks ({len(p.ranks)}; each device read by one rank, totals below)",
                  title_justify="left", show_edge=False)
    for col in ("rank", "local", "node", "steps", "energy (its devices)", "devices"):
        table.add_column(col, justify="right" if col in ("rank", "local", "steps", "energy (its devices)") else "left")
    for r in p.ranks:
        names = ", ".join(d.split(": ", 1)[-1] for d in r.devices) or "none (read by another rank)"
        table.add_row(str(r.rank), str(r.local_rank), r.node, str(r.steps), format_energy(r.energy_j), names)
    console.print(table)
