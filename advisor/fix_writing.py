"""The write phase of `check --fix`: write each fixed file safely and account for every one.

Every file ends up in exactly one list: written, skipped (changed since it was read, read-only,
or a write error; each with the reason) or, after Ctrl-C, not written. The command line prints
them, so an interrupted run says exactly which files hold fixes and which do not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from greenlint.fixer import FixOutcome
from greenlint.writer import (
    FileChanged,
    ReadOnlyFile,
    content_digest,
    remove_stale_temporaries,
    write_fix,
)


@dataclass
class WriteReport:
    written: list[FixOutcome] = field(default_factory=list)
    skipped: list[tuple[FixOutcome, str]] = field(default_factory=list)  # (outcome, reason)
    not_written: list[FixOutcome] = field(default_factory=list)  # after Ctrl-C
    interrupted: bool = False
    stale_removed: list[Path] = field(default_factory=list)


def _reason(exc: Exception) -> str:
    if isinstance(exc, FileChanged):
        return "changed since greenlint read it; not overwritten (run --fix again)"
    if isinstance(exc, ReadOnlyFile):
        return "read-only; not written"
    if isinstance(exc, OSError):
        return f"cannot write: {exc.strerror or exc}"
    return str(exc)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return content_digest(path.read_bytes()) == content_digest(data)
    except OSError:
        return False


def write_fixes(changed: list[tuple[Path, FixOutcome]], linted: Iterable[Path] = ()) -> WriteReport:
    """Write every fixed file; a skipped file keeps its findings as remaining (nothing applied).
    First, temporaries that killed runs left beside any linted file (or a link's target) go."""
    report = WriteReport()
    folders = {path.parent for path in linted} | {path.parent for path, _ in changed}
    folders |= {Path(os.path.realpath(path)).parent for path, _ in changed}
    report.stale_removed = remove_stale_temporaries(sorted(folders))
    current: tuple[Path, FixOutcome] | None = None
    try:
        for current in changed:
            path, outcome = current
            assert outcome.new_bytes is not None
            try:
                write_fix(path, outcome.original_digest, outcome.new_bytes)
            except (FileChanged, ReadOnlyFile, OSError) as exc:
                report.skipped.append((outcome, _reason(exc)))
                outcome.remaining = outcome.remaining + outcome.applied
                outcome.applied = []
                continue
            report.written.append(outcome)
    except KeyboardInterrupt:
        report.interrupted = True
        if current is not None:
            path, outcome = current
            # Ctrl-C can land after the rename of the file being written: then it was written
            done = any(o is outcome for o in report.written) or any(o is outcome for o, _ in report.skipped)
            if not done and outcome.new_bytes is not None and _holds(path, outcome.new_bytes):
                report.written.append(outcome)
        finished = {id(o) for o in report.written} | {id(o) for o, _ in report.skipped}
        report.not_written = [o for _, o in changed if id(o) not in finished]
    return report
