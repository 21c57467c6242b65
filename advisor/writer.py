"""Writing a fixed file so that it is never left half-written.

The new bytes go to a temporary file in the same directory (same filesystem), are flushed to
disk, get the original's permission bits, and then replace the original with one atomic rename.
If anything fails or the user presses Ctrl-C before the rename, the original is untouched and
the temporary file is removed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Replace (or create) `path`; an existing file keeps its permission bits, a new one gets
    the umask's default, as `open(path, "w")` would give it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".greenlint-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
