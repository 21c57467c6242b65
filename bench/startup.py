"""Start-up time of `greenlint`, as ratios to Python's own start-up measured in the same run.

    python bench/startup.py [--runs 15] [--json FILE] [--pythonpath DIR]

`--pythonpath DIR` runs `python -m greenlint` with DIR first on PYTHONPATH instead of the installed
console script: DIR/greenlint can be another version's package (e.g. a `git archive` of an older
commit with rules/ and profiler/ linked into advisor/), measured against the same anchors.

A pre-commit hook pays greenlint's start-up on every commit, so what a command imports matters
more than how fast its rules run. Each command below runs `--runs` times, all commands
interleaved round by round (so load that changes during the run hits every command alike), and
each is reported as the median wall time of its runs, divided by the median of its anchor:

| command                                       | anchor                      | target |
|-----------------------------------------------|-----------------------------|--------|
| `greenlint --version`                         | `python -c pass`            | <= 4x  |
| `greenlint check` of a small file no rule can match | `python -c pass`      | <= 6x  |
| `greenlint check` of a training script        | `python -c "import libcst"` | <= 2x  |

The training script is the demo's (`advisor/demo/train_demo.py`, which has findings); both checks
run with `--no-cache` (the work itself, not a cache hit), in a scratch directory with no
configuration. The same checks with the cache (second run onwards: a hit) are reported too,
without a target. Wall and CPU times (user + system of the command's process) are measured;
nothing is estimated. The targets are on wall time; the CPU ratio is printed beside it because on a
shared machine it moves far less with other processes' load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_SCRIPT = ROOT / "advisor" / "demo" / "train_demo.py"
# a utility module: no torch, no loop over data, nothing any rule's trigger words match
SMALL = '"""Small helpers."""\n\n\ndef clamp(value, low, high):\n    return max(low, min(high, value))\n'


def greenlint_command(pythonpath: str | None) -> list[str]:
    """The installed console script beside this interpreter (what a user runs), else -m."""
    script = Path(sys.executable).with_name("greenlint")
    return [str(script)] if script.exists() and not pythonpath else [sys.executable, "-m", "greenlint"]


def commands(workdir: Path, pythonpath: str | None = None) -> dict[str, list[str]]:
    greenlint = greenlint_command(pythonpath)
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import libcst'": [sys.executable, "-c", "import libcst"],
        "greenlint --version": [*greenlint, "--version"],
        "greenlint check small.py (--no-cache)": [*greenlint, "check", "--no-cache", "small.py"],
        "greenlint check train.py (--no-cache)": [*greenlint, "check", "--no-cache", "train.py"],
        "greenlint check small.py (cache hit)": [*greenlint, "check", "small.py"],
        "greenlint check train.py (cache hit)": [*greenlint, "check", "train.py"],
    }


# (command, anchor, target ratio or None)
TARGETS = (
    ("greenlint --version", "python -c pass", 4.0),
    ("greenlint check small.py (--no-cache)", "python -c pass", 6.0),
    ("greenlint check train.py (--no-cache)", "python -c 'import libcst'", 2.0),
    ("greenlint check small.py (cache hit)", "python -c pass", None),
    ("greenlint check train.py (cache hit)", "python -c 'import libcst'", None),
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run. CPU time (user + system of the child) is far less
    disturbed than wall time by other processes on a shared machine; the targets are on wall time."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: findings
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu_before


def measure(runs: int, pythonpath: str | None = None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="greenlint-startup-"))
    # Bytecode caching as a user has it: pip compiles an installed package's .pyc files, and Python
    # writes them on first import of an editable install. An environment that sets
    # PYTHONDONTWRITEBYTECODE would make every run compile greenlint's sources again while libcst
    # (the anchor) loads its cached bytecode, so it is unset for the commands measured here.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")]))
    try:
        (workdir / "small.py").write_text(SMALL, encoding="utf-8")
        shutil.copyfile(DEMO_SCRIPT, workdir / "train.py")
        argvs = commands(workdir, pythonpath)
        for argv in argvs.values():  # one unmeasured round: file-system caches, .pyc files, the result cache
            run_once(argv, workdir, env)
        times: dict[str, list[float]] = {name: [] for name in argvs}
        cpu: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(runs):
            for name, argv in argvs.items():
                wall, used = run_once(argv, workdir, env)
                times[name].append(wall)
                cpu[name].append(used)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    rows = []
    for name, anchor, target in TARGETS:
        ratio = medians[name] / medians[anchor]
        rows.append({
            "command": name, "anchor": anchor, "median_s": medians[name], "anchor_median_s": medians[anchor],
            "ratio": ratio, "cpu_ratio": cpu_medians[name] / cpu_medians[anchor],
            "target": target, "met": None if target is None else ratio <= target,
        })
    return {
        "runs": runs, "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "medians_s": medians, "cpu_medians_s": cpu_medians, "samples_s": times, "cpu_samples_s": cpu, "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each command (default 15)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    parser.add_argument("--pythonpath", metavar="DIR", help="run `python -m greenlint` from DIR (another version)")
    args = parser.parse_args()
    result = measure(args.runs, args.pythonpath)
    print(f"median of {args.runs} runs each (measured wall time), Python {result['python']}, "
          f"{result['cpus']} CPUs, load average {result['load_average']}")
    print(f"  {'':<42} {'wall':>9} {'CPU':>9}")
    for name, median in result["medians_s"].items():
        print(f"  {name:<42} {median * 1000:6.1f} ms {result['cpu_medians_s'][name] * 1000:6.1f} ms")
    print()
    for row in result["rows"]:
        target = f"target <= {row['target']:.0f}x: {'met' if row['met'] else 'NOT met'}" if row["target"] else "no target"
        print(f"  {row['command']:<42} {row['ratio']:5.2f}x wall {row['cpu_ratio']:5.2f}x CPU  "
              f"{row['anchor']:<28} ({target}, on wall time)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if all(row["met"] is not False for row in result["rows"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
