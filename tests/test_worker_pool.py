"""The process pool (issue 17, items 8 and 17): a worker that dies costs only the file it was
working on, and Ctrl-C ends the run without any worker printing a traceback.

No test here waits on a clock: the Ctrl-C test sends SIGINT only after the workers have said,
through files, that one is busy and every other item is done; the time limits only bound a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from greenlint.engine import LintRequest
from greenlint.pool import WorkerDeath, map_in_processes
from greenlint.rules import ALL_CODES
from greenlint.runner import lint_death_findings
from pool_helpers import double_or_die, lint_or_die

TESTS = Path(__file__).parent


def _dead(item, death: WorkerDeath):
    return ("dead", item, death.describe())


@pytest.mark.parametrize("chunk", [1, 3])
def test_a_dying_worker_costs_only_its_item(chunk):
    items = [1, 2, "die", 4, 5, 6, 7, "die", 9, 10, 11, 12]
    results = map_in_processes(double_or_die, items, workers=2, chunk=chunk, on_death=_dead)
    expected = [("dead", "die", "killed by signal SIGKILL") if x == "die" else x * 2 for x in items]
    assert results == expected


def test_worker_death_is_a_gl000_finding_for_that_file_only():
    enabled = frozenset(ALL_CODES)
    requests = [LintRequest(Path(f"/p/{name}.py"), f"{name}.py", b"def f(:\n", enabled) for name in ("a", "b", "die", "c")]
    results = map_in_processes(lint_or_die, requests, workers=2, chunk=1, on_death=lint_death_findings)
    assert [[f.code for f in found] for found in results] == [["GL001"], ["GL001"], ["GL000"], ["GL001"]]
    message = results[2][0].message
    assert "die.py" == results[2][0].filename and "SIGKILL" in message and "worker process" in message


_INTERRUPTED = """
import sys
sys.path.insert(0, {tests!r})
from pool_helpers import block_first
from greenlint.pool import map_in_processes
try:
    map_in_processes(block_first, [({directory!r}, i) for i in range(8)], workers=2, chunk=1,
                     on_death=lambda item, death: None)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
print("not interrupted", file=sys.stderr)
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_with_an_idle_worker_prints_no_traceback(tmp_path):
    script = _INTERRUPTED.format(tests=str(TESTS), directory=str(tmp_path))
    # its own process group, so that SIGINT reaches the parent and the workers, as Ctrl-C does
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        expected = {"started", *(f"done-{i}" for i in range(1, 8))}
        for _ in range(6000):  # a bound on a hang (5 minutes), not a timing assumption
            if {p.name for p in tmp_path.iterdir()} == expected:
                break
            if process.poll() is not None:
                pytest.fail(f"the run ended early: {process.communicate()}")
            time.sleep(0.05)
        else:
            pytest.fail("the workers never reached the state under test")
        # one worker is busy with item 0 (blocked), the other has finished items 1-7: idle
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip() == "interrupted"
