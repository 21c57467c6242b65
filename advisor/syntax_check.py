"""Does Python accept this file, and does libcst? The syntax checks behind GL001 (a syntax error, at
Python's own position and message) and GL005 (Python accepts the file, libcst does not), CPython
first: its compiler costs about 1/8 of a libcst parse, and nesting it refuses would overflow libcst's
native parser (`NestingError`). Also the small constructors of the engine's whole-file findings
(`_file_finding`, GL000's `_internal_error`) that these findings are made with.

Separate from engine.py, which runs the rules: nothing here needs a rule or the analysis. A file no
rule can match pays only for `_syntax_only`, and fixes check the text they would write with
`source_compiles`. libcst is imported only inside the functions that parse, as in the engine.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import TYPE_CHECKING

from greenlint.findings import Finding, Location

if TYPE_CHECKING:
    import libcst as cst


def _file_finding(code: str, message: str, display_path: str, row: int = 1, column: int = 1) -> Finding:
    location = Location(row, column)
    return Finding(code, message, display_path, location, location, noqa_row=row)


def _internal_error(display_path: str, where: str, exc: BaseException) -> list[Finding]:
    detail = f"{type(exc).__name__}: {exc}".strip()
    return [_file_finding("GL000", f"internal error in {where}: {detail[:300]}", display_path)]


def _python_only_syntax(text: str, display_path: str, enabled: frozenset[str]) -> list[Finding]:
    """GL001 from Python's compiler alone, for a file too large for libcst. Compiling to bytecode
    costs less than building the AST (measured on a 5.76 MB file: 623 MB and 7.6 s against
    923 MB and 19.5 s); its errors are the ones `python file.py` would print."""
    if "GL001" not in enabled:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<file>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        row, column = exc.lineno or 1, max(1, exc.offset or 1)
        return [_file_finding("GL001", f"syntax error: {exc.msg}", display_path, row, column)]
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return [_file_finding("GL001", f"syntax error: {exc}", display_path)]
    return []


def _not_analysed(display_path: str, enabled: frozenset[str], detail: str, row: int, column: int) -> list[Finding]:
    """GL005: Python accepts the file, libcst does not (its grammar or its own node validation)."""
    if "GL005" not in enabled:
        return []
    detail = " ".join(detail.split())[:200]
    message = (
        "not analysed: Python accepts this file but greenlint's parser (libcst) does not "
        f"({detail}); no rule checked it"
    )
    return [_file_finding("GL005", message, display_path, row, column)]


def _syntax_only(text: str, display_path: str, enabled: frozenset[str]) -> list[Finding]:
    python_error = _python_syntax_error(text) if "GL001" in enabled else None
    if python_error is None:
        return []
    if isinstance(python_error, NestingError):  # never handed to libcst: it would crash (see lint_text)
        return _python_syntax_finding(python_error, display_path, enabled)
    # Python rejects it; libcst decides (it also accepts grammar newer than this interpreter).
    import libcst as cst

    try:
        cst.parse_module(text)
        return []
    except cst.ParserSyntaxError as exc:
        return _syntax_error(exc, text, display_path, enabled, python_error)
    except cst.CSTValidationError:  # libcst's own node validation (see lint_text): Python's verdict stands
        return _python_syntax_finding(python_error, display_path, enabled)
    except (RecursionError, MemoryError) as exc:
        return _internal_error(display_path, "parser", exc)


class NestingError(SyntaxError):
    """CPython gave up on the file's nesting (brackets, operators, attribute chains). libcst's
    native parser, handed the same file, can overflow its stack and kill the process (SIGSEGV)."""


# CPython's messages for nesting it refuses (3.10-3.13): the tokenizer's bracket limit (200)
_NESTING_MESSAGES = ("too many nested parentheses",)


def _python_syntax_error(text: str) -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            # SyntaxWarnings about the user's code ("'int' object is not callable") are not ours to print
            warnings.simplefilter("ignore")
            compile(text, "<file>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        if exc.msg in _NESTING_MESSAGES:
            return NestingError(exc.msg, (exc.filename, exc.lineno, exc.offset, exc.text))
        return exc
    except (RecursionError, MemoryError):  # the parser's own stack limit: deep nesting
        return NestingError("the code is nested too deeply for Python's parser")
    except (ValueError, OverflowError) as exc:  # NUL bytes
        return SyntaxError(str(exc))
    return None


def _python_syntax_finding(error: SyntaxError, display_path: str, enabled: frozenset[str]) -> list[Finding]:
    if "GL001" not in enabled:
        return []
    row, column = error.lineno or 1, max(1, error.offset or 1)
    return [_file_finding("GL001", f"syntax error: {error.msg}", display_path, row, column)]


_LIBCST_POSITION = re.compile(r"error at (\d+):(\d+)")


def _syntax_error(
    exc: cst.ParserSyntaxError,
    text: str,
    display_path: str,
    enabled: frozenset[str],
    python_error: SyntaxError | None = None,
) -> list[Finding]:
    """GL001 at the error's position. Python's own message and position are preferred: they are
    what users know, and libcst's `raw_line` can point one line past the error."""
    if "GL001" not in enabled:
        return []
    python_error = python_error or _python_syntax_error(text)
    if python_error is not None and python_error.lineno:
        message = python_error.msg
        row, column = python_error.lineno, max(1, python_error.offset or 1)
    else:
        message = " ".join(exc.message.split()) or "invalid syntax"
        match = _LIBCST_POSITION.search(exc.message)
        row, column = (int(match.group(1)), int(match.group(2)) + 1) if match else (exc.raw_line, exc.raw_column + 1)
    return [_file_finding("GL001", f"syntax error: {message}", display_path, row, column)]


def source_compiles(text: str) -> bool:
    """The fixed source must compile (CPython) and parse (libcst) before anyone may write it.
    CPython first: it is cheaper, and nesting it rejects would overflow libcst's native parser."""
    if _python_syntax_error(text) is not None:
        return False
    import libcst as cst

    try:
        cst.parse_module(text)
    except Exception:  # noqa: BLE001
        return False
    return True
