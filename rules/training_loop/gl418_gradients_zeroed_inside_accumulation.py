"""GL418: gradients zeroed on every micro-batch while the optimizer steps only every k-th one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import int_value
from greenlint.rules.analysis.facts import CallSite, LoopInfo, ModuleFacts
from greenlint.rules.analysis.training_steps import is_backward_call, is_optimizer_step
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.scope_facts import is_test_module, training_step_loops
from greenlint.rules.analysis.step_guards import conditions_between, runs_every_step
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule
from greenlint.rules.impact import RuleImpact, WasteSize

# Names that say an `if` is the accumulation boundary (`accumulate`, `grad_accum_steps`,
# `gradient_accumulation_steps`, fairseq's `update_freq`, the AMP recipe's `iters_to_accumulate`).
_ACCUMULATION_WORDS = re.compile(r"accum|update_freq", re.IGNORECASE)


class GradientsZeroedInsideAccumulation(Rule):
    code = "GL418"
    name = "gradients-zeroed-inside-accumulation"
    summary = "`zero_grad()` on every micro-batch while `optimizer.step()` runs every k-th: k-1 of k backward passes are thrown away"
    detects = """
        In a training-step loop, `optimizer.step()` (or `scaler.step(optimizer)`) runs only under an
        accumulation guard (`if (i + 1) % accum == 0:`, an `if` on an `accum*` or `update_freq` name)
        while `backward()` and the same optimizer's (or the model's) `zero_grad()` run on every
        iteration. Not reported: `zero_grad()` under the same guard as the step (correct
        accumulation), a guard whose accumulation factor is the literal 1 (or a module constant equal
        to 1), a guard that runs its own `backward()` (a GAN's generator trained every n_critic
        steps), optimizers other than the one stepped, and test code. One finding per loop.
    """
    why = """
        Gradient accumulation sums the gradients of k micro-batches and applies them with one
        optimizer step. A `zero_grad()` that runs on every micro-batch clears the sum each time, so
        the step applies only the last micro-batch's gradient: the forward and backward passes of the
        other k-1 micro-batches are computed and then discarded. That is k-1 of every k training
        passes spent for nothing (7 of 8 with k = 8), and the effective batch is k times smaller than
        the author intended, which also changes what the run learns.
    """
    bad_example = """
        import torch

        ACCUMULATE = 8
        model = Net().cuda()
        opt = torch.optim.AdamW(model.parameters())
        for step, (x, y) in enumerate(loader):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            if (step + 1) % ACCUMULATE == 0:
                opt.step()
    """
    good_example = """
        import torch

        ACCUMULATE = 8
        model = Net().cuda()
        opt = torch.optim.AdamW(model.parameters())
        for step, (x, y) in enumerate(loader):
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            (loss / ACCUMULATE).backward()
            if (step + 1) % ACCUMULATE == 0:
                opt.step()
                opt.zero_grad()
    """
    fix = """
        Move `zero_grad()` under the same `if` as `optimizer.step()`, right after the step, and divide
        the loss by the accumulation factor so the summed gradient is an average. Or, if the
        accumulation was not wanted, step on every micro-batch and drop the factor.
    """
    fix_applicability = None  # moving the call changes the training result: the user decides
    evidence = (evidence.ACCUMULATION_SEMANTICS,)
    saving_scope = "the forward and backward passes of the k-1 micro-batches whose gradients are cleared before any step"
    impact = RuleImpact(
        size=WasteSize(
            0.5,
            0.94,
            "arithmetic: with an accumulation factor k of 2 to 16, k-1 of every k forward/backward passes "
            "(50-94 %) produce gradients that are cleared before an optimizer step uses them",
        ),
        frequency="every-step",
    )
    trigger = (("zero_grad",), ("%", "accum", "update_freq"))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if is_test_module(analysis):
            return
        optimizers = analysis.facts.optimizer_names
        for loop in training_step_loops(analysis):
            if not any(is_backward_call(s) and runs_every_step(loop.node, s.node) for s in _own_calls(loop)):
                continue
            for step_site, guard in _guarded_steps(loop, optimizers):
                factor = _accumulation_factor(guard.test, analysis.facts)
                if factor == 1 or _runs_backward(guard):
                    continue  # a backward under the guard: alternating updates (GAN n_critic), not accumulation
                stepped = _optimizer_of(step_site)
                zero = next(_every_step_zero_grads(loop, stepped), None)
                if zero is not None:
                    yield _report(zero, step_site, factor, analysis.module)
                    break  # one finding per loop: moving the first zero_grad is the fix


def _own_calls(loop: LoopInfo) -> Iterator[CallSite]:
    """Calls in the loop's own body (not in a nested loop or a nested function)."""
    return (s for s in loop.calls if s.loop is loop and s.function is loop.function)


def _guarded_steps(loop: LoopInfo, optimizers: set[str]) -> Iterator[tuple[CallSite, cst.If]]:
    """Optimizer steps of the loop that run only under an accumulation `if` (never an `else`)."""
    for site in _own_calls(loop):
        if not is_optimizer_step(site, optimizers):
            continue
        conditions = conditions_between(loop.node, site.node) or []
        if not conditions or not all(isinstance(c, cst.If) for c in conditions):
            continue  # an else branch, an except handler, a ternary: not the accumulation shape
        for condition in conditions:
            if _is_accumulation_test(condition.test):
                yield site, condition
                break


def _runs_backward(guard: cst.If) -> bool:
    """Whether the guarded block itself calls `backward()`: then the gradients it steps on are computed
    under the same condition (a GAN's generator every n_critic steps) and nothing is discarded."""
    return any(
        isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward"
        for node in walk(guard.body)
    )


def _is_accumulation_test(test: cst.BaseExpression) -> bool:
    for node in walk(test):
        if isinstance(node, cst.Modulo):
            return True
        if isinstance(node, cst.Name) and _ACCUMULATION_WORDS.search(node.value):
            return True
        if isinstance(node, cst.Attribute) and _ACCUMULATION_WORDS.search(node.attr.value):
            return True
    return False


def _accumulation_factor(test: cst.BaseExpression, facts: ModuleFacts) -> int | None:
    """k of `... % k == 0` when the module or its configuration states it (a literal, a constant, an
    argparse default); None when unknown."""
    for node in walk(test):
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
            return int_value(node.right, facts)
    return None


def _optimizer_of(site: CallSite) -> str | None:
    """The optimizer a step call steps: `opt` of `opt.step()`, of `scaler.step(opt)`, of `xm.optimizer_step(opt)`."""
    receiver = dotted_name(site.receiver) if site.receiver is not None else None
    if site.node.args and (site.attr == "optimizer_step" or (receiver and "scaler" in receiver.lower())):
        return dotted_name(site.node.args[0].value)
    return receiver


def _every_step_zero_grads(loop: LoopInfo, stepped: str | None) -> Iterator[CallSite]:
    """Unconditional `zero_grad()` calls of the stepped optimizer (or of a model) in the loop body."""
    for site in _own_calls(loop):
        if site.attr != "zero_grad" or site.receiver is None:
            continue
        receiver = dotted_name(site.receiver)
        if receiver is None:
            continue
        same_optimizer = stepped is not None and receiver == stepped
        model_grads = stepped is not None and "opt" not in receiver.lower()  # `model.zero_grad()`
        if (same_optimizer or model_grads) and runs_every_step(loop.node, site.node):
            yield site


def _report(zero: CallSite, step: CallSite, factor: int | None, module: cst.Module) -> Report:
    zero_text = module.code_for_node(zero.node)
    step_text = module.code_for_node(step.node)
    if factor is not None:
        share = f"{factor - 1} of every {factor} forward/backward passes ({(factor - 1) / factor:.0%})"
    else:
        share = "all but one of every k forward/backward passes"
    return Report(
        zero.node,
        f"`{zero_text}` runs on every micro-batch but `{step_text}` only under the accumulation `if`: the gradients "
        f"are cleared before they are summed, so {share} are computed and thrown away (estimated). Move "
        f"`{zero_text}` under the same `if`, after the step, and divide the loss by the accumulation factor",
        frequency="every-step",
    )


RULE = GradientsZeroedInsideAccumulation()
