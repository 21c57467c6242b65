#!/usr/bin/env python3
"""Cost of findings with fixes: does `check` time grow linearly with the file when findings grow
with it? (issue 17, item 11: it used to grow as findings x file size.)

Run by hand (not in CI):

    python bench/fix_cost.py                       # sizes 1, 2, 5, 10 x (400 lines, 100 findings)
    python bench/fix_cost.py --regenerate 1,2      # also the old way (regenerate the module per finding)
    python bench/fix_cost.py --json /tmp/fix-cost.json

Each file is generated: 4 lines per block, one fixable finding per block (GL405, an optimizer
without `fused=True`), so lines = 4 x findings. For each size the engine lints the text in this
process (`greenlint.engine.lint_text`, every rule enabled; parse, analysis, positions and every
finding's fix) and the best of --repeat runs is kept. The anchor is the smallest size, measured in
the same run: with linear growth the time ratio follows the size ratio (k); with cost per finding
proportional to the file it follows k squared.

`--regenerate` forces the fallback that regenerates, diffs and re-parses the whole module for each
finding (what every fix did before), for comparison on the sizes given.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

BLOCK = (
    "opt{i} = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
    "steps{i} = {i}\n"
    "name{i} = 'run-{i}'\n"
    "\n"
)


def generate(findings: int) -> str:
    header = "import torch\nmodel = torch.nn.Linear(4, 2).cuda()\n"
    return header + "".join(BLOCK.format(i=i) for i in range(findings))


def measure(text: str, repeat: int, regenerate: bool) -> tuple[float, int]:
    from greenlint.engine import lint_text
    from greenlint.rules import ALL_CODES

    enabled = frozenset(ALL_CODES)
    restore = None
    if regenerate:
        from greenlint import fix_edits

        restore = fix_edits.FileFixer.edits
        fix_edits.FileFixer.edits = lambda self, new_module: None  # type: ignore[method-assign]
    try:
        best, fixed = float("inf"), 0
        for _ in range(repeat):
            start = time.perf_counter()
            findings = lint_text(text, "train.py", enabled)
            best = min(best, time.perf_counter() - start)
            fixed = sum(f.fix is not None for f in findings)
    finally:
        if restore is not None:
            fix_edits.FileFixer.edits = restore  # type: ignore[method-assign]
    return best, fixed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=100, help="findings at size 1 (lines = 4 x findings + 2)")
    parser.add_argument("--sizes", default="1,2,5,10", help="multiples of the base size")
    parser.add_argument("--regenerate", default="", help="sizes to also measure the old way (slow)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    regenerate = {int(s) for s in args.regenerate.split(",") if s}
    rows = []
    anchor = None
    for k in sizes:
        text = generate(args.base * k)
        lines = text.count("\n")
        seconds, fixed = measure(text, args.repeat, regenerate=False)
        if anchor is None:
            anchor = (k, seconds)
        row = {
            "size": k, "lines": lines, "findings": args.base * k, "findings_with_fix": fixed,
            "seconds_measured": round(seconds, 4), "ratio_to_anchor_measured": round(seconds / anchor[1], 2),
            "linear_ratio": k / anchor[0], "quadratic_ratio": (k / anchor[0]) ** 2,
        }
        if k in regenerate:
            old_seconds, old_fixed = measure(text, 1, regenerate=True)
            row["regenerate_seconds_measured"] = round(old_seconds, 3)
            row["regenerate_findings_with_fix"] = old_fixed
        rows.append(row)
        extra = f"  regenerate-per-finding {row['regenerate_seconds_measured']:.2f} s" if k in regenerate else ""
        print(f"size {k:>3}: {lines:>6} lines {args.base * k:>6} findings ({fixed} with a fix)  "
              f"{seconds:8.3f} s measured  ratio {seconds / anchor[1]:6.2f} (linear {k / anchor[0]:g}, "
              f"quadratic {(k / anchor[0]) ** 2:g}){extra}", flush=True)
    result = {"python": sys.version.split()[0], "machine": platform.machine(), "repeat": args.repeat, "rows": rows}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
