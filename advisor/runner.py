"""Linting (or fixing) many files: cache lookups, a process pool for the rest, deterministic order."""

from __future__ import annotations

import functools
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, TypeVar

from greenlint.cache import ResultCache, content_hash
from greenlint.config import Settings
from greenlint.engine import LintRequest, is_notebook, is_test_path, lint_request
from greenlint.notebook import NotebookError, parse_notebook
from greenlint.project_index import ProjectIndex, find_project_root
from greenlint.source import DecodeError, decode_source
from greenlint.findings import Finding
from greenlint.fixer import FixOutcome, fix_request
from greenlint.suppression import per_file_ignored_codes

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 8

T = TypeVar("T")


@dataclass(frozen=True)
class RunResult:
    findings: list[Finding]
    files_checked: int
    files_from_cache: int
    unreadable: list[tuple[str, str]]  # (path, reason)


@dataclass(frozen=True)
class _Prepared:
    request: LintRequest
    digest: str


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def _prepare(
    files: list[Path], settings: Settings, index: ProjectIndex | None = None
) -> tuple[list[_Prepared], list[tuple[str, str]]]:
    cwd = Path.cwd().resolve()
    enabled = settings.selection.enabled_codes()
    prepared, unreadable = [], []
    for path in files:
        shown = display_path(path, cwd)
        try:
            data = path.read_bytes()
        except OSError as exc:
            unreadable.append((shown, exc.strerror or str(exc)))
            continue
        ignored = per_file_ignored_codes(path, settings.project_root, settings.per_file_ignores)
        request = LintRequest(path, shown, data, enabled, ignored)
        digest = content_hash(data)
        if index is not None and not is_test_path(shown):
            context = _project_context(index, path, data, shown)
            if not context.is_empty():
                # the result depends on the imported modules' facts too: an edit there re-lints this file
                request = replace(request, context=context)
                digest = f"{digest}-{context.digest()}"
        prepared.append(_Prepared(request, digest))
    return prepared, unreadable


def _project_context(index: ProjectIndex, path: Path, data: bytes, shown: str):  # noqa: ANN202
    notebook = is_notebook(shown)
    try:
        text = parse_notebook(data).text if notebook else decode_source(data).text
    except (DecodeError, NotebookError, RecursionError, ValueError):
        return index.context_for(path, "", notebook)  # the engine reports the file itself
    return index.context_for(path, text, notebook)


def project_index(files: list[Path], settings: Settings, use_cache: bool) -> ProjectIndex | None:
    """One index per run, rooted at the project that holds the files (see project_index.py)."""
    if not files:
        return None
    return ProjectIndex(find_project_root(files), settings.resolved_cache_dir if use_cache else None)


def lint_files(files: list[Path], settings: Settings, use_cache: bool = True, jobs: int | None = None) -> RunResult:
    index = project_index(files, settings, use_cache)
    prepared, unreadable = _prepare(files, settings, index)
    cache = ResultCache(settings.resolved_cache_dir, settings.fingerprint()) if use_cache else None
    results: dict[Path, list[Finding]] = {}
    pending: list[_Prepared] = []
    for item in prepared:
        cached = cache.get(item.request.path, item.digest) if cache is not None else None
        if cached is None:
            pending.append(item)
        else:
            # cached findings carry the display path of the run that made them
            shown = item.request.display_path
            results[item.request.path] = [f if f.filename == shown else replace(f, filename=shown) for f in cached]
    for item, findings in zip(pending, _map(lint_request, [p.request for p in pending], jobs)):
        results[item.request.path] = findings
        if cache is not None:
            cache.put(item.request.path, item.digest, findings)
    if cache is not None:
        cache.save()
    if index is not None:
        index.save()  # after the result cache, which creates (and guards) the directory
    ordered = sorted((f for fs in results.values() for f in fs), key=Finding.sort_key)
    return RunResult(ordered, len(results), len(prepared) - len(pending), unreadable)


def fix_files(
    files: list[Path], settings: Settings, unsafe: bool, jobs: int | None = None
) -> tuple[list[tuple[Path, FixOutcome]], list[tuple[str, str]]]:
    """Compute fixes for every file (nothing is written here)."""
    prepared, unreadable = _prepare(files, settings, project_index(files, settings, use_cache=True))
    requests = [p.request for p in prepared]
    outcomes = _map(functools.partial(fix_request, unsafe=unsafe), requests, jobs)
    return [(r.path, o) for r, o in zip(requests, outcomes)], unreadable


def _map(function: Callable[[LintRequest], T], requests: list[LintRequest], jobs: int | None) -> list[T]:
    workers = jobs or os.cpu_count() or 1
    if workers <= 1 or len(requests) < PARALLEL_THRESHOLD:
        return [function(r) for r in requests]
    # map() keeps the output in input order whatever order the workers finish in.
    chunk = max(1, min(16, len(requests) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=min(workers, len(requests))) as pool:
        try:
            return list(pool.map(function, requests, chunksize=chunk))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
