"""`long-runs`: the scripts the user says run for hours, where the run-length rules report (session 9).

Most of the catalogue is preview (docs/precision.md): its findings point at a real pattern 97 % of
the time, but whether fixing it is worth a change depends on how long the run is, which the code
rarely says. The user knows. Files matching a `long-runs` pattern (`[tool.greenlint] long-runs =
["train.py"]`, or `greenlint check --long-run train.py`; gitignore-style, relative to the project
root, as `per-file-ignores`) get the preview rules whose worth depends on the run's length, as if
they were in the default set: shown, failing the run, fixed by `--fix`. Other files keep the
default set, and the preview rules' findings there are only counted (impact_filter.py).

Why per file and not per project: on the ninth blind corpus (evidently long runs), the preview
rules' findings were worth acting on in 53 % of cases inside the labelled long-running training
files (GL401 10 of 10) and in 4 % elsewhere in the same repositories: RL scripts bound by their
environment, inference and plotting tools. Without the three rules below, 82 % (18/22) in those
files (post hoc: measured on the corpus that suggested it, not blind).

NEVER_WORTH (greenlint.rules) are preview rules whose findings no judge found worth acting on in
any corpus, long runs included (verdicts over ten corpora, `python bench/verdict_table.py`): they
stay preview even in a long-run file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint.rules import DETECTION_CODES, NEVER_WORTH, PREVIEW_CODES
from greenlint.selection import RuleSelection

if TYPE_CHECKING:
    from greenlint.config import Settings

__all__ = ["NEVER_WORTH", "detected_long_run_codes", "long_run_rules", "run_length_codes", "long_run_paths"]


def long_run_rules(selection: RuleSelection) -> frozenset[str]:
    """The run-length rules `selection` lets run, in preview mode or not: in a named file their
    findings are shown whatever their estimated impact (impact_filter.Visibility.also_showing)."""
    return (replace(selection, preview=True).enabled_codes() & PREVIEW_CODES) - NEVER_WORTH


def run_length_codes(selection: RuleSelection) -> frozenset[str]:
    """The rules a long-run file adds to `selection`: the preview rules it would run with
    `--preview` (its select and ignore still apply), less NEVER_WORTH. Empty in preview mode,
    where every file runs them anyway."""
    return frozenset() if selection.preview else long_run_rules(selection)


def detected_long_run_codes(settings: Settings) -> frozenset[str]:
    """The run-length rules that must run in every file so that `detect-long-runs` can show them
    where a file's code shows a long run (long_run_evidence.py): the preview ones `run_length_codes`
    adds; none when detection is off or in preview mode (they run everywhere then)."""
    if not settings.detect_long_runs:
        return frozenset()
    return (run_length_codes(settings.selection) & DETECTION_CODES) - settings.selection.enabled_codes()


def long_run_paths(paths: list[Path], root: Path, patterns: tuple[str, ...]) -> frozenset[Path]:
    """The `paths` that match a `long-runs` pattern, gitignore-style relative to the project root
    (`train.py` anywhere, `/train.py` at the root only, `jobs/` a folder)."""
    if not patterns:
        return frozenset()
    import pathspec  # only a project with long-runs pays for importing it

    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    matched = set()
    for path in paths:
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            relative = path.name  # outside the project: a pattern without a folder can still name it
        if spec.match_file(relative):
            matched.add(path)
    return frozenset(matched)
