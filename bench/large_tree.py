#!/usr/bin/env python3
"""A large tree: 20,000 generated files and one 5 MB file, linted with bounded time and memory.

Run by hand (not in CI; tests/test_large_tree.py runs a small version under the `slow` marker):

    python bench/large_tree.py                      # 20,000 files + one 5 MB file
    python bench/large_tree.py --files 2000 --big-mb 5 --json /tmp/large-tree.json

What it does, in a fresh temporary directory:
1. writes --files small modules (90 % utility code no rule can match, 10 % GPU training scripts
   with findings and fixes) and one generated training module of --big-mb megabytes;
2. anchor: Python's own `compile()` of every file, in one process (the floor any linter pays to
   know the files parse), measured in the same run;
3. `greenlint check --no-cache --exit-zero --format json` (subprocess, default jobs) on the small
   files (run first, so that its peak memory is its own), then the big file alone, then both.

Reported: wall seconds (measured) and the ratio to the anchor, the peak resident memory of the
largest greenlint process (measured: ru_maxrss of the waited-for children, which includes the
pool's workers), the number of findings per code, and that no GL000 occurred.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

UTILITY = '''"""Helpers {i}."""
import os
import json


def load_{i}(path):
    with open(path) as handle:
        return json.load(handle)


def save_{i}(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


class Config{i}:
    def __init__(self, name="run-{i}", size={i}):
        self.name = name
        self.size = size

    def as_dict(self):
        return {{"name": self.name, "size": self.size}}
'''

TRAINING = '''import torch

model_{i} = torch.nn.Linear(8, 2).cuda()
optimizer_{i} = torch.optim.AdamW(model_{i}.parameters(), lr=1e-3)
for epoch in range(3):
    data = torch.load("train_{i}.pt")
    for x, y in data:
        optimizer_{i}.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model_{i}(x.cuda()), y.cuda())
        loss.backward()
        optimizer_{i}.step()
'''

BIG_BLOCK = '''
def train_{i}(model, loader):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for x, y in loader:
        opt.zero_grad(set_to_none=False)
        loss = model(x.cuda()).sum()
        loss.backward()
        opt.step()
    return {{"loss": loss.item(), "name": "run_{i}"}}
'''


def write_tree(root: Path, files: int, big_mb: float) -> tuple[list[Path], Path]:
    paths = []
    for i in range(files):
        folder = root / "small" / f"pkg{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"module_{i:05d}.py"
        path.write_text((TRAINING if i % 10 == 0 else UTILITY).format(i=i), encoding="utf-8")
        paths.append(path)
    (root / "big").mkdir()
    big = root / "big" / "generated_big.py"
    target = int(big_mb * 1_000_000)
    parts, size, i = ["import torch\n"], 0, 0
    while size < target:
        block = BIG_BLOCK.format(i=i)
        parts.append(block)
        size += len(block)
        i += 1
    big.write_text("".join(parts), encoding="utf-8")
    return paths, big


def compile_all(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    return time.perf_counter() - start


def run_greenlint(args: list[str], cwd: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "greenlint", "check", "--no-cache", "--exit-zero", "--isolated", "--format", "json", *args],
        cwd=cwd, capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    findings = json.loads(done.stdout) if done.stdout.strip().startswith("[") else []
    return {
        "exit": done.returncode,
        "seconds_measured": round(seconds, 2),
        # ru_maxrss of children is a running maximum: a later, smaller run shows the earlier peak
        "peak_rss_mb_measured": round(peak_kb / 1024, 1),
        "peak_grew": peak_kb > before,
        "codes": dict(Counter(f["code"] for f in findings)),
        "gl004": [f["message"] for f in findings if f["code"] == "GL004"],
        "stderr_tail": done.stderr[-2000:],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--big-mb", type=float, default=5.0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="greenlint-large-tree-") as directory:
        root = Path(directory)
        paths, big = write_tree(root, args.files, args.big_mb)
        total_bytes = sum(p.stat().st_size for p in paths)
        print(f"tree: {len(paths):,} files ({total_bytes / 1e6:.1f} MB) + {big.name} ({big.stat().st_size / 1e6:.1f} MB)", flush=True)
        anchor_tree = compile_all(paths)
        anchor_big = compile_all([big])
        print(f"anchor: compile() of every small file {anchor_tree:.2f} s, of the big file {anchor_big:.2f} s (measured)", flush=True)
        small = run_greenlint(["small"], root)
        print(f"greenlint, the {len(paths):,} small files: {small['seconds_measured']} s measured "
              f"({small['seconds_measured'] / anchor_tree:.1f}x their compile), peak RSS {small['peak_rss_mb_measured']} MB measured", flush=True)
        big_alone = run_greenlint(["big"], root)
        print(f"greenlint, the big file alone: {big_alone['seconds_measured']} s measured "
              f"({big_alone['seconds_measured'] / anchor_big:.1f}x its compile), peak RSS {big_alone['peak_rss_mb_measured']} MB measured "
              "(running maximum over every child so far)", flush=True)
        tree = run_greenlint(["."], root)
        print(f"greenlint, whole tree: {tree['seconds_measured']} s measured ({tree['seconds_measured'] / (anchor_tree + anchor_big):.1f}x "
              f"the compile anchor), peak RSS {tree['peak_rss_mb_measured']} MB measured (running maximum)", flush=True)
        print(f"findings by code: {tree['codes']}; GL000: {tree['codes'].get('GL000', 0)}", flush=True)
        result = {
            "python": sys.version.split()[0], "cpus": os.cpu_count(), "files": len(paths),
            "small_files_mb": round(total_bytes / 1e6, 1), "big_file_mb": round(big.stat().st_size / 1e6, 2),
            "anchor_compile_tree_s": round(anchor_tree, 2), "anchor_compile_big_s": round(anchor_big, 2),
            "small": small, "big_alone": big_alone, "tree": tree,
        }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
