"""What a function or method body does, in the terms the project index exports it to importing
modules (read with `ast`): it trains (`.backward()` and an optimizer step: one step, or a whole
loop), runs in reduced precision (autocast, `.half()`, a bf16/fp16 dtype), or wraps code to switch
autograd off (`smart_inference_mode()`, a `@contextmanager` yielding under `torch.no_grad()`).

Separate from module_exports.py, which walks a module's top level and records the facts: these
are the tests it applies to each function and method body.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlint.module_exports import _Resolver

_NO_GRAD = frozenset(
    {
        "torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad",
        "torch.autograd.inference_mode", "torch.autograd.grad_mode.inference_mode",
    }
)
_AUTOCAST = frozenset(
    {"torch.autocast", "torch.amp.autocast", "torch.cuda.amp.autocast", "torch.cpu.amp.autocast"}
)
_HALF_DTYPES = frozenset({"torch.float16", "torch.half", "torch.bfloat16"})


def _runs_half(body: list[ast.stmt], resolve: _Resolver) -> str | None:
    """How a body runs in reduced precision, or None: autocast (not `enabled=False`), `.half()`,
    a bf16/fp16 dtype."""
    for statement in body:
        for sub in ast.walk(statement):
            if isinstance(sub, ast.Call):
                qualname = resolve(sub.func)
                if qualname in _AUTOCAST:
                    enabled = next((k.value for k in sub.keywords if k.arg == "enabled"), None)
                    if isinstance(enabled, ast.Constant) and enabled.value is False:
                        continue
                    return f"`{qualname}`"
                if isinstance(sub.func, ast.Attribute) and sub.func.attr in ("half", "bfloat16") and not sub.args:
                    return f"`.{sub.func.attr}()`"
            elif isinstance(sub, ast.Attribute) and resolve(sub) in _HALF_DTYPES:
                return f"`{resolve(sub)}`"
    return None


def _is_grad_off_wrapper(function: ast.FunctionDef | ast.AsyncFunctionDef, resolve: _Resolver) -> bool:
    """Returns an autograd switch applied to something, or is a context manager yielding under one.
    A function merely *decorated* with `torch.no_grad()` is not a wrapper: it is its own region."""
    with_items: set[int] = set()
    yields = False
    for sub in ast.walk(function):
        if isinstance(sub, (ast.With, ast.AsyncWith)):
            with_items.update(id(item.context_expr) for item in sub.items)
            with_items.update(id(item.context_expr.func) for item in sub.items if isinstance(item.context_expr, ast.Call))
        elif isinstance(sub, (ast.Yield, ast.YieldFrom)):
            yields = True
    decorators = {id(d) for d in function.decorator_list} | {
        id(d.func) for d in function.decorator_list if isinstance(d, ast.Call)
    }
    for sub in ast.walk(function):
        if id(sub) in decorators or not isinstance(sub, (ast.Attribute, ast.Name)):
            continue
        if resolve(sub) in _NO_GRAD:
            if id(sub) in with_items:
                if yields:
                    return True  # @contextmanager: `with torch.no_grad(): yield`
                continue
            return True
    return False


_SCHEDULER = re.compile(r"sched|lr_", re.IGNORECASE)
_OPTIMIZER = re.compile(r"opt|scaler", re.IGNORECASE)


def _trains(nodes: list[ast.AST]) -> bool:
    """Calls `.backward()` and steps an optimizer (`opt.step()`, `scaler.step(opt)`), as
    facts.py's classifier decides for a module's own functions."""
    backward = step = False
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                if sub.func.attr == "backward":
                    backward = True
                elif sub.func.attr == "step":
                    receiver = sub.func.value
                    name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
                    if _OPTIMIZER.search(name) and not _SCHEDULER.search(name):
                        step = True
    return backward and step


def _training_kind(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """"loop" when a loop in the function trains, "step" when the function itself trains."""
    for sub in ast.walk(function):
        if isinstance(sub, (ast.For, ast.AsyncFor, ast.While)) and _trains(sub.body):
            return "loop"
    return "step" if _trains(function.body) else None


# Transforms that give every image one size (torchvision, albumentations), as GL403 reads them in
# the module itself (rules/analysis/training_loop_facts.py); `Resize` only with both sides given.
_FIXED_CROPS = frozenset({"CenterCrop", "RandomCrop", "RandomResizedCrop", "FiveCrop", "TenCrop", "RandomSizedCrop",
                          "Resize"})
_TRANSFORM_LIBRARIES = ("torchvision.transforms.", "albumentations.")


def fixed_size_transforms(tree: ast.Module, resolve: _Resolver) -> dict[str, tuple[str, int]]:
    """Top-level names whose definition crops or resizes images to a literal size: "train_transform"
    -> ("`RandomCrop(288)`", 288). The first such call of each definition counts."""
    found: dict[str, tuple[str, int]] = {}
    for statement in tree.body:
        names = _defined_names(statement)
        if not names:
            continue
        for sub in ast.walk(statement):
            side = _fixed_side(sub, resolve) if isinstance(sub, ast.Call) else None
            if side is not None:
                for name in names:
                    found.setdefault(name, side)
                break
    return found


def _defined_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def _fixed_side(call: ast.Call, resolve: _Resolver) -> tuple[str, int] | None:
    qualname = resolve(call.func) or ""
    last = qualname.rsplit(".", 1)[-1]
    if not qualname.startswith(_TRANSFORM_LIBRARIES) or last not in _FIXED_CROPS:
        return None
    size = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg in ("size", "height")), None)
    sides: list[int] = []
    if isinstance(size, ast.Constant) and type(size.value) is int:
        sides = [size.value]
        if last == "Resize" and qualname.startswith("torchvision."):
            return None  # `Resize(256)` sets the shorter side only: the other still varies
        if last == "Resize" and len(call.args) >= 2 and isinstance(call.args[1], ast.Constant):
            sides.append(call.args[1].value)  # albumentations `Resize(height, width)`
    elif isinstance(size, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Constant) and type(e.value) is int for e in size.elts):
        sides = [e.value for e in size.elts]  # type: ignore[attr-defined]
    if not sides or not all(isinstance(side, int) for side in sides):
        return None
    shown = ast.unparse(call) if len(ast.unparse(call)) <= 60 else f"{last}(...)"
    return f"`{shown}`", max(sides)
