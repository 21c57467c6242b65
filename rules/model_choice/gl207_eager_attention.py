"""GL207: attention computed eagerly where `scaled_dot_product_attention` (SDPA) would fuse it."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, FunctionInfo
from greenlint.rules.analysis.literals import (
    argument,
    keyword_arg,
    literal_value,
    string_value,
)
from greenlint.rules.analysis.scope_facts import (
    in_test_function,
    is_test_module,
    module_trains,
    training_step_loops,
)
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.fixes import replace_node
from greenlint.rules.impact import RuleImpact, WasteSize

_SOFTMAX = frozenset({"torch.softmax", "torch.nn.functional.softmax", "torch.special.softmax"})
_MATMUL = frozenset({"torch.matmul", "torch.bmm", "torch.einsum"})
# The module already has a fused path (the hand-written one is its fallback), or needs the weights.
_FUSED_WORDS = ("scaled_dot_product_attention", "flash_attn", "xformers", "memory_efficient_attention")
_NEEDS_WEIGHTS = re.compile(r"\.attentions\b|\[\s*[\"']attentions[\"']\s*\]")
# Models whose Transformers implementation asks for eager attention in training (logit soft-capping).
_EAGER_MODELS = re.compile(r"gemma-?[23]", re.IGNORECASE)


class EagerAttention(Rule):
    code = "GL207"
    # Preview since session 10: blind, on the twelfth corpus, 1 of its 6 findings was worth acting
    # on (the score matrix of Swin's 16-token windows, a single-head 256-token UNet block or one
    # token per tabular feature is no larger than the queries: fusing saves little); 4 of 13
    # over every corpus (`python bench/verdict_table.py`), under the 80 % a default rule needs.
    preview = True
    name = "eager-attention"
    summary = "Attention computed eagerly (hand-written softmax(QK^T)V, `attn_implementation=\"eager\"`) where SDPA applies"
    detects = """
        (1) Hand-written attention in a function of a PyTorch module: `softmax(q @ k.transpose(-2, -1)
        * scale, dim=-1)` (also `torch.matmul`, `torch.bmm`, `torch.einsum`, `.mT`, `.permute`, or
        `torch.matmul(q, k)` of operands named query and key whose key was transposed before, as GPT-2's
        `split_heads(key, k=True)` does), then the weights multiplied with the values. Reported only when
        SDPA can compute exactly the same: between the product and the softmax only a scale,
        `.masked_fill(mask, value)`, a mask added or subtracted that is a plain tensor (not computed by a
        call; GPT-2's `w * b - 1e10 * (1 - b)`) and dtype casts; after it only dropout; and the
        weights are used for nothing else (returned, stored or logged weights need eager attention).
        Silent when the module already calls `scaled_dot_product_attention`, FlashAttention or
        xFormers (the hand-written code is then a fallback). (2) `attn_implementation="eager"` in a
        module that trains, unless it loads a Gemma 2/3 model (Transformers asks for eager attention
        there) or reads the attention weights. (3) `output_attentions=True` in a training-step loop or a
        model load of a training module whose attention weights are never read: Transformers then
        falls back from SDPA to eager attention. Test code is skipped.
    """
    why = """
        Eager attention materialises the full sequence-by-sequence score matrix in GPU memory, writes
        it, reads it back for the softmax, writes the weights and reads them again for the product
        with the values: several kernels and a memory traffic that grows with the square of the
        sequence length. `torch.nn.functional.scaled_dot_product_attention` dispatches to fused
        FlashAttention or memory-efficient kernels that keep the tiles on chip.
    """
    bad_example = """
        import math
        import torch

        class SelfAttention(torch.nn.Module):
            def forward(self, q, k, v, mask):
                scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
                scores = scores.masked_fill(mask == 0, float("-inf"))
                weights = torch.softmax(scores, dim=-1)
                weights = self.dropout(weights)
                return weights @ v
    """
    good_example = """
        import torch
        import torch.nn.functional as F

        class SelfAttention(torch.nn.Module):
            def forward(self, q, k, v, mask):
                return F.scaled_dot_product_attention(
                    q, k, v, attn_mask=mask != 0, dropout_p=self.p if self.training else 0.0
                )
    """
    fix = """
        Replace the product, mask, softmax, dropout and second product with
        `F.scaled_dot_product_attention(q, k, v, attn_mask=..., dropout_p=p if self.training else 0.0,
        is_causal=...)` (a boolean mask keeps the positions that are True; `scale=` for a non-default
        scale). For Transformers models load with `attn_implementation="sdpa"` (the default where
        supported) and drop `output_attentions=True` from training calls. Flash kernels need fp16/bf16
        inputs; in float32 SDPA uses the memory-efficient kernel.
    """
    fix_applicability = None
    evidence = (evidence.SDPA_NANOGPT, evidence.FLASH_ATTENTION_PAPER, evidence.HF_OUTPUT_ATTENTIONS_EAGER)
    saving_scope = "the attention share of every training step's GPU time (grows with the sequence length)"
    impact = RuleImpact(
        size=WasteSize(
            0.21,
            0.67,
            "nanoGPT on an A100 went from about 143 to 113 ms per batch with SDPA (21 % less); FlashAttention "
            "trained GPT-2 3x faster (67 % less), NeurIPS 2022",
        ),
        frequency="every-step",
    )
    # hand-written attention needs a product of q and k next to the softmax; the two HF flags stand alone
    trigger = (
        ("softmax", "attn_implementation", "output_attentions"),
        ("matmul(", "bmm(", "einsum(", " @ ", "attn_implementation", "output_attentions"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if is_test_module(analysis):
            return
        code = analysis.code
        if not any(word in code for word in _FUSED_WORDS):
            for site in analysis.facts.calls:
                if _is_softmax(site, code) and not in_test_function(site.function, site.class_name):
                    applies = _sdpa_applies(site, site.function) if site.function is not None else None
                    if applies is not None:
                        returned = (" It also returns the weights, which SDPA does not compute: keep the eager path "
                                    "only for callers that ask for them.") if applies else ""
                        yield Report(
                            _product_before(site, site.function),
                            f"hand-written attention in `{site.function.name}`: the score matrix is written to and "
                            "read from GPU memory several times; `F.scaled_dot_product_attention(q, k, v, ...)` "
                            "computes the same in one fused kernel (SDPA: 21 % less time per batch on nanoGPT)."
                            + returned,
                            end_node=site.node,
                            frequency="every-step",
                        )
        if "attn_implementation" in code or "output_attentions" in code:
            yield from _hf_reports(analysis, code)


def _product_before(site: CallSite, function: FunctionInfo) -> cst.CSTNode:
    """The first q.k^T product of the function, where the attention starts (else the softmax)."""
    for node in walk(function.node.body):
        if node is site.node:
            break
        if _is_qk_product(node):
            return node
    return site.node


def _is_softmax(site: CallSite, code: str) -> bool:
    if site.qualname in _SOFTMAX:
        dim = argument(site.node, "dim", 1)
    elif site.is_method_call and site.attr == "softmax" and site.qualname is None:
        dim = argument(site.node, "dim", 0)  # `scores.softmax(dim=-1)` or `self.softmax(scores)`
        receiver = site.receiver
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            return "Softmax(dim=-1)" in code
    else:
        return False
    return literal_value(dim) == -1


def _sdpa_applies(site: CallSite, function: FunctionInfo) -> str | None:
    """softmax(<scores>) with scores from q.k^T and SDPA-expressible edits, weights used only with v:
    "" ; "returned" when the function also returns the weights beside its output; None otherwise."""
    # only what is assigned before the softmax defines the scores (`att = F.softmax(att)` reuses names)
    assignments: dict[str, list[cst.BaseExpression]] = {}
    weights = after = None
    for node in walk(function.node.body):
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            if any(inner is site.node for inner in walk(node.value)):
                weights, after = node.targets[0].target.value, node
                break
            assignments.setdefault(node.targets[0].target.value, []).append(node.value)
    positional = [arg.value for arg in site.node.args if arg.keyword is None]
    receiver = site.receiver
    if site.qualname is None and not (isinstance(receiver, cst.Name) and receiver.value == "self"):
        scores = receiver  # `scores.softmax(dim=-1)`
    else:
        scores = positional[0] if positional else None
    if weights is None or scores is None or _edits_ok(scores, assignments, frozenset()) is not True:
        return None
    return _weights_only_meet_values(weights, function, after)


def _edits_ok(expr: cst.BaseExpression, assignments: dict, chain: frozenset[str]) -> bool | None:
    """True: holds the q.k^T product, edited only in ways SDPA expresses; False: an edit SDPA cannot
    express; None: holds no product (a scale, a mask, a constant)."""
    if isinstance(expr, cst.Name):
        values = assignments.get(expr.value)
        if not values or len(chain) > 5:
            return None
        # in `w = w * b - 1e10 * (1 - b)` the `w` read is what the earlier assignments made: each
        # value is judged with the name bound to the values before it (a self-reference used to
        # count as no product, so an edit SDPA cannot express passed unseen)
        results = [
            _edits_ok(value, {**assignments, expr.value: values[:i]}, chain | {expr.value})
            for i, value in enumerate(values)
        ]
        return False if False in results else (True if True in results else None)
    if _is_qk_product(expr):
        return True
    if isinstance(expr, cst.BinaryOperation):
        left, right = _edits_ok(expr.left, assignments, chain), _edits_ok(expr.right, assignments, chain)
        if False in (left, right) or (left is True and right is True):
            return False
        if isinstance(expr.operator, (cst.Multiply, cst.Divide)):
            return True if True in (left, right) else None  # a scale
        if isinstance(expr.operator, cst.Add) and True in (left, right):
            other = expr.right if left is True else expr.left
            return not any(isinstance(n, cst.Call) for n in walk(other))  # a plain additive mask
        if isinstance(expr.operator, cst.Subtract) and left is True:
            # `w * b - 1e10 * (1 - b)`: GPT-2's causal mask, an additive mask subtracted (OpenAI's
            # GPT-2 and its PyTorch ports; vincent-163/transformer-arithmetic@a8372dd model.py, blind2)
            return not any(isinstance(n, cst.Call) for n in walk(expr.right))
        return False if True in (left, right) else None
    if isinstance(expr, cst.Call):
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("masked_fill", "masked_fill_", "float", "to", "type_as"):
            return _edits_ok(func.value, assignments, chain)
        # any other call that reads the scores edits them in a way SDPA may not express
        touches = any(
            isinstance(n, cst.Name) and (n.value in chain or _edits_ok(n, assignments, chain) is True) for n in walk(expr)
        )
        return False if touches else None
    return None


def _is_qk_product(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.MatrixMultiply):
        return _transposed(expr.right)
    if isinstance(expr, cst.Call):
        name = getattr(expr.func, "attr", None) or getattr(expr.func, "value", None)
        name = name.value if isinstance(name, cst.Name) else name
        if name in ("matmul", "bmm") and len(expr.args) == 2:
            return _transposed(expr.args[1].value) or _query_and_key(expr.args[0].value, expr.args[1].value)
        if name == "einsum" and len(expr.args) == 3:
            spec = string_value(expr.args[0].value) or ""
            inputs, _, output = spec.replace(" ", "").partition("->")
            parts = inputs.split(",")
            # q·k^T: the operands share their last index, which the output drops
            return len(parts) == 2 and bool(parts[0]) and parts[0][-1:] == parts[1][-1:] and parts[0][-1:] not in output
    return False


# `q`, `query`, `q_h`, `queries` / `k`, `key`, `k_t`, `keys`: the operands' own names say query and key
_QUERY = re.compile(r"^(q|query|queries)(_\w*)?$", re.IGNORECASE)
_KEY = re.compile(r"^(k|key|keys)(_\w*)?$", re.IGNORECASE)


def _query_and_key(left: cst.BaseExpression, right: cst.BaseExpression) -> bool:
    """`torch.matmul(q, k)` with the key transposed before the call: GPT-2's `split_heads(key, k=True)`
    permutes it to (batch, head, features, length) so that `_attn(q, k, v)` multiplies it as it is
    (the OpenAI GPT-2 code and its PyTorch ports). Without a visible transpose, only operands named
    query and key count: the softmax of their product, then multiplied with the values, is attention."""
    return (
        isinstance(left, cst.Name) and isinstance(right, cst.Name)
        and bool(_QUERY.match(left.value)) and bool(_KEY.match(right.value))
    )


def _transposed(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Attribute) and expr.attr.value in ("mT", "T"):
        return True
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("transpose", "permute")


def _weights_only_meet_values(weights: str, function: FunctionInfo, assignment: cst.Assign) -> str | None:
    """Every read of the weights after their assignment is dropout, the product with the values, or
    (`return out, weights`: the Annotated-Transformer idiom) an element of the returned tuple."""
    allowed: set[int] = set()
    products: set[int] = set()
    returned: set[int] = set()
    own = {id(node) for node in walk(assignment)}
    later: list[cst.CSTNode] = []
    started = False
    for node in walk(function.node.body):
        started = started or node is assignment
        if started and id(node) not in own:
            later.append(node)
    for node in later:
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply):
            products.add(id(node.left))
        elif isinstance(node, cst.Call):
            name = getattr(node.func, "attr", None) or node.func
            name = name.value if isinstance(name, cst.Name) else ""
            if name in ("matmul", "bmm") and node.args:
                products.add(id(node.args[0].value))
            elif name == "einsum" and len(node.args) == 3:
                products.add(id(node.args[1].value))
            elif "drop" in name.lower() and node.args:
                allowed.add(id(node.args[0].value))
        elif isinstance(node, cst.Return) and isinstance(node.value, cst.Tuple):
            returned.update(id(element.value) for element in node.value.elements)
    targets = {id(t.target) for n in later if isinstance(n, cst.Assign) for t in n.targets}
    reads = [n for n in later if isinstance(n, cst.Name) and n.value == weights and id(n) not in targets]
    if not any(id(n) in products for n in reads) or not all(id(n) in allowed | products | returned for n in reads):
        return None
    return "returned" if any(id(n) in returned for n in reads) else ""


def _weights_read(analysis: ModuleAnalysis, code: str) -> bool:
    """Does the module use attention weights? `x = out.attentions[-1]` that nothing reads does not count."""
    if not _NEEDS_WEIGHTS.search(code):
        return False
    holders: set[str] = set()
    held: set[int] = set()
    targets: set[int] = set()
    accesses: list[cst.CSTNode] = []
    for node in walk(analysis.module):
        if isinstance(node, cst.Assign):
            inside = [n for n in walk(node.value) if _is_attentions(n)]
            names = [t.target for t in node.targets if isinstance(t.target, cst.Name)]
            if inside and len(names) == len(node.targets):
                holders.update(name.value for name in names)
                held.update(id(n) for n in inside)
            targets.update(id(t.target) for t in node.targets)
        elif _is_attentions(node):
            accesses.append(node)
    if any(id(node) not in held for node in accesses):
        return True  # returned, passed on or stored
    return any(isinstance(n, cst.Name) and n.value in holders and id(n) not in targets for n in walk(analysis.module))


def _is_attentions(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Attribute):
        return node.attr.value == "attentions"
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return string_value(node.slice[0].slice.value) == "attentions"
    return False


def _hf_reports(analysis: ModuleAnalysis, code: str) -> Iterable[Report]:
    if not module_trains(analysis) or _weights_read(analysis, code):
        return
    in_step = {id(site.node) for loop in training_step_loops(analysis) for site in loop.calls}
    for site in analysis.facts.calls:
        implementation = keyword_arg(site.node, "attn_implementation")
        if implementation is not None and string_value(implementation.value) == "eager" and not _EAGER_MODELS.search(code):
            yield Report(
                site.node,
                '`attn_implementation="eager"` computes attention with separate kernels through the full score '
                'matrix on every step; "sdpa" (the default where the model supports it) fuses it',
                fix=RuleFix('use attn_implementation="sdpa"', "unsafe",
                            replace_node(implementation.value, lambda old: cst.SimpleString('"sdpa"'))),
                frequency="every-step",
            )
        flag = keyword_arg(site.node, "output_attentions")
        per_step = id(site.node) in in_step or (site.function is not None and site.function.name == "forward")
        if flag is not None and literal_value(flag.value) is True and (per_step or site.attr == "from_pretrained"):
            yield Report(
                site.node,
                "`output_attentions=True` makes Transformers fall back from SDPA to eager attention, and nothing "
                "here reads the attention weights; drop it from training",
                frequency="every-step",
            )


RULE = EagerAttention()
