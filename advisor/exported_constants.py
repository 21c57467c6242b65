"""The literal values a module offers the modules that import it (read with `ast`): constants (str,
int, float, bool, None), literal class attributes and dataclass-style field defaults, also of a
nested config class (`Config.train.epochs`), and a module-level instance's values with its literal
keyword overrides (`config = Config(epochs=90)`). An attribute the module assigns anywhere
(`self.epochs = ...`, `setattr`) is left out: the class default may not be what instances hold.
Also the literal attributes a config module sets on a module-level object, the EasyDict and yacs
style (`Cfg.TRAIN_EPOCHS = 300`, `__C.TRAIN.EPOCHS = 30` with `cfg = __C`, `_C.SOLVER.MAX_ITER =
90000`): attribute_constants.

Separate from module_exports.py, which walks a module's top level and records the facts: these
are the literal-value readers it uses for them (and for `__all__`).
"""

from __future__ import annotations

import ast
from typing import Any

_CONSTANT_TYPES = (str, int, float, bool, type(None))


def _constant(value: ast.expr) -> tuple[bool, Any]:
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    return isinstance(literal, _CONSTANT_TYPES), literal


def _assigned_names(statement: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign):
        return [(t.id, statement.value) for t in statement.targets if isinstance(t, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and statement.value is not None and isinstance(statement.target, ast.Name):
        return [(statement.target.id, statement.value)]
    return []


def _stored_attributes(tree: ast.Module) -> frozenset[str]:
    """Every attribute name the module assigns (`self.epochs = ...`, `cfg.epochs += 1`, `setattr(x,
    "epochs", ...)`): a class default of that name may not be what instances hold."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                names.add(node.args[1].value)
            else:
                names.add("*")  # a computed name: any attribute may change
    return frozenset(names)


def _class_constants(node: ast.ClassDef, stored: frozenset[str], depth: int = 0) -> dict[str, Any]:
    """Literal class attributes and dataclass-style field defaults (`epochs = 90`, `epochs: int =
    90`), also of a nested config class (`Config.train.epochs`). An attribute bound twice in the
    class, or assigned anywhere in the module (`self.epochs = ...`), is left out."""
    if "*" in stored:
        return {}
    found: dict[str, Any] = {}
    seen: set[str] = set()
    for statement in node.body:
        if isinstance(statement, ast.ClassDef) and depth < 2:
            for attr, literal in _class_constants(statement, stored, depth + 1).items():
                found[f"{statement.name}.{attr}"] = literal
            continue
        for name, value in _assigned_names(statement):
            if name in seen:
                found.pop(name, None)
                continue
            seen.add(name)
            ok, literal = _constant(value)
            if ok and name not in stored and not name.startswith("__"):
                found[name] = literal
    return found


def _instance_constants(call: ast.Call, fields: dict[str, Any]) -> dict[str, Any]:
    if call.args or any(keyword.arg is None for keyword in call.keywords):
        return {}
    values = dict(fields)
    for keyword in call.keywords:
        ok, literal = _constant(keyword.value)
        if ok and keyword.arg in values:
            values[str(keyword.arg)] = literal
        else:
            values.pop(str(keyword.arg), None)
    return values


def attribute_constants(tree: ast.Module) -> dict[str, Any]:
    """`Cfg.TRAIN_EPOCHS = 300` at module level -> {"Cfg.TRAIN_EPOCHS": 300}, for an object the
    module binds at its top level (`Cfg = EasyDict()`, `_C = CN()`), also nested (`__C.TRAIN.EPOCHS`)
    and under a top-level alias (`cfg = __C`). A path assigned twice anywhere in the module (a
    function that changes it, a second default) is left out: its value at run time is not known."""
    top_names: set[str] = set()
    found: dict[str, Any] = {}
    aliases: list[tuple[str, str]] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            top_names.add(target.id)
            if isinstance(statement.value, ast.Name) and statement.value.id in top_names:
                aliases.append((target.id, statement.value.id))
            continue
        path = _dotted(target)
        if path is not None and path.split(".", 1)[0] in top_names:
            ok, literal = _constant(statement.value)
            if ok:
                found[path] = literal
    if not found:
        return {}
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            path = _dotted(node)
            if path is not None:
                stores[path] = stores.get(path, 0) + 1
    found = {path: value for path, value in found.items() if stores.get(path, 0) == 1}
    for alias, original in aliases:
        for path, value in list(found.items()):
            root, _, rest = path.partition(".")
            if root == original:
                found.setdefault(f"{alias}.{rest}", value)
    return found


def _dotted(node: ast.AST) -> str | None:
    """"a.b.c" for a name or a chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
