"""One wrapping rule for everything greenlint prints, whoever prints it.

On a terminal, a line of text wraps at word boundaries to the terminal's width (rich's word
wrapping), so a long advice paragraph never breaks mid-word the way the terminal's own hard wrap
does. Piped or written to a file, a line of text is never wrapped: tools that read it (grep, CI
logs, editors) get each message on one line, not cut at 80 columns mid-sentence.

The rule is applied here, in print(), rather than by each caller's `soft_wrap=` argument, so
that every reporter follows it without knowing where its output goes. It applies to plain text
(str and rich Text); tables, rules and other renderables lay themselves out as rich does.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console as _RichConsole
from rich.text import Text


class Console(_RichConsole):
    """rich's Console with greenlint's wrapping rule (see the module docstring)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if objects and all(isinstance(o, (str, Text)) for o in objects):
            kwargs["soft_wrap"] = not self.is_terminal
        super().print(*objects, **kwargs)
