"""GL412: a convolution with a bias directly followed by batch normalisation."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument, has_double_star, literal_value
from greenlint.rules.analysis.names import ImportTable
from greenlint.rules.analysis.training_loop_facts import is_test_module
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.fixes import set_keyword

# conv class -> the batch-norm classes of the same dimensionality
_PAIRS = {
    "Conv1d": ("BatchNorm1d", "SyncBatchNorm"),
    "Conv2d": ("BatchNorm2d", "SyncBatchNorm"),
    "Conv3d": ("BatchNorm3d", "SyncBatchNorm"),
}
_NN_PREFIXES = ("torch.nn.", "torch.nn.modules.conv.", "torch.nn.modules.batchnorm.")
_SEQUENTIAL = frozenset({"torch.nn.Sequential", "torch.nn.modules.container.Sequential"})
_BIAS_POSITION = 7  # Conv*d(in, out, kernel_size, stride, padding, dilation, groups, bias, ...)
# A module that loads weights: dropping a bias changes the state_dict keys.
_LOADS_WEIGHTS = ("load_state_dict", "from_pretrained", "load_checkpoint", "torch.hub.load", "pretrained=True", "weights=")


def _torch_nn_class(node: cst.BaseExpression, imports: ImportTable) -> str | None:
    """`Conv2d` for `nn.Conv2d(...)` / `torch.nn.Conv2d(...)` / an imported `Conv2d(...)`."""
    if not isinstance(node, cst.Call):
        return None
    qualname = imports.resolve(node.func)
    if qualname is None:
        return None
    for prefix in _NN_PREFIXES:
        if qualname.startswith(prefix):
            rest = qualname[len(prefix):]
            if "." not in rest:
                return rest
    return None


def _elements(call: cst.Call) -> list[cst.BaseExpression] | None:
    if any(arg.star or arg.keyword is not None for arg in call.args):
        return None
    return [arg.value for arg in call.args]


def _sequences(analysis: ModuleAnalysis) -> Iterable[list[cst.BaseExpression]]:
    """Module lists that run in order: `nn.Sequential(a, b, ...)`, and list/tuple literals passed to
    a call (`nn.Sequential(*[...])`, `layers.extend([...])`) or assigned (`layers = [conv, bn]`)."""
    for site in analysis.facts.calls:
        if site.qualname in _SEQUENTIAL:
            elements = _elements(site.node)
            if elements and len(elements) > 1:
                yield elements
        for arg in site.node.args:
            if isinstance(arg.value, (cst.List, cst.Tuple)):
                yield _literal_elements(arg.value)
    for _name, value in analysis.facts.assignments:
        if isinstance(value, (cst.List, cst.Tuple)):
            yield _literal_elements(value)


def _literal_elements(node: cst.List | cst.Tuple) -> list[cst.BaseExpression]:
    return [e.value for e in node.elements if isinstance(e, cst.Element)]


class ConvBiasBeforeBatchNorm(Rule):
    code = "GL412"
    name = "conv-bias-before-batchnorm"
    # Out of the default set: on 19 public repositories no rule was tuned on, 0 of 30 sampled
    # findings were worth acting on (a per-channel add is a negligible share of a conv layer's
    # work); the pattern is real, the saving is not (issue 14, docs/precision.md).
    preview = True
    summary = "A convolution keeps a bias that the batch norm right after it cancels"
    detects = """
        `nn.Conv1d/2d/3d(...)` with the default (or a literal `True`) `bias`, directly followed by the
        batch norm of the same dimensionality (`nn.BatchNorm2d`, `nn.SyncBatchNorm`) in an
        `nn.Sequential(...)` or in a list literal of layers (`layers += [conv, bn, relu]`).
        A `bias=` that is not a literal is the user's choice and is not reported.
        Test modules (importing pytest or unittest) are skipped.
    """
    why = """
        Batch normalisation subtracts the per-channel mean, so a constant per-channel bias added by
        the convolution just before it is removed again: its addition in the forward pass, its
        gradient in the backward pass and its optimizer update are all wasted work.
    """
    bad_example = """
        from torch import nn

        block = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU())
    """
    good_example = """
        from torch import nn

        block = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU())
    """
    fix = """
        Pass `bias=False` to the convolution. Trained from scratch the network computes the same
        function; a checkpoint saved with the bias will no longer load strictly (the fix is offered
        as unsafe in modules that load weights).
    """
    fix_applicability = "safe"
    evidence = (
        Evidence(
            "disable bias for convolutions directly followed by a batch norm (no number given)",
            "PyTorch Performance Tuning Guide; TorchTidy pattern Conv2dBiasFollowedByBatchNorm2dPattern",
            "doc",
        ),
        Evidence("saving is negligible: one per-channel add and its gradient per conv", "greenlint's research notes, no source with a number found (docs/evidence.md#gl412)", "unquantified"),
    )
    saving_scope = "the bias add, its gradient and its optimizer update for each such convolution (negligible)"
    impact = None  # no quantified source (no number exists; the rule is in preview as negligible): shown as impact unknown
    trigger = (("BatchNorm1d(", "BatchNorm2d(", "BatchNorm3d(", "SyncBatchNorm("), ("Conv1d(", "Conv2d(", "Conv3d("))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        imports = analysis.facts.imports
        if not any(_torch_nn_class(site.node, imports) in _PAIRS for site in analysis.facts.calls):
            return
        if is_test_module(analysis):
            return
        loads_weights: bool | None = None
        seen: set[int] = set()
        for elements in _sequences(analysis):
            for first, second in itertools.pairwise(elements):
                conv = _torch_nn_class(first, imports)
                if conv not in _PAIRS or id(first) in seen:
                    continue
                norm = _torch_nn_class(second, imports)
                if norm not in _PAIRS[conv]:
                    continue
                assert isinstance(first, cst.Call)
                if has_double_star(first):
                    continue
                bias = argument(first, "bias", _BIAS_POSITION)
                if bias is not None and literal_value(bias) is not True:
                    continue  # False, or chosen at run time
                seen.add(id(first))
                if loads_weights is None:
                    code = analysis.code
                    loads_weights = any(word in code for word in _LOADS_WEIGHTS)
                fix = None
                if bias is None or argument(first, "bias") is not None:
                    fix = RuleFix(
                        "set bias=False" + (" (this module loads weights: a saved conv bias will not load)" if loads_weights else ""),
                        "unsafe" if loads_weights else "safe",
                        set_keyword(first, "bias", cst.Name("False")),
                    )
                yield Report(
                    first,
                    f"`{conv}` has a bias but is directly followed by `{norm}`, which subtracts the channel "
                    "mean and cancels it; pass `bias=False`",
                    fix=fix,
                )


RULE = ConvBiasBeforeBatchNorm()
