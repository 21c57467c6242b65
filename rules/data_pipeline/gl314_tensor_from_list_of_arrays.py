"""GL314: a batch tensor built from a Python list of NumPy arrays on every update."""

from __future__ import annotations

import re
from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import in_test_code
from greenlint.rules.analysis.facts import CallSite, FunctionInfo, ModuleFacts
from greenlint.rules.analysis.literals import positional_args
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.data_pipeline.host_built_tensors import runs_every_step
from greenlint.rules.data_pipeline.impacts import GL314_IMPACT

# Tensor constructors that copy a nested Python sequence element by element.
_CONSTRUCTORS = frozenset({
    "torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor",
    "torch.cuda.FloatTensor", "torch.ByteTensor", "torch.cuda.ByteTensor",
})
# Names of per-transition fields that hold observations (arrays), not scalar actions or rewards.
_OBSERVATION = re.compile(r"state|obs|frame|image|img|screen|pixel", re.IGNORECASE)
# How many calls up from the conversion a training update (backward and an optimizer step) may be.
_MAX_CALLER_DEPTH = 2


class TensorFromListOfArrays(Rule):
    code = "GL314"
    name = "tensor-from-list-of-arrays"
    summary = "A batch tensor built from a Python list of NumPy arrays on every update (PyTorch's slow path)"
    detects = """
        `torch.tensor(x)`, `torch.as_tensor(x)` or a legacy constructor (`torch.FloatTensor(x)`) whose
        `x` is a batch of observations gathered from replay transitions: a field of
        `zip(*transitions)` (`batch_state, batch_action, ... = zip(*transitions)`), a list comprehension
        over one (`[s for s in batch_next_state if s is not None]`) or over the transitions
        (`[t.state for t in batch]`), named like an observation (state, obs, frame, image, screen,
        pixel; actions, rewards and done flags are Python scalars and cheap). Only in a module whose
        network is convolutional (an `nn.Conv*` layer, or a convolutional model class of another project
        module: the observations are images), and only where
        the conversion runs on every update: in a training-step loop, or in a function that runs the
        update (backward and an optimizer step) or is called from one, up to two calls away. Test
        code is skipped.
    """
    why = """
        Given a list of NumPy arrays, `torch.tensor` does not see one array: it walks every array
        element by element through the Python sequence protocol, and PyTorch warns that this is
        "extremely slow". For a replay batch of images this costs tens to hundreds of milliseconds of
        one CPU core per update, while the GPU waits; stacking first (`np.stack`) makes it one memory
        copy.
    """
    bad_example = """
        import torch
        import torch.nn as nn

        class DQN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(4, 32, 8, stride=4)

        def update(memory, model, optimizer):
            transitions = memory.sample(32)
            batch_state, batch_action, batch_reward = zip(*transitions)
            states = torch.tensor(batch_state, dtype=torch.float, device="cuda")
            loss = model(states).gather(1, actions).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    """
    good_example = """
        import numpy as np
        import torch
        import torch.nn as nn

        class DQN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(4, 32, 8, stride=4)

        def update(memory, model, optimizer):
            transitions = memory.sample(32)
            batch_state, batch_action, batch_reward = zip(*transitions)
            states = torch.from_numpy(np.stack(batch_state)).float().to("cuda")
            loss = model(states).gather(1, actions).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    """
    fix = """
        Stack the arrays into one first: `torch.from_numpy(np.stack(batch_state))` (then `.to(device)`),
        or `torch.tensor(np.array(batch_state))`; better still, keep the replay memory in preallocated
        NumPy arrays (uint8 frames) and index them, so a batch is one fancy-index and one copy.
    """
    evidence = (
        Evidence(
            "PyTorch warns: \"Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider "
            "converting the list to a single numpy.ndarray with numpy.array() before converting to a tensor.\"",
            "PyTorch source, torch/csrc/utils/tensor_new.cpp (the UserWarning of torch.tensor)",
            "doc",
        ),
        Evidence(
            "torch.tensor of 32 arrays of 1x84x84 float32 took 23.5 ms against 0.06 ms for "
            "torch.from_numpy(np.stack(...)), and 64 arrays of 3x32x32 26 ms against 0.05 ms (CPU, best of 5)",
            "greenlint's own CPU timing, PyTorch 2.13 (docs/evidence.md#cpu-tensor-from-arrays)",
            "measured",
        ),
    )
    saving_scope = "the CPU time of building each batch tensor, on every update, while the GPU waits"
    impact = GL314_IMPACT
    trigger = (("tensor(", "Tensor("), ("zip(*", " for "), ("Conv",))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if not _convolutional(facts):
            return
        for site in facts.calls:
            if site.qualname not in _CONSTRUCTORS or in_test_code(site):
                continue
            args = positional_args(site.node)
            if not args:
                continue
            what = _observation_batch(args[0].value, site, facts)
            if what is None or not _runs_every_update(site, facts):
                continue
            constructor = site.qualname.removeprefix("torch.")
            yield Report(
                site.node,
                f"`torch.{constructor}` builds the batch from {what}, a Python sequence of NumPy arrays: PyTorch "
                "copies it element by element on every update (\"extremely slow\", its own warning; 32 frames of "
                "84x84 took 23.5 ms against 0.06 ms stacked, greenlint's CPU timing); stack it first: "
                "`torch.from_numpy(np.stack(...))`",
                frequency="every-step",
            )


def _convolutional(facts: ModuleFacts) -> bool:
    """The module builds a convolution, or a convolutional model class of another project module
    (02.NStep_DQN.ipynb's network from networks/networks.py): its observations are images."""
    conv_classes = facts.context.conv_classes
    return any((site.qualname or "").rsplit(".", 1)[-1].startswith(("Conv", "LazyConv")) or site.qualname in conv_classes
               for site in facts.calls)


def _observation_batch(node: cst.BaseExpression, site: CallSite, facts: ModuleFacts) -> str | None:
    """A phrase naming the batch of observation arrays `node` is, or None."""
    if isinstance(node, cst.Name):
        unpacked = _zip_fields(site.function, facts)
        if node.value in unpacked and _OBSERVATION.search(node.value):
            return f"`{node.value}` (a field of `zip(*...)`)"
        return None
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        iterable = node.for_in.iter
        element = node.elt
        if isinstance(iterable, cst.Name) and iterable.value in _zip_fields(site.function, facts) \
                and _OBSERVATION.search(iterable.value):
            return f"a list comprehension over `{iterable.value}` (a field of `zip(*...)`)"
        if isinstance(element, cst.Attribute) and _OBSERVATION.search(element.attr.value):
            return f"a list comprehension of `.{element.attr.value}`"
    return None


def _zip_fields(function: FunctionInfo | None, facts: ModuleFacts) -> frozenset[str]:
    """Names bound by `a, b, c = zip(*transitions)` in the function (or the module's top level)."""
    scope = function.node if function is not None else None
    names: set[str] = set()
    for node in walk(scope) if scope is not None else ():
        if isinstance(node, cst.Assign) and _is_zip_star(node.value):
            for target in node.targets:
                if isinstance(target.target, (cst.Tuple, cst.List)):
                    names.update(e.value.value for e in target.target.elements if isinstance(e.value, cst.Name))
    return frozenset(names)


def _is_zip_star(value: cst.BaseExpression) -> bool:
    return (isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "zip"
            and len(value.args) == 1 and value.args[0].star == "*")


def _runs_every_update(site: CallSite, facts: ModuleFacts) -> bool:
    """In a training-step loop, or in a function that runs the update (backward and an optimizer
    step) or is called from one (`update()` -> `self.prep_minibatch()`, qfettes/DeepRL-Tutorials
    01.DQN.ipynb, blind35)."""
    if runs_every_step(site, facts):
        return True
    return site.function is not None and _update_or_called_by_one(site.function, facts, 0, set())


def _update_or_called_by_one(function: FunctionInfo, facts: ModuleFacts, depth: int, seen: set[int]) -> bool:
    if _runs_update(function):
        return True
    if depth >= _MAX_CALLER_DEPTH or id(function) in seen:
        return False
    seen.add(id(function))
    for caller in facts.calls:
        if caller.function is None or function not in facts.local_functions_called(caller):
            continue
        if _update_or_called_by_one(caller.function, facts, depth + 1, seen):
            return True
    return False


def _runs_update(function: FunctionInfo) -> bool:
    attrs = {site.attr for site in function.calls}
    return "backward" in attrs and "step" in attrs


RULE = TensorFromListOfArrays()
