"""Resolving names through a module's imports, without libcst's (costly) scope analysis.

`import torch.nn as nn` binds `nn` to `torch.nn`; `from torch.utils.data import DataLoader as DL`
binds `DL` to `torch.utils.data.DataLoader`. `qualified_name(expr)` then turns `nn.Linear` into
`torch.nn.Linear`. A name that no import binds resolves to None: rules never match bare names.

This is a deliberate simplification of full scope analysis (measured at about 6x the cost of the
parse on the torch package): imports anywhere in the module count for the whole module, and a
local variable that shadows an imported name is not noticed. Training scripts rarely do either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, None for anything else (calls, subscripts ...)."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def terminal_name(node: cst.BaseExpression) -> str | None:
    """The last identifier of an expression: `optimizer` for `self.optimizer`, `f` for `f`."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return None


def _module_name(node: cst.BaseExpression) -> str:
    name = dotted_name(node)
    return name or ""


def _relative_module(level: int, module: str, package: str) -> str | None:
    """`from ..x import y` in package "a.b" -> "a.x" (as the project index writes it)."""
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


@dataclass
class ImportTable:
    """Local name -> the fully qualified name it was imported as."""

    bindings: dict[str, str] = field(default_factory=dict)
    # the module's dotted package below the project root, when the project index knows it:
    # `from .config import DEVICE` then resolves to "<package>.config.DEVICE", the name the index
    # keys that module's facts by. None (no project context): relative imports stay unresolved.
    package: str | None = None

    def add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            if not full:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bindings[alias.asname.name.value] = full
            else:
                # `import torch.nn` binds `torch`, which then resolves attribute by attribute.
                head = full.split(".", 1)[0]
                self.bindings[head] = head

    def add_import_from(self, node: cst.ImportFrom) -> None:
        if node.relative:
            if self.package is None:
                return  # a module of the user's own project, and no project index to ask
            module = _relative_module(len(node.relative), _module_name(node.module) if node.module else "", self.package)
            if not module:
                return
        elif node.module is None:
            return
        else:
            module = _module_name(node.module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _module_name(alias.name)
            if not name:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.bindings[local] = f"{module}.{name}"

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a Name/Attribute chain, or None if its head is not imported."""
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.bindings.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base
