"""Export the blind corpus at its pinned commits and run one greenlint build on it (stdlib only).

Used by bench/blind_score.py (`run` subcommand); see bench/BLIND_CORPUS.md for the protocol.
Every repository is exported at <commit> (`git ls-tree` + `git cat-file`) from the bare mirror that the `fetch`
tool made (`<mirror-root>/<owner>+<name>/repo`) into a temporary directory, given an empty `.git`
so that it looks like a fresh clone to greenlint's `.gitignore` handling and project-root search,
and linted from its root the way a user runs it there: `greenlint check --format json --exit-zero
--no-cache --isolated .` (default rule selection, no configuration file, no cache).

A repository whose mirror cannot be had (aladdinpersson/Machine-Learning-Collection: over the
fetch size limit) is taken from a directory the caller prepared by hand (`--tree repo=DIR`, see
BLIND_CORPUS.md); without one it is reported as missing, never replaced.
Fetched code is only ever written under the temporary directory, never into this project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

GREENLINT_ARGS = ["check", "--format", "json", "--exit-zero", "--no-cache", "--isolated", "."]


class SetupError(Exception):
    """The corpus, a mirror or the linter run is not usable (exit code 2)."""


@dataclass
class RepoRun:
    repo: str
    commit: str
    source: str  # "mirror" or the prepared directory
    seconds: float  # measured wall time of the greenlint run
    findings: int
    missing: str = ""  # why the repository could not be exported (then nothing was run)
    anchors: dict[str, int] = field(default_factory=dict)  # "path\tanchor" -> 1-based line


def repo_dir_name(repo: str) -> str:
    return repo.replace("/", "+")


def load_corpus(path: Path) -> list[dict]:
    return tomllib.load(path.open("rb"))["repo"]


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True)


def export_repo(repo: str, commit: str, mirror_root: Path, prepared: dict[str, Path], dest: Path) -> str:
    """Write the tree of `repo` at `commit` to `dest`; returns its source, or raises SetupError."""
    if repo in prepared:
        src = prepared[repo]
        if not src.is_dir():
            raise SetupError(f"{repo}: prepared tree {src} is not a directory")
        shutil.copytree(src, dest, symlinks=True)
        return str(src)
    git_dir = mirror_root / repo_dir_name(repo) / "repo"
    if not git_dir.is_dir():
        raise SetupError(f"{repo}: no mirror at {git_dir} (call the fetch tool for github:{repo})")
    if _git("-C", str(git_dir), "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise SetupError(f"{repo}: pinned commit {commit} is not in the mirror's history")
    dest.mkdir(parents=True)
    skipped = _write_tree(git_dir, commit, dest)
    return "mirror" + (f" (absent from the snapshot, not exported: {', '.join(skipped)})" if skipped else "")


def _write_tree(git_dir: Path, commit: str, dest: Path) -> list[str]:
    """Write every regular file of `commit` under `dest`; returns the paths that were skipped.

    `git archive` stops at the first blob the snapshot lacks (fetch leaves out files of 4 MiB and
    more: datasets, weights), so blobs are read one by one and an absent one is skipped and named.
    Symbolic links and submodules are skipped too (nothing outside `dest` is ever written)."""
    listing = _git("-C", str(git_dir), "ls-tree", "-r", "-z", commit)
    if listing.returncode != 0:
        raise SetupError(f"git ls-tree {commit} failed: {listing.stderr.decode(errors='replace')[:300]}")
    entries = []
    skipped = []
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, oid = meta.split()
        path = name.decode("utf-8", errors="surrogateescape")
        if kind != b"blob" or mode == b"120000" or ".." in Path(path).parts:
            skipped.append(path)
            continue
        entries.append((path, oid.decode(), mode == b"100755"))
    batch = subprocess.Popen(["git", "-C", str(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    try:
        for path, oid, executable in entries:
            batch.stdin.write(oid.encode() + b"\n")
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if len(header) != 3:  # "<oid> missing": a blob the snapshot left out
                skipped.append(path)
                continue
            data = batch.stdout.read(int(header[2]))
            batch.stdout.read(1)  # the newline after the content
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            if executable:
                target.chmod(0o755)
    finally:
        batch.stdin.close()
        batch.wait()
    return skipped


def greenlint_identity(executable: Path) -> dict[str, str]:
    """The build being measured: its --version and, for a source checkout, commit and dirtiness."""
    info = {"executable": str(executable)}
    version = subprocess.run([str(executable), "--version"], capture_output=True, text=True)
    info["version"] = (version.stdout or version.stderr).strip()
    # The build's rule codes: a miss of a category none of whose candidate rules exists in this
    # build is a "no-rule" miss (the scorer's cause), not a scope miss.
    listing = subprocess.run([str(executable), "rules", "--format", "json"], capture_output=True, text=True, check=False)
    try:
        info["rules"] = sorted({entry["code"] for entry in json.loads(listing.stdout)})
    except (json.JSONDecodeError, KeyError, TypeError):
        pass  # an older build without `rules --format json`: causes fall back to the category map
    python = executable.parent / "python"
    if python.exists():
        where = subprocess.run([str(python), "-c", "import greenlint, os; print(os.path.dirname(greenlint.__file__))"],
                               capture_output=True, text=True)
        source = where.stdout.strip()
        if source:
            info["package_dir"] = source
            head = _git("-C", source, "rev-parse", "HEAD")
            if head.returncode == 0:
                info["commit"] = head.stdout.decode().strip()
                dirty = _git("-C", source, "status", "--porcelain", "--untracked-files=no")
                info["dirty"] = "yes" if dirty.stdout.strip() else "no"
    return info


def _anchor_lines(tree: Path, wanted: list[tuple[str, str]]) -> dict[str, int]:
    found = {}
    for path, anchor in wanted:
        file = tree / path
        if not file.is_file():
            continue
        for number, text in enumerate(file.read_text(errors="replace").splitlines(), start=1):
            if anchor in text:
                found[f"{path}\t{anchor}"] = number
                break
    return found


def run_corpus(corpus: list[dict], executable: Path, out_dir: Path, mirror_root: Path,
               prepared: dict[str, Path], anchors: dict[str, list[tuple[str, str]]],
               keep: Path | None = None, extra_args: tuple[str, ...] = (), long_runs: bool = False) -> list[RepoRun]:
    """Export, lint and save `<out_dir>/findings/<owner>+<name>.json` per repository.

    `extra_args` are appended to the default `check` arguments (e.g. `--preview --min-impact low`
    for a diagnostic run of everything the build can report); the default selection uses none.
    `long_runs`: pass each repository's frozen `long_runs` patterns (the scripts its labeller said
    a user would name as long runs) as `--long-run` arguments."""
    (out_dir / "findings").mkdir(parents=True, exist_ok=True)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="greenlint-blind-"))
    runs: list[RepoRun] = []
    try:
        for entry in corpus:
            repo, commit = entry["repo"], entry["commit"]
            tree = work / repo_dir_name(repo)
            if tree.exists():
                shutil.rmtree(tree)
            try:
                source = export_repo(repo, commit, mirror_root, prepared, tree)
            except SetupError as exc:
                runs.append(RepoRun(repo, commit, "", 0.0, 0, missing=str(exc)))
                continue
            (tree / ".git").mkdir(exist_ok=True)  # a fresh clone's root, for root search and .gitignore
            start = time.perf_counter()
            named = [arg for p in entry.get("long_runs", []) for arg in ("--long-run", p)] if long_runs else []
            proc = subprocess.run([str(executable), *GREENLINT_ARGS, *extra_args, *named], cwd=tree, capture_output=True, text=True,
                                  env={**os.environ, "NO_COLOR": "1"})
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                raise SetupError(f"{repo}: greenlint exited {proc.returncode}: {proc.stderr[-2000:]}")
            try:
                findings = json.loads(proc.stdout or "[]")
            except json.JSONDecodeError as exc:
                raise SetupError(f"{repo}: greenlint printed no JSON ({exc}): {proc.stdout[:300]!r}") from exc
            (out_dir / "findings" / f"{repo_dir_name(repo)}.json").write_text(json.dumps(findings, indent=1) + "\n")
            runs.append(RepoRun(repo, commit, source, round(seconds, 2), len(findings),
                                anchors=_anchor_lines(tree, anchors.get(repo, []))))
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return runs
