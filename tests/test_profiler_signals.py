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
    assert code in (42, -signal.SIGINT)  # interrupted while sleeping, or before Python set its handler
    assert forwarding.pending == [] and signal.getsignal(signal.SIGINT) is before


def test_an_interrupt_when_the_child_never_started_is_greenlints_own():
    with pytest.raises(KeyboardInterrupt), _SignalForwarding():
        signal.raise_signal(signal.SIGINT)
