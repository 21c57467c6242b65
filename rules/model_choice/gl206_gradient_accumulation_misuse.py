"""GL206: gradient accumulation that costs energy: micro-batches of one on a small model, or DDP
all-reducing gradients on every micro-batch."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.training_steps import is_backward_call, is_optimizer_step
from greenlint.rules.analysis.model_choice_facts import (
    all_models_small,
    is_training_arguments,
    keyword_literal,
    memory_pressure,
    model_loads,
)
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.precision_facts import (
    assignment_targets,
    is_test_module,
    simple_statements,
)
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.impact import RuleImpact, WasteSize
from greenlint.rules.fixes import replace_node

DDP = frozenset(
    {
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.distributed.DistributedDataParallel",
    }
)
# Ways to skip the gradient all-reduce on non-final micro-batches.
_SYNC_CONTROL_CALLS = frozenset({"no_sync", "accumulate", "no_backward_sync", "skip_first_batches_sync"})
HF_1GPU = "Hugging Face Transformers docs, 'Efficient training on a single GPU' (v4.2x page with measured tables, bert-large on a V100-16GB)"
PT_TUNING = "PyTorch Performance Tuning Guide (Szymon Migacz), 'use DistributedDataParallel.no_sync() with gradient accumulation'"


class GradientAccumulationMisuse(Rule):
    code = "GL206"
    name = "gradient-accumulation-misuse"
    summary = "Gradient accumulation that wastes work: micro-batches of 1 on a small model, or DDP syncing every micro-batch"
    detects = """
        Two shapes. (1) `TrainingArguments` (or a TRL / sentence-transformers config) with
        `per_device_train_batch_size=1` and `gradient_accumulation_steps` > 1, in a module whose every
        model load is a known small checkpoint and that shows no memory pressure (no gradient
        checkpointing, no quantised loading, no sequence length of 1024 or more). (2) A model wrapped
        in `DistributedDataParallel` and trained with manual accumulation — an optimizer step under an
        `if` that tests a `%` or an `accum*` name while `backward()` runs every iteration, or an inner
        micro-batch loop that only calls `backward()` — with no `model.no_sync()`,
        `require_backward_grad_sync`, Accelerate `accumulate()` or Fabric `no_backward_sync()` anywhere
        in the module.
    """
    why = """
        (1) A GPU processes one example at a time far less efficiently than a batch: the same number
        of examples per optimizer update takes longer when split into micro-batches of one. Use the
        largest micro-batch that fits and accumulate only the rest. (2) DDP all-reduces all gradients
        at the end of every `backward()`; with k accumulation steps, k-1 of those all-reduces per
        update move data that is immediately overwritten, and every GPU waits for them.
    """
    bad_example = """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
        args = TrainingArguments(output_dir="out", per_device_train_batch_size=1, gradient_accumulation_steps=16, bf16=True)
        Trainer(model=model, args=args, train_dataset=train_ds).train()
    """
    good_example = """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
        args = TrainingArguments(output_dir="out", per_device_train_batch_size=16, gradient_accumulation_steps=1, bf16=True)
        Trainer(model=model, args=args, train_dataset=train_ds).train()
    """
    fix = """
        (1) Raise `per_device_train_batch_size` and lower `gradient_accumulation_steps` so that their
        product stays the same (the automatic fix moves the whole product into the batch size; lower
        it again if it does not fit in memory). (2) Run the non-final micro-batches inside
        `with model.no_sync():` (DDP), or use `accelerator.accumulate(model)` / Fabric's
        `no_backward_sync`, so that gradients are all-reduced once per optimizer step.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "bert-large: batch 1 x 4 accumulation steps took 66.03 s against 57.82 s for batch 4 (+14 %)",
            HF_1GPU,
            "doc",
        ),
        Evidence(
            "DDP with gradient accumulation: no_sync() skips the k-1 unneeded all-reduces per update; no number given",
            PT_TUNING,
            "doc",
        ),
    )
    saving_scope = "(1) about 14 % of training time for bert-large (documented); (2) the communication time of k-1 all-reduces per optimizer step"
    # (accumulation keyword and batch keyword) or (DDP, backward and a step)
    impact = RuleImpact(
        size=WasteSize(
            0.12,
            0.12,
            "bert-large with batch 1 x 4 accumulation steps took 66.03 s against 57.82 s for batch 4 (12 % "
            "of the time, HF docs, V100); the DDP all-reduce of every micro-batch has no published figure "
            "and is given the same size",
        ),
        frequency="run-wide",
    )
    trigger = (
        ("gradient_accumulation_steps", "DistributedDataParallel"),
        ("per_device_train_batch_size", "backward("),
        ("per_device_train_batch_size", "step("),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if is_test_module(analysis):
            return
        yield from _tiny_micro_batches(analysis)
        yield from _ddp_without_no_sync(analysis)


def _tiny_micro_batches(analysis: ModuleAnalysis) -> Iterable[Report]:
    candidates = []
    for site in analysis.facts.calls:
        if not is_training_arguments(site):
            continue
        batch = keyword_literal(site.node, "per_device_train_batch_size")
        steps = keyword_literal(site.node, "gradient_accumulation_steps")
        if batch == 1 and isinstance(steps, int) and not isinstance(steps, bool) and steps > 1:
            if keyword_literal(site.node, "gradient_checkpointing") is not None and keyword_literal(
                site.node, "gradient_checkpointing"
            ) is not False:
                continue
            candidates.append((site, steps))
    if not candidates:
        return
    checkpoint = all_models_small(analysis, model_loads(analysis))
    if checkpoint is None or memory_pressure(analysis) is not None:
        return
    if any(site.attr == "gradient_checkpointing_enable" for site in analysis.facts.calls):
        return
    for site, steps in candidates:
        yield Report(
            site.node,
            f"micro-batches of 1 accumulated over {steps} steps on a small model (`{checkpoint}`) with no "
            f"sign of memory pressure: use per_device_train_batch_size={steps} and no accumulation, or the "
            "largest batch that fits (Hugging Face docs: batch 1 x 4 steps took 14 % longer than batch 4)",
            fix=RuleFix(
                f"per_device_train_batch_size={steps}, gradient_accumulation_steps=1",
                "unsafe",
                replace_node(site.node, lambda node, steps=steps: _with_values(node, steps)),
            ),
        )


def _with_values(node: cst.CSTNode, steps: int) -> cst.CSTNode:
    """The same call with batch size `steps` and one accumulation step (both keywords exist)."""
    assert isinstance(node, cst.Call)
    values = {"per_device_train_batch_size": str(steps), "gradient_accumulation_steps": "1"}
    args = [
        arg.with_changes(value=cst.Integer(values[arg.keyword.value]))
        if arg.keyword is not None and arg.keyword.value in values
        else arg
        for arg in node.args
    ]
    return node.with_changes(args=args)


def _ddp_without_no_sync(analysis: ModuleAnalysis) -> Iterable[Report]:
    facts = analysis.facts
    if not any(site.qualname in DDP for site in facts.calls):
        return
    if any(site.attr in _SYNC_CONTROL_CALLS for site in facts.calls):
        return
    for statement in simple_statements(analysis.module):
        for target, _value in assignment_targets(statement):
            if target.endswith("require_backward_grad_sync"):
                return
    for loop in facts.loops:
        if not loop.is_training_step:
            continue
        found = _accumulation(analysis, loop)
        if found is None:
            continue
        node, shape = found
        yield Report(
            node,
            f"the model is wrapped in DistributedDataParallel and this loop {shape}, so DDP all-reduces the "
            "gradients after every micro-batch although only the last one before `step()` is used; run the "
            "other micro-batches inside `with model.no_sync():`",
        )


def _accumulation(analysis: ModuleAnalysis, loop: LoopInfo) -> tuple[cst.CSTNode, str] | None:
    """Where this training loop accumulates gradients over micro-batches, if it does."""
    optimizer_names = analysis.facts.optimizer_names
    # An inner loop that only runs backward: nanoGPT-style micro-steps.
    for child in loop.children:
        if child.does_backward and not child.does_step:
            return child.node, "runs several `backward()` micro-steps per optimizer step"
    backward = [s for s in loop.calls if is_backward_call(s) and s.loop is loop]
    steps = [s for s in loop.calls if is_optimizer_step(s, optimizer_names) and s.loop is loop]
    if not backward or not steps:
        return None
    if any(s.cond_depth != loop.cond_depth for s in backward):
        return None
    guarded = [s for s in steps if s.cond_depth > loop.cond_depth]
    if not guarded or len(guarded) != len(steps):
        return None
    guard = _accumulation_guard(loop.node, guarded[0])
    if guard is None:
        return None
    return guard, "calls `step()` only every few micro-batches while `backward()` runs on each"


def _accumulation_guard(loop_node: cst.For | cst.While, step: CallSite) -> cst.CSTNode | None:
    """The `if` around the optimizer step whose test looks like accumulation (`%`, `accum*`)."""
    found: list[cst.If] = []

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[cst.If] = []

        def visit_If(self, node: cst.If) -> None:
            self.stack.append(node)

        def leave_If(self, original_node: cst.If) -> None:
            self.stack.pop()

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Call(self, node: cst.Call) -> None:
            if node is step.node and self.stack:
                found.extend(reversed(self.stack))

    loop_node.body.visit(Finder())
    for candidate in found:
        if _looks_like_accumulation(candidate.test):
            return candidate.test
    return None


def _looks_like_accumulation(test: cst.BaseExpression) -> bool:
    stack: list[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
            return True
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = (dotted_name(node) or "").lower()
            if "accum" in name or "grad_acc" in name:
                return True
        stack.extend(node.children)
    return False


RULE = GradientAccumulationMisuse()
