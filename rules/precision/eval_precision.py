"""Evaluation loops that run in float32 although the same module trains under autocast (GL101).

The training step is wrapped in `torch.autocast`, but `validate()` runs the same model's forward
pass with autograd off and no autocast: every evaluation pays the float32 price the training step
no longer pays. Reported only when it is clear-cut:

- the module's training-step loop (backward + optimizer step) runs its forward under an autocast
  that is on (a literal, or its default), in this module;
- the evaluation loop runs with autograd off (`torch.no_grad()`, `inference_mode`, a grad-off
  decorator), does no backward pass, calls a model (a name bound to a model, or a parameter named
  like one: `model(x)`, `self.net(x)`), and has no autocast around it or inside it, in any state
  (an `autocast(enabled=False)` there is the user's choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, LoopInfo
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.precision import AUTOCAST, Precision
from greenlint.rules.analysis.precision_facts import ModelRecognizer
from greenlint.rules.analysis.training_loop_facts import grad_contexts

_MODEL_WORDS = ("model", "net", "network", "encoder", "decoder", "classifier", "backbone")


@dataclass(frozen=True)
class Fp32Eval:
    loop: LoopInfo
    training_autocast: cst.Call  # the autocast of the training step, for the message


def fp32_eval_loops(analysis: ModuleAnalysis) -> list[Fp32Eval]:
    training = _training_autocast(analysis)
    if training is None:
        return []
    contexts = grad_contexts(analysis)
    models: ModelRecognizer | None = None
    found = []
    for loop in analysis.facts.loops:
        if id(loop.node) not in contexts.grad_off or loop.does_backward or loop.does_training:
            continue
        if any(qualname in AUTOCAST for qualname, _ in contexts.withs.get(id(loop.node), ())):
            continue
        if any(site.qualname in AUTOCAST for site in loop.calls) or _autocast_decorated(analysis, loop):
            continue
        if loop.parent is not None and id(loop.parent.node) in contexts.grad_off:
            continue  # report the outermost evaluation loop only
        if models is None:
            models = ModelRecognizer(analysis.facts)
        if any(_calls_model(site, loop, models) for site in loop.calls):
            found.append(Fp32Eval(loop, training))
    return found


def _training_autocast(analysis: ModuleAnalysis) -> cst.Call | None:
    """The autocast call (on, or on by default) that wraps a training step of this module."""
    on = {id(f.node) for f in analysis.precision.facts if f.source == "autocast" and f.state is Precision.ON}
    for site in analysis.facts.calls:
        if id(site.node) not in on or site.loop is None:
            continue
        if any(loop.is_training_step for loop in site.loop.enclosing()):
            return site.node
    return None


def _autocast_decorated(analysis: ModuleAnalysis, loop: LoopInfo) -> bool:
    function = loop.function
    if function is None:
        return False
    return any(analysis.facts.imports.resolve(_decorator_callee(d.decorator)) in AUTOCAST for d in function.node.decorators)


def _decorator_callee(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.func if isinstance(node, cst.Call) else node


def _calls_model(site: CallSite, loop: LoopInfo, models: ModelRecognizer) -> bool:
    """`model(x)`, `self.net(x)`: the call of a model's forward (not a method of it)."""
    func = site.node.func
    if not isinstance(func, (cst.Name, cst.Attribute)) or site.qualname is not None:
        return False
    name = terminal_name(func) or ""
    if isinstance(func, cst.Attribute) and not (isinstance(func.value, cst.Name) and func.value.value == "self"):
        return False  # `loader.dataset(...)`, `x.float()`: a method, not a forward
    if any(word in name.lower() for word in _MODEL_WORDS):
        return True
    return models.is_model(func)
