"""How often a piece of data code runs in a training script (GL601, GL602, GL604 impact refinements).

Row loops and list-growing loops are mostly preprocessing that runs once, before training: on the
earlier blind corpus GL601 was worth acting on for 3 of 30 findings ("iterrows over small frames run
once"). What matters is where the code sits:

- inside a training step loop: every step;
- inside an epoch loop (a loop around a training-step loop or a `fit`) or an evaluation pass it
  calls: every epoch;
- outside every loop, in a module that trains a model: once per run, next to the training;
- in a module that trains nothing (a pure data job): the code may be the whole run, so None
  (the rule's declared frequency stands).
"""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis.facts import FunctionInfo, LoopInfo, ModuleFacts
from greenlint.rules.analysis.tree import walk

# Calls that train a model: a module with one of these is a training script.
_TRAINING_CALLS = frozenset({"fit", "fit_generator", "train", "backward", "train_on_batch", "partial_fit"})


def module_trains(facts: ModuleFacts) -> bool:
    """The module trains a model somewhere (an sklearn/Keras `fit`, a `trainer.train()`, a backward pass)."""
    return any(site.attr in _TRAINING_CALLS and site.is_method_call for site in facts.calls)


def loop_frequency(loop: LoopInfo | None, facts: ModuleFacts, function: FunctionInfo | None = None, depth: int = 0) -> str | None:
    """The frequency of code whose innermost enclosing loop is `loop` (None: no loop) in `function`
    (None: module level). A function is followed to its callers in the module, two levels deep."""
    chain = loop.enclosing() if loop is not None else []
    for enclosing in chain:
        if enclosing.is_training_step:
            return "every-step"
        if enclosing.contains_step_loop or enclosing.does_fit:
            return "every-epoch"
    if chain:
        return None  # a loop of unknown length and role: the declared frequency stands
    if function is not None:
        callers = [site for site in facts.calls if site.attr == function.name]
        if not callers or depth >= 2:
            return None  # called from another module, or too deep to follow
        found = {loop_frequency(site.loop, facts, site.function, depth + 1) for site in callers}
        if None in found:
            return None
        for frequency in ("every-step", "every-epoch"):
            if frequency in found:
                return frequency
    return "once" if module_trains(facts) else None


def innermost_loop(node: cst.CSTNode, facts: ModuleFacts) -> LoopInfo | None:
    """The innermost loop of the module whose body holds `node` (for comprehensions, which the
    facts do not attach to a loop)."""
    best: LoopInfo | None = None
    for loop in facts.loops:
        if any(inner is node for inner in walk(loop.node.body)):
            if best is None or _depth(loop) > _depth(best):
                best = loop
    return best


def _depth(loop: LoopInfo) -> int:
    return len(loop.enclosing())


def enclosing_function(node: cst.CSTNode, facts: ModuleFacts) -> FunctionInfo | None:
    """The innermost function of the module whose body holds `node`."""
    best: FunctionInfo | None = None
    best_size = -1
    for infos in facts.functions.values():
        for info in infos:
            nodes = list(walk(info.node.body))
            if any(inner is node for inner in nodes) and (best is None or len(nodes) < best_size):
                best, best_size = info, len(nodes)
    return best
