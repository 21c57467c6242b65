"""Which file is being linted, for analyses that read files next to it (config files).

A context variable rather than an argument so that every rule and helper below the engine can ask
without threading a path through them; kept in its own libcst-free module so that the engine can
set it without importing the analysis (start-up cost, see bench/startup.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

CURRENT_PATH: ContextVar[Path | None] = ContextVar("greenlint_linting_path", default=None)


@contextmanager
def linting_path(path: Path | None) -> Iterator[None]:
    token = CURRENT_PATH.set(path)
    try:
        yield
    finally:
        CURRENT_PATH.reset(token)
