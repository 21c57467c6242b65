"""Results of earlier runs, keyed by file content hash + settings + greenlint version.

One JSON file per (version, settings) pair under the cache directory. A missing, corrupt or
unwritable cache is never fatal: the run just lints everything again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from greenlint import __version__
from greenlint.findings import Finding

_FORMAT = 1


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def code_fingerprint() -> str:
    """greenlint's version plus the size and mtime of its own modules, so that an edited (editable)
    install never reads results that older rules produced."""
    import greenlint
    import greenlint.profiler
    import greenlint.rules

    digest = hashlib.blake2b(__version__.encode(), digest_size=8)
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
    def __init__(self, directory: Path, settings_fingerprint: str) -> None:
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
        entry = self._entries.get(str(path))
        if not isinstance(entry, dict) or entry.get("hash") != digest:
            return None
        try:
            return [Finding.from_json(item) for item in entry["findings"]]
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, path: Path, digest: str, findings: list[Finding]) -> None:
        if any(f.code in ("GL000", "GL004") for f in findings):
            return  # never cache greenlint's own failures, nor a result cut short by a limit
        self._entries[str(path)] = {"hash": digest, "findings": [f.to_json() for f in findings]}
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

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by greenlint\n*\n")
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
