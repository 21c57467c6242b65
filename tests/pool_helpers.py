"""Functions that worker processes run in tests/test_worker_pool.py (module level, so that a
worker started by fork, forkserver or spawn can import them)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from greenlint.engine import LintRequest, lint_request


def double_or_die(item):
    """Doubles a number; the string "die" kills the worker process, as a segfault or the OOM killer would."""
    if item == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    return item * 2


def lint_or_die(request: LintRequest):
    if request.display_path.startswith("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    return lint_request(request)


def block_first(item: tuple[str, int]) -> int:
    """Item 0 says it started, then blocks until its worker is ended; the others say they are done."""
    directory, number = item
    if number == 0:
        Path(directory, "started").write_text("")
        while True:
            time.sleep(3600)
    Path(directory, f"done-{number}").write_text("")
    return number
