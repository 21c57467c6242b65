#!/usr/bin/env python3
"""Two greenlint builds and TorchFix on one corpus, interleaved in the same run (run by hand).

    python bench/lint_ab.py CORPUS --before /path/venv-a/bin/python --after .venv/bin/python \
        --torchfix /tmp/tf-venv/bin/torchfix --rounds 3 --json /tmp/ab.json

Each round runs TorchFix (`--select ALL -j CPUS`), then each greenlint build cold
(`check --format json --exit-zero --no-cache`), so machine load hits all three alike. Reported:
the median wall and CPU seconds (user+sys of the process and its children, wait4) of each, the
ratios TorchFix / greenlint, the CPU seconds other processes used meanwhile, and whether the two
builds printed the same findings (their JSON output compared byte for byte).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint_throughput import run_timed  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--before", required=True, help="python of the baseline greenlint")
    ap.add_argument("--after", required=True, help="python of the greenlint under test")
    ap.add_argument("--torchfix", required=True, help="the torchfix executable (its own venv)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    corpus = args.corpus.resolve()
    cwd = Path(tempfile.mkdtemp(prefix="greenlint-ab-"))  # no config of the caller's is picked up
    cpus = str(os.cpu_count() or 1)
    commands = {"torchfix": [args.torchfix, "--select", "ALL", "-j", cpus, str(corpus)]}
    for name, python in (("before", args.before), ("after", args.after)):
        commands[name] = [python, "-m", "greenlint", "check", "--format", "json", "--exit-zero", "--no-cache", str(corpus)]
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    outputs: dict[str, set[str]] = {"before": set(), "after": set()}
    for number in range(args.rounds):
        for name, argv in commands.items():
            run = run_timed(argv, cwd, 7200)
            runs[name].append({"wall": run.wall, "cpu": run.cpu, "other_cpu": run.other_cpu, "rc": run.rc})
            if name in outputs:
                outputs[name].add(run.stdout)
            print(f"round {number + 1} {name}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, rc {run.rc}, "
                  f"other processes {run.other_cpu or 0:.1f} CPU s", flush=True)
    summary: dict = {"corpus": str(corpus), "rounds": args.rounds, "cpus": cpus}
    for name, rows in runs.items():
        summary[name] = {"wall_median": statistics.median(r["wall"] for r in rows),
                         "cpu_median": statistics.median(r["cpu"] for r in rows), "runs": rows}
    tf = summary["torchfix"]
    for name in ("before", "after"):
        summary[name]["torchfix_over_wall"] = tf["wall_median"] / summary[name]["wall_median"]
        summary[name]["torchfix_over_cpu"] = tf["cpu_median"] / summary[name]["cpu_median"]
    same = len(outputs["before"] | outputs["after"]) == 1
    summary["same_findings"] = same
    summary["findings"] = len(json.loads(next(iter(outputs["after"]))))
    for name in ("torchfix", "before", "after"):
        s = summary[name]
        extra = "" if name == "torchfix" else (f"  TorchFix/this: {s['torchfix_over_wall']:.1f}x wall, "
                                               f"{s['torchfix_over_cpu']:.1f}x CPU")
        print(f"{name:9} median {s['wall_median']:.2f} s wall, {s['cpu_median']:.2f} s CPU{extra}")
    print(f"same findings before/after (every run): {same}; findings: {summary['findings']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
