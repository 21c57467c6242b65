"""Which config files a script's lint result depends on, for the result cache (issue 13).

The rules read values from YAML/JSON/TOML files that a script opens by a literal path
(rules/analysis/config_values.py). Editing such a file must invalidate the cached result of the
scripts that read it, so the cache key of a file folds in the hashes of those files. This is a
cheap over-approximation done in the parent process before any parse (`config_dependencies`):
every string literal in the source that ends in a config suffix, every config path the project's
launch commands pass the script (`--config configs/a.yaml`), and every file under a Hydra
`config_path` folder. Missing candidates count too (as absent), so creating the file later also
invalidates the result. The rules read no config file outside that list (config_values.py checks),
so the key always covers what the result depends on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from greenlint.rules.config_data import (
    MAX_CONFIG_BYTES,
    config_dependencies,
    may_read_config,
    project_root,
)


def dependency_digest(path: Path, data: bytes, launched: tuple[str, ...] = ()) -> str:
    """A digest of the config files `path` may read ("" when it reads none), for the cache key;
    `launched`: the config paths the project's launch commands pass it."""
    if not launched and not may_read_config(data):
        return ""
    resolved = path.resolve()
    root = project_root(resolved.parent)
    dependencies = config_dependencies(resolved, data.decode("utf-8", "replace"), root, launched)
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
