"""Rendering a Profile: rich text for people, `{"profile": ...}` JSON for tools.

Every number printed carries how it was obtained: measured, estimated or projected.
"""

from __future__ import annotations

import json
import os

from greenlint.profiler.labels import (
    FULL_RUN,
    MEASURED_STEPS,
    PROFILED_RUN,
    energy_label,
    method_how,
    methods_how,
    projection_heading,
)
from greenlint.profiler.phases import OTHER, code_ranges, top_phases
from greenlint.profiler.profile import Profile
from greenlint.profiler.units import format_energy, format_percent, format_time
from rich.console import Console
from rich.table import Table

TOP_LINES = 10
__all__ = ["format_energy", "format_time", "render_json", "render_text"]


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
           "terminated": "terminated: partial profile", "no-result": "no result from the script",
           "partial": f"the script died (exit {p.exit_code}): partial profile of the steps measured before it"}
    console.print(f"[bold]greenlint profile[/bold] {target}: {end.get(p.outcome, p.outcome)}", highlight=False)

    how = energy_label(p.energy_how) if p.energy_j is not None else "n/a"
    devices = Table(title="Devices", title_justify="left", show_edge=False)
    for col in ("kind", "device", "method", PROFILED_RUN, MEASURED_STEPS):
        devices.add_column(col, justify="right" if col in (PROFILED_RUN, MEASURED_STEPS) else "left")
    for d in p.devices:
        devices.add_row(d.kind, d.name, d.method, f"{format_energy(d.energy_j)} ({method_how(d.method)})",
                        f"{format_energy(d.window_energy_j)} ({method_how(d.method)})"
                        if d.window_energy_j is not None else "-")
    console.print(devices)

    if p.ranks:
        _render_ranks(p, console)
    console.print(f"{PROFILED_RUN.capitalize()}: {format_energy(p.energy_j)} ({how}) in {format_time(p.duration_s)} "
                  "(time measured)", highlight=False)
    if p.steps:
        console.print(f"Steps: {p.steps} measured after {p.warmup_steps} warm-up; "
                      f"{format_time(p.step_time_s)}/step (time measured)", highlight=False)
        console.print(f"Energy per step: {format_energy(p.j_per_step)} ({how}); "
                      f"10th-90th percentile {format_energy(p.j_per_step_p10)} - {format_energy(p.j_per_step_p90)} "
                      f"({how})", highlight=False)
    else:
        console.print("Steps: none measured (see notices)", highlight=False)

    if p.lines:
        _render_lines(p, console)
    if any(ph.name != OTHER for ph in p.phases):
        _render_phases(p, console)

    proj = p.projection
    if proj is not None:
        if proj.energy_j is not None:
            console.print(f"{projection_heading(proj, how)}: {format_energy(proj.energy_j)} "
                          f"(range {format_energy(proj.low_j)} - {format_energy(proj.high_j)}), "
                          f"{proj.total_steps} steps, {format_time(proj.time_s)}", highlight=False)
        else:
            console.print(f"{FULL_RUN.capitalize()}: not projected", highlight=False)
        console.print(proj.basis, style="dim", highlight=False, markup=False)
    for notice in p.notices:
        console.print(f"note: {notice}", style="yellow", highlight=False, markup=False)


def _render_lines(p: Profile, console: Console) -> None:
    span = MEASURED_STEPS if p.steps else PROFILED_RUN
    lines = Table(title=f"Top lines ({span}; energy estimated, time sampled)", title_justify="left", show_edge=False)
    gpu = any(line.gpu_active_j or line.gpu_idle_j for line in p.lines)
    phased = any(top_phases(line.phases) for line in p.lines[:TOP_LINES])
    columns = ["line", "energy (estimated)"] + (["cpu", "gpu kernels", "gpu idle"] if gpu else []) + [
        "CPU share", "time (sampled)"] + (["phases (sampled)"] if phased else [])
    for col in columns:
        lines.add_column(col, justify="left" if col in ("line", "phases (sampled)") else "right")
    for line in p.lines[:TOP_LINES]:
        split = [format_energy(line.cpu_j), format_energy(line.gpu_active_j), format_energy(line.gpu_idle_j)] if gpu else []
        lines.add_row(f"{_display_path(line.filename)}:{line.line}", format_energy(line.energy_j), *split,
                      format_percent(line.share), format_time(line.time_s),
                      *([top_phases(line.phases) or "-"] if phased else []))
    console.print(lines)
    console.print(p.lines_basis, style="dim", highlight=False, markup=False)


def _render_phases(p: Profile, console: Console) -> None:
    """Where the time inside libraries goes: the training phases, with the rules that address each."""
    span = MEASURED_STEPS if p.steps else PROFILED_RUN
    table = Table(title=f"Training phases ({span}; energy estimated, time sampled)", title_justify="left",
                  show_edge=False)
    for col in ("phase", "energy (estimated)", "share", "time (sampled)", "rules that address it"):
        table.add_column(col, justify="right" if col in ("energy (estimated)", "share", "time (sampled)") else "left")
    for ph in p.phases:
        table.add_row(ph.name, format_energy(ph.energy_j), format_percent(ph.share), format_time(ph.time_s),
                      code_ranges(ph.rules) or "-")
    console.print(table)
    console.print(p.phases_basis, style="dim", highlight=False, markup=False)


def _render_ranks(p: Profile, console: Console) -> None:
    """Per rank: its own step count and the energy of the devices it read (each device by one rank)."""
    table = Table(title=f"Ranks ({len(p.ranks)}; each device read by one rank, totals below)",
                  title_justify="left", show_edge=False)
    for col in ("rank", "local", "node", "steps", "energy (its devices)", "devices"):
        table.add_column(col, justify="right" if col in ("rank", "local", "steps", "energy (its devices)") else "left")
    for r in p.ranks:
        names = ", ".join(d.split(": ", 1)[-1] for d in r.devices) or "none (read by another rank)"
        energy = "n/a" if r.energy_j is None else f"{format_energy(r.energy_j)} ({_rank_how(p, r.devices)})"
        table.add_row(str(r.rank), str(r.local_rank), r.node, str(r.steps), energy, names)
    console.print(table)


def _rank_how(p: Profile, names: list[str]) -> str:
    """A rank's energy label from the methods of the devices it read (names as "rank N: device")."""
    wanted = {n.split(": ", 1)[-1] for n in names}
    return energy_label(methods_how(d.method for d in p.devices if d.name.split(": ", 1)[-1] in wanted))
