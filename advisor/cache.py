"""Results of earlier runs, keyed by everything a file's result depends on.

One JSON file per (greenlint build, settings) pair under the cache directory; in it, per absolute
path, a hash of the whole lint request (bytes, displayed path, enabled codes, per-file ignores) and
the findings. A missing, corrupt, wrong-shaped or unwritable cache is never fatal: the run just
lints again. The cache folder is greenlint's own: one that holds source files is refused
(cache_dir.py), and a `.gitignore` is written only into a folder greenlint itself creates.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from greenlint import __version__
from greenlint.cache_dir import GITIGNORE_TEXT, check_cache_dir
from greenlint.engine import LintRequest
from greenlint.findings import Finding, LintedFile

_FORMAT = 5  # 5: an entry may name the file's long-run evidence; 4: an impact may name long-run evidence; 3: findings carry their impact; 2: entries keyed by request_key (1 keyed by the bytes alone)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def request_key(request: LintRequest) -> str:
    """What a file's findings depend on besides greenlint's code and the settings file name: its
    bytes, the path it is shown as (test files are recognised by it, and findings carry it), the
    enabled codes and the codes ignored for it."""
    digest = hashlib.blake2b(request.data, digest_size=16)
    described = [request.display_path, sorted(request.enabled), list(request.ignored_prefixes)]
    digest.update(b"\0" + json.dumps(described, ensure_ascii=True).encode())
    return digest.hexdigest()


def _installed_fingerprint(package: str) -> str:
    """Which installation of a package this is, without importing it (importing libcst costs a
    quarter of a second, and a cache hit must not pay it): the location, size and mtime of its
    `_version.py` (or `__init__.py`), which change with every install."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return "absent"
    if spec is None or not spec.submodule_search_locations:
        return "absent"
    folder = Path(list(spec.submodule_search_locations)[0])
    for name in ("_version.py", "__init__.py"):
        try:
            stat = (folder / name).stat()
        except OSError:
            continue
        return f"{folder}:{stat.st_size}:{stat.st_mtime_ns}"
    return str(folder)


def code_fingerprint() -> str:
    """greenlint's version plus the size and mtime of its own modules, so that an edited (editable)
    install never reads results that older rules produced."""
    import greenlint
    import greenlint.profiler
    import greenlint.rules

    libcst_version = _installed_fingerprint("libcst")

    # the interpreter decides what compile() accepts (GL001), libcst what parses
    runtime = f"{__version__}|{platform.python_implementation()}|{platform.python_version()}|{libcst_version}"
    digest = hashlib.blake2b(runtime.encode(), digest_size=8)
    for package in (greenlint, greenlint.rules, greenlint.profiler):
        for directory in package.__path__:
            for path in sorted(Path(directory).rglob("*.py")):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, directory: Path, settings_fingerprint: str, origin: str | None = None) -> None:
        """Raises CacheDirError when `directory` is not a folder greenlint may use (see cache_dir.py)."""
        check_cache_dir(directory, origin)
        self.path = directory / f"results-{__version__}-{code_fingerprint()}-{settings_fingerprint}.json"
        self.directory = directory
        self._entries: dict[str, dict] = {}
        self._dirty = False
        self._load()

    def _load(self) -> None:
        try:
            with self.path.open("rb") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("format") == _FORMAT and isinstance(data.get("files"), dict):
            self._entries = data["files"]

    def get(self, path: Path, digest: str) -> list[Finding] | None:
        """The cached findings, or None for a miss; an entry of the wrong shape is a miss."""
        entry = self._entries.get(str(path))
        if not isinstance(entry, dict) or entry.get("hash") != digest or not isinstance(entry.get("findings"), list):
            return None
        if not all(_valid_finding(item) for item in entry["findings"]):
            return None
        long_run = entry.get("long_run", "")
        try:
            return LintedFile([Finding.from_json(item) for item in entry["findings"]], long_run if isinstance(long_run, str) else "")
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def put(self, path: Path, digest: str, findings: list[Finding]) -> None:
        if any(f.code in ("GL000", "GL004") for f in findings):
            return  # never cache greenlint's own failures, nor a result cut short by a limit
        entry: dict[str, object] = {"hash": digest, "findings": [f.to_json() for f in findings]}
        long_run = getattr(findings, "long_run", "")
        if long_run:
            entry["long_run"] = long_run
        self._entries[str(path)] = entry
        self._dirty = True

    def _remove_stale(self) -> None:
        """Drop results written by other greenlint builds for the same settings."""
        settings_part = self.path.name.rsplit("-", 1)[-1]
        for other in self.directory.glob(f"results-*-{settings_part}"):
            if other != self.path:
                try:
                    other.unlink()
                except OSError:
                    pass

    def save(self) -> bool:
        """Write the results; True when this created the cache folder (the caller may say where)."""
        if not self._dirty:
            return False
        created = False
        try:
            try:
                self.directory.mkdir(parents=True)
                created = True
                # only in a folder greenlint made: elsewhere `*` would hide the user's own files
                (self.directory / ".gitignore").write_text(GITIGNORE_TEXT)
            except FileExistsError:
                pass
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump({"format": _FORMAT, "files": self._entries}, handle)
                os.replace(temporary, self.path)
                self._remove_stale()
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only checkout still lints; it just does not remember
        return created


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_location(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"row", "column"} and all(_is_int(v) for v in value.values())


def _valid_edit(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("content"), str)
        and _valid_location(value.get("location"))
        and _valid_location(value.get("end_location"))
        and (value.get("cell") is None or _is_int(value.get("cell")))
    )


def _valid_finding(item: Any) -> bool:
    """The shape Finding.to_json writes; anything else (a hand-edited or damaged file) is a miss."""
    if not isinstance(item, dict):
        return False
    if not all(isinstance(item.get(key), str) for key in ("code", "message", "filename")):
        return False
    if not (_valid_location(item.get("location")) and _valid_location(item.get("end_location"))):
        return False
    if item.get("noqa_row") is not None and not _is_int(item["noqa_row"]):
        return False
    if "cell" in item and not _is_int(item["cell"]):
        return False
    if "impact" not in item or not (item["impact"] is None or _valid_impact(item["impact"])):
        return False
    fix = item.get("fix")
    if fix is None:
        return True
    return (
        isinstance(fix, dict)
        and isinstance(fix.get("message"), str)
        and fix.get("applicability") in ("safe", "unsafe")
        and isinstance(fix.get("edits"), list)
        and all(_valid_edit(edit) for edit in fix["edits"])
    )


def _valid_impact(value: Any) -> bool:
    """Impact.to_json's shape: a level, a range (or null: not estimated), a frequency and a basis."""
    if not isinstance(value, dict):
        return False
    if not all(isinstance(value.get(key), str) for key in ("level", "frequency", "basis")):
        return False
    if not isinstance(value.get("long_run", ""), str):
        return False
    saving = value.get("estimated_saving")
    if saving is None:
        return True
    return isinstance(saving, dict) and all(
        isinstance(saving.get(key), (int, float)) and not isinstance(saving.get(key), bool) for key in ("low", "high")
    )
