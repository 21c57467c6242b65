"""Scratch copies of the user's project for `--measure-fixes`: the experiment changes copies,
never the user's files.

`copy_project` mirrors the working directory into a temporary folder: source files and small
data files are copied; version control, virtual environments and caches are left out (the
interpreter and its packages are the same as the user's); files over `LINK_OVER_BYTES`, and
everything once `COPY_BUDGET_BYTES` have been copied, are symbolic links to the originals, so a
project with large datasets is not duplicated (the script reads them as before; a script that
writes into such a file would write into the user's, as its own run does).

`fixed_text` applies one finding's autofix to one file's text, the way `check --fix` applies a
fix (the same edits, the same compile check), but only that one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from greenlint.edits import apply_edits
from greenlint.engine import lint_text
from greenlint.findings import Finding
from greenlint.source import DecodeError, decode_source
from greenlint.syntax_check import source_compiles

LINK_OVER_BYTES = 64 * 1024 * 1024
COPY_BUDGET_BYTES = 512 * 1024 * 1024
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache",
                          ".pytest_cache", ".ruff_cache", ".greenlint_cache", "node_modules", ".ipynb_checkpoints"})


class ScratchError(Exception):
    pass


@dataclass
class ProjectCopy:
    root: Path  # the copy of the working directory
    copied_bytes: int
    linked: list[str]  # files linked, not copied (relative paths)


def copy_project(source: Path, target: Path) -> ProjectCopy:
    """Mirror `source` (the working directory) into `target` (which must not exist)."""
    state = {"bytes": 0}
    linked: list[str] = []

    def copy(src: str, dst: str) -> str:
        size = os.path.getsize(src)
        if size > LINK_OVER_BYTES or state["bytes"] + size > COPY_BUDGET_BYTES:
            os.symlink(os.path.abspath(src), dst)
            linked.append(os.path.relpath(src, source))
            return dst
        state["bytes"] += size
        return shutil.copy2(src, dst)

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in SKIPPED_DIRS or n.endswith(".egg-info")}
        # a scratch folder inside the project (a TMPDIR there) must not copy itself
        return skipped | {n for n in names if Path(folder, n).resolve() == target.resolve().parent}

    try:
        shutil.copytree(source, target, symlinks=True, ignore=ignore, copy_function=copy)
    except (OSError, shutil.Error) as exc:
        raise ScratchError(f"cannot copy the project to a scratch folder: {exc}") from None
    return ProjectCopy(target, state["bytes"], linked)


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def find_fixable(text: str, display_path: str, code: str, line: int, message: str) -> Finding | None:
    """The finding of rule `code` at `line` (the same message when several are there) with a fix."""
    found = [f for f in lint_text(text, display_path, frozenset({code}))
             if f.code == code and f.location.row == line and f.fix is not None]
    same = [f for f in found if f.message == message]
    return (same or found or [None])[0]


def fixed_bytes(data: bytes, display_path: str, code: str, line: int, message: str) -> bytes | str:
    """The file's bytes with only that finding's fix applied (in the file's own encoding), or why
    that cannot be done."""
    try:
        source = decode_source(data)
        text = source.text
    except DecodeError as exc:
        return f"cannot decode {display_path}: {exc}"
    finding = find_fixable(text, display_path, code, line, message)
    if finding is None:
        return f"{code} at {display_path}:{line} has no autofix here any more (the file changed since the profile?)"
    try:
        new = apply_edits(text, list(finding.fix.edits))  # type: ignore[union-attr]
    except ValueError as exc:
        return f"the {code} fix does not apply: {exc}"
    if new == text:
        return f"the {code} fix changes nothing"
    if not source_compiles(new):
        return f"the {code} fix would leave {display_path} not compiling"
    try:
        return new.encode(source.encoding)
    except UnicodeEncodeError:
        return f"the fixed text cannot be written in {display_path}'s encoding ({source.encoding})"


def write_variant(copy_root: Path, relative: str, data: bytes) -> None:
    """Replace one file of a scratch copy (a real file, never through a link to the user's)."""
    path = copy_root / relative
    if not inside(path, copy_root) or path.is_symlink():
        raise ScratchError(f"{relative} is not a file of the scratch copy")
    path.write_bytes(data)
