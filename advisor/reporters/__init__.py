"""Turning findings into output: text (rich colour on a terminal), JSON, statistics, SARIF and
GitHub Actions annotations.

Each renderer is imported on first use (PEP 562): a command that writes JSON need not import
rich, and none need import the rules that SARIF's rule descriptors list.
"""

from __future__ import annotations

import importlib

FORMATS = ("text", "json", "sarif", "github")

_RENDERERS = {
    "render_github": "github",
    "render_json": "json_format",
    "render_sarif": "sarif",
    "render_statistics": "text",
    "render_text": "text",
}


def __getattr__(name: str):  # noqa: ANN202
    if name in _RENDERERS:
        return getattr(importlib.import_module(f"{__name__}.{_RENDERERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "render_github", "render_json", "render_sarif", "render_statistics", "render_text"]
