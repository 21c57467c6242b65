"""Whether a folder may hold greenlint's result cache.

The cache folder gets a `.gitignore` of `*` so that git and greenlint's own discovery skip it. Put
into a source folder (`--cache-dir .`, `cache-dir = "src"`), that file hid every source file from
git and made every later run lint nothing and pass. So a folder that holds source files, or that
contains the current directory, is refused (exit 2 through CacheDirError), and the `.gitignore` is
only ever written into a folder greenlint creates (cache.py).
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from greenlint.reporters.escaping import display_text

GITIGNORE_TEXT = "# Created by greenlint\n*\n"
SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
# Entries looked at before giving up: a cache folder has a handful, a source tree is found fast.
_SCAN_LIMIT = 20_000


class CacheDirError(Exception):
    pass


def check_cache_dir(directory: Path, origin: str | None = None) -> None:
    """Raise CacheDirError if `directory` exists and is not a folder of greenlint's own."""
    try:
        resolved = directory.resolve()
        if not resolved.is_dir():
            return  # greenlint will create it (or fail to, which only costs the cache)
        cwd = Path.cwd().resolve()
    except OSError:
        return
    example = _first_source_file(resolved)
    if example is not None:
        _refuse(resolved, f"it holds source files ({display_text(str(example.relative_to(resolved)))})", origin)
    if resolved == cwd or resolved in cwd.parents:
        _refuse(resolved, "it contains the current directory, where the source files are", origin)


def _refuse(directory: Path, reason: str, origin: str | None) -> None:
    where = f" (set by {display_text(origin)})" if origin else ""
    message = (f"cannot use {display_text(str(directory))} as the cache directory{where}: {reason}; "
               "the cache needs a folder of its own, such as the default .greenlint_cache")
    if _greenlint_gitignore(directory):
        message += (f". {display_text(str(directory / '.gitignore'))} was written by an earlier greenlint "
                    "and hides this folder from git and from greenlint: delete it")
    raise CacheDirError(message)


def _greenlint_gitignore(directory: Path) -> bool:
    try:
        return (directory / ".gitignore").read_text(encoding="utf-8", errors="replace") == GITIGNORE_TEXT
    except OSError:
        return False


def _first_source_file(root: Path) -> Path | None:
    """A Python file or notebook under `root` (breadth first, so a shallow one is named), or None."""
    queue = deque([root])
    seen = 0
    while queue and seen < _SCAN_LIMIT:
        directory = queue.popleft()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    seen += 1
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            queue.append(Path(entry.path))
                        elif entry.name.endswith(SOURCE_SUFFIXES) and entry.is_file():
                            return Path(entry.path)
                    except OSError:
                        continue
        except OSError:
            continue
    return None
