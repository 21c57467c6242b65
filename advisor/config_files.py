"""Which config files a script's lint result depends on, for the result cache (issue 13).

The rules read values from YAML/JSON/TOML files that a script opens by a literal path
(rules/analysis/config_values.py). Editing such a file must invalidate the cached result of the
scripts that read it, so the cache key of a file folds in the hashes of those files. This is a
cheap over-approximation done in the parent process before any parse: every string literal in the
source that ends in a config suffix, and every file under a Hydra `config_path` folder. Missing
candidates count too (as absent), so creating the file later also invalidates the result.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from greenlint.rules.analysis.config_data import (
    MAX_CONFIG_BYTES,
    candidates,
    project_root,
)

# Scanned only when one of these occurs in the bytes: most files pay one `in` test per marker.
_MARKERS = (b".yaml", b".yml", b".json", b".toml", b"config_path")
_CONFIG_LITERAL = re.compile(r"""["']([^"'\n\\]{1,300}\.(?:ya?ml|json|toml))["']""", re.IGNORECASE)
_HYDRA_PATH = re.compile(r"""config_path\s*=\s*["']([^"'\n\\]{1,300})["']""")
_MAX_HYDRA_FILES = 200
_MAX_DEPENDENCIES = 64


def may_read_config(data: bytes) -> bool:
    return any(marker in data for marker in _MARKERS)


def config_dependencies(path: Path, text: str, root: Path) -> list[Path]:
    """Config files (existing or not) inside `root` whose contents may change `path`'s findings."""
    folder = path.parent
    found: list[Path] = []
    for match in _CONFIG_LITERAL.finditer(text):
        for candidate in candidates(match.group(1), folder, root):
            if candidate not in found:
                found.append(candidate)
    for match in _HYDRA_PATH.finditer(text):
        for directory in candidates(match.group(1), folder, root):
            if not directory.is_dir():
                continue
            files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml"))
            found.extend(p for p in files[:_MAX_HYDRA_FILES] if p not in found)
    return found[: _MAX_DEPENDENCIES + _MAX_HYDRA_FILES]


def dependency_digest(path: Path, data: bytes) -> str:
    """A digest of the config files `path` may read ("" when it reads none), for the cache key."""
    if not may_read_config(data):
        return ""
    resolved = path.resolve()
    root = project_root(resolved.parent)
    dependencies = config_dependencies(resolved, data.decode("utf-8", "replace"), root)
    if not dependencies:
        return ""
    digest = hashlib.blake2b(digest_size=16)
    for dependency in dependencies:
        digest.update(str(dependency).encode())
        try:
            with dependency.open("rb") as handle:
                content = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError:
            digest.update(b"\x00absent")
            continue
        digest.update(hashlib.blake2b(content, digest_size=16).digest())
    return digest.hexdigest()
