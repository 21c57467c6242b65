"""GL401's unsafe fix: `total += loss.item()` -> `total += loss.detach().float()`, converted once
after the loop."""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.training_loop_facts import walk
from greenlint.rules.base import RuleFix
from greenlint.rules.fixes import find_statement_block
from greenlint.rules.training_loop.sync_scan import Sync


def accumulate_fix(analysis: ModuleAnalysis, loop: LoopInfo, sync: Sync) -> RuleFix | None:
    statement = sync.statement
    call = sync.node
    if not isinstance(call, cst.Call):
        return None  # `loss.data[0]` (PyTorch < 0.4): its code predates `.detach()`
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.AugAssign) or not isinstance(small.operator, cst.AddAssign):
        return None
    if not isinstance(small.target, cst.Name) or not isinstance(call.func, cst.Attribute) or call.func.attr.value != "item":
        return None
    receiver = call.func.value
    if dotted_name(receiver) is None:
        return None  # `model(x).sum().item()`: keep it simple
    value = small.value
    if value is not call:
        if not isinstance(value, cst.BinaryOperation) or not isinstance(value.operator, (cst.Multiply, cst.Divide)):
            return None
        other = value.right if value.left is call else value.left if value.right is call else None
        if other is None or any(isinstance(n, cst.Call) and not _is_size_call(n) for n in walk(other)):
            return None
    name = small.target.value
    body = loop.node.body
    if not isinstance(body, cst.IndentedBlock) or statement not in body.body:
        return None  # only a statement directly in the loop body runs unconditionally
    uses = sum(1 for n in walk(loop.node) if isinstance(n, cst.Name) and n.value == name)
    if uses != 1:
        return None  # read (or rebound) elsewhere in the loop: it must stay a Python number there
    located = find_statement_block(analysis.module, loop.node)
    if located is None:
        return None
    block, index = located
    if not _starts_as_number(block.body[:index], name):  # type: ignore[attr-defined]
        return None
    new_call = cst.Call(
        func=cst.Attribute(
            value=cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name("detach"))), attr=cst.Name("float")
        )
    )
    convert = cst.parse_statement(f"{name} = float({name})\n")
    loop_node = loop.node

    class Transform(cst.CSTTransformer):
        def on_leave(self, original_node, updated_node):
            if original_node is call:
                return new_call
            if original_node is block:
                new_body = list(updated_node.body)
                position = next(i for i, s in enumerate(block.body) if s is loop_node)  # type: ignore[attr-defined]
                new_body.insert(position + 1, convert)
                return updated_node.with_changes(body=new_body)
            return updated_node

    return RuleFix(
        f"accumulate `{name}` on the GPU (`.detach().float()`) and convert it once after the loop",
        "unsafe",
        lambda module: module.visit(Transform()),
    )


def _is_size_call(node: cst.Call) -> bool:
    func = node.func
    if isinstance(func, cst.Name) and func.value == "len":
        return True
    return isinstance(func, cst.Attribute) and func.attr.value in ("size", "numel")


def _starts_as_number(statements: list[cst.CSTNode], name: str) -> bool:
    """The last statement before the loop that mentions `name` is `name = <int/float literal>`."""
    for statement in reversed(statements):
        if not any(isinstance(n, cst.Name) and n.value == name for n in walk(statement)):
            continue
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                value = literal_value(small.value)
                return (
                    isinstance(target, cst.Name)
                    and target.value == name
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                )
        return False
    return False
