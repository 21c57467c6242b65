"""GL406: `zero_grad(set_to_none=False)` writes zeros into every gradient instead of dropping them."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument, literal_value
from greenlint.rules.analysis.training_loop_facts import is_test_module
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.fixes import replace_node

# `p.grad.add_(...)`, `p.grad[...]`, `p.grad * 2`: code that reads a gradient expecting a tensor.
# `.grad(` (torch.autograd.grad) and `.grad_fn` are not gradient reads.
_GRAD_READ = re.compile(r"\.grad\b(?!\s*\()(?!_)")
# `p.grad += g`, `p.grad.add_(g)`: code that accumulates into the zeroed gradients needs them to exist.
_GRAD_IN_PLACE = re.compile(r"\.grad\s*[-+*/]=|\.grad\.[a-z]+_\(")


class ZeroGradSetToNoneFalse(Rule):
    code = "GL406"
    name = "zero-grad-set-to-none-false"
    summary = "`zero_grad(set_to_none=False)` fills every gradient with zeros instead of freeing it"
    detects = """
        A `.zero_grad(...)` call (optimizer or module) whose `set_to_none` argument is the literal
        `False`, by keyword or as the first positional argument. A value that is not a literal
        (`set_to_none=args.flag`) is the user's choice and is not reported, nor is a module that
        accumulates into the gradients in place (`p.grad += g`, `p.grad.add_(g)`), which needs them to
        exist. Bare `zero_grad()` is fine on PyTorch 2.0 and later, where `set_to_none=True` is the
        default.
        Test modules (importing pytest or unittest) are skipped.
    """
    why = """
        With `set_to_none=False` every step launches a memset kernel per parameter and the next
        backward pass adds into the zeroed tensors (a read-modify-write) instead of simply writing
        the new gradient. The PyTorch tuning guide lists `set_to_none=True` as a cheap speed-up.
    """
    bad_example = """
        import torch

        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            opt.zero_grad(set_to_none=False)
            loss = model(x).sum()
            loss.backward()
            opt.step()
    """
    good_example = """
        import torch

        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            opt.zero_grad()  # set_to_none=True is the default since PyTorch 2.0
            loss = model(x).sum()
            loss.backward()
            opt.step()
    """
    fix = """
        Pass `set_to_none=True` (or drop the argument on PyTorch >= 2.0). Code that reads `p.grad`
        after `zero_grad()` must then handle `None` for parameters that received no gradient.
    """
    fix_applicability = "safe"
    evidence = (
        Evidence(
            "setting gradients to None instead of zero 'can modestly improve performance' (fewer memory "
            "writes; no number given)",
            "PyTorch Performance Tuning Guide; torch.optim.Optimizer.zero_grad docstring",
            "doc",
        ),
        Evidence(
            "the same rewrite is TorchFix's TOR402 check (zero_grad set_to_none=False)",
            "meta-pytorch/torchfix",
            "unquantified",
        ),
    )
    saving_scope = "one memset kernel per parameter per step and the extra reads of backward's accumulation (small)"
    impact = None  # no quantified source (the tuning guide says 'modestly' and gives no number): shown as impact unknown
    trigger = (("zero_grad(",), ("set_to_none=False", "set_to_none = False", "zero_grad(False", "zero_grad( False"))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        reads_grad: bool | None = None
        for site in analysis.facts.calls:
            if site.attr != "zero_grad" or not site.is_method_call or not site.node.args:
                continue
            value = argument(site.node, "set_to_none", 0)
            if value is None or literal_value(value) is not False:
                continue
            if is_test_module(analysis):
                return
            if reads_grad is None:
                code = analysis.code
                if _GRAD_IN_PLACE.search(code):
                    return  # zeroed (not None) gradients are what this module relies on
                reads_grad = bool(_GRAD_READ.search(code))
            applicability = "unsafe" if reads_grad else "safe"
            yield Report(
                site.node,
                "`zero_grad(set_to_none=False)` writes zeros into every gradient on each step; "
                "`set_to_none=True` frees them instead and lets backward write fresh gradients",
                fix=RuleFix(
                    "set set_to_none=True"
                    + (" (this module reads `.grad`: check that it handles None)" if reads_grad else ""),
                    applicability,
                    replace_node(value, lambda node: cst.Name("True").with_changes(lpar=node.lpar, rpar=node.rpar)),
                ),
            )


RULE = ZeroGradSetToNoneFalse()
