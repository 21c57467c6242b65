"""Which files are "the user's": a frame's file outside the standard library, site-packages and
greenlint itself. The sampler and the run-length probe ask once per filename (cached)."""

from __future__ import annotations

import os
import sys
import sysconfig


_GREENLINT_DIRS = tuple(
    os.path.dirname(os.path.abspath(p)) + os.sep
    for p in (__file__, sys.modules["greenlint"].__file__ if "greenlint" in sys.modules else __file__)
)


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    prefixes = {os.path.abspath(paths[k]) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    for p in sys.path:
        if p.endswith(("site-packages", "dist-packages")):
            prefixes.add(os.path.abspath(p) + os.sep)
    return tuple(sorted(prefixes)) + _GREENLINT_DIRS


class UserFiles:
    """Decides once per filename whether a frame is in the user's own code."""

    def __init__(self) -> None:
        self._prefixes = _library_prefixes()
        self._cache: dict[str, str | None] = {}

    def resolve(self, filename: str) -> str | None:
        """The absolute path if the file is the user's, else None."""
        hit = self._cache.get(filename, 0)
        if hit != 0:
            return hit  # type: ignore[return-value]
        result: str | None = None
        if not filename.startswith("<"):
            path = os.path.abspath(filename)
            if not path.startswith(self._prefixes) and "site-packages" not in path and "dist-packages" not in path:
                result = path
        self._cache[filename] = result
        return result
