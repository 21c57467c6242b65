"""GL401 in evaluation loops: a sync on every *element* of a batch (issue 14).

One `.item()` per evaluation batch is a small cost; the waste the development corpus labelled is a
Python loop over every element of every evaluation batch that reads each element back from the GPU
(`for i in range(len(pred)): labels.append(pred[i].item())`): one sync per element, thousands per
evaluation, where one `pred.cpu()` (or `.tolist()`) per batch does the same. Only syncs inside such
an inner loop are reported here; the evaluation loop itself is one that calls the model, runs no
backward or optimizer step, is not inside a training loop, and is in an evaluation function
(`evaluate`, `validate`, `test` ...) or under `torch.no_grad()` / `inference_mode()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.names import ImportTable
from greenlint.rules.analysis.training_loop_facts import grad_contexts
from greenlint.rules.training_loop.gl402_eval_without_no_grad import is_model_call
from greenlint.rules.training_loop.sync_scan import Scan, Scanner, Sync

_EVALUATION = re.compile(r"^_*(eval|valid|val_|val$|test|predict|infer)", re.IGNORECASE)
# `for k, v in metrics.items()`: a handful of named values, not the elements of a batch
_MAPPING_VIEWS = frozenset({"items", "keys", "values"})


@dataclass
class ElementSync:
    sync: Sync
    scan: Scan
    eval_loop: LoopInfo
    element_loop: cst.For


class _ElementScanner(Scanner):
    """The GL401 scan of an evaluation loop's body that also notes, for each sync, the innermost
    `for` loop inside the body that holds it."""

    def __init__(self, imports: ImportTable) -> None:
        super().__init__(imports)
        self._loops: list[cst.For] = []
        self.element_loop: dict[int, cst.For] = {}

    def visit_For(self, node: cst.For) -> bool:
        node.iter.visit(self)  # the iterable is computed once per evaluation batch
        if _over_elements(node.iter):
            self._loops.append(node)
            node.body.visit(self)
            self._loops.pop()
        else:
            node.body.visit(self)
        if node.orelse is not None:
            node.orelse.visit(self)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        before = len(self.scan.syncs)
        super().visit_Call(node)
        if self._loops and len(self.scan.syncs) > before:
            self.element_loop[id(node)] = self._loops[-1]


def _over_elements(iterable: cst.BaseExpression) -> bool:
    if isinstance(iterable, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return False
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute):
        return iterable.func.attr.value not in _MAPPING_VIEWS
    return True


def evaluation_loops(analysis: ModuleAnalysis) -> list[LoopInfo]:
    """The outermost evaluation loops of the module (see the module docstring)."""
    contexts = grad_contexts(analysis)
    chosen: list[LoopInfo] = []
    for loop in analysis.facts.loops:
        if loop.does_backward or loop.does_step or loop.does_fit:
            continue
        outer = loop.enclosing()[1:]
        if any(o.does_training for o in outer) or any(o in chosen for o in outer):
            continue
        function = loop.function
        in_evaluation = (function is not None and _EVALUATION.search(function.name) is not None) or id(
            loop.node
        ) in contexts.grad_off
        if in_evaluation and any(is_model_call(site) for site in loop.calls):
            chosen.append(loop)
    return chosen


def element_syncs(analysis: ModuleAnalysis) -> Iterator[ElementSync]:
    imports = analysis.facts.imports
    for loop in evaluation_loops(analysis):
        scanner = _ElementScanner(imports)
        loop.node.body.visit(scanner)
        scan = scanner.scan
        for sync in scan.syncs:
            element_loop = scanner.element_loop.get(id(sync.node))
            if element_loop is None or id(sync.node) in scan.control_calls:
                continue
            if sync.assigned is not None and sync.assigned in scan.control_names:
                continue
            yield ElementSync(sync, scan, loop, element_loop)
