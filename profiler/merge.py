"""One profile from many processes: the ranks of a torchrun run, or the nodes of a multi-node job.

Pure functions of Profiles (each rank's from compute_profile on its own raw result, or each
node's read back from its JSON). Every device was read by exactly one rank (ranks.py), so the
devices are concatenated and energies add up without counting anything twice. Steps are counted
by every rank and reported once: DDP keeps the ranks in lockstep, so step k of one rank is step k
of the others, and the job's energy per step is the sum of the ranks' energy in that step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from typing import Any

from greenlint.profiler.energy_math import percentile
from greenlint.profiler.profile import (
    MEASURED_METHODS,
    Device,
    Line,
    Profile,
    Projection,
    RankSummary,
    compute_profile,
)

# worst first: the merged outcome is the worst of its parts ("partial": a rank killed without its
# result, e.g. by the out-of-memory killer; torchrun then terminates the others)
_OUTCOME_ORDER = ("failed", "partial", "terminated", "interrupted", "no-result", "stopped", "completed")


# ---------------------------------------------------------------------------------- one rank


def rank_profile(raw: dict[str, Any], total_steps: int | None, total_steps_basis: str | None) -> Profile:
    """A rank's Profile with its device names prefixed by the rank and its RankSummary attached."""
    info = raw.get("rank") or {}
    rank = int(info.get("rank", 0))
    profile = compute_profile(raw, total_steps, exit_code=int(raw.get("exit_code", 0)),
                              total_steps_basis=total_steps_basis)
    for device in profile.devices:
        device.name = f"rank {rank}: {device.name}"
    profile.ranks = [RankSummary(
        rank=rank, local_rank=int(info.get("local_rank", 0)), node=str(info.get("node", "")),
        steps=profile.steps, steps_seen=profile.steps_seen,
        energy_j=profile.energy_j if profile.devices else 0.0,
        j_per_step=profile.j_per_step, devices=[d.name for d in profile.devices],
        outcome=profile.outcome, exit_code=profile.exit_code, t_begin=raw["run"]["t_begin"],
    )]
    return profile


def job_exit_code(launcher_code: int, raws: list[dict[str, Any]]) -> int:
    """The exit status the user sees: a failing rank's own code (the lowest rank that failed), else
    130/143 when the ranks were interrupted/terminated, else the launcher's."""
    for raw in raws:
        if raw.get("outcome") == "failed" and raw.get("exit_code"):
            return int(raw["exit_code"])
    for outcome, code in (("interrupted", 130), ("terminated", 143)):
        if any(raw.get("outcome") == outcome for raw in raws):
            return code
    return launcher_code


def merge_rank_results(raws: list[dict[str, Any]], total_steps: int | None, total_steps_basis: str | None,
                       exit_code: int, expected_ranks: list[int] | None = None) -> Profile:
    """The node's profile from its ranks' raw results (runner.py)."""
    if not raws:
        profile = compute_profile(None, total_steps, exit_code=exit_code)
        profile.notices.append("no rank wrote a result")
        return profile
    raws = sorted(raws, key=lambda r: int((r.get("rank") or {}).get("rank", 0)))
    merged = merge_profiles([rank_profile(r, total_steps, total_steps_basis) for r in raws], exit_code)
    seen = {r.rank for r in merged.ranks}
    missing = [r for r in (expected_ranks or []) if r not in seen]
    if missing:
        merged.notices.append(f"rank(s) {', '.join(map(str, missing))} wrote no result (killed, or os._exit): "
                              "the devices they read are missing from the totals")
    return merged


# ------------------------------------------------------------------------------------ merging


def _sum(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _t0(profile: Profile) -> float | None:
    times = [r.t_begin for r in profile.ranks if r.t_begin is not None]
    return min(times) if times else None


def _shift(points: list[list[float]], offset: float) -> list[list[float]]:
    return [[round(p[0] + offset, 4), *p[1:]] for p in points] if offset else [list(p) for p in points]


def _sampled_time(profile: Profile) -> float:
    """The span's sampled seconds (attributed + unattributed) that the lines' shares refer to."""
    return max((line.time_s / line.share for line in profile.lines if line.share > 0), default=0.0)


def _merge_lines(parts: list[Profile]) -> list[Line]:
    merged: dict[tuple[str, int], Line] = {}
    for part in parts:
        for line in part.lines:
            key = (line.filename, line.line)
            into = merged.setdefault(key, Line(line.filename, line.line, 0.0, 0.0, 0.0))
            for name in ("energy_j", "time_s", "cpu_j", "gpu_active_j", "gpu_idle_j"):
                setattr(into, name, getattr(into, name) + getattr(line, name))
    total_t = sum(_sampled_time(p) for p in parts)
    for line in merged.values():
        line.share = line.time_s / total_t if total_t else 0.0
    return sorted(merged.values(), key=lambda l: (-l.energy_j, -l.time_s, l.filename, l.line))


def _label(parts: list[Profile], chosen: list[int]) -> str:
    """'rank 1', 'ranks 0, 2', or 'profile 2' for parts without ranks (a one-process node profile)."""
    ranks = sorted({r.rank for i in chosen for r in parts[i].ranks})
    unranked = [f"profile {i + 1}" for i in chosen if not parts[i].ranks]
    words = [f"rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}"] if ranks else []
    return ", ".join(words + unranked)


def _merge_notices(parts: list[Profile]) -> list[str]:
    """A notice every part gives is said once; the others say which rank(s) gave them."""
    out: list[str] = []
    everywhere = set.intersection(*(set(p.notices) for p in parts)) if parts else set()
    for notice in dict.fromkeys(n for p in parts for n in p.notices):
        if notice in everywhere or len(parts) == 1:
            out.append(notice)
        else:
            out.append(f"{_label(parts, [i for i, p in enumerate(parts) if notice in p.notices])}: {notice}")
    return out


def _merge_projection(parts: list[Profile], notices: list[str]) -> Projection | None:
    """Projections are linear in energy (start-up + J/step x remaining steps), so the job's is the
    sum of its parts' when they project over the same total; time is the slowest part's."""
    projections = [p.projection for p in parts if p.projection is not None]
    if not projections:
        return None
    first = projections[0]
    totals = {p.total_steps for p in projections}
    if len(totals) > 1:
        notices.append(f"the parts project over different total steps ({sorted(totals, key=str)}); no job projection")
        return Projection(None, None, None, None, None, "unknown: the ranks or nodes disagree on the total steps",
                          first.total_steps_basis)
    if any(p.energy_j is None for p in projections) or len(projections) < len(parts):
        return dataclasses.replace(first, energy_j=None, low_j=None, high_j=None, time_s=None)
    times = [p.time_s for p in projections if p.time_s is not None]
    label = first.basis.split(":", 1)[0]  # measured / projected
    return Projection(first.total_steps, _sum([p.energy_j for p in projections]), _sum([p.low_j for p in projections]),
                      _sum([p.high_j for p in projections]), max(times) if times else None,
                      f"{label}: the sum of {len(projections)} ranks' or nodes' own projections (each device counted "
                      f"once; range: the sum of their ranges), time of the slowest; first part: {first.basis}",
                      first.total_steps_basis)


def _steps(parts: list[Profile], notices: list[str]) -> int:
    """Every rank counts its own steps; under DDP they agree and the count is reported once."""
    counts = {_label(parts, [i]) if not p.ranks else f"rank {r.rank}": (r.steps if p.ranks else p.steps)
              for i, p in enumerate(parts) for r in (p.ranks or [None])}
    if len(set(counts.values())) > 1:
        notices.append("the ranks measured different numbers of steps ("
                       + ", ".join(f"{k}: {v}" for k, v in counts.items())
                       + f"); steps is {next(iter(counts))}'s count and J/step the ranks' summed energy per step")
    return parts[0].steps


def _per_step(parts: list[Profile], notices: list[str]) -> tuple[list[float], float | None, float | None]:
    """The job's J per step series (summed step by step) and its 10th/90th percentile."""
    measured = [p for p in parts if p.steps]
    if not measured:
        return [], None, None
    series = [p.step_energy_j for p in measured]
    aligned = (all(p.step_group == 1 for p in measured) and series[0]
               and all(len(s) == len(series[0]) for s in series))
    if aligned:
        summed = [sum(values) for values in zip(*series)]
        return summed, percentile(summed, 10), percentile(summed, 90)
    if len(measured) > 1:
        notices.append("the ranks' per-step series do not line up (different step counts, or grouped beyond "
                       "2,000 steps): the job's 10th/90th percentile J/step is the sum of the ranks' (wider)")
    return [], _sum([p.j_per_step_p10 for p in measured]), _sum([p.j_per_step_p90 for p in measured])


def _outcome(parts: list[Profile]) -> str:
    outcomes = {p.outcome for p in parts}
    return next((o for o in _OUTCOME_ORDER if o in outcomes), parts[0].outcome)


def merge_profiles(parts: list[Profile], exit_code: int | None = None) -> Profile:
    """One profile of the parts (ranks or nodes, each with its `ranks` filled), in rank order."""
    if not parts:
        raise ValueError("nothing to merge")
    parts = sorted(parts, key=lambda p: min((r.rank for r in p.ranks), default=0))
    notices: list[str] = _merge_notices(parts)
    starts = [_t0(p) for p in parts]
    t0 = min((t for t in starts if t is not None), default=None)
    offsets = [(t - t0) if t is not None and t0 is not None else 0.0 for t in starts]
    if any(t is None for t in starts) and len(parts) > 1:
        notices.append("a part has no start time (no `ranks`): its timelines are not aligned with the others'")

    devices: list[Device] = []
    for part, offset in zip(parts, offsets):
        for device in part.devices:
            devices.append(dataclasses.replace(device, timeline=_shift(device.timeline, offset)))
    methods = {d.method for d in devices if d.energy_j is not None}
    energy_how = ("measured" if methods <= MEASURED_METHODS else
                  "estimated" if not methods & MEASURED_METHODS else "partly estimated")

    steps = _steps(parts, notices)
    per_step, p10, p90 = _per_step(parts, notices)
    measured = [p for p in parts if p.steps]
    j_per_step = _sum([p.j_per_step for p in measured]) if measured else None
    first = measured[0] if measured else parts[0]
    first_offset = offsets[parts.index(first)]
    bounds = _shift([[b] for b in first.step_bounds_s], first_offset) if per_step else []
    durations = [o + p.duration_s for p, o in zip(parts, offsets) if p.duration_s is not None]
    window_times = [p.window_time_s for p in measured if p.window_time_s is not None]
    step_times = [p.step_time_s for p in measured if p.step_time_s is not None]
    lines = _merge_lines(parts)
    basis = parts[0].lines_basis
    if len(parts) > 1:
        basis += (f" Lines of {len(parts)} processes summed by file and line (each process's lines carry the "
                  "energy of the devices it read, split by its own samples).")
    projection = _merge_projection(parts, notices)
    return Profile(
        outcome=_outcome(parts),
        exit_code=exit_code if exit_code is not None else next((p.exit_code for p in parts if p.exit_code), 0),
        steps=steps, steps_seen=parts[0].steps_seen, warmup_steps=parts[0].warmup_steps,
        energy_j=_sum([p.energy_j for p in parts]), energy_how=energy_how if methods else "none",
        duration_s=max(durations) if durations else None,
        window_energy_j=_sum([p.window_energy_j for p in measured]) if measured else None,
        window_time_s=max(window_times) if window_times else None,
        j_per_step=j_per_step,
        j_per_step_p10=p10, j_per_step_p90=p90,
        step_time_s=max(step_times) if step_times else None,
        devices=devices, lines=lines, lines_basis=basis, projection=projection, notices=notices,
        gpu_trace=next((p.gpu_trace for p in parts if p.gpu_trace), None),
        step_energy_j=per_step, step_bounds_s=[b[0] for b in bounds], step_group=1 if per_step else first.step_group,
        ranks=sorted((r for p in parts for r in p.ranks), key=lambda r: r.rank),
    )


# ------------------------------------------------------------------------ from a JSON document


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def profile_from_json(data: dict[str, Any]) -> Profile:
    """A Profile read back from `{"profile": ...}` JSON (unknown keys are ignored)."""
    profile = _build(Profile, data)
    profile.devices = [_build(Device, d) for d in data.get("devices", [])]
    profile.lines = [_build(Line, line) for line in data.get("lines", [])]
    profile.projection = _build(Projection, data["projection"]) if data.get("projection") else None
    profile.ranks = [_build(RankSummary, r) for r in data.get("ranks", [])]
    profile.notices = list(data.get("notices", []))
    return profile
