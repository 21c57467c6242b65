#!/usr/bin/env python3
"""Per-rule strict precision and "pattern present" over every frozen blind verdict (run by hand).

    python bench/verdict_table.py [--codes GL101,GL401] [--set blind8]

Reads bench/blind*_judgements.toml (the eight blind corpora's verdicts, never edited after they
were given) and counts, per rule, the distinct findings judged (a finding judged again for a later
build counts once, with its first verdict): how many were worth acting on (`verdict`, the strict
standard) and how many point at a pattern that is really there (`present`). It is a decision aid
for the default set, not a substitute for `blind_score.py`: in labelled files the frozen labels, not
these verdicts, decide strict precision, and most label-decided findings (most true positives among
them) have no verdict here, so the "worth acting on" share understates a corpus report's strict
precision (blind8: 1/49 here, 9/57 in bench/blind8_report.md)."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BENCH = Path(__file__).resolve().parent


def distinct_verdicts(paths: list[Path]) -> list[dict]:
    """Every judged finding once: the first verdict given for (corpus, repo, path, cell, line, code)."""
    seen: dict[tuple, dict] = {}
    for path in paths:
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("finding", []):
            key = (path.name, entry["repo"], entry["path"], entry.get("cell"), entry["line"], entry["code"])
            seen.setdefault(key, entry)
    return list(seen.values())


def table(verdicts: list[dict]) -> list[tuple[str, int, int, int]]:
    """(code, judged, worth acting on, pattern present), most judged first."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in verdicts:
        row = counts[entry["code"]]
        row[0] += 1
        row[1] += bool(entry["verdict"])
        row[2] += bool(entry.get("present", entry["verdict"]))
    return sorted(((code, *row) for code, row in counts.items()), key=lambda r: (-r[1], r[0]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--codes", help="comma-separated rule codes to show (default: all)")
    ap.add_argument("--set", action="append", metavar="NAME",
                    help="only this corpus's verdicts (bench/NAME_judgements.toml); repeatable (default: every blind corpus)")
    args = ap.parse_args()
    if args.set:
        paths = [BENCH / f"{name}_judgements.toml" for name in args.set]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            ap.error(f"no such verdict file: {', '.join(missing)}")
    else:
        paths = sorted(BENCH.glob("blind*_judgements.toml"))
    rows = table(distinct_verdicts(paths))
    if args.codes:
        wanted = {c.strip().upper() for c in args.codes.split(",")}
        rows = [r for r in rows if r[0] in wanted]
    print(f"{len(paths)} verdict files")
    print("| rule | judged | worth acting on | pattern present |")
    print("|---|---|---|---|")
    total = [0, 0, 0]
    for code, judged, worth, present in rows:
        print(f"| {code} | {judged} | {worth / judged:.0%} ({worth}) | {present / judged:.0%} ({present}) |")
        total = [total[0] + judged, total[1] + worth, total[2] + present]
    if total[0]:
        print(f"| all | {total[0]} | {total[1] / total[0]:.0%} ({total[1]}) | {total[2] / total[0]:.0%} ({total[2]}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
