"""Linting (or fixing) many files: cache lookups, a process pool for the rest, deterministic order."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from greenlint.cache import ResultCache, request_key
from greenlint.config import Settings
from greenlint.engine import LintRequest, is_notebook, is_test_path, lint_request
from greenlint.findings import Finding, Location
from greenlint.notebook import NotebookError, parse_notebook
from greenlint.project_index import ProjectIndex, find_project_root
from greenlint.reporters.escaping import display_text
from greenlint.rules.config_data import forget_named_configs
from greenlint.source import DecodeError, decode_source
from greenlint.suppression import per_file_ignored_codes

if TYPE_CHECKING:
    from greenlint.fixer import FixOutcome
    from greenlint.impact_filter import Visibility
    from greenlint.pool import WorkerDeath  # the pool (and concurrent.futures) load only for a pool run

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 8

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RunResult:
    findings: list[Finding]
    files_checked: int
    files_from_cache: int
    unreadable: list[tuple[str, str]]  # (path, reason)
    notices: list[str] = field(default_factory=list)  # things the user should know (stderr)
    # display paths of the files that matched `long-runs` (long_runs.py): the run-length rules report there
    long_run_files: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Prepared:
    request: LintRequest
    digest: str
    long_run: bool = False  # the file matched `long-runs`


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def _prepare(
    files: list[Path], settings: Settings, index: ProjectIndex | None = None, jobs: int | None = None,
    extra_codes: frozenset[str] = frozenset(),
) -> tuple[list[_Prepared], list[tuple[str, str]]]:
    from greenlint.long_runs import long_run_paths, run_length_codes

    cwd = Path.cwd().resolve()
    enabled = settings.selection.enabled_codes() | extra_codes
    long_run_codes = run_length_codes(settings.selection) if settings.long_runs else frozenset()
    long_files = long_run_paths(files, settings.project_root, settings.long_runs)
    read, unreadable = [], []
    for path in files:
        shown = display_path(path, cwd)
        try:
            read.append((path, shown, path.read_bytes()))
        except OSError as exc:
            unreadable.append((shown, exc.strerror or str(exc)))
    texts: dict[Path, tuple[str, bool]] = {}
    if index is not None:
        texts = {path: _context_text(data, shown) for path, shown, data in read if not is_test_path(shown)}
        # the imported modules' exports (an ast parse each) in the worker pool, before the contexts
        pool = functools.partial(_map_items, jobs=jobs)
        index.prefetch_exports([(path, text) for path, (text, _) in texts.items()], pool)
    prepared = []
    for path, shown, data in read:
        ignored = per_file_ignored_codes(path, settings.project_root, settings.per_file_ignores)
        long_run = path in long_files
        request = LintRequest(path, shown, data, enabled | long_run_codes if long_run else enabled, ignored)
        key = request_key(request)
        if path in texts:
            context = index.context_for(path, *texts[path])
            if not context.is_empty():
                # the result depends on the imported modules' facts too: an edit there re-lints this file
                request = replace(request, context=context)
                key = f"{key}-{context.digest()}"
        prepared.append(_Prepared(request, key, long_run))
    return prepared, unreadable


def _context_text(data: bytes, shown: str) -> tuple[str, bool]:
    """The text the project index reads (imports, words) and whether it is a notebook's."""
    notebook = is_notebook(shown)
    try:
        return (parse_notebook(data).text if notebook else decode_source(data).text), notebook
    except (DecodeError, NotebookError, RecursionError, ValueError):
        return "", notebook  # the engine reports the file itself


def _map_items(function: Callable[[T], R], items: list[T], jobs: int | None) -> list[R | None]:
    """`_map` for the project index's work: a worker death gives None (the caller does it itself)."""
    return _map(function, items, jobs, lambda _item, _death: None)


def project_index(files: list[Path], settings: Settings, use_cache: bool) -> ProjectIndex | None:
    """One index per run, rooted at the project that holds the files (see project_index.py)."""
    if not files:
        return None
    return ProjectIndex(find_project_root(files), settings.resolved_cache_dir if use_cache else None)


def lint_files(files: list[Path], settings: Settings, use_cache: bool = True, jobs: int | None = None,
               extra_codes: frozenset[str] = frozenset()) -> RunResult:
    """`extra_codes`: rules to run besides the selection's (`check` counts what the preview rules
    would add). Raises CacheDirError (before reading any file) when the cache folder is not
    greenlint's to use."""
    cache = ResultCache(settings.resolved_cache_dir, settings.fingerprint(), settings.cache_dir_source) if use_cache else None
    forget_named_configs()  # a file added since the last lint of this process is a choice too
    index = project_index(files, settings, use_cache)
    prepared, unreadable = _prepare(files, settings, index, jobs, extra_codes)
    results: dict[Path, list[Finding]] = {}
    pending: list[_Prepared] = []
    if cache is not None:
        # a config file the script reads (yaml.safe_load(open("config.yaml"))) changes its result;
        # folded in only when caching: nothing else needs it, and the scan costs a few `in` tests
        prepared = [_with_config_dependencies(item) for item in prepared]
    for item in prepared:
        cached = cache.get(item.request.path, item.digest) if cache is not None else None
        if cached is None:
            pending.append(item)
        else:
            results[item.request.path] = cached
    linted = _map(lint_request, [p.request for p in pending], jobs, lint_death_findings)
    for item, findings in zip(pending, linted):
        results[item.request.path] = findings
        if cache is not None:
            cache.put(item.request.path, item.digest, findings)
    if settings.detect_long_runs:
        from greenlint.long_run_spread import spread_long_runs

        results = spread_long_runs(results, index)  # before index.save: it may read the project scan
    notices = []
    if cache is not None and cache.save() and not _is_within(cache.directory, Path.cwd()):
        notices.append(_cache_notice(cache.directory, settings))
    if index is not None:
        index.save()  # after the result cache, which creates (and guards) the directory
    ordered = sorted((f for fs in results.values() for f in fs), key=Finding.sort_key)
    long_run_files = frozenset(p.request.display_path for p in prepared if p.long_run)
    return RunResult(ordered, len(results), len(prepared) - len(pending), unreadable, notices, long_run_files)


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def _cache_notice(directory: Path, settings: Settings) -> str:
    """Said once, when greenlint creates a cache folder the user would not look for here."""
    if settings.cache_dir_source is not None:
        origin = f"cache-dir from {display_text(settings.cache_dir_source)}"
    elif settings.config_file is not None:
        origin = f"the default for the project that {display_text(str(settings.config_file))} configures"
    else:
        origin = "the default"
    where = display_text(str(directory.resolve()))
    return f"created the result cache {where} ({origin}), outside the current directory"


def lint_death_findings(request: LintRequest, death: WorkerDeath) -> list[Finding]:
    """The finding for a file whose worker process died (GL000: greenlint failed, not the file)."""
    location = Location(1, 1)
    message = (f"internal error: the worker process linting this file was {death.describe()}; "
               "the other files were linted")
    return [Finding("GL000", message, request.display_path, location, location, noqa_row=1)]


def _fix_death_outcome(request: LintRequest, death: WorkerDeath) -> FixOutcome:
    from greenlint.fixer import FixOutcome

    findings = lint_death_findings(request, death)
    return FixOutcome(request.display_path, None, None, None, remaining=findings)


def _with_config_dependencies(item: _Prepared) -> _Prepared:
    from greenlint.config_files import dependency_digest  # its regexes load only for a cached run

    configs = dependency_digest(item.request.path, item.request.data, item.request.context.launched_config_paths())
    return replace(item, digest=f"{item.digest}+{configs}") if configs else item


def fix_files(
    files: list[Path], settings: Settings, unsafe: bool, jobs: int | None = None
) -> tuple[list[tuple[Path, FixOutcome]], list[tuple[str, str]]]:
    """Compute fixes for every file (nothing is written here). Only the fixes of findings that
    `min-impact` shows are applied (impact_filter.py)."""
    from greenlint.impact_filter import visibility_for
    from greenlint.long_runs import detected_long_run_codes, long_run_rules

    # with `detect-long-runs` the run-length rules run everywhere; only a file whose code shows a
    # long run shows (and fixes) their findings, as `check` shows them
    detected = detected_long_run_codes(settings)
    index = project_index(files, settings, use_cache=True)
    prepared, unreadable = _prepare(files, settings, index, jobs, detected)
    requests = [p.request for p in prepared]
    visibility = replace(visibility_for(settings), preview_only=detected)
    long_run = visibility.also_showing(long_run_rules(settings.selection)) if settings.long_runs else None
    fix = functools.partial(_fix_shown, unsafe=unsafe, visibility=visibility, long_run_visibility=long_run,
                            long_run_paths=frozenset(p.request.path for p in prepared if p.long_run))
    outcomes = _map(fix, requests, jobs, _fix_death_outcome)
    if settings.detect_long_runs:
        named = frozenset(p.request.path for p in prepared if p.long_run) if long_run is not None else frozenset()
        outcomes = _spread_fixes(requests, outcomes, index, unsafe, visibility, named)
    return [(r.path, o) for r, o in zip(requests, outcomes)], unreadable


def _spread_fixes(requests: list[LintRequest], outcomes: list[FixOutcome], index: ProjectIndex | None,
                  unsafe: bool, visibility: Visibility, named: frozenset[Path]) -> list[FixOutcome]:
    """`--fix` as `check` shows (long_run_spread.py): a module imported by a file that shows a long
    run is fixed again, in this process, with the run-length findings the spread marks shown, and
    they carry the importer's evidence. The few files concerned are fixed twice; every other
    outcome stands (a file named in `long-runs` shows them already)."""
    from greenlint.findings import LintedFile
    from greenlint.fixer import fix_request
    from greenlint.long_run_spread import spread_long_runs

    results: dict[Path, list[Finding]] = {r.path: LintedFile(o.remaining, o.long_run) for r, o in zip(requests, outcomes)}
    spread = spread_long_runs(results, index)
    fixed = list(outcomes)
    for position, request in enumerate(requests):
        before, after = results[request.path], spread[request.path]
        if after is before or request.path in named:
            continue
        # the spread replaces exactly the findings it marks, in place
        reasons = {new.code: new.impact.long_run for old, new in zip(before, after) if new is not old}
        again = fix_request(request, unsafe=unsafe, visibility=visibility.also_showing(frozenset(reasons)))
        again.remaining = [replace(f, impact=replace(f.impact, long_run=reasons[f.code]))
                           if f.code in reasons and f.impact is not None and not f.impact.long_run else f
                           for f in again.remaining]
        fixed[position] = again
    return fixed


def _fix_shown(request: LintRequest, unsafe: bool, visibility: Visibility, long_run_visibility: Visibility | None,
               long_run_paths: frozenset[Path]) -> FixOutcome:
    """fix_request with the threshold of the request's file: a long-run file's shows the run-length
    rules' findings whatever their impact (Visibility.also_showing). Module level: the
    worker pool pickles it."""
    from greenlint.fixer import fix_request

    if long_run_visibility is not None and request.path in long_run_paths:
        visibility = long_run_visibility
    return fix_request(request, unsafe=unsafe, visibility=visibility)


def _map(
    function: Callable[[LintRequest], T],
    requests: list[LintRequest],
    jobs: int | None,
    on_death: Callable[[LintRequest, WorkerDeath], T],
) -> list[T]:
    workers = jobs or os.cpu_count() or 1
    if workers <= 1 or len(requests) < PARALLEL_THRESHOLD:
        return [function(r) for r in requests]
    # imported here: a run of a few files never starts a pool, so it need not pay for the import
    from greenlint.pool import map_in_processes

    # results come back in input order whatever order the workers finish in
    chunk = max(1, min(16, len(requests) // (workers * 8)))
    return map_in_processes(function, requests, workers, chunk, on_death)
