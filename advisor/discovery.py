"""Which files `greenlint check PATHS` lints: Python files under the paths, minus excludes and
what `.gitignore` files ignore. A file named explicitly on the command line is always linted."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint.cache_dir import GITIGNORE_TEXT, SOURCE_SUFFIXES
from greenlint.config import Settings
from greenlint.reporters.escaping import display_text

if TYPE_CHECKING:
    import pathspec

# pathspec is imported where a pattern is first compiled: a run on files named on the command line
# (no walk, no --force-exclude) compiles none, and need not pay for the import

PYTHON_SUFFIXES = (".py", ".ipynb")


class DiscoveryError(Exception):
    pass


@dataclass(frozen=True)
class _IgnoreFile:
    base: Path
    spec: pathspec.PathSpec


def _is_file(path: Path) -> bool:
    """Path.is_file, except that a folder we may not search counts as "no such file" (Python
    before 3.14 raises PermissionError there)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _load_ignore_file(path: Path, base: Path) -> _IgnoreFile | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _IgnoreFile(base, _gitignore_spec(lines))


def _gitignore_spec(lines: list[str]) -> pathspec.PathSpec:
    """A `.gitignore`'s patterns, the last matching one deciding, as git decides for each path it
    meets on its walk. Not pathspec's GitIgnoreSpec: it lets a file pattern (`*`) beat a later
    negated directory pattern (`!*/`), so the common whitelist `*`, `!*/`, `!*.*` hid every folder
    (blind32: qiuqiangkong/audioset_tagging_cnn linted 0 files where git tracks them all). git's
    other rule, that nothing inside an ignored folder comes back, holds because the walk never
    enters an ignored folder."""
    import pathspec

    try:
        return pathspec.PathSpec.from_lines("gitignore", lines)
    except KeyError:  # pathspec before 1.0 names the same patterns "gitwildmatch"
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def _ancestor_ignore_files(directory: Path) -> list[_IgnoreFile]:
    """`.gitignore` files above `directory`, up to the repository root (outermost first)."""
    found: list[_IgnoreFile] = []
    for parent in directory.parents:
        ignore = _load_ignore_file(parent / ".gitignore", parent) if _is_file(parent / ".gitignore") else None
        if ignore:
            found.append(ignore)
        if _exists(parent / ".git"):
            exclude = parent / ".git" / "info" / "exclude"
            if _is_file(exclude):
                info = _load_ignore_file(exclude, parent)
                if info:
                    found.append(info)
            break
    found.reverse()
    return found


def _is_gitignored(path: Path, is_dir: bool, ignores: list[_IgnoreFile]) -> bool:
    ignored = False
    for ignore in ignores:
        try:
            relative = path.relative_to(ignore.base).as_posix()
        except ValueError:
            continue
        result = ignore.spec.check_file(relative + "/" if is_dir else relative)
        if result.include is not None:
            ignored = result.include
    return ignored


class _Excluder:
    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.root = root or settings.project_root  # what patterns with a slash are relative to
        self._excludes = settings.all_excludes
        self._spec: pathspec.GitIgnoreSpec | None = None

    @property
    def spec(self) -> pathspec.GitIgnoreSpec:
        if self._spec is None:
            import pathspec

            self._spec = pathspec.GitIgnoreSpec.from_lines(self._excludes)
        return self._spec

    def excluded(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            relative = path.name
        if self.spec.match_file(relative + "/" if is_dir else relative):
            return True
        return bool(self.spec.match_file(path.name + "/" if is_dir else path.name))


def discover(
    paths: list[str], settings: Settings, force_exclude: bool = False, skipped: list[str] | None = None
) -> list[Path]:
    """Absolute paths of the files to lint, sorted and without duplicates. A file named
    explicitly is linted even if excluded, unless `force_exclude` (as in ruff); so is a folder named
    explicitly, whose files the excludes then judge from the folder down. A folder that
    cannot be read is skipped; a message saying so is appended to `skipped` (if given), as is one
    about a `.gitignore` an earlier greenlint left among source files."""
    excluder = _Excluder(settings)
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        try:
            path.stat()
        except FileNotFoundError:
            raise DiscoveryError(f"{raw}: no such file or directory") from None
        except OSError as exc:
            raise DiscoveryError(f"{raw}: cannot access: {exc.strerror or exc}") from None
        path = path.resolve()
        if _is_file(path):
            if force_exclude and _explicit_file_excluded(path, settings, excluder):
                continue
            found.add(path)
            continue
        ignores = _ancestor_ignore_files(path) if settings.respect_gitignore else []
        walker = excluder
        if not force_exclude and (excluder.excluded(path, True) or _is_gitignored(path, True, ignores)):
            # a folder named explicitly inside an excluded or git-ignored one (an installed package
            # under site-packages, a vendored copy): linted as asked, as ruff does. The excludes
            # still apply below it, matched from the folder itself; the ignore files above it,
            # which ignore the folder as a whole, do not.
            walker, ignores = _Excluder(settings, root=path), []
        _walk(path, settings, walker, ignores, found, skipped if skipped is not None else [])
    return sorted(found)


def _explicit_file_excluded(path: Path, settings: Settings, excluder: _Excluder) -> bool:
    """Whether a file named on the command line would have been skipped by a directory walk."""
    try:
        directories = path.relative_to(settings.project_root).parts[:-1]
    except ValueError:
        directories = ()
    current = settings.project_root
    for part in directories:
        current = current / part
        if excluder.excluded(current, True):
            return True
    if excluder.excluded(path, False):
        return True
    return settings.respect_gitignore and _is_gitignored(path, False, _ancestor_ignore_files(path))


def _walk(
    root: Path, settings: Settings, excluder: _Excluder, ignores: list[_IgnoreFile], found: set[Path], skipped: list[str]
) -> None:
    stack = [(root, ignores)]
    while stack:
        directory, inherited = stack.pop()
        try:
            with os.scandir(directory) as iterator:
                entries = list(iterator)
        except OSError as exc:
            # one unreadable folder (permissions, a vanished mount) costs that folder, not the run
            shown = display_text(_shown(directory))
            skipped.append(f"{shown}: cannot read the folder: {exc.strerror or exc}; skipped")
            continue
        local = list(inherited)
        if settings.respect_gitignore and any(entry.name == ".gitignore" for entry in entries):
            if _misplaced_cache_gitignore(directory, entries):
                skipped.append(
                    f"{display_text(_shown(directory))}.gitignore was written by an earlier greenlint that used this "
                    "folder of source files as its cache directory; it hides every file here from git and from "
                    "greenlint, so greenlint does not apply it: delete it"
                )
            else:
                ignore = _load_ignore_file(directory / ".gitignore", directory)
                if ignore:
                    local.append(ignore)
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file()
            except OSError:
                continue
            if is_dir:
                if excluder.excluded(path, True) or _is_gitignored(path, True, local):
                    continue
                stack.append((path, local))
            elif is_file and path.suffix in PYTHON_SUFFIXES:
                if excluder.excluded(path, False) or _is_gitignored(path, False, local):
                    continue
                found.add(path)


def _misplaced_cache_gitignore(directory: Path, entries: list[os.DirEntry]) -> bool:
    """greenlint's own cache `.gitignore` (`*`) beside source files: earlier versions wrote it into
    whatever folder `cache-dir` named, and then every run linted nothing and passed."""
    if not any(entry.name.endswith(SOURCE_SUFFIXES) for entry in entries):
        return False
    try:
        return (directory / ".gitignore").read_text(encoding="utf-8", errors="replace") == GITIGNORE_TEXT
    except OSError:
        return False


def _shown(directory: Path) -> str:
    try:
        return directory.relative_to(Path.cwd().resolve()).as_posix() + "/"
    except (ValueError, OSError):
        return str(directory)
