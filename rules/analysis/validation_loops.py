"""Does a hand-written epoch loop compute a validation metric every epoch, and can it stop early? (GL502)

Early stopping needs a signal: a raw PyTorch loop qualifies only when each epoch assigns the result
of a validation pass (`val_loss = validate(model, val_loader)`, `valid_loss, acc = eval_epoch(...)`)
at the epoch loop's own level. A `break` or `return` in the epoch loop (outside its inner loops) is a
hand-written stop, so the loop is left alone.
"""

from __future__ import annotations

import re

import libcst as cst
from greenlint.rules.analysis.facts import LoopInfo, ModuleFacts
from greenlint.rules.analysis.names import terminal_name

# Name parts that say a function runs a validation pass (`validate`, `eval_epoch`, `run_validation`,
# `evaluate_model`). `model.eval()` is excluded by the assignment requirement (it returns the model).
_VALIDATION_PART = re.compile(r"^(val|valid|validate|validation|eval|evaluate|evaluation)$")


def _is_validation_name(name: str | None) -> bool:
    if not name:
        return False
    return any(_VALIDATION_PART.match(part) for part in name.lower().split("_"))


def per_epoch_validation(loop: LoopInfo, facts: ModuleFacts) -> str | None:
    """`val_loss = validate(...)` as written when the epoch loop assigns a validation pass's result on
    every epoch (not inside an `if` or an inner loop); None otherwise."""
    for statement in _own_statements(loop.node.body):
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, cst.Call):
                if _is_validation_name(terminal_name(small.value.func)):
                    target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
                    return f"{cst.Module([]).code_for_node(target)} = {terminal_name(small.value.func)}(...)"
    return None


def _own_statements(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    """The statements directly in the loop body, and in `with` blocks there (`with torch.no_grad():`)."""
    statements: list[cst.BaseStatement] = []
    body = block.body if isinstance(block, cst.IndentedBlock) else []
    for statement in body:
        statements.append(statement)
        if isinstance(statement, cst.With):
            statements.extend(_own_statements(statement.body))
    return statements


def stops_inside(node: cst.For | cst.While) -> bool:
    """A `break` of this loop (not of an inner loop) or a `return` anywhere in its body."""
    stack: list[tuple[cst.CSTNode, bool]] = [(child, False) for child in node.body.children]
    while stack:
        current, in_inner_loop = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        if isinstance(current, cst.Return):
            return True
        if isinstance(current, cst.Break) and not in_inner_loop:
            return True
        inner = in_inner_loop or isinstance(current, (cst.For, cst.While))
        stack.extend((child, inner) for child in current.children)
    return False
