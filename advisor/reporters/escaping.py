"""Making file names (and other text from outside greenlint) safe to print and to serialise.

A POSIX file name is bytes; Python shows the bytes that are not UTF-8 as lone surrogates
(U+DC80-U+DCFF, "surrogateescape"), which no UTF-8 output can carry. A name may also hold control
characters: an escape sequence printed raw re-colours, retitles or clears the user's terminal.

One convention everywhere a name is shown (text, JSON, GitHub annotations, warnings): Python's
backslash escapes, `\\xff` for an undecodable byte, `\\x1b`, `\\n`, `\\t` for control characters
(C0, DEL, C1) and `\\u202e` for the bidirectional overrides that reorder what a reader sees. SARIF
URIs instead percent-encode the name's bytes (`%FF`), which is what RFC 3986 prescribes and what
SARIF viewers decode.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# C0 controls, DEL, C1 controls, bidirectional embeddings/overrides/isolates, lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def display_text(text: str, keep: str = "") -> str:
    """`text` with undecodable bytes and control characters as backslash escapes (printable,
    UTF-8), except the characters in `keep` (a format that escapes line ends its own way)."""
    if keep:
        return _UNSAFE.sub(lambda match: match.group() if match.group() in keep else _escape_char(match), text)
    return _UNSAFE.sub(_escape_char, text)


def encodable_text(text: str) -> str:
    """For JSON: only what UTF-8 cannot carry (lone surrogates) is escaped; JSON escapes controls itself."""
    return re.sub("[\ud800-\udfff]", _escape_char, text)


def encodable(value: Any) -> Any:
    """A JSON-able value with every string made encodable (see encodable_text)."""
    if isinstance(value, str):
        return encodable_text(value)
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable(v) for v in value]
    return value


def uri_path(text: str) -> str:
    """A path for a URI: its bytes percent-encoded (the name's own bytes when it is not UTF-8)."""
    return quote(os.fsencode(text) if os.name != "nt" else text.encode("utf-8", "surrogatepass"), safe="/")
