"""greenlint profile forwards Ctrl-C and SIGTERM to the child from before the child starts, so an
interrupt that arrives while it starts is neither lost nor ends greenlint with the child running."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from greenlint.profiler.runner import _SignalForwarding

CHILD = "import time\ntry:\n    time.sleep(120)\nexcept KeyboardInterrupt:\n    raise SystemExit(42)\n"


def test_an_interrupt_before_the_child_exists_is_sent_to_it_once_it_does():
    before = signal.getsignal(signal.SIGINT)
    with _SignalForwarding() as forwarding:
        signal.raise_signal(signal.SIGINT)  # arrives before the child is started
        assert forwarding.pending == [signal.SIGINT]
        child = subprocess.Popen([sys.executable, "-c", CHILD])
        forwarding.attach(child)
        code = child.wait(timeout=120)  # a hang guard: the interrupt ends it at once
    # Without the forwarded interrupt the child sleeps 120 s and wait() times out. Where the interrupt
    # lands depends on scheduling: in the sleep (42), before Python installs its handler (-SIGINT),
    # or while Python is still starting up (1, a KeyboardInterrupt traceback): all prove delivery.
    assert code != 0
    assert forwarding.pending == [] and signal.getsignal(signal.SIGINT) is before


def test_an_interrupt_when_the_child_never_started_is_greenlints_own():
    with pytest.raises(KeyboardInterrupt), _SignalForwarding():
        signal.raise_signal(signal.SIGINT)
