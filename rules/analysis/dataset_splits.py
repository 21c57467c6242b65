"""Datasets bound by tuple unpacking: `train_ds, val_ds = random_split(dataset, [50000, 10000])`.

The shared `ModuleFacts.assignments` keep single-target assignments only, so a DataLoader over
`train_ds` could not see that it reads `dataset`. This module finds those unpacked names once per
module (only when a rule asks) and maps each to the dataset the split reads.
"""

from __future__ import annotations

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument
from greenlint.rules.analysis.tree import walk

SPLITS = frozenset({"torch.utils.data.random_split", "torch.utils.data.dataset.random_split"})
_CACHE_KEY = "_gl3_split_sources"


def split_sources(analysis: ModuleAnalysis) -> dict[str, cst.BaseExpression]:
    """Name -> the dataset expression a `random_split` it was unpacked from splits."""
    cached = analysis.__dict__.get(_CACHE_KEY)
    if cached is not None:
        return cached
    found: dict[str, cst.BaseExpression] = {}
    if any(site.qualname in SPLITS for site in analysis.facts.calls):  # most modules never split: no walk
        for node in walk(analysis.module):
            if not isinstance(node, cst.Assign) or not isinstance(node.value, cst.Call):
                continue
            if analysis.facts.imports.resolve(node.value.func) not in SPLITS:
                continue
            source = argument(node.value, "dataset", 0)
            if source is None:
                continue
            for target in node.targets:
                if isinstance(target.target, (cst.Tuple, cst.List)):
                    for element in target.target.elements:
                        if isinstance(element.value, cst.Name):
                            found[element.value.value] = source
    analysis.__dict__[_CACHE_KEY] = found
    return found
