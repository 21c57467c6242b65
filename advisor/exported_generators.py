"""Which top-level functions and classes of a module do CPU work per item (read an image file,
decode, resize, augment it), and which of them are Python generators, in the terms the project
index exports to importing modules (read with `ast`).

A Keras script commonly trains with `fit_generator(data_generator(...))` or
`fit(ImageGenerator(...).flow())`, the generator written in another module of the project
(qqwweee/keras-yolo3's `yolo3.utils.get_random_data`, oarriaga/face_classification's
`utils.data_augmentation.ImageGenerator`, pierluigiferrari/ssd_keras's `DataGenerator`). Keras
runs such a generator in one thread of the training process: every image of every batch is read
and transformed there while the accelerator waits (GL306). The script alone cannot see what the
generator does; these exports say it.

Narrow on purpose: only calls of image, audio and array-file libraries count as per-item work
(`PIL`, `cv2`, `scipy.ndimage`, `skimage`, `imageio`, `librosa`, Keras' `load_img` ...), found in
the body or in a function or method of the same module it calls (two calls deep). Slicing arrays
that are already in memory is not work: a generator over `x_train[i:i + 32]` exports nothing.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from greenlint.rules.per_item_calls import PER_ITEM_WORK

if TYPE_CHECKING:
    from greenlint.module_exports import _Resolver

_MAX_DEPTH = 2

_Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class PerItemWork:
    """name -> phrase for the module's functions and classes that do per-item work ("get_random_data"
    -> "calls `PIL.Image.open`"), and the names among them that are generators (a function that
    yields, a class with a method that yields)."""

    work: dict[str, str] = field(default_factory=dict)
    generators: list[str] = field(default_factory=list)


def per_item_work(tree: ast.Module, resolve: _Resolver) -> PerItemWork:
    functions = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = PerItemWork()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            what = _work(statement, functions, {}, resolve)
            if what is not None:
                found.work[statement.name] = what
                if _yields(statement):
                    found.generators.append(statement.name)
        elif isinstance(statement, ast.ClassDef):
            methods = {m.name: m for m in statement.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
            yielding = [m for m in methods.values() if _yields(m)]
            for method in yielding or methods.values():
                what = _work(method, functions, methods, resolve)
                if what is not None:
                    found.work[statement.name] = f"`{statement.name}.{method.name}` {what}"
                    if yielding:
                        found.generators.append(statement.name)
                    break
    return found


def _work(function: _Function, functions: dict[str, _Function], methods: dict[str, _Function],
          resolve: _Resolver, depth: int = 0) -> str | None:
    """The first per-item work call in `function`, following the module's functions it calls by
    name and, in a class, the methods it calls on `self`."""
    for node in _own_nodes(function):
        if not isinstance(node, ast.Call):
            continue
        qualname = resolve(node.func) or ""
        if qualname.startswith(PER_ITEM_WORK):
            return f"calls `{qualname}`"
        if depth >= _MAX_DEPTH:
            continue
        callee = None
        if isinstance(node.func, ast.Name) and node.func.id in functions:
            callee = functions[node.func.id]
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
            callee = methods.get(node.func.attr)
        if callee is not None and callee is not function:
            found = _work(callee, functions, methods, resolve, depth + 1)
            if found is not None:
                return found
    return None


def _yields(function: _Function) -> bool:
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in _own_nodes(function))


def _own_nodes(function: _Function):  # noqa: ANN202 - an iterator of ast nodes
    """The nodes of the function's body, without those of functions and classes defined inside it."""
    todo = deque(function.body)  # in source order: the phrase names the first call written
    while todo:
        node = todo.popleft()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                todo.append(child)
