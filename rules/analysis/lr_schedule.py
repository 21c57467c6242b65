"""Does the module train on a learning-rate schedule that needs all its epochs? (GL502)

Early stopping cuts a run short when validation stops improving; a schedule planned over a fixed
number of epochs (cosine, one-cycle, step decay) improves again after each drop, so a patience-based
stop would cut the recipe, not the waste (blind59's judge on the ImageNet examples: 90 epochs with
the rate divided by 10 at epochs 30 and 60, "accuracy keeps rising after each decay").

Two spellings:
- a scheduler of a library, by name (`CosineAnnealingLR`, `OneCycleLR`, `MultiStepLR`, `StepLR`
  except `step_size=1`, which decays smoothly every epoch, `LambdaLR`, Keras `CosineDecay`,
  `LearningRateScheduler` ...);
- a hand-written one: a function of the module with an epoch parameter that writes an optimizer
  parameter group's rate (`def adjust_learning_rate(optimizer, epoch, args): ... param_group['lr'] =
  args.lr * (0.1 ** (epoch // 30))`, the pytorch/examples ImageNet recipe copied by many projects),
  or a call of such a function from another module, known by its name and an epoch argument
  (`adjust_learning_rate(optimizer, epoch, args)` from utils.py: YyzHarry/imbalanced-regression,
  blind63, the rate divided by 10 at epochs 60 and 80).
"""

from __future__ import annotations

import re

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument, literal_value
from greenlint.rules.analysis.memo import once_per_module

# Schedules that are meant to run a fixed number of epochs: stopping early cuts them short.
_FIXED_LENGTH_SCHEDULES = (
    "cosinedecay", "onecyclelr", "cosineannealing", "cosineschedule", "cosinelrscheduler",
    "getcosine", "cosinewithhardrestarts", "cosinewarmup", "multisteplr", "steplr", "lambdalr",
    "polynomiallr", "polynomialdecay", "piecewiseconstantdecay", "learningratescheduler",
)
_EPOCH = re.compile(r"epoch", re.IGNORECASE)
# `adjust_learning_rate`, `adjust_lr`, `update_lr`, `set_learning_rate`, `lr_schedule`, `step_lr`
_RATE_SETTER = re.compile(r"^_?(adjust|update|set|schedule|step|decay)_?(the_)?(lr|learning_rate)s?$|^(lr|learning_rate)_?(schedule|decay|scheduler)$",
                          re.IGNORECASE)


@once_per_module
def fixed_length_schedule(analysis: ModuleAnalysis) -> bool:
    """The module uses a learning-rate schedule that needs all its epochs."""
    for site in analysis.facts.calls:
        name = (site.attr or "").lower().replace("_", "")
        if not any(word in name for word in _FIXED_LENGTH_SCHEDULES):
            continue
        if name == "steplr" and literal_value(argument(site.node, "step_size", 1)) == 1:
            continue
        return True
    if any(_called_with_epoch(site.node) for site in analysis.facts.calls):
        return True
    code = analysis.code
    if "'lr'" not in code and '"lr"' not in code:
        return False  # no parameter group's rate is written: skip the walk of every function
    # every def of the module, nested ones too, as the module's facts list them
    return any(_epoch_parameter(info.node) and _writes_rate(info.node)
               for infos in analysis.facts.functions.values() for info in infos)


def _called_with_epoch(call: cst.Call) -> bool:
    """`adjust_learning_rate(optimizer, epoch, args)`: a rate setter by name, given the epoch."""
    func = call.func
    name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
    return bool(_RATE_SETTER.match(name)) and any(
        isinstance(arg.value, cst.Name) and _EPOCH.search(arg.value.value) for arg in call.args)


def _epoch_parameter(function: cst.FunctionDef) -> bool:
    params = function.params
    return any(_EPOCH.search(param.name.value) for param in [*params.posonly_params, *params.params, *params.kwonly_params])


def _writes_rate(function: cst.FunctionDef) -> bool:
    """`param_group['lr'] = ...` / `optimizer.param_groups[0]["lr"] = ...` in the function."""
    writes = False

    class Find(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal writes
            target = node.target
            if isinstance(target, cst.Subscript) and len(target.slice) == 1:
                index = target.slice[0].slice
                if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString) \
                        and index.value.evaluated_value == "lr":
                    writes = True

    function.visit(Find())
    return writes
