"""GL401: a value read back from the GPU once per parameter tensor, on every training step.

`for p in model.parameters(): if torch.isnan(p.grad).any(): ...` inside the step loop evaluates a
tensor in a Python `if` for every parameter tensor: one reduction kernel and one blocking sync each,
hundreds per step (tmkhang1999/HyRES-Residual-Enhanced-Hybrid-Image-Compression@43ce504
src/utils/engine.py:62-65, blind3). One check over all gradients (`clip_grad_norm_` returns the
total norm; `torch.isfinite(total)` is one sync) or GradScaler's own inf/NaN skip does the same.

Unlike the per-step scan (sync_scan.py), a guard on the way is allowed when it is fixed for the run:
a test that reads nothing the step loop binds (`if clip_max_norm > 0:`, `if mixed_precision:`)
either always or never holds, and when it holds the loop runs on every step. Tests that hold on
every step (gradient accumulation, rank 0) count as well; any other test (a modulo logging guard, a data-dependent flag) makes the loop rare.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.tree import walk
from greenlint.rules.training_loop.sync_guards import every_step_guard

_PARAMETER_ITERATORS = frozenset({"parameters", "named_parameters"})
# calls whose value, tested in a Python `if`/`while`, must be read back from the device
_TESTED_REDUCTIONS = frozenset({"any", "all", "item", "sum", "max", "min", "norm"})
_TENSOR_PREDICATES = frozenset({"torch.isnan", "torch.isinf", "torch.isfinite", "torch.equal", "torch.any", "torch.all"})


@dataclass(frozen=True)
class ParameterSync:
    node: cst.CSTNode  # the expression that syncs
    parameter_loop: cst.For
    guard: str | None  # the code of the run-fixed test on the way, for the message


def parameter_syncs(analysis: ModuleAnalysis, loop: LoopInfo, skip: frozenset[int] = frozenset()) -> list[ParameterSync]:
    """Syncs in a loop over the model's parameters that runs on every step of `loop`."""
    found: list[ParameterSync] = []
    invariance = analysis.invariance(loop)
    imports = analysis.facts.imports

    def visit(node: cst.CSTNode, guard: str | None) -> None:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return
        if isinstance(node, (cst.For, cst.While)) and id(node) in skip:
            return
        if isinstance(node, cst.For) and _over_parameters(node):
            found.extend(ParameterSync(sync, node, guard) for sync in _syncs_in(node, imports))
            return
        if isinstance(node, cst.If):
            test = node.test
            fixed = invariance.is_invariant([test])
            if fixed or every_step_guard(test) is not None:
                inner = guard
                if fixed:
                    code = cst.Module([]).code_for_node(test)
                    inner = f"{guard} and {code}" if guard else code
                visit(node.body, inner)
                if fixed and node.orelse is not None:
                    visit(node.orelse, f"{guard} and not ({code})" if guard else f"not ({code})")
            return
        if isinstance(node, (cst.ExceptHandler, cst.IfExp, cst.BooleanOperation)):
            return
        for child in node.children:
            visit(child, guard)

    visit(loop.node.body, None)
    return found


def _over_parameters(node: cst.For) -> bool:
    return any(
        isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and sub.func.attr.value in _PARAMETER_ITERATORS
        for sub in walk(node.iter)
    )


def _syncs_in(loop: cst.For, imports) -> list[cst.CSTNode]:  # noqa: ANN001
    """Each `.item()`/`.tolist()`/`.cpu()` in the loop body, and each tested tensor predicate
    (`if torch.isnan(p.grad).any():`, `while p.grad.norm() > c:`)."""
    result: list[cst.CSTNode] = []
    tests: list[cst.BaseExpression] = []
    for sub in walk(loop.body):
        if isinstance(sub, (cst.If, cst.While)):
            tests.append(sub.test)
        elif isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and not sub.args:
            if sub.func.attr.value in ("item", "tolist", "cpu") and imports.resolve(sub.func) is None:
                result.append(sub)
    for test in tests:
        for sub in walk(test):
            if not isinstance(sub, cst.Call):
                continue
            qualname = imports.resolve(sub.func)
            if qualname in _TENSOR_PREDICATES or (
                qualname is None and isinstance(sub.func, cst.Attribute) and sub.func.attr.value in _TESTED_REDUCTIONS
                and _reads_gradient_or_parameter(sub, loop)
            ):
                if not any(sub is r or any(n is sub for n in walk(r)) for r in result):
                    result.append(sub)
                break  # one sync per test
    return result


def _reads_gradient_or_parameter(call: cst.Call, loop: cst.For) -> bool:
    """The reduction reads the loop's parameter (`p.grad.abs().max()`), not a host value."""
    names = {n.value for n in walk(loop.target) if isinstance(n, cst.Name)}
    return any(isinstance(n, cst.Name) and n.value in names for n in walk(call.func))
