#!/usr/bin/env python3
"""The project index's cost on a real project: cold, warm, and what one edited file re-lints.

Run by hand (not in CI), with greenlint installed in the interpreter:

    python bench/project_index.py --corpus /tmp/corpus/fairseq --json /tmp/gl-index.json

CORPUS is a real ML repository exported at a pinned commit (docs/benchmarks.md names it). The
corpus is copied to a temporary folder so edits never touch it. Measured, each as a whole
`greenlint check` subprocess (interpreter start-up included; wall, CPU and peak RSS from wait4),
median of --repeat runs:

1. cold: an empty cache directory;
2. warm: nothing changed since the last run;
3. anchor: `python -c "import libcst"` in the same run (machines here are shared: compare ratios).

Then, in-process (greenlint's runner API, which reports how many files it took from the cache):

4. a comment appended to the most imported module: only that file may be re-linted;
5. an exported fact added to that module (`DEVICE = 'cuda'`): the edited file plus the
   dependants whose context changes (those that import it and write the name `DEVICE`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint_throughput import run_timed  # noqa: E402  (the same timer the throughput benchmark uses)


def _check_argv(python: str, corpus: Path, cache: Path) -> list[str]:
    return [python, "-m", "greenlint", "check", "--exit-zero", "--quiet", "--cache-dir", str(cache), str(corpus)]


def _median_run(argv: list[str], cwd: Path, repeat: int, before=None) -> dict:  # noqa: ANN001
    runs = []
    for _ in range(repeat):
        if before is not None:
            before()
        runs.append(run_timed(argv, cwd, timeout=3600))
    for run in runs:
        if run.rc not in (0, 1):
            raise SystemExit(f"greenlint failed ({run.rc}):\n{run.stderr[-2000:]}")
    return {
        "wall_s": statistics.median(r.wall for r in runs),
        "cpu_s": statistics.median(r.cpu for r in runs),
        "maxrss_mb": max(r.maxrss_kb for r in runs) / 1024,
        "other_cpu_s": max((getattr(r, "other_cpu", None) or 0.0) for r in runs),
        "runs": len(runs),
    }


def _relint_count(corpus: Path, cache: Path) -> tuple[int, int]:
    """(files linted, files taken from the cache) for one in-process run."""
    from greenlint.config import Settings
    from greenlint.discovery import discover
    from greenlint.runner import lint_files

    cwd = os.getcwd()
    os.chdir(corpus)
    try:
        settings = Settings(project_root=corpus, cache_dir=cache)
        files = discover(["."], settings)
        result = lint_files(files, settings, use_cache=True, jobs=2)
    finally:
        os.chdir(cwd)
    return result.files_checked, result.files_from_cache


def _most_imported(corpus: Path) -> tuple[Path, int]:
    from greenlint.import_scan import scan_imports
    from greenlint.project_index import ProjectIndex

    index = ProjectIndex(corpus)
    counts: Counter[str] = Counter()
    for relative in index.project_files():
        path = corpus / relative
        text = path.read_text(encoding="utf-8", errors="replace")
        package = index.package_of(path) or ""
        for statement in scan_imports(text, package):
            target = index.module_file(statement.module, path, package)
            if target is not None:
                counts[str(target)] += 1
    path, n = counts.most_common(1)[0]
    return Path(path), n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gl-index-bench-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(args.corpus, corpus, symlinks=True)
        cache = work / "cache"
        results: dict = {"corpus": str(args.corpus), "py_files": sum(1 for _ in corpus.rglob("*.py"))}

        def fresh() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        results["cold"] = _median_run(_check_argv(args.python, corpus, cache), corpus, args.repeat, before=fresh)
        _median_run(_check_argv(args.python, corpus, cache), corpus, 1)  # leaves a full cache
        results["warm"] = _median_run(_check_argv(args.python, corpus, cache), corpus, args.repeat)
        results["anchor_import_libcst"] = _median_run([args.python, "-c", "import libcst"], corpus, args.repeat)
        results["warm_over_anchor"] = results["warm"]["wall_s"] / results["anchor_import_libcst"]["wall_s"]

        target, importers = _most_imported(corpus)
        results["edited_module"] = {"path": str(target.relative_to(corpus)), "imported_by_statements": importers}
        _relint_count(corpus, cache)  # the cache complete for this process's view
        original = target.read_text(encoding="utf-8")
        target.write_text(original + "\n# a comment\n", encoding="utf-8")
        checked, cached = _relint_count(corpus, cache)
        results["comment_edit"] = {"files": checked, "relinted": checked - cached}
        target.write_text(original + "\nDEVICE = 'cuda'\n", encoding="utf-8")
        checked, cached = _relint_count(corpus, cache)
        results["fact_edit"] = {"files": checked, "relinted": checked - cached}
        print(json.dumps(results, indent=2))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
