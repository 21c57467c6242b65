#!/usr/bin/env python3
"""Whole-repository precision run of the rule catalog (docs/precision.md).

Unlike bench/precision.py (labelled files, precision *and* recall for the first four rules), this
script lints whole public repositories with every rule and scores the findings against hand
judgements, so it measures precision only.

Steps (each a subcommand):
  export  export every repository of bench/precision_corpus.toml at its commit from the local
          mirror into DEST/<owner>+<name>/ (only *.py and *.ipynb; nothing lands in this repo)
  check   run `greenlint check` with all rule families on DEST and write the JSON findings
  sample  list, per rule, every finding or a seeded random sample of N, with a few lines of
          context, for judging by hand
  score   match the findings to bench/precision_judgements.toml and print the per-rule table;
          a sampled finding without a judgement is an error

Stdlib only. Examples:
  python bench/precision_corpus.py export --dest /tmp/gl_corpus
  python bench/precision_corpus.py check --dest /tmp/gl_corpus --out /tmp/gl_findings.json
  python bench/precision_corpus.py sample --dest /tmp/gl_corpus --findings /tmp/gl_findings.json
  python bench/precision_corpus.py score --findings /tmp/gl_findings.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from precision import find_git_dir  # noqa: E402  (sibling bench script, not a package)

DEFAULT_CORPUS = HERE / "precision_corpus.toml"
DEFAULT_JUDGEMENTS = HERE / "precision_judgements.toml"
DEFAULT_MIRROR_ROOT = Path("/work/.mirror")
SELECT = "GL1,GL2,GL3,GL4,GL5,GL6"
SAMPLE_SIZE = 30
SEED = 2026
SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class Repo:
    name: str
    commit: str

    @property
    def folder(self) -> str:
        return self.name.replace("/", "+")


@dataclass(frozen=True)
class Finding:
    code: str
    path: str  # relative to DEST, POSIX
    line: int  # row in the file, or in the cell for notebooks
    cell: int | None
    message: str

    @property
    def key(self) -> tuple[str, str, int, int | None]:
        return (self.code, self.path, self.line, self.cell)


def load_corpus(path: Path) -> list[Repo]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [Repo(r["name"], r["commit"]) for r in data["repo"]]


# --------------------------------------------------------------------------- export

def export(repos: list[Repo], mirror_root: Path, dest: Path) -> list[tuple[Repo, int, int]]:
    """Write the Python files and notebooks of each repository at its commit under DEST; return
    (repo, files written, files listed but absent from the mirror: fetch leaves out the largest
    blobs, which are never Python sources here but can be notebooks with big outputs)."""
    counts = []
    for repo in repos:
        git_dir = find_git_dir(mirror_root, repo.name)
        if git_dir is None:
            raise SystemExit(f"no mirror for {repo.name} under {mirror_root} (fetch it first)")
        git = ["git", "--git-dir", str(git_dir)]
        listing = subprocess.run([*git, "ls-tree", "-r", "-z", repo.commit], capture_output=True, check=False)
        if listing.returncode != 0:
            raise SystemExit(f"{repo.name}@{repo.commit}: {listing.stderr.decode(errors='replace').strip()}")
        wanted = []  # (blob id, path)
        for entry in listing.stdout.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.partition(b"\t")
            mode, kind, blob = meta.split()
            path = name.decode("utf-8", errors="surrogateescape")
            if kind == b"blob" and mode != b"120000" and path.endswith(SUFFIXES):
                wanted.append((blob.decode(), path))
        batch = subprocess.run([*git, "cat-file", "--batch"], input="".join(f"{b}\n" for b, _ in wanted).encode(),
                               capture_output=True, check=True).stdout
        written = absent = 0
        pos = 0
        for blob, path in wanted:
            header_end = batch.index(b"\n", pos)
            header = batch[pos:header_end].split()
            if header[-1] == b"missing":
                absent += 1
                pos = header_end + 1
                continue
            size = int(header[2])
            data = batch[header_end + 1: header_end + 1 + size]
            pos = header_end + 1 + size + 1  # the content is followed by a newline
            target = dest / repo.folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
        counts.append((repo, written, absent))
    return counts


# --------------------------------------------------------------------------- check

def run_check(dest: Path, out: Path, preview: bool) -> None:
    argv = [sys.executable, "-m", "greenlint", "check", ".", "--format", "json", "--select", SELECT,
            "--no-cache", "--exit-zero", "--isolated", "--output", str(out.resolve())]
    if preview and _has_preview_flag():
        argv.append("--preview")
    print("+ (cd", dest, "&&", " ".join(argv[2:]) + ")", file=sys.stderr)
    subprocess.run(argv, cwd=dest, check=True)


def _has_preview_flag() -> bool:
    """Whether this greenlint has preview rules (`--preview`); older versions run every rule."""
    usage = subprocess.run([sys.executable, "-m", "greenlint", "check", "--help"], capture_output=True, text=True)
    return "--preview" in usage.stdout


def load_findings(path: Path) -> list[Finding]:
    data = json.loads(path.read_text())
    found = []
    for f in data:
        name = f["filename"].removeprefix("./")
        found.append(Finding(f["code"], name, int(f["location"]["row"]), f.get("cell"), f["message"]))
    return found


# --------------------------------------------------------------------------- sample

def sample(findings: list[Finding], size: int, seed: int) -> dict[str, list[Finding]]:
    """Per rule: all findings, or the `size` findings that come first when ordered by a SHA-256 of
    (seed, code, path, cell, line). That is a uniform random sample fixed by the seed, and it stays
    stable when a rule change removes some findings: the rest of the sample does not move."""
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_rule[f.code].append(f)
    chosen = {}
    for code in sorted(by_rule):
        items = by_rule[code]
        if len(items) > size:
            items = sorted(items, key=lambda f: _draw(seed, f))[:size]
        chosen[code] = sorted(items, key=lambda f: (f.path, f.cell or 0, f.line))
    return chosen


def _draw(seed: int, f: Finding) -> str:
    return hashlib.sha256(f"{seed}:{f.code}:{f.path}:{f.cell}:{f.line}".encode()).hexdigest()


def _context(dest: Path, f: Finding, radius: int) -> str:
    path = dest / f.path
    try:
        if f.cell is not None:
            cells = json.loads(path.read_text())["cells"]  # greenlint numbers all cells from 1
            source = cells[f.cell - 1]["source"] if 0 < f.cell <= len(cells) else ""
            lines = ("".join(source) if isinstance(source, list) else source).splitlines()
        else:
            lines = path.read_text(errors="replace").splitlines()
    except (OSError, ValueError, KeyError, IndexError):
        return "    (context unavailable)"
    lo, hi = max(f.line - radius, 1), min(f.line + radius, len(lines))
    return "\n".join(f"    {'>' if i == f.line else ' '}{i:5} {lines[i - 1]}" for i in range(lo, hi + 1))


# --------------------------------------------------------------------------- score

@dataclass(frozen=True)
class Judgement:
    verdict: str  # "tp" or "fp"
    reason: str


def load_judgements(path: Path) -> dict[tuple[str, str, int, int | None], Judgement]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    out = {}
    for j in data.get("finding", []):
        if j["verdict"] not in ("tp", "fp"):
            raise SystemExit(f"{path}: verdict must be tp or fp: {j}")
        out[(j["code"], j["path"], int(j["line"]), j.get("cell"))] = Judgement(j["verdict"], j.get("reason", ""))
    return out


def score(findings: list[Finding], judgements, size: int, seed: int) -> list[dict]:
    total = defaultdict(int)
    for f in findings:
        total[f.code] += 1
    rows, missing = [], []
    for code, items in sample(findings, size, seed).items():
        tp = fp = 0
        for f in items:
            j = judgements.get(f.key)
            if j is None:
                missing.append(f)
            elif j.verdict == "tp":
                tp += 1
            else:
                fp += 1
        rows.append({"code": code, "findings": total[code], "judged": tp + fp, "tp": tp, "fp": fp,
                     "precision": tp / (tp + fp) if tp + fp else None})
    if missing:
        for f in missing:
            print(f"unjudged: {f.code} {f.path}:{f.line}" + (f" cell {f.cell}" if f.cell else ""), file=sys.stderr)
        raise SystemExit(f"{len(missing)} sampled findings have no judgement")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("export", "check", "sample", "score"))
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--mirror-root", type=Path, default=DEFAULT_MIRROR_ROOT)
    ap.add_argument("--dest", type=Path, default=Path("/tmp/gl_corpus"))
    ap.add_argument("--findings", "--out", dest="findings", type=Path, default=Path("/tmp/gl_findings.json"))
    ap.add_argument("--judgements", type=Path, default=DEFAULT_JUDGEMENTS)
    ap.add_argument("--size", type=int, default=SAMPLE_SIZE)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--rule", help="sample: only this code")
    ap.add_argument("--context", type=int, default=4, help="sample: lines of context each side")
    ap.add_argument("--no-preview", action="store_true", help="check: leave preview rules off")
    args = ap.parse_args(argv)

    if args.command == "export":
        for repo, n, absent in export(load_corpus(args.corpus), args.mirror_root, args.dest):
            print(f"| {repo.name} | `{repo.commit[:12]}` | {n} | {absent} |")
    elif args.command == "check":
        run_check(args.dest, args.findings, preview=not args.no_preview)
    elif args.command == "sample":
        for code, items in sample(load_findings(args.findings), args.size, args.seed).items():
            if args.rule and code != args.rule:
                continue
            for f in items:
                where = f"{f.path}:{f.line}" + (f" cell {f.cell}" if f.cell else "")
                print(f"## {code} {where}\n    {f.message}\n{_context(args.dest, f, args.context)}\n")
    else:
        rows = score(load_findings(args.findings), load_judgements(args.judgements), args.size, args.seed)
        print("| rule | findings | judged | TP | FP | precision |\n|---|---|---|---|---|---|")
        for r in rows:
            p = "n/a" if r["precision"] is None else f"{100 * r['precision']:.0f} %"
            print(f"| {r['code']} | {r['findings']} | {r['judged']} | {r['tp']} | {r['fp']} | {p} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
