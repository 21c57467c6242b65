"""`# noqa` comments and per-file ignores."""

from __future__ import annotations

import re
from pathlib import Path

_NOQA = re.compile(
    r"#\s*noqa(?P<colon>\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)


def noqa_codes(line: str) -> frozenset[str] | None:
    """None: no noqa on the line. Empty set: a bare `# noqa` (suppresses everything).
    Otherwise the codes listed after `# noqa:`."""
    if "noqa" not in line.lower():
        return None
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()
    return frozenset(code.upper() for code in re.split(r"[\s,]+", codes) if code)


def is_suppressed(code: str, line: str) -> bool:
    codes = noqa_codes(line)
    if codes is None:
        return False
    return not codes or code in codes


def per_file_ignored_codes(path: Path, root: Path, per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...]:
    """Code prefixes ignored for this file by `per-file-ignores` (patterns relative to the project root)."""
    if not per_file_ignores:
        return ()
    import pathspec  # only a project with per-file-ignores pays for importing it

    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    ignored: list[str] = []
    for pattern, codes in per_file_ignores:
        spec = pathspec.GitIgnoreSpec.from_lines([pattern])
        if spec.match_file(relative) or spec.match_file(path.name):
            ignored.extend(codes)
    return tuple(ignored)
