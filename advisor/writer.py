"""Writing a file so that it is never left half-written, and a fix never overwrites anything else.

`atomic_write` (reports, profiles): the new bytes go to a temporary file in the same directory
(same filesystem), are flushed to disk, get the original's permission bits, owner and group, and
replace the original with one atomic rename. If anything fails or the user presses Ctrl-C before
the rename, the original is untouched and the temporary file is removed.

`write_fix` (`check --fix`) adds what a fix needs on top, because minutes may pass between reading
a file and writing its fix:
- the file must still hold exactly the bytes the fix was computed from (a content hash, then
  size, mtime and inode once more just before the rename): an edit saved meanwhile is never lost;
- a read-only file (no write bit, or not writable by this user) is skipped, as ruff does;
- a symbolic link is written through: its target gets the fix, the link stays a link;
- a file with several hard links is rewritten in place, so every link sees the fix; the new bytes
  are staged in a temporary file first and the old bytes are put back if the in-place write fails.

Temporary files are named `.<name>.<host>-<pid>-<random>.greenlint-tmp`. A `kill -9` can still
leave one behind; `remove_stale_temporaries` deletes those whose process is gone on this host.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import signal
import socket
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TEMP_SUFFIX = ".greenlint-tmp"
# The host part keeps a run on one machine from judging the process of another one sharing the
# folder (NFS): only temporaries of this host are ever removed.
_HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")


class FileChanged(Exception):
    """The file is no longer what the fix was computed from; it was not written."""


class ReadOnlyFile(Exception):
    """The user made the file read-only; it was not written."""


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Seen:
    """What the file looked like when its current bytes were read; compared again just before
    the rename, so that a save in between is noticed."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> _Seen:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _temporary(directory: Path, name: str) -> tuple[int, str]:
    """Create the temporary file exclusively (O_EXCL, 0600), never following a planted link."""
    for _attempt in range(100):
        path = directory / f".{name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            continue
        return fd, str(path)
    raise FileExistsError(f"cannot create a temporary file in {directory}")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _keep_owner(temporary: str, st: os.stat_result) -> None:
    """Give the new file the original's owner and group. Only root can give a file away; a user
    can still set the group to one of theirs. What cannot be kept is left as the OS made it."""
    if not hasattr(os, "chown"):
        return
    for uid, gid in ((st.st_uid, st.st_gid), (-1, st.st_gid)):
        try:
            os.chown(temporary, uid, gid)
            return
        except OSError:
            continue


def _filled_temporary(path: Path, data: bytes, mode: int, st: os.stat_result | None) -> str:
    """A new temporary file beside `path` holding `data`, on disk (fsync), with `mode` and (when
    `st` is the file it will replace) that file's owner and group; removed again on any failure."""
    fd, temporary = _temporary(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        if st is not None:
            _keep_owner(temporary, st)
    except BaseException:
        _unlink_quietly(temporary)
        raise
    return temporary


def atomic_write(path: Path, data: bytes) -> None:
    """Replace (or create) `path`; an existing file keeps its permission bits, owner and group, a
    new one gets the umask's default, as `open(path, "w")` would give it."""
    try:
        st: os.stat_result | None = path.stat()
    except FileNotFoundError:
        st = None
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temporary = _filled_temporary(path, data, mode, st)
    try:
        os.replace(temporary, path)
    except BaseException:
        _unlink_quietly(temporary)
        raise


def is_read_only(st: os.stat_result, path: Path) -> bool:
    """No write bit at all, or none for this user. Root can write anything, so the bits decide."""
    return not (st.st_mode & 0o222) or not os.access(path, os.W_OK)


def write_fix(path: Path, expected_digest: str, data: bytes) -> None:
    """Write a fix to `path` if it still holds the bytes whose content hash is `expected_digest`.

    Raises FileChanged or ReadOnlyFile (nothing written), or OSError (nothing written either)."""
    target = Path(os.path.realpath(path))  # a symbolic link is written through to its target
    st = os.stat(target)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(0, "not a regular file")
    if is_read_only(st, target):
        raise ReadOnlyFile(str(path))
    with open(target, "rb") as handle:
        current = handle.read()
        seen = _Seen.of(os.fstat(handle.fileno()))
    if content_digest(current) != expected_digest:
        raise FileChanged(str(path))
    if st.st_nlink > 1:
        _write_in_place(target, seen, current, data)
    else:
        _replace(target, seen, data, st)


def _unchanged_since(target: Path, seen: _Seen) -> None:
    try:
        now = _Seen.of(os.stat(target))
    except FileNotFoundError:
        raise FileChanged(str(target)) from None
    if now != seen:
        raise FileChanged(str(target))


def _replace(target: Path, seen: _Seen, data: bytes, st: os.stat_result) -> None:
    temporary = _filled_temporary(target, data, stat.S_IMODE(st.st_mode), st)
    try:
        before_replace(target)
        # The last look: a save between reading and here aborts the write. (A save in the few
        # microseconds between this stat and the rename cannot be detected by any rename-based
        # writer; editors that save by rename are not affected, they replace our file after.)
        _unchanged_since(target, seen)
        os.replace(temporary, target)
    except BaseException:
        _unlink_quietly(temporary)
        raise


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ctrl-C waits until the in-place write is complete (only the main thread gets SIGINT)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_in_place(target: Path, seen: _Seen, old: bytes, data: bytes) -> None:
    """Several hard links share this inode: a rename would split them, so the bytes are written
    into the file itself. Staging them in a temporary file first proves the disk takes them;
    if the in-place write still fails, the old bytes are written back."""
    fd, temporary = _temporary(target.parent, target.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        before_replace(target)
        _unchanged_since(target, seen)
        with _sigint_deferred(), open(target, "r+b") as handle:
            try:
                if len(data) > len(old) and hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(handle.fileno(), 0, len(data))
                handle.write(data)
                handle.truncate(len(data))
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                handle.seek(0)
                handle.write(old)
                handle.truncate(len(old))
                handle.flush()
                raise
    finally:
        _unlink_quietly(temporary)


def before_replace(target: Path) -> None:
    """A seam for tests: called after the new bytes are staged and just before the final check
    and rename. Tests replace it to edit the file at exactly that moment."""


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, under another user
        return False
    return False


def remove_stale_temporaries(directories: Iterable[Path]) -> list[Path]:
    """Delete temporaries that an earlier greenlint run on this host left when it was killed
    (its process no longer exists). Another user's or a live run's temporaries are never touched."""
    removed: list[Path] = []
    for directory in directories:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            match = _TEMP_NAME.match(entry.name)
            if match is None or match.group("host") != _HOST:
                continue
            pid = int(match.group("pid"))
            if pid == os.getpid() or not _process_is_gone(pid):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
    return removed
