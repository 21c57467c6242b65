"""GL414: a training loop accumulates the loss tensor itself (`losses.append(loss)`, `total += loss`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import LoopInfo
from greenlint.rules.analysis.training_steps import is_backward_call
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.scope_facts import is_test_module, training_step_loops
from greenlint.rules.analysis.step_guards import runs_every_step
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.fixes import replace_node

# A rebinding of the loss name to one of these makes it a plain number or a detached tensor.
_DETACHING = re.compile(r"\.item\(|\.detach\(|(?<![\w.])float\(|\.data\b|\.cpu\(|\.tolist\(|\.numpy\(")


class LossTensorAccumulated(Rule):
    code = "GL414"
    # Preview since session 10: blind, on the thirteenth corpus, 0 of its 12 findings were worth
    # acting on (tutorials that sum a step's loss tensor for one epoch of a small CNN: the graphs
    # held are small and freed at the epoch's end); 5 of 19 over every corpus, under the 80 % a
    # default rule needs (`python bench/verdict_table.py`).
    preview = True
    name = "loss-tensor-accumulated"
    summary = "`losses.append(loss)` / `total += loss` keeps every step's autograd graph alive"
    detects = """
        In a training-step loop, `acc.append(loss)`, `acc += loss` or `acc = acc + loss` (also
        `loss * n`, `loss / n`), on every step, where `loss` is the tensor the loop calls
        `backward()` on (`loss.backward()`, `scaler.scale(loss).backward()`,
        `accelerator.backward(loss)`). Not reported: `loss.item()`, `float(loss)`, `loss.detach()`
        or `loss.data` (no graph), a loss name rebound to one of those before it is accumulated, an
        accumulator that is itself backpropagated later (`sum(losses).backward()`: the graph is
        needed), accumulation under a condition other than a device test, and test code.
    """
    why = """
        A loss that requires grad carries its autograd graph. Keeping it in a list or a running sum
        keeps that graph alive for as long as the accumulator lives: `backward()` frees the saved
        activations, but the graph's nodes stay, one set per step, so memory grows through the whole
        epoch, and a loss kept before `backward()` runs keeps its activations too. The PyTorch FAQ
        lists it first among the causes of out-of-memory errors; memory lost this way forces smaller
        batches or a restart.
    """
    bad_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss)
    """
    good_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())  # the value without the graph; no host-device sync
    """
    fix = """
        Accumulate `loss.detach()`: the same value on the same device, without the graph and without a
        host-device synchronisation (`loss.item()` also drops the graph but waits for the GPU on every
        step, see GL401). Convert to a number once, when the value is logged.
    """
    fix_applicability = "safe"
    evidence = (evidence.FAQ_ACCUMULATE_HISTORY, evidence.ACCUMULATED_GRAPH_CHECK)
    saving_scope = "memory: the autograd graph of every step kept until the accumulator is dropped"
    impact = None  # a memory cost; no measured energy figure
    trigger = (("backward(",), ("append(", "+=", "+ loss"))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        loops = training_step_loops(analysis)
        if not loops or is_test_module(analysis):
            return
        code_for = analysis.module.code_for_node
        backward_texts: list[str] | None = None
        for loop in loops:
            losses = _backward_losses(loop)
            if not losses:
                continue
            for statement, accumulator, operand in _accumulations(loop.node, losses):
                if _rebound_detached(loop, operand.value, code_for) or not runs_every_step(loop.node, statement):
                    continue
                if backward_texts is None:
                    backward_texts = [code_for(s.node) for s in analysis.facts.calls if is_backward_call(s) or s.attr == "backward"]
                mentioned = re.compile(rf"(?<![\w.]){re.escape(accumulator)}\b")
                if any(mentioned.search(text) for text in backward_texts):
                    continue  # `sum(losses).backward()`: the accumulated graph is what it backpropagates
                shown = " ".join(code_for(statement).split())
                yield Report(
                    statement,
                    f"`{shown}` keeps the autograd graph of every step alive: `{operand.value}` requires grad, so "
                    f"`{accumulator}` holds each step's graph until it is dropped and memory grows with every step; "
                    f"accumulate `{operand.value}.detach()` (no host-device sync)",
                    fix=RuleFix(
                        f"accumulate `{operand.value}.detach()`",
                        "safe",
                        replace_node(operand, lambda node: cst.Call(cst.Attribute(node, cst.Name("detach")))),
                    ),
                    frequency="every-step",
                )


def _backward_losses(loop: LoopInfo) -> set[str]:
    """Names of the tensors the loop backpropagates: `loss.backward()`, `scaler.scale(loss).backward()`,
    `(loss / k).backward()`, `accelerator.backward(loss)`."""
    names: set[str] = set()
    for site in loop.calls:
        if site.attr != "backward":
            continue
        parts: list[cst.CSTNode] = [arg.value for arg in site.node.args[:1]]
        if site.receiver is not None and is_backward_call(site):
            parts.append(site.receiver)
        for part in parts:
            for node in walk(part):
                if isinstance(node, cst.Name):
                    names.add(node.value)
    return names


def _accumulations(loop: cst.For | cst.While, losses: set[str]) -> Iterator[tuple[cst.CSTNode, str, cst.Name]]:
    """(statement, accumulator name, the loss Name in it) for `acc.append(loss)`, `acc += loss`,
    `acc = acc + loss` in the loop's own code (not in nested functions)."""
    stack: list[cst.CSTNode] = [loop.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                found = _accumulation(small, losses)
                if found is not None:
                    yield (small, *found)
            continue
        stack.extend(node.children)


def _accumulation(statement: cst.BaseSmallStatement, losses: set[str]) -> tuple[str, cst.Name] | None:
    if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
        call = statement.value
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "append" and len(call.args) == 1:
            target = dotted_name(call.func.value)
            operand = _loss_operand(call.args[0].value, losses)
            return (target, operand) if target and operand else None
    if isinstance(statement, cst.AugAssign) and isinstance(statement.operator, cst.AddAssign):
        target = dotted_name(statement.target)
        operand = _loss_operand(statement.value, losses)
        return (target, operand) if target and operand else None
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = dotted_name(statement.targets[0].target)
        value = statement.value
        if (
            target and isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add)
            and dotted_name(value.left) == target
        ):
            operand = _loss_operand(value.right, losses)
            return (target, operand) if operand else None
    return None


def _loss_operand(expr: cst.BaseExpression, losses: set[str]) -> cst.Name | None:
    """The loss Name when `expr` is `loss`, or `loss` times/divided by something that is no call
    (`loss * x.size(0)` counts: the size call returns a number, the product keeps the graph)."""
    if isinstance(expr, cst.Name):
        return expr if expr.value in losses else None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Multiply, cst.Divide)):
        for side, other in ((expr.left, expr.right), (expr.right, expr.left)):
            if isinstance(side, cst.Name) and side.value in losses and not _detaches(other):
                return side
    return None


def _detaches(expr: cst.BaseExpression) -> bool:
    return any(isinstance(n, cst.Attribute) and n.attr.value in ("detach", "item", "data") for n in walk(expr))


def _rebound_detached(loop: LoopInfo, name: str, code_for: Callable[[cst.CSTNode], str]) -> bool:
    """`loss = loss.item()` (or any detaching rebinding of the name) somewhere in the loop."""
    for bound, value in loop.simple_assignments:
        if bound == name and _DETACHING.search(code_for(value)):
            return True
    return False


RULE = LossTensorAccumulated()
