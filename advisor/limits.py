"""The work one file may cost: a size ceiling (memory) and a time budget, both reported as GL004.

Memory: libcst's tree takes about 555 bytes of memory per character of source (measured: 290 MB
for a 0.54 M-character file, 1,151 MB for 2.18 M characters, libcst 1.x, CPython 3.11; see
docs/benchmarks.md). A file over `max_chars` is therefore not parsed by libcst: Python's own
parser still checks its syntax (GL001 keeps covering it) and GL004 says it was not analysed.
The default, 1,000,000 characters, keeps one file's tree near 0.55 GB (estimated from that rate);
the node index that fixes use adds about 62 bytes per character (measured: 32 MB and 4.7 s for
0.54 M characters), and is built only when some finding has a fix.
Python's compiler needs about 110 bytes per character (measured: 623 MB for 5.76 M characters),
so above `max_syntax_chars` (10 M characters, about 1.1 GB estimated) not even that is done.

Time: the budget is checked between the steps of the analysis (after the parse, between rules,
between fixes); a file that runs out keeps the findings made so far, and GL004 says which rules
did not run and how many findings have no fix. One step (the parse of a file under the size
ceiling, one rule) is never interrupted, so the budget can be overrun by at most one step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from greenlint.findings import Finding, Location


@dataclass(frozen=True)
class Limits:
    max_chars: int | None = 1_000_000
    # Python's compiler alone needs about 110 bytes per character (623 MB for 5.76 M, measured):
    # above this, not even the syntax is checked
    max_syntax_chars: int | None = 10_000_000
    max_seconds: float | None = 120.0


DEFAULT_LIMITS = Limits()


class Deadline:
    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.seconds = seconds
        self._end = None if seconds is None else clock() + seconds

    def passed(self) -> bool:
        return self._end is not None and self._clock() >= self._end


def limit_finding(display_path: str, message: str) -> Finding:
    location = Location(1, 1)
    return Finding("GL004", message, display_path, location, location, noqa_row=1)


def too_large_message(chars: int, limits: Limits, syntax_checked: bool = True) -> str:
    done = (
        "only its syntax was checked"
        if syntax_checked
        else f"its syntax was not checked either (over {limits.max_syntax_chars:,} characters)"
    )
    return (
        f"not analysed: {chars:,} characters is over the per-file limit of {limits.max_chars:,} "
        f"(the syntax tree needs about 555 bytes of memory per character); {done}"
    )


def out_of_time_message(seconds: float | None, rules_not_run: list[str], fixes_not_computed: int) -> str:
    parts = []
    if rules_not_run:
        parts.append(f"rules not run: {', '.join(rules_not_run)}")
    if fixes_not_computed:
        parts.append(f"no fix computed for {fixes_not_computed} finding{'s' if fixes_not_computed != 1 else ''}")
    return f"analysis stopped at the per-file time limit of {seconds:g} s; " + "; ".join(parts)
