"""`greenlint profile --measure-fixes` on the command line: checks the options, runs the experiment
(measure_fixes.py) after the usual profile and advice, with a time estimate and a progress bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from greenlint.measure_fixes import NOT_RUN, Experiment, candidates, run_experiment
from rich.console import Console


def usage_error(args: Any) -> str | None:
    """The error in --measure-fixes/--top/--rounds, before anything runs (None when fine)."""
    if not args.measure_fixes:
        if args.top is not None or args.rounds is not None:
            return "--top and --rounds need --measure-fixes"
        return None
    if args.top is not None and args.top < 1:
        return "--top must be at least 1"
    if args.rounds is not None and args.rounds < 1:
        return "--rounds must be at least 1"
    return None


def _progress(stderr: Console, enabled: bool) -> Any:
    """A function that starts a bar of `total` runs and returns its advance(), or None off a terminal."""
    if not enabled or not stderr.is_terminal:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    # the bar writes through its own copy of the terminal: the runs' output goes to a log (measure_fixes.py)
    console = Console(file=os.fdopen(os.dup(2), "w", buffering=1), highlight=False)
    bar = Progress(TextColumn("measuring fixes"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                   TimeRemainingColumn(), console=console, transient=True)

    def start(total: int) -> Any:
        task = bar.add_task("runs", total=total)
        bar.start()

        def advance() -> None:
            bar.advance(task)
            if bar.finished:
                bar.stop()

        return advance

    return start


def measure_for_profile(args: Any, options: Any, advised: Any, stderr: Console) -> tuple[list[dict[str, Any]], bool]:
    """(the `measured_fixes` JSON, completed?) for a finished `greenlint profile` run."""
    from greenlint.measure_fixes import DEFAULT_ROUNDS, DEFAULT_TOP

    trials = candidates(advised.advice, args.top or DEFAULT_TOP)
    say = lambda text: stderr.print(text, highlight=False, markup=False, soft_wrap=True)
    why = None
    if not trials:
        why = "no advice item has an autofix: nothing to measure"
    elif options.launcher_args is not None:
        why = "--measure-fixes runs one process; it does not run torchrun jobs"
    elif advised.exit_code != 0:
        why = f"the script failed (exit {advised.exit_code}): fixes are measured only on a script that runs"
    elif options.script and not Path(options.script).resolve().is_relative_to(Path.cwd().resolve()):
        why = "the script is outside the working directory, which is what gets copied: run from the project's folder"
    if why is not None:
        say(f"greenlint: --measure-fixes: {why}")
        for trial in trials:
            trial.why = why
        return [t.to_json() for t in trials], True
    experiment = Experiment(options, Path.cwd(), args.rounds or DEFAULT_ROUNDS, advised.profile.to_json())
    ranked, completed = run_experiment(experiment, trials, say, _progress(stderr, not args.no_progress))
    for trial in ranked:
        if trial.status == NOT_RUN and not trial.why:
            trial.why = "not run"
    return [t.to_json() for t in ranked], completed
