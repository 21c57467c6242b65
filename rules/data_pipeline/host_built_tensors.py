"""GL310 helpers: how often a host-built tensor is made, and the `Tensor(np.ones(...))` idiom.

`how_often` reads the loop structure around a call: inside a training step (or a model's
`forward`), once per epoch, or once per run (module level, or before the training loop of the
function that holds it). `numpy_into_cuda_tensor` finds `Variable(Tensor(np.ones(shape)))` where
`Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor`: NumPy fills the array in host
memory and the legacy CUDA constructor copies it to the GPU.
"""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import assigned_values, in_test_code
from greenlint.rules.analysis.facts import CallSite, FunctionInfo, ModuleFacts
from greenlint.rules.analysis.literals import positional_args
from greenlint.rules.base import Report

_STEP_METHODS = frozenset({"forward", "training_step"})
# NumPy constructors whose result the legacy constructor copies: `np.ones(shape)`, `np.zeros(...)`.
_NUMPY_FILLS = frozenset({"ones", "zeros", "full", "empty", "ones_like", "zeros_like", "full_like", "eye", "arange"})
NUMPY_INTO_TENSOR_TEXT = re.compile(r"\bTensor\(\s*(?:np|numpy)\.(?:ones|zeros|full|empty|eye|arange)")


def before_training_loop(site: CallSite, facts: ModuleFacts) -> bool:
    """Outside any loop of a function that holds a training loop: runs once per call of that
    function (a dummy forward before `for epoch in ...`)."""
    function = site.function
    if site.loop is not None or function is None:
        return False
    return any(other.function is function and other.does_training for other in facts.loops)


def how_often(site: CallSite, facts: ModuleFacts) -> str | None:
    """"every-step", "every-epoch", "once", or None when the analysis cannot tell."""
    function = site.function
    if function is not None and function.class_name is not None and function.name in _STEP_METHODS:
        return "every-step"
    loop = site.loop
    if loop is not None:
        for enclosing in loop.enclosing():
            if enclosing.is_training_step:
                return "every-step"
            if enclosing.does_training:
                return "every-epoch"
        return None
    if function is None or before_training_loop(site, facts):
        return "once"  # module level outside any loop, or around the training loop of its function
    return None


_MAX_CALLER_DEPTH = 3


def runs_every_step(site: CallSite, facts: ModuleFacts) -> bool:
    """Does this call run on every training step: in a training-step loop or a model's `forward` /
    `training_step`, or in a function of the module that one of those calls (up to three calls
    deep: `forward` -> `self.encoder` -> `to_onehot`; a LightningModule's `training_step` ->
    `self.sample_Z`, 0913ktg/5G-Traffic-Generator 5GT-GAN/model/GAN.py:98, blind3)."""
    if how_often(site, facts) == "every-step":
        return True
    return site.function is not None and _per_step_function(site.function, facts, 0, set())


def _per_step_function(function: FunctionInfo, facts: ModuleFacts, depth: int, seen: set[int]) -> bool:
    if function.class_name is not None and function.name in _STEP_METHODS:
        return True
    if depth >= _MAX_CALLER_DEPTH or id(function) in seen:
        return False
    seen.add(id(function))
    for caller in facts.calls:
        if caller.attr != function.name and not (isinstance(caller.node.func, cst.Name) and caller.node.func.value == function.name):
            continue
        if function not in facts.local_functions_called(caller):
            continue
        if caller.loop is not None and any(loop.is_training_step for loop in caller.loop.enclosing()):
            return True
        if caller.function is not None and _per_step_function(caller.function, facts, depth + 1, seen):
            return True
    return False


def _legacy_cuda_constructor(name: str, facts: ModuleFacts) -> bool:
    """`Tensor = torch.cuda.FloatTensor` or `... if cuda else torch.FloatTensor`."""
    for value in assigned_values(facts, name):
        branches = [value.body, value.orelse] if isinstance(value, cst.IfExp) else [value]
        for branch in branches:
            qualname = facts.imports.resolve(branch) or ""
            if qualname.startswith("torch.cuda.") and qualname.endswith("Tensor"):
                return True
    return False


def numpy_into_cuda_tensor(analysis: ModuleAnalysis) -> Iterator[Report]:
    facts = analysis.facts
    checked: dict[str, bool] = {}
    for site in facts.calls:
        func = site.node.func
        if not isinstance(func, cst.Name) or func.value in facts.imports.bindings or in_test_code(site):
            continue
        positional = positional_args(site.node)
        if len(positional) != 1 or not isinstance(positional[0].value, cst.Call):
            continue
        inner = positional[0].value
        qualname = facts.imports.resolve(inner.func) or ""
        if not qualname.startswith("numpy.") or qualname[len("numpy."):] not in _NUMPY_FILLS:
            continue
        if how_often(site, facts) != "every-step":
            continue
        if func.value not in checked:
            checked[func.value] = _legacy_cuda_constructor(func.value, facts)
        if not checked[func.value]:
            continue
        numpy_call = analysis.module.code_for_node(inner.func)
        yield Report(
            site.node,
            f"`{func.value}({numpy_call}(...))` fills a NumPy array in host memory and copies it to the GPU on every "
            f"step (`{func.value}` is a `torch.cuda` tensor type): create it on the device "
            f"(`torch.{qualname[len('numpy.'):]}(..., device=...)`), or once before the loop when its shape does not change",
            frequency="every-step",
        )
