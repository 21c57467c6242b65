"""What a DataLoader is for and what it feeds, for the wording and frequency of GL3xx findings.

- `is_evaluation_loader`: the loader is bound to a name that says evaluation (`test_loader`,
  `valid_dl`, `self.val_dataloader`): it runs once per evaluation pass, not on every training
  step, and a message must not call its batches "training steps";
- `accelerator_word`: "GPU", or "accelerator" where the module runs on a TPU/XLA device (a
  torch_xla script that also names "cuda" for a fallback is not a GPU run);
- `loader_consumer`: the phrase naming another project module that trains on a CUDA device with
  this module-level loader (`from data_loader import train_loader`), or the imported training
  function that the loader is passed to and that names a CUDA device itself, from the project context.
"""

from __future__ import annotations

import re

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, ModuleFacts

# `val_loader`, `valid_dl`, `test_loader`, `testloader`, `eval_dataloader`, `dev_loader`,
# `loader_val`: the word on its own, at the start or after an underscore.
_EVALUATION_NAME = re.compile(r"(?:^|_)(?:val|valid|validation|test|testing|eval|evaluation|dev)(?:_|loader|dl|data|$)")
_XLA_MODULES = ("torch_xla", "jax", "flax")


def loader_name(call: cst.Call, facts: ModuleFacts) -> str | None:
    """The name the DataLoader call is assigned to (`x` for `self.x = DataLoader(...)`), or None."""
    for target, value in facts.assignments:
        if value is call:
            return target
    return None


def is_evaluation_loader(call: cst.Call, facts: ModuleFacts) -> bool:
    name = loader_name(call, facts)
    return name is not None and _EVALUATION_NAME.search(name.lower()) is not None


def accelerator_word(analysis: ModuleAnalysis) -> str:
    """"accelerator" when the module imports an XLA runtime (a TPU run), else "GPU"."""
    for qualname in analysis.facts.imports.bindings.values():
        if qualname.split(".", 1)[0] in _XLA_MODULES:
            return "accelerator"
    return "GPU"


def loader_consumer(site: CallSite, facts: ModuleFacts) -> str | None:
    """"`src/train.py` trains with it on a CUDA device" for `train_loader = DataLoader(...)` at module
    level when the project index found such an importer; "passed to `train()`, which trains on a
    CUDA device (trainer.py)" when the loader goes to an imported training function that names the
    device itself; None otherwise."""
    if site.function is None and site.loop is None and facts.context.loader_consumers:
        name = loader_name(site.node, facts)
        found = facts.context.loader_consumers.get(name) if name is not None else None
        if found is not None:
            return found
    return _passed_to_gpu_trainer(site, facts)


def _passed_to_gpu_trainer(site: CallSite, facts: ModuleFacts) -> str | None:
    """`loader = DataLoader(...)` then `train(G, D, dataloader=loader)` in the same scope, where
    `train` comes from a project module and puts its work on a CUDA device (llien30/AnoGAN 1bf2edd
    train.py feeding trainer.train)."""
    trainers = facts.context.gpu_trainers
    if not trainers:
        return None
    name = loader_name(site.node, facts)
    if name is None or "." in name:
        return None
    for other in facts.calls:
        if other.function is not site.function or other.qualname not in trainers:
            continue
        if any(isinstance(arg.value, cst.Name) and arg.value.value == name for arg in other.node.args):
            return f"passed to {trainers[other.qualname]}"
    return None
