"""A long run spans the project modules its script runs: `detect-long-runs` across imports.

The detection (rules/analysis/long_run_evidence.py) reads one file: `train.py` shows 300 epochs,
so its run-length findings report. But the training step often lives in another module of the
project: a `Trainer` class (pytorch-template's `trainer/trainer.py`), a `train_one_epoch` in
`engine.py`, a `BaseTrainer` the trainer subclasses. Those modules name no length themselves, so
their run-length findings (a `.item()` on every step, float32 on the GPU) stayed hidden, though
they run for every one of the script's 300 epochs. On the blind corpora, "the fact lives in
another file" was the first cause of misses (bench/blind1920_report.md).

After every file is linted, the run-length findings (greenlint.rules.DETECTION_CODES) of a module
whose own code shows no long run report when a project file that imports it, directly or through
one other project module (`main.py` -> `trainer.py` -> `base_trainer.py`), shows one. The
finding's `long_run` names both: the importer's evidence and the import. Only files linted in the
same run count (the detection of an unlinted importer is not known), and paths that name
evaluation, inference or plots are left out as the detection leaves them out.

Done in the parent process over the results (cached or fresh), so that editing the importer
changes the module's report without invalidating the module's cached findings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint.findings import Finding, LintedFile

if TYPE_CHECKING:
    from greenlint.project_index import ProjectIndex

# main.py -> trainer.py -> base_trainer.py: two import steps reach a template's base class
MAX_IMPORT_STEPS = 2
# A small tensor built on the CPU and moved, once per call (GL309, GL310): in a loss or model
# module the call's size is not visible, and on the dev corpora such findings were judged not worth
# a change (SupContrast's `torch.eye(batch_size).to(device)` in losses.py, blind19); overall 23 of
# 101 judged findings of the two were worth it (bench/verdict_table.py).
# GL402 (evaluation with autograd on): the importer often calls the module's evaluation function
# inside its own `with torch.no_grad():`, which the module cannot see (seungwonpark/melgan's
# utils/validation.py, called so from utils/train.py, blind24: judged not present).
NOT_SPREAD = frozenset({"GL309", "GL310", "GL402"})
# `if __name__ == "__main__":` at the top level: the block runs when the module is a script, never
# when the long-running script imports it (pytorch-semseg's model modules try DataParallel there)
_MAIN_GUARD = re.compile(r"""^if\s+(__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__)\s*:""")


def spread_long_runs(results: dict[Path, list[Finding]], index: ProjectIndex | None) -> dict[Path, list[Finding]]:
    """`results` with the hidden run-length findings of imported modules marked as in their
    importer's long run. Unchanged when no linted file shows a long run."""
    detected = {path.resolve(): reason for path, findings in results.items()
                if (reason := getattr(findings, "long_run", ""))}
    if not detected or index is None:
        return results
    from greenlint.rules import DETECTION_CODES  # the generated catalog only
    from greenlint.rules.analysis.long_run_evidence import training_run_path

    spread: dict[Path, list[Finding]] = {}
    for path, findings in results.items():
        waiting = [f for f in findings if f.code in DETECTION_CODES and f.code not in NOT_SPREAD
                   and f.impact is not None and not f.impact.long_run]
        if waiting and not path.suffix == ".ipynb":
            guarded = _main_guard_rows(path)
            waiting = [f for f in waiting if f.location.row not in guarded]
        if not waiting or path.resolve() in detected or not training_run_path(waiting[0].filename):
            spread[path] = findings
            continue
        importer = _long_running_importer(path, detected, index)
        if importer is None:
            spread[path] = findings
            continue
        shown = index.relative_path(importer) or importer.name
        reason = f"{detected[importer]}, in `{shown}`, which runs this module"
        marked = [replace(f, impact=replace(f.impact, long_run=reason)) if f in waiting else f for f in findings]
        spread[path] = LintedFile(marked, getattr(findings, "long_run", ""))
    return spread


def _long_running_importer(path: Path, detected: dict[Path, str], index: ProjectIndex) -> Path | None:
    """The nearest project file that imports `path` (within MAX_IMPORT_STEPS) and shows a long run."""
    frontier, seen = [path.resolve()], {path.resolve()}
    for _ in range(MAX_IMPORT_STEPS):
        following: list[Path] = []
        for module in frontier:
            for importer in sorted(_importers(module, index)):
                if importer in seen:
                    continue
                if importer in detected:
                    return importer
                seen.add(importer)
                following.append(importer)
        frontier = following
    return None


def _main_guard_rows(path: Path) -> range:
    """The rows of the module's top-level `if __name__ == "__main__":` block (empty when none):
    up to the next line that starts at column 0 and is not a comment."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return range(0)
    for index, line in enumerate(lines):
        if _MAIN_GUARD.match(line):
            end = next((i for i in range(index + 1, len(lines))
                        if lines[i][:1] not in ("", " ", "\t", "#")), len(lines))
            return range(index + 1, end + 1)  # 1-based rows index+1 .. end
    return range(0)


def _importers(path: Path, index: ProjectIndex) -> set[Path]:
    """Every project file that imports from `path`, imports it whole, or star-imports it."""
    found = {importer.resolve() for importer, _ in index.importers_of(path)}
    found |= {importer.resolve() for importer in index.star_importers_of(path)}
    found |= {importer.resolve() for importer in index.module_importers_of(path)}
    return found
