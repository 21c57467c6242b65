"""`greenlint profile --measure-fixes`: what each top fix measurably saves, with a 95 % interval.

For each of the top K advice items whose finding has an autofix (safe or unsafe: the experiment
runs on copies), the project is copied twice to a scratch folder (scratch_copy.py): copy A as it
is, copy B with that one fix applied. A and B are then profiled alternately, R rounds, A B then B A
(the order swapped every other round, so that an advantage of running first cancels as well), with
the user's steps and warm-up, so that drift of a shared machine hits both alike and cancels in each
round's difference. The saving per step and its interval come from statistics.paired_rounds
(one round: Welch on the two runs' batch means); over the run it is multiplied by the profile's
total steps (projected).

A variant that fails (the fixed script exits non-zero, or runs a different number of steps than
the original) is reported as failed, never as a saving. The user's files are only read. Ctrl-C
stops the experiment between or during runs and keeps what was measured. The scratch folder is
removed in every case.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from greenlint.compare import energy_label, step_energies
from greenlint.scratch_copy import (
    ScratchError,
    copy_project,
    fixed_bytes,
    inside,
    write_variant,
)
from greenlint.statistics import compare_runs, paired_rounds, verdict

DEFAULT_TOP = 3
DEFAULT_ROUNDS = 5

MEASURED, FAILED, NOT_APPLIED, INTERRUPTED, NOT_RUN = "measured", "failed", "not applied", "interrupted", "not run"


@dataclass
class Trial:
    """One fix's experiment. Energies in J per `unit` ("step": the measured steps' mean J/step;
    "run": the whole run, for scripts without optimizer steps)."""

    rank: int  # the advice item's rank
    code: str
    filename: str
    line: int
    message: str
    fix_applicability: str | None
    predicted_j: float | None  # the advice's estimate over the run (same span as run_saving_j)
    predicted_low_j: float | None
    predicted_high_j: float | None
    status: str = NOT_RUN
    why: str = ""
    unit: str = "step"
    rounds: int = 0  # completed rounds (one A run and one B run each)
    before: list[float] = field(default_factory=list)  # the original's J per unit, per round
    after: list[float] = field(default_factory=list)  # the fixed variant's
    saving: dict[str, Any] | None = None  # statistics.Difference.to_json(): J per unit, 95 % interval
    saved_pct: float | None = None
    saved_pct_low: float | None = None
    saved_pct_high: float | None = None
    scale: float | None = None  # units in the run the prediction covers
    scale_basis: str = ""
    run_saving_j: float | None = None
    run_saving_low_j: float | None = None
    run_saving_high_j: float | None = None
    verdict: str = ""
    label: str = ""  # measured / estimated: how each run's energy was obtained
    label_how: str = ""
    measured_rank: int | None = None  # rank by the measured saving (measured trials only)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Experiment:
    """What every run shares: the user's profile options and where the project is."""

    options: Any  # profiler.runner.ProfileOptions of the first profile
    cwd: Path
    rounds: int
    baseline: dict[str, Any]  # the first profile's JSON: unit, scale, time estimate, labels


@dataclass
class Variant:
    trial: Trial
    relative: str  # the fixed file, relative to the working directory
    data: bytes  # its fixed bytes


# ------------------------------------------------------------------------------ preparation


def candidates(advice: list[Any], top: int) -> list[Trial]:
    """The first `top` advice items (in the advice's order) whose finding has an autofix."""
    fixable = [a for a in advice if a.fix_applicability][:top]
    return [Trial(a.rank, a.code, a.filename, a.line, a.message, a.fix_applicability, a.estimated_savings_j,
                  a.low_j, a.high_j) for a in fixable]


def prepare(trials: list[Trial], cwd: Path) -> list[Variant]:
    """Each trial's fixed file, or the trial marked "not applied" with the reason."""
    variants = []
    for trial in trials:
        path = Path(trial.filename)
        path = path if path.is_absolute() else cwd / path
        if not inside(path, cwd):
            trial.status, trial.why = NOT_APPLIED, f"{trial.filename} is outside the working directory (the copy)"
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            trial.status, trial.why = NOT_APPLIED, f"cannot read {trial.filename}: {exc.strerror}"
            continue
        fixed = fixed_bytes(data, trial.filename, trial.code, trial.line, trial.message)
        if isinstance(fixed, str):
            trial.status, trial.why = NOT_APPLIED, fixed
            continue
        variants.append(Variant(trial, os.path.relpath(path.resolve(), cwd.resolve()), fixed))
    return variants


def estimate_seconds(experiment: Experiment, variants: int) -> tuple[float | None, str]:
    """(seconds, words) the experiment will take: runs x the first profile's measured duration."""
    runs = 2 * experiment.rounds * variants
    base = experiment.baseline
    duration = base.get("duration_s")
    if not duration:
        return None, f"{runs} runs (duration unknown)"
    steps = int(base.get("steps") or 0) + int(base.get("warmup_steps") or 0)
    per_step = base.get("step_time_s")
    inner = (f"{steps} steps at {per_step:.3g} s/step measured, plus start-up" if per_step and steps
             else "the first profile's measured duration")
    return runs * duration, (f"{runs} runs (2 variants x {experiment.rounds} rounds x {variants} fix"
                             f"{'es' if variants != 1 else ''}), each about {duration:.3g} s ({inner})")


# --------------------------------------------------------------------------------- one run


@contextmanager
def _in_folder_quietly(folder: Path, log: Path) -> Iterator[None]:
    """Run the child in `folder` with its output going to `log` (the terminal shows the progress
    bar, not 2 x R copies of the script's output); both restored afterwards, whatever happens."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    previous = os.getcwd()
    try:
        with open(log, "ab") as handle:
            os.dup2(handle.fileno(), 1)
            os.dup2(handle.fileno(), 2)
        os.chdir(folder)
        yield
    finally:
        os.chdir(previous)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _tail(log: Path, lines: int = 3) -> str:
    """': ' and the log's last lines (the traceback's end), or '' when there is nothing."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return ": " + " | ".join(text[-lines:]) if text else ""


def run_copy(experiment: Experiment, root: Path, log: Path) -> dict[str, Any]:
    """One profile of the copy at `root` (the same options as the first profile, no GPU trace:
    line attribution is not needed, and its steps lie outside the measured window anyway)."""
    from greenlint.profiler.runner import run_profile

    options = experiment.options
    script = str(root / os.path.relpath(Path(options.script).resolve(), experiment.cwd.resolve())) \
        if options.script else None
    copy = dataclasses.replace(options, script=script, gpu_trace_steps=0)
    with _in_folder_quietly(root, log):
        run = run_profile(copy, progress_console=None)
    document = run.profile.to_json()
    document["exit_code"] = run.exit_code
    return document


def _value(profile: dict[str, Any], unit: str) -> float | None:
    return profile.get("j_per_step") if unit == "step" else profile.get("energy_j")


def _check(a: dict[str, Any], b: dict[str, Any], unit: str, log_a: Path, log_b: Path) -> str | None:
    """Why this round cannot count (None when it can). Raises KeyboardInterrupt on Ctrl-C."""
    if "interrupted" in (a.get("outcome"), b.get("outcome")):
        raise KeyboardInterrupt
    if a.get("exit_code"):
        return f"the original failed in its copy (exit {a['exit_code']}){_tail(log_a)}"
    if b.get("exit_code"):
        return f"the fixed script failed (exit {b['exit_code']}){_tail(log_b)}"
    if (a.get("steps"), a.get("steps_seen")) != (b.get("steps"), b.get("steps_seen")):
        return (f"the fixed script ran {b.get('steps_seen')} steps ({b.get('steps')} measured), the original "
                f"{a.get('steps_seen')} ({a.get('steps')} measured): not the same work")
    if _value(a, unit) is None or _value(b, unit) is None:
        return "a run measured no energy"
    return None


# ------------------------------------------------------------------------------ the experiment


def measure_variants(experiment: Experiment, variants: list[Variant], scratch: Path,
                     advance: Callable[[], None] = lambda: None) -> bool:
    """Runs the rounds of every variant, filling in their trials. Returns False when Ctrl-C
    stopped it (the trials keep what was measured)."""
    unit = "step" if experiment.baseline.get("steps") else "run"
    original = copy_project(experiment.cwd, scratch / "a").root
    for index, variant in enumerate(variants):
        trial = variant.trial
        trial.unit = unit
        fixed = copy_project(experiment.cwd, scratch / "b").root
        try:
            write_variant(fixed, variant.relative, variant.data)
        except (ScratchError, OSError) as exc:  # a linked file: the fix would land in the user's file
            trial.status, trial.why = NOT_APPLIED, str(exc)
            _remove(fixed)
            continue
        steps_a: list[float] = []
        steps_b: list[float] = []
        try:
            for round_ in range(experiment.rounds):
                log_a, log_b = scratch / f"{index}-{round_}-a.log", scratch / f"{index}-{round_}-b.log"
                # A B, then B A, ...: an advantage of running first (or second) in a round cancels too
                order = [(original, log_a), (fixed, log_b)]
                results = {}
                for root, log in order if round_ % 2 == 0 else order[::-1]:
                    results[root] = run_copy(experiment, root, log)
                    advance()
                a, b = results[original], results[fixed]
                why = _check(a, b, unit, log_a, log_b)
                if why is not None:
                    trial.status, trial.why = FAILED, why
                    break
                trial.before.append(float(_value(a, unit)))  # type: ignore[arg-type]
                trial.after.append(float(_value(b, unit)))  # type: ignore[arg-type]
                trial.rounds += 1
                steps_a, steps_b = step_energies(a), step_energies(b)
        except KeyboardInterrupt:
            trial.status, trial.why = INTERRUPTED, f"stopped by Ctrl-C after {trial.rounds} complete round(s)"
            summarise(trial, experiment, steps_a, steps_b)
            return False
        finally:
            _remove(fixed)
        if trial.status != FAILED:
            trial.status = MEASURED
            summarise(trial, experiment, steps_a, steps_b)
    return True


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def summarise(trial: Trial, experiment: Experiment, steps_a: list[float], steps_b: list[float]) -> None:
    """The trial's interval, projection and verdict from its completed rounds."""
    base = experiment.baseline
    trial.label, trial.label_how = energy_label(base)
    if trial.rounds >= 2:
        diff = paired_rounds(trial.before, trial.after)
    elif trial.rounds == 1 and trial.unit == "step":
        diff = compare_runs(steps_a, steps_b)  # one round: the two runs' batch means
    else:
        diff = None
    if diff is None:
        if trial.status == MEASURED:
            trial.why = "too few measurements for an interval (give --rounds 2 or more)"
        return
    trial.saving = diff.to_json()
    pct = diff.percent()
    if pct is not None:
        trial.saved_pct, trial.saved_pct_low, trial.saved_pct_high = pct
    total = (base.get("projection") or {}).get("total_steps")
    if trial.unit == "run":
        trial.scale, trial.scale_basis = 1.0, "one whole run (the script has no optimizer steps)"
    elif total:
        trial.scale, trial.scale_basis = float(total), f"projected: x {total:,} total steps"
    else:
        steps = int(base.get("steps") or 0)
        trial.scale, trial.scale_basis = float(steps), f"x the {steps} measured steps (total steps unknown)"
    trial.run_saving_j, trial.run_saving_low_j, trial.run_saving_high_j = diff.scaled(trial.scale)
    predicted = ((trial.predicted_low_j, trial.predicted_high_j)
                 if trial.predicted_low_j is not None and trial.predicted_high_j is not None else None)
    trial.verdict = verdict((trial.run_saving_low_j, trial.run_saving_high_j), predicted)


def rank_by_measurement(trials: list[Trial]) -> list[Trial]:
    """Measured trials first, by measured saving over the run; the others after, in advice order."""
    measured = sorted((t for t in trials if t.run_saving_j is not None), key=lambda t: -(t.run_saving_j or 0.0))
    for k, trial in enumerate(measured, 1):
        trial.measured_rank = k
    return measured + [t for t in trials if t.run_saving_j is None]


def run_experiment(experiment: Experiment, trials: list[Trial], say: Callable[[str], None],
                   progress: Any = None) -> tuple[list[Trial], bool]:
    """The whole experiment: prepare, estimate, run, rank. `progress(total)` returns the callable
    that advances a bar by one run (or None: no bar). Returns (ranked trials, completed?)."""
    variants = prepare(trials, experiment.cwd)
    if not variants:
        return trials, True
    seconds, words = estimate_seconds(experiment, len(variants))
    when = f"about {_minutes(seconds)} (estimated: {words})" if seconds else words
    say(f"Measuring {len(variants)} fix{'es' if len(variants) != 1 else ''} in scratch copies: {when}. "
        "Ctrl-C stops and keeps what was measured.")
    advance = progress(2 * experiment.rounds * len(variants)) if progress else None
    completed = True
    with tempfile.TemporaryDirectory(prefix="greenlint-measure-") as tmp:
        try:
            completed = measure_variants(experiment, variants, Path(tmp), advance or (lambda: None))
        except ScratchError as exc:
            for variant in variants:
                if variant.trial.status == NOT_RUN:
                    variant.trial.status, variant.trial.why = NOT_RUN, str(exc)
        except KeyboardInterrupt:  # between runs: nothing is half-measured
            completed = False
    if not completed:
        for variant in variants:
            if variant.trial.status == NOT_RUN:
                variant.trial.why = "not run: the experiment was stopped by Ctrl-C"
    return rank_by_measurement(trials), completed


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "an unknown time"
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
