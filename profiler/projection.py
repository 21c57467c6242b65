"""The projection from the measured steps to the whole run (``Projection``): start-up and warm-up
as measured, plus the mean J/step times the remaining steps (10th-90th percentile range, widened by
the sources' tolerance); with --through-epoch, the work between epochs once per epoch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenlint.profiler.energy_math import counter_delta, sum_known, percentile
from greenlint.profiler.labels import FULL_RUN, MEASURED_STEPS, PROFILED_RUN, tolerance_words
from greenlint.profiler.profile_data import Projection
from greenlint.profiler.units import format_energy


def build_projection(raw: dict[str, Any], full: bool, total_steps: int | None, win_steps: int, window: Any,
             run: dict[str, Any], per_step: list[float], j_per_step: float | None, p10: float | None,
             p90: float | None, step_time: float | None, energy_j: float | None, tol: float,
             total_steps_basis: str | None = None, energy_how: str = "estimated") -> Projection:
    if full:
        if raw.get("outcome") in ("completed", "stopped") and energy_j is not None:
            # Not a projection: the run went to its end, so the figure is as measured or estimated
            # as the profile's own energy.
            return Projection(int(raw.get("steps_seen", 0)), energy_j, energy_j * (1 - tol), energy_j * (1 + tol),
                              run["t_end"] - run["t_begin"],
                              f"{energy_how}: the {FULL_RUN}, run to its end under greenlint (--full); time measured; "
                              f"range: {tolerance_words(energy_how, tol)}", kind="full run", how=energy_how)
        return Projection(None, None, None, None, None,
                          f"unknown: the --full run did not finish ({raw.get('outcome')}); energy_j covers the "
                          f"{PROFILED_RUN} (the part that ran)")
    if total_steps is None:
        tried = f"; tried: {total_steps_basis}" if total_steps_basis else ""
        return Projection(None, None, None, None, None,
                          f"unknown: pass --total-steps N (the script's own step count is not known{tried})",
                          total_steps_basis or "")
    source = total_steps_basis or "--total-steps"
    if not per_step or j_per_step is None:
        return Projection(total_steps, None, None, None, None,
                          "unknown: no measured optimizer steps to project from", source)
    startup_j = sum_known([counter_delta(w, r) for w, r in zip(window["begin"], run["begin"])]) or 0.0
    startup_t = window["t_begin"] - run["t_begin"]
    before = int(window.get("step_count_at_begin", 0))
    remaining = max(total_steps - before, 0)
    between = _between_epochs(raw, window, per_step, total_steps)
    if between is not None:
        # the boundary step holds a training step plus the work between epochs: project the
        # steps without it, and that work once per epoch
        j_per_step, p10, p90 = between.mean, between.p10, between.p90
    extra_j = between.extra_j * between.epochs if between is not None else 0.0
    point = startup_j + j_per_step * remaining + extra_j
    low = (startup_j + p10 * remaining + extra_j) * (1 - tol)
    high = (startup_j + p90 * remaining + extra_j) * (1 + tol)
    time_s = startup_t + (step_time or 0.0) * remaining
    if between is not None:
        tail = (f"; work between epochs (evaluation, checkpoints): {energy_how} at the first epoch boundary, "
                f"{format_energy(between.extra_j)} more than a step, x {between.epochs} epoch ends "
                f"({format_energy(extra_j)})")
    else:
        tail = "; work after the last step (evaluation, saving) is not included"
    steps_used = len(per_step) - (1 if between is not None else 0)
    basis = (f"projected: from {energy_how} energy, start-up and {before} warm-up step(s) ({format_energy(startup_j)}) "
             f"+ mean {format_energy(j_per_step)}/step over {steps_used} {MEASURED_STEPS} x {remaining} remaining "
             f"of {total_steps} ({source}); range: 10th-90th percentile J/step widened by "
             f"{tolerance_words(energy_how, tol)}{tail}")
    return Projection(total_steps, point, low, high, time_s, basis, source, kind="projection", how="projected")


@dataclass
class _BetweenEpochs:
    extra_j: float  # energy of the boundary step beyond an ordinary step's
    epochs: int
    mean: float  # J/step of the other measured steps
    p10: float
    p90: float


def _between_epochs(raw: dict[str, Any], window: Any, per_step: list[float], total_steps: int) -> _BetweenEpochs | None:
    """With --through-epoch: the measured step that spans the first epoch boundary (the step after
    the training loader's second iter()), compared with the others."""
    if not (raw.get("config") or {}).get("through_epoch"):
        return None
    boundary = epoch_boundary(raw)
    if boundary is None:
        return None
    first, second = boundary
    index = second - int(window.get("step_count_at_begin", 0))  # 0-based index of step `second + 1`
    if not 0 <= index < len(per_step) or len(per_step) < 3:
        return None
    others = per_step[:index] + per_step[index + 1:]
    typical = percentile(others, 50)
    per_epoch = second - first
    if per_epoch <= 0:
        return None
    return _BetweenEpochs(max(per_step[index] - typical, 0.0), max(round(total_steps / per_epoch), 1),
                          sum(others) / len(others), percentile(others, 10), percentile(others, 90))


def epoch_boundary(raw: dict[str, Any]) -> tuple[int, int] | None:
    """(steps done when the first epoch began, when the second did), from the run-length probe's
    record of each DataLoader's iter() calls: the loader iterated a second time first."""
    loaders = ((raw.get("run_length") or {}).get("loaders")) or []
    pairs = [(steps[1], steps[0]) for steps in (loader.get("iter_steps") or [] for loader in loaders)
             if len(steps) >= 2 and steps[1] > steps[0]]
    if not pairs:
        return None
    second, first = min(pairs)
    return first, second
