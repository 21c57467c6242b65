"""GL416: DDP's `find_unused_parameters=True` set where nothing in the module shows it is needed."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.training_steps import is_backward_call
from greenlint.rules.analysis.literals import (
    argument,
    keyword_arg,
    resolved_value,
    string_value,
    value_source,
)
from greenlint.rules.analysis.scope_facts import (
    in_test_function,
    is_test_module,
    module_trains,
)
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.fixes import replace_node, statement_containing

_DDP = frozenset({"torch.nn.parallel.DistributedDataParallel", "torch.nn.parallel.distributed.DistributedDataParallel"})
# callables whose `find_unused_parameters` keyword is DDP's (Lightning, Accelerate)
_PASSES_TO_DDP = ("DDPStrategy", "DDPPlugin", "DDPSpawnStrategy", "DistributedDataParallelKwargs")
_HF_ARGUMENTS = ("TrainingArguments", "Seq2SeqTrainingArguments", "SFTConfig")
_STRATEGY = re.compile(r"^ddp(_spawn|_fork|_notebook)?_find_unused_parameters_true$")
# A comment with one of these words next to the flag says why it is set.
_REASON = re.compile(r"#[^\n]*(unused|need|requir|because|error|frozen|freez|branch|head|skip)", re.IGNORECASE)
# Code that changes which parameters get gradients during training, or trains parts in turn.
_NEED_WORDS = ("requires_grad", "freeze", "frozen", "static_graph")


class DDPFindUnusedParameters(Rule):
    code = "GL416"
    name = "ddp-find-unused-parameters"
    summary = "DDP `find_unused_parameters=True` traverses the autograd graph on every step; set it only when needed"
    detects = """
        `DistributedDataParallel(..., find_unused_parameters=True)`, Lightning
        `DDPStrategy(find_unused_parameters=True)` or `strategy="ddp_find_unused_parameters_true"`,
        Accelerate `DistributedDataParallelKwargs(find_unused_parameters=True)` and Hugging Face
        `TrainingArguments(ddp_find_unused_parameters=True)` (a literal or a known configured default),
        when the module shows no sign that some parameters really go without a gradient. Whether they
        do cannot be proven without running the model, so these signs count as need and keep the rule
        silent: a comment next to the flag giving a reason (unused, needed, frozen, error ...); code
        that changes which parameters train (`requires_grad`, freeze/unfreeze, `static_graph`); two
        or more optimizers or backward calls (GANs and alternating phases; the two branches of one `if`,
        such as apex's `scaled_loss.backward()` and its `else: loss.backward()`, are one); a `forward` of the module
        that calls a sub-module only under an `if`. Test code is skipped, and so is a DDP built in a
        class method of a module that neither trains nor loops (a framework's own plumbing).
    """
    why = """
        With the flag on, DDP walks the autograd graph from the outputs after every forward pass to
        mark the parameters that will get no gradient, and its reducer cannot rely on the usual
        bucket order. When every parameter is used, that walk is pure overhead on every step, and
        PyTorch warns about it at run time. Lightning 2.0 turned the flag off by default for this
        reason.
    """
    bad_example = """
        import torch
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        dist.init_process_group("nccl")
        model = DDP(Net().cuda(), device_ids=[rank], find_unused_parameters=True)
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    good_example = """
        import torch
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        dist.init_process_group("nccl")
        model = DDP(Net().cuda(), device_ids=[rank])
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    fix = """
        Drop the flag (False is DDP's and Lightning's default; Lightning's strategy is then "ddp"). If
        DDP then stops with "Expected to have finished reduction in the prior iteration", some
        parameters really get no gradient: run once with `TORCH_DISTRIBUTED_DEBUG=INFO` to name them,
        freeze them with `requires_grad_(False)` before wrapping, or keep the flag and add
        `static_graph=True` when the unused set is the same on every step. The fix turns the flag
        off, so it is unsafe: a model that needs it fails loudly on its first step.
    """
    fix_applicability = "unsafe"
    evidence = (evidence.DDP_UNUSED_DOCS, evidence.DDP_UNUSED_WARNING)
    saving_scope = "the per-step traversal of the autograd graph and the lost overlap of gradient all-reduce"
    impact = None  # documented overhead, never quantified
    trigger = (("find_unused_parameters",),)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        flagged = [(site, node, how) for site in analysis.facts.calls for node, how in _flags(site)]
        if not flagged or is_test_module(analysis) or _shows_need(analysis):
            return
        trains: bool | None = None
        for site, node, how in flagged:
            if in_test_function(site.function, site.class_name) or _commented(analysis, site.node):
                continue
            if site.class_name is not None and site.function is not None:
                if trains is None:
                    trains = module_trains(analysis) or any(loop.calls for loop in analysis.facts.loops)
                if not trains:
                    continue  # a framework's DDP strategy: the flag is its user's choice
            source = value_source(node)
            by_default = f" by default ({source})" if source else ""
            new = cst.SimpleString('"ddp"') if how.startswith("strategy") else cst.Name("False")
            yield Report(
                site.node,
                f"`{how}`{by_default} makes DDP traverse the autograd graph after every forward pass, and nothing "
                "in this module shows parameters that get no gradient; drop it (if DDP then reports unused "
                "parameters, freeze them before wrapping or add `static_graph=True`)",
                fix=None if source else RuleFix("turn the flag off", "unsafe", replace_node(node, lambda old, new=new: new)),
                frequency="run-wide",
            )


def _flags(site: CallSite) -> list[tuple[cst.BaseExpression, str]]:
    """(the value node, how the flag is written) for each literal or configured True flag of this call."""
    qualname = site.qualname or ""
    last = qualname.rsplit(".", 1)[-1]
    found = []
    if qualname in _DDP or (qualname.split(".", 1)[0] in ("lightning", "pytorch_lightning", "accelerate") and last in _PASSES_TO_DDP):
        value = argument(site.node, "find_unused_parameters")
        if value is not None and resolved_value(value) is True:
            found.append((value, "find_unused_parameters=True"))
    if qualname.split(".", 1)[0] in ("transformers", "trl") and last in _HF_ARGUMENTS:
        value = argument(site.node, "ddp_find_unused_parameters")
        if value is not None and resolved_value(value) is True:
            found.append((value, "ddp_find_unused_parameters=True"))
    strategy = keyword_arg(site.node, "strategy")
    if strategy is not None and _STRATEGY.match(string_value(strategy.value) or ""):
        found.append((strategy.value, f'strategy="{string_value(strategy.value)}"'))
    return found


def _shows_need(analysis: ModuleAnalysis) -> bool:
    """Signs that some parameters get no gradient on some steps (see the rule's `detects`)."""
    code = analysis.code
    if any(word in code for word in _NEED_WORDS):
        return True
    facts = analysis.facts
    if len(facts.optimizer_names) >= 2 or _backward_passes(analysis) >= 2:
        return True
    for function in facts.functions.get("forward", []):
        for node in walk(function.node.body):
            if isinstance(node, cst.If) and any(
                isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)
                and isinstance(inner.func.value, cst.Name) and inner.func.value.value == "self"
                for inner in walk(node.body)
            ):
                return True  # `if cond: x = self.head(x)`: a sub-module skipped on some steps
    return False


def _backward_passes(analysis: ModuleAnalysis) -> int:
    """Backward calls that can run in the same step: the two branches of one `if` (apex's
    `with amp.scale_loss(...)` then `scaled_loss.backward()` / `else: loss.backward()`,
    kekmodel/FixMatch-pytorch, blind42) are one pass, not a GAN's two."""
    calls = {id(site.node) for site in analysis.facts.calls if is_backward_call(site)}
    alternatives = 0
    for node in walk(analysis.module):
        if isinstance(node, cst.If) and isinstance(node.orelse, cst.Else):
            in_body = any(id(inner) in calls for inner in walk(node.body))
            in_else = any(id(inner) in calls for inner in walk(node.orelse))
            alternatives += in_body and in_else
    return len(calls) - alternatives


def _commented(analysis: ModuleAnalysis, call: cst.Call) -> bool:
    """A comment giving a reason in the call or on its statement's lines."""
    if _REASON.search(analysis.module.code_for_node(call)):
        return True
    statement = statement_containing(analysis.module, call)
    return statement is not None and bool(_REASON.search(analysis.module.code_for_node(statement)))


RULE = DDPFindUnusedParameters()
