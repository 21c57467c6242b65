"""Applying fixes to one file's text until nothing fixable is left (bounded), never breaking it.

Each round lints the current text, takes the applicable fixes in a deterministic order (by
position, then code), skips any that touch lines an earlier one already touches (they are
retried next round, against the updated text), applies the rest as text edits, and checks that
the result still parses and compiles. If the combined result does not, the fixes are tried one at
a time and a fix that breaks the file is dropped and reported. Rounds stop when nothing changes.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field, replace

from greenlint.edits import apply_edits, edits_overlap
from greenlint.engine import (
    LintRequest,
    is_notebook,
    lint_request,
    lint_text,
    recording_long_run,
)
from greenlint.notebook_findings import mask_unparsable_cells, to_cell_coordinates
from greenlint.findings import Finding, LintedFile
from greenlint.impact_filter import SHOW_ALL, Visibility
from greenlint.notebook import Notebook, NotebookError, parse_notebook, rebuild
from greenlint.rules.linting_path import linting_path
from greenlint.rules.recorded_run import notebook_record
from greenlint.source import DecodeError, decode_source
from greenlint.syntax_check import source_compiles
from greenlint.writer import content_digest

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    display_path: str
    original_text: str | None  # None when the file could not be decoded
    fixed_text: str | None  # None when nothing changed
    new_bytes: bytes | None
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # the content hash of the bytes the fixes were computed from: the writer refuses to replace
    # a file that no longer holds them (an edit saved during the run is never lost)
    original_digest: str = ""
    # why the fixed file's own code shows a long run (long_run_spread.py spreads it to its imports)
    long_run: str = ""


def _applicable(finding: Finding, unsafe: bool, visibility: Visibility) -> bool:
    # a finding hidden by min-impact is not shown, so its fix is not applied either
    return finding.fix is not None and (finding.fix.applicability == "safe" or unsafe) and visibility.shows(finding)


def _lint(text: str, request: LintRequest) -> list[Finding]:
    context = request.context
    if is_notebook(request.display_path) and not context.notebook:
        context = replace(context, notebook=True)  # as lint_notebook does: cells run in order
    with linting_path(request.path), recording_long_run() as long_run:  # as in lint_request
        findings = lint_text(text, request.display_path, request.enabled, context, request.limits)
        reason = long_run()
    if request.ignored_prefixes:
        findings = [f for f in findings if not f.code.startswith(request.ignored_prefixes)]
    return LintedFile(findings, reason)


def fix_request(request: LintRequest, unsafe: bool, visibility: Visibility = SHOW_ALL) -> FixOutcome:
    notebook: Notebook | None = None
    cell_errors: list[Finding] = []
    try:
        if is_notebook(request.display_path):
            notebook, cell_errors = mask_unparsable_cells(parse_notebook(request.data), request.display_path)
            # as lint_notebook does: the saved outputs (which no fix changes) record the last run for
            # the long-run detection; read once, not on every fix round
            record = notebook_record(request.data)
            request = replace(request, context=replace(request.context, notebook=True, recorded_run=record.run,
                                                       shown_dataset=record.dataset))
            original = text = notebook.text
            encoding = "utf-8"
        else:
            source = decode_source(request.data)
            original = text = source.text
            encoding = source.encoding
    except (DecodeError, NotebookError):
        return FixOutcome(request.display_path, None, None, None, remaining=lint_request(request))
    outcome = FixOutcome(request.display_path, original, None, None, original_digest=content_digest(request.data))
    findings = _lint(text, request)
    for _round in range(MAX_ROUNDS):
        candidates = sorted((f for f in findings if _applicable(f, unsafe, visibility)), key=Finding.sort_key)
        chosen: list[Finding] = []
        for finding in candidates:
            if not any(edits_overlap(finding.fix.edits, other.fix.edits) for other in chosen):  # type: ignore[union-attr]
                chosen.append(finding)
        if not chosen:
            break
        new_text = _apply(text, chosen)
        if new_text is None:
            new_text, chosen = _apply_one_by_one(text, chosen, outcome)
        if new_text is None or new_text == text:
            break
        text = new_text
        outcome.applied.extend(chosen)
        findings = _lint(text, request)
    else:
        outcome.problems.append(f"{request.display_path}: fixes did not settle after {MAX_ROUNDS} rounds")
    outcome.remaining = findings
    outcome.long_run = getattr(findings, "long_run", "")
    if text != original:
        new_text = text if notebook is None else rebuild(notebook, text)
        problem = None
        if new_text is None:
            problem = "the fixes cannot be written back into the notebook's cells without disturbing it"
        else:
            try:
                outcome.new_bytes = new_text.encode(encoding)
                if notebook is not None and request.data.startswith(codecs.BOM_UTF8):
                    outcome.new_bytes = codecs.BOM_UTF8 + outcome.new_bytes  # the notebook keeps its BOM
                outcome.fixed_text = new_text
            except UnicodeEncodeError:
                problem = f"the fixed text cannot be written in the file's encoding ({encoding})"
        if problem is not None:
            outcome.problems.append(f"{request.display_path}: {problem}; left unchanged")
            outcome.applied.clear()
            outcome.new_bytes = outcome.fixed_text = None
            outcome.remaining = _lint(original, request)
        elif notebook is not None:
            outcome.original_text = notebook.source_json
    if notebook is not None:
        if "GL001" in request.enabled:
            outcome.remaining = outcome.remaining + cell_errors
        outcome.remaining = [to_cell_coordinates(notebook, f) for f in outcome.remaining]
    return outcome


def _apply(text: str, chosen: list[Finding]) -> str | None:
    edits = [edit for finding in chosen for edit in finding.fix.edits]  # type: ignore[union-attr]
    try:
        new_text = apply_edits(text, edits)
    except ValueError:
        return None
    return new_text if source_compiles(new_text) else None


def _apply_one_by_one(text: str, chosen: list[Finding], outcome: FixOutcome) -> tuple[str | None, list[Finding]]:
    for finding in chosen:
        new_text = _apply(text, [finding])
        if new_text is not None:
            return new_text, [finding]
        outcome.problems.append(
            f"{finding.filename}:{finding.location.row}:{finding.location.column}: {finding.code} fix dropped: "
            "the result would not compile"
        )
    return None, []
