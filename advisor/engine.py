"""Linting one file: decode, prefilter, parse once, analyse once, run the rules, locate, suppress.

What a file pays for is decided here (see docs/architecture.md, "What each file costs"):
- every file: decoding, one regex scan for the enabled rules' trigger words;
- a file that no rule can match: a syntax check with `compile()` (about 8x cheaper than libcst);
- a file some rule can match: one libcst parse and one walk of the shared analysis;
- a file with findings: one PositionProvider resolution, for locations.
The syntax checks (GL001, GL005) and the whole-file findings are in syntax_check.py.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from greenlint.findings import Finding, Fix, LintedFile, Location
from greenlint.limits import DEFAULT_LIMITS, Deadline, Limits, limit_finding, out_of_time_message, too_large_message
from greenlint.notebook import NotebookError, parse_notebook
from greenlint.notebook_findings import mask_unparsable_cells, to_cell_coordinates
from greenlint.rules import Report, Rule
from greenlint.rules.linting_path import linting_path
from greenlint.rules.recorded_run import notebook_record
from greenlint.rules.catalog import codes_that_could_match
from greenlint.source import DecodeError, decode_source, split_lines
from greenlint.suppression import is_suppressed
from greenlint.syntax_check import (
    NestingError,
    _file_finding,
    _internal_error,
    _not_analysed,
    _python_only_syntax,
    _python_syntax_error,
    _python_syntax_finding,
    _syntax_error,
    _syntax_only,
)

from greenlint.rules.project_context import EMPTY_CONTEXT, ProjectContext  # plain data, no libcst

if TYPE_CHECKING:
    import libcst as cst

    from greenlint.fix_edits import FileFixer  # imported where used: fixes need them only for files with findings
    from greenlint.rules.tree_index import LazyIndex

# libcst and the rules are imported inside the functions that need them: a file that no rule can
# match (the prefilter reads the generated catalog) costs a `compile()`, not a libcst import.


@dataclass(frozen=True)
class LintRequest:
    """One file to lint, as it crosses into a worker process."""

    path: Path
    display_path: str
    data: bytes
    enabled: frozenset[str]
    ignored_prefixes: tuple[str, ...] = ()
    # what the project index knows about the local modules this file imports
    context: ProjectContext = EMPTY_CONTEXT
    limits: Limits = DEFAULT_LIMITS


def is_notebook(display_path: str) -> bool:
    return display_path.endswith(".ipynb")


# Why the file being linted shows a long run, as _run_rules_indexed found it; lint_request hands it
# on with the findings (LintedFile). A side channel, so that lint_text and its many callers keep a
# plain list of findings.
_FILE_LONG_RUN: ContextVar[str] = ContextVar("greenlint_file_long_run", default="")


@contextmanager
def recording_long_run() -> Iterator[Callable[[], str]]:
    """Around one file's lint: yields a function that gives why the file showed a long run."""
    token = _FILE_LONG_RUN.set("")
    try:
        yield _FILE_LONG_RUN.get
    finally:
        _FILE_LONG_RUN.reset(token)


def lint_request(request: LintRequest) -> LintedFile:
    with recording_long_run() as long_run:
        findings = _lint_request(request)
        return LintedFile(findings, long_run())


def _lint_request(request: LintRequest) -> list[Finding]:
    try:
        with linting_path(request.path):  # config files the module reads are found next to it
            if is_notebook(request.display_path):
                findings = lint_notebook(request.data, request.display_path, request.enabled, request.context, request.limits)
            else:
                findings = lint_source(request.data, request.display_path, request.enabled, request.context, request.limits)
    except Exception as exc:  # noqa: BLE001 - a file greenlint fails on is one GL000, never the end of the run
        _show_traceback_when_debugging(exc)
        findings = _internal_error(request.display_path, "the engine", exc)
    if request.ignored_prefixes:
        findings = [f for f in findings if not f.code.startswith(request.ignored_prefixes)]
    return findings


def lint_source(
    data: bytes, display_path: str, enabled: frozenset[str], context: ProjectContext = EMPTY_CONTEXT,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Finding]:
    """All findings for one file's bytes. Never raises for any input."""
    try:
        source = decode_source(data)
    except DecodeError as exc:
        if "GL002" not in enabled:
            return []
        return [_file_finding("GL002", str(exc), display_path, exc.row, exc.column)]
    return lint_text(source.text, display_path, enabled, context, limits)


def lint_notebook(
    data: bytes, display_path: str, enabled: frozenset[str], context: ProjectContext = EMPTY_CONTEXT,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Finding]:
    """Findings for a notebook, in cell coordinates (`cell` is added to each finding)."""
    try:
        notebook = parse_notebook(data)
    except NotebookError as exc:
        return [_file_finding("GL003", str(exc), display_path)] if "GL003" in enabled else []
    notebook, syntax_errors = mask_unparsable_cells(notebook, display_path)
    # cells run in order: rules that pair a fact with a later use follow execution order
    # what the saved outputs record of the last run and of the data (long-run detection reads it)
    record = notebook_record(data)
    context = replace(context, notebook=True, recorded_run=record.run, shown_dataset=record.dataset)
    findings = lint_text(notebook.text, display_path, enabled, context, limits)
    if "GL001" in enabled:
        findings.extend(syntax_errors)
    return sorted((to_cell_coordinates(notebook, f) for f in findings), key=Finding.sort_key)


# Test code is not training code: its loops are not training runs and its GPUs are fixtures, so
# the energy rules skip test files (GL001/GL002 still apply). A directory is only looked at among
# the last few of the path, so a project that happens to live under some "tests" folder is linted.
_TEST_DIRS = frozenset({"tests", "testing"})


def is_test_path(display_path: str) -> bool:
    parts = PurePath(display_path).parts
    if not parts:
        return False
    name = parts[-1]
    stem = name.rsplit(".", 1)[0]
    if stem.startswith("test_") or stem.endswith("_test") or stem == "conftest":
        return True
    return any(part in _TEST_DIRS for part in parts[:-1][-4:])


def lint_text(
    text: str, display_path: str, enabled: frozenset[str], context: ProjectContext = EMPTY_CONTEXT,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Finding]:
    """All findings for decoded source text. Never raises for any input."""
    if is_test_path(display_path):
        return _syntax_only(text, display_path, enabled)
    # a fact from an imported module stands for its words: DEVICE in config.py is "cuda" here
    visible = f"{text}\n{context.extra_words}" if context.extra_words else text
    codes = codes_that_could_match(visible, enabled)
    if not codes:
        return _syntax_only(text, display_path, enabled)
    import libcst as cst

    from greenlint.rules import rules_for

    rules = [r for r in rules_for(codes) if r.could_match(visible)]
    if not rules:
        return _syntax_only(text, display_path, enabled)
    if limits.max_chars is not None and len(text) > limits.max_chars:
        # libcst's tree would cost ~555 bytes per character: check the syntax with Python only,
        # and not even that above the second ceiling (the compiler needs ~110 bytes per character)
        checked = limits.max_syntax_chars is None or len(text) <= limits.max_syntax_chars
        findings = _python_only_syntax(text, display_path, enabled) if checked else []
        if "GL004" in enabled:
            findings.append(limit_finding(display_path, too_large_message(len(text), limits, checked)))
        return findings
    deadline = Deadline(limits.max_seconds)
    # CPython first (about 1/8 of a libcst parse): nesting it gives up on overflows the stack of
    # libcst's native parser, a crash no except clause catches
    python_error = _python_syntax_error(text)
    if isinstance(python_error, NestingError):
        return _python_syntax_finding(python_error, display_path, enabled)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        if python_error is not None:
            return _syntax_error(exc, text, display_path, enabled, python_error)
        return _lint_libcst_rejected(text, display_path, enabled, rules, context, exc, deadline)
    except cst.CSTValidationError as exc:
        # libcst's parser built a node its own validation rejects: `1 if c else(2)` (no space after
        # `else`) is valid Python but not a valid libcst IfExp (libcst 1.x; a Kaggle kernel of
        # aorursy/new-nb-8, blind6). The parser's limit, not greenlint's failure (GL000, exit 2).
        if python_error is not None:
            return _python_syntax_finding(python_error, display_path, enabled)
        return _not_analysed(display_path, enabled, str(exc), 1, 1)
    except (RecursionError, MemoryError) as exc:  # pathologically nested code
        return _internal_error(display_path, "parser", exc)
    findings = _run_rules(module, rules, text, display_path, deadline, context)
    if "GL004" not in enabled:
        findings = [f for f in findings if f.code != "GL004"]
    return sorted(findings, key=Finding.sort_key)


_LEADING_WHITESPACE = re.compile(r"^[ \t]+", re.MULTILINE)


def _unexpanded(location: Location, lines: list[str]) -> Location:
    """A column of the tab-expanded text, as a column of the user's line."""
    if not 0 < location.row <= len(lines):
        return location
    line = lines[location.row - 1]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    expanded = len(indent.expandtabs(8))
    if location.column - 1 < expanded:
        return Location(location.row, min(location.column, len(indent) + 1))
    return Location(location.row, location.column - expanded + len(indent))


def _lint_libcst_rejected(
    text: str, display_path: str, enabled: frozenset[str], rules: list[Rule], context: ProjectContext,
    error: cst.ParserSyntaxError, deadline: Deadline,
) -> list[Finding]:
    """CPython accepts the file but libcst does not: never a syntax error (GL001). The usual cause
    is indentation that mixes tabs and spaces consistently enough for CPython; with the tabs of
    the indentation expanded (to 8 columns, CPython's rule) the rules run on the same rows. Their
    fixes are dropped: they were computed on the normalised text, not the user's. A file libcst
    still rejects (grammar newer than libcst) is reported as not analysed (GL005)."""
    import libcst as cst

    normalised = _LEADING_WHITESPACE.sub(lambda m: m.group(0).expandtabs(8), text)
    if normalised != text:
        try:
            module = cst.parse_module(normalised)
        except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError, MemoryError):
            pass
        else:
            found = _run_rules(module, rules, normalised, display_path, deadline, context)
            lines = split_lines(text)
            return sorted(
                (
                    replace(
                        f, fix=None, location=_unexpanded(f.location, lines), end_location=_unexpanded(f.end_location, lines)
                    )
                    for f in found
                ),
                key=Finding.sort_key,
            )
    return _not_analysed(display_path, enabled, error.message, error.raw_line or 1, (error.raw_column or 0) + 1)


def _run_rules(
    module: cst.Module, rules: list[Rule], text: str, display_path: str, deadline: Deadline,
    context: ProjectContext = EMPTY_CONTEXT,
) -> list[Finding]:
    """The rules' findings, then (last, when the time budget ran out) one GL004 saying what was
    not done."""
    from greenlint.rules.tree_index import indexing

    with indexing(module) as lazy:
        return _run_rules_indexed(module, rules, text, display_path, deadline, lazy, context)


def _run_rules_indexed(
    module: cst.Module, rules: list[Rule], text: str, display_path: str, deadline: Deadline, lazy: LazyIndex,
    context: ProjectContext,
) -> list[Finding]:
    from libcst.metadata import MetadataWrapper, PositionProvider

    from greenlint.rules.analysis import ModuleAnalysis
    from greenlint.rules.analysis.config_values import ConfigValues
    from greenlint.rules.analysis.literals import resolving_values
    from greenlint.rules import DETECTION_CODES
    from greenlint.rules.analysis.detection_scope import detected_run_applies
    from greenlint.rules.analysis.long_run_evidence import file_long_run, reported_long_run
    from greenlint.rules.impact_estimate import estimate

    findings: list[Finding] = []
    try:
        analysis = ModuleAnalysis.of(module, context)
        analysis.__dict__["code"] = text  # the text `module` was parsed from (ModuleAnalysis.code)
    except Exception as exc:  # noqa: BLE001 - one file's analysis failing must not stop the run
        _show_traceback_when_debugging(exc)
        return _internal_error(display_path, "the shared analysis", exc)
    reports: list[tuple[Rule, Report]] = []
    not_run: list[str] = []
    with resolving_values(ConfigValues.for_current_file(module, text, context)):
        for rule in rules:
            if deadline.passed():
                not_run.append(rule.code)
                continue
            try:
                reports.extend((rule, report) for report in rule.check(analysis))
            except Exception as exc:  # noqa: BLE001 - GL000 names the rule; the other rules still run
                _show_traceback_when_debugging(exc)
                findings.extend(_internal_error(display_path, rule.code, exc))
        # why the file's run is evidently long, asked only when a run-length rule reported, or for
        # the project modules the file imports, when the detection runs (long_run_spread.py)
        long_run = reported_long_run(analysis, {rule.code for rule, _ in reports}, display_path)
        if not long_run and context.local_modules and any(rule.code in DETECTION_CODES for rule in rules):
            long_run = file_long_run(analysis, display_path)
        _FILE_LONG_RUN.set(long_run)
    no_fix = 0
    if reports:
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        lines = split_lines(text)
        fixers = _FileFixers(lazy, text)
        # whether the file's detected long run shows each run-length rule, asked once per rule with
        # all its reports of the file (some need a count: several syncs per heavy step)
        detected = {code: detected_run_applies(code, analysis, [r for ru, r in reports if ru.code == code])
                    for code in {rule.code for rule, _ in reports} if code in DETECTION_CODES} if long_run else {}
        for rule, report in reports:
            start = positions[report.node].start
            end = positions[report.end_node or report.node].end
            line = lines[start.line - 1] if 0 < start.line <= len(lines) else ""
            if is_suppressed(rule.code, line):
                continue
            fix = None
            if report.fix is not None:
                if deadline.passed():
                    no_fix += 1
                else:
                    fix = _text_fix(report, module, text, fixers)
            findings.append(
                Finding(
                    code=rule.code,
                    message=report.message,
                    filename=display_path,
                    location=Location(start.line, start.column + 1),
                    end_location=Location(end.line, end.column + 1),
                    fix=fix,
                    noqa_row=start.line,
                    impact=estimate(rule.impact, report.frequency, report.scale,
                                    long_run if detected.get(rule.code) else ""),
                )
            )
    if not_run or no_fix:
        findings.append(limit_finding(display_path, out_of_time_message(deadline.seconds, not_run, no_fix)))
    return findings


def _text_fix(report: Report, module: cst.Module, text: str, fixers: _FileFixers) -> Fix | None:
    """Run the rule's transform and express its result as text edits. A transform that fails,
    changes nothing, or produces code that does not parse is dropped: the finding stays.

    The edits come from the nodes the transform changed (fix_edits), so a finding's fix costs the
    size of the statements it touches; only a transform that rebuilt the whole tree makes the
    module be regenerated and diffed."""
    if report.fix is None:
        return None
    from greenlint.fix_edits import InvalidFix, slow_fix_edits

    try:
        new_module = report.fix.transform(module)
        if new_module is module:
            return None
        try:
            edits = fixers.get().edits(new_module)
        except InvalidFix:
            return None
        if edits is None:
            edits = slow_fix_edits(module, new_module, text)
    except Exception as exc:  # noqa: BLE001 - a broken fix must never cost the finding
        _show_traceback_when_debugging(exc)
        return None
    if not edits:
        return None
    return Fix(report.fix.message, report.fix.applicability, edits)


class _FileFixers:
    """The per-file fix machinery, made on the first finding that has a fix."""

    def __init__(self, lazy: LazyIndex, text: str) -> None:
        self._lazy = lazy
        self._text = text
        self._fixer: FileFixer | None = None

    def get(self) -> FileFixer:
        from greenlint.fix_edits import FileFixer

        if self._fixer is None:
            self._fixer = FileFixer(self._lazy.get(), self._text)
        return self._fixer


def _show_traceback_when_debugging(exc: BaseException) -> None:
    """greenlint's own failures become GL000 findings; GREENLINT_DEBUG=1 also prints the traceback."""
    if os.environ.get("GREENLINT_DEBUG"):
        traceback.print_exception(exc)
