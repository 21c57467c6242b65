"""Does a statement inside a training-step loop run on every step, or only under a rare guard?

`CallSite.cond_depth` says whether *some* `if` stands between a call and its loop; rules that
report "on every step" need to know *which*: `if step % 1000 == 0:` or an `except` handler (an
out-of-memory fallback) make the code rare, while `if torch.cuda.is_available():` or
`if device.type == "cuda":` are true on every step of a GPU run. Everything else (a flag, a rank
test, an `else` branch) is the user's decision and counts as rare: rules stay silent there.
"""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis.tree import walk

# Marks an `else`/`elif` branch in a path of conditions.
_ELSE = cst.Else(body=cst.IndentedBlock(body=[]))
# Words of an `if` test that holds on every step of a GPU run.
_DEVICE_TEST_WORDS = ("cuda", "is_available", "gpu")


def conditions_between(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The `if` statements (`cst.If` nodes; an `else`/`elif` branch as a `cst.Else`), `except` handlers, ternaries, boolean operators and lambdas that stand between `root` and
    `target`, outermost first; None when `target` is not under `root`. Nested function and class
    bodies are not entered (their code does not run in `root`'s flow)."""
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            return list(path)
        if node is not root and isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(node, cst.If):
            stack.append((node.test, path))
            stack.append((node.body, (*path, node)))
            if node.orelse is not None:  # an `else`/`elif` runs when the test is false: never transparent
                stack.append((node.orelse, (*path, _ELSE)))
            continue
        guarded = isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler, cst.IfExp, cst.BooleanOperation, cst.Lambda))
        inner = (*path, node) if guarded else path
        stack.extend((child, inner) for child in node.children)
    return None


def _device_test(test: cst.BaseExpression) -> bool:
    """`torch.cuda.is_available()`, `device.type == "cuda"`, `args.cuda`, `use_gpu`: true on every
    step of the GPU run the rule is about. A modulo anywhere makes it a periodic guard."""
    text_parts: list[str] = []
    for node in walk(test):
        if isinstance(node, cst.Modulo) or isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            return False
        if isinstance(node, (cst.Name, cst.SimpleString)):
            text_parts.append(node.value.lower())
    text = " ".join(text_parts)
    return any(word in text for word in _DEVICE_TEST_WORDS)


def runs_every_step(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    """Does `target` (a call or statement inside the loop or function `root`) run on every
    iteration of `root`? Only device tests are transparent; any other guard makes it rare."""
    conditions = conditions_between(root, target)
    if conditions is None:
        return False
    for condition in conditions:
        if not (isinstance(condition, cst.If) and _device_test(condition.test)):
            return False
    return True
