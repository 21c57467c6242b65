"""Computing a module-wide estimate once per module, however many rules ask for it.

Several rules ask the same question of one module (is the workload small? which width constants
does it set?); each answer walks the whole tree. The answer is kept on the ModuleAnalysis object,
which lives exactly as long as one file's check, so nothing leaks between files.
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

T = TypeVar("T")


def once_per_module(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate `function(analysis)`: the first call's result is returned for that analysis again."""
    key = f"_greenlint_memo_{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def cached(analysis) -> T:  # type: ignore[no-untyped-def]
        store = analysis.__dict__
        if key not in store:
            store[key] = function(analysis)
        return store[key]

    return cached
