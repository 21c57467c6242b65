"""The shared ML analysis every rule reads: computed once per module, lazily where it is costly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from greenlint.rules.analysis.device import DeviceFacts, collect_device_facts
from greenlint.rules.analysis.facts import LoopInfo, ModuleFacts, collect_facts
from greenlint.rules.analysis.invariance import InvarianceChecker
from greenlint.rules.analysis.precision import PrecisionFacts, collect_precision_facts
from greenlint.rules.project_context import EMPTY_CONTEXT, ProjectContext


@dataclass
class ModuleAnalysis:
    module: cst.Module
    facts: ModuleFacts
    _invariance: dict[int, InvarianceChecker] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, module: cst.Module, context: ProjectContext = EMPTY_CONTEXT) -> ModuleAnalysis:
        return cls(module, collect_facts(module, context))

    @cached_property
    def code(self) -> str:
        """The module's source text. Regenerating it from the tree costs as much as a walk of the
        whole module, and several rules need it: the engine seeds it with the text it parsed (libcst
        round-trips that text exactly), so no rule pays for `module.code`."""
        return self.module.code

    @cached_property
    def device(self) -> DeviceFacts:
        return collect_device_facts(self.facts)

    @cached_property
    def precision(self) -> PrecisionFacts:
        return collect_precision_facts(self.facts, self.module)

    def invariance(self, loop: LoopInfo) -> InvarianceChecker:
        key = id(loop)
        if key not in self._invariance:
            self._invariance[key] = InvarianceChecker(loop, self.facts.imports)
        return self._invariance[key]


__all__ = ["ModuleAnalysis", "DeviceFacts", "PrecisionFacts", "ModuleFacts", "LoopInfo"]
