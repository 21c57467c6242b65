"""GL310: a tensor built on the CPU by a factory and then copied to the GPU."""

from __future__ import annotations

import re
from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import in_test_code, is_device_expr
from greenlint.rules.analysis.workload import small_training_workload
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import keyword_arg, literal_value, positional_args
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.data_pipeline.impacts import GL310_IMPACT
from greenlint.rules.data_pipeline.host_built_tensors import (
    NUMPY_INTO_TENSOR_TEXT,
    before_training_loop,
    numpy_into_cuda_tensor,
    runs_every_step,
)
from greenlint.rules.fixes import replace_node

# Factories whose values do not depend on the device: moving `device=` into them is exact.
EXACT_FACTORIES = frozenset({"zeros", "ones", "empty", "full", "eye"})
# Factories whose values may differ by device: random generators (the CPU and CUDA generators give
# different numbers for the same seed) and floating-point ranges (rounding may differ).
INEXACT_FACTORIES = frozenset({"rand", "randn", "randint", "randperm", "arange", "linspace", "logspace"})
FACTORIES = EXACT_FACTORIES | INEXACT_FACTORIES
# Arguments of `.to(...)`/`.cuda(...)` that only concern the copy itself.
_COPY_ONLY = frozenset({"non_blocking"})


def _factory(node: cst.BaseExpression, facts: ModuleFacts) -> str | None:
    if not isinstance(node, cst.Call):
        return None
    qualname = facts.imports.resolve(node.func)
    if qualname is None or not qualname.startswith("torch."):
        return None
    short = qualname[len("torch."):]
    return short if short in FACTORIES else None


def _move(site: CallSite, facts: ModuleFacts) -> tuple[cst.BaseExpression | None, cst.BaseExpression | None] | None:
    """(device expression, dtype expression) of a `.cuda(...)`/`.to(...)` that moves to a device;
    None when the call is not a device move or has arguments the fix cannot carry over."""
    call = site.node
    if site.attr == "cuda":
        positional = positional_args(call)
        extra = [a for a in call.args if a.keyword is not None and a.keyword.value not in _COPY_ONLY | {"device"}]
        if extra or len(positional) > 1 or any(a.star for a in call.args):
            return None
        device = keyword_arg(call, "device")
        if device is not None:
            return device.value, None
        if positional:
            return positional[0].value, None
        return cst.SimpleString('"cuda"'), None
    if site.attr != "to" or any(a.star for a in call.args):
        return None
    positional = positional_args(call)
    device_kw = keyword_arg(call, "device")
    dtype_kw = keyword_arg(call, "dtype")
    extra = [a for a in call.args if a.keyword is not None and a.keyword.value not in _COPY_ONLY | {"device", "dtype"}]
    if extra:
        return None  # copy=True, memory_format=...: not a plain device move
    device = device_kw.value if device_kw is not None else (positional[0].value if positional else None)
    if device is None or not is_device_expr(device, facts):
        return None
    dtype = dtype_kw.value if dtype_kw is not None else None
    rest = positional[1:] if device_kw is None else positional
    if len(rest) > 1 or (rest and dtype is not None):
        return None
    if rest:
        dtype = rest[0].value
    return device, dtype


def _fixed_factory(factory: cst.Call, device: cst.BaseExpression, dtype: cst.BaseExpression | None) -> cst.Call | None:
    if keyword_arg(factory, "out") is not None or keyword_arg(factory, "device") is not None:
        return None
    if any(a.star == "**" for a in factory.args):
        return None
    if dtype is not None and keyword_arg(factory, "dtype") is not None:
        return None  # `zeros(..., dtype=a).to(dev, b)`: a conversion after creation, left to the user
    pairs = [("device", device)] + ([("dtype", dtype)] if dtype is not None else [])
    return _append_keywords(factory, pairs)


_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _append_keywords(call: cst.Call, pairs: list[tuple[str, cst.BaseExpression]]) -> cst.Call:
    """Append `keyword=value` arguments in the call's own layout: one per line with a trailing comma
    stays that way, `f(a, b)` becomes `f(a, b, k=v)`."""
    args = list(call.args)
    for keyword, value in pairs:
        new_arg = cst.Arg(value=value, keyword=cst.Name(keyword), equal=_EQUAL)
        if not args:
            args.append(new_arg)
            continue
        last = args[-1]
        between = _separator(args, call)
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
        args.append(new_arg.with_changes(comma=last.comma) if isinstance(last.comma, cst.Comma) else new_arg)
    return call.with_changes(args=args)


# `torch.zeros(...)` (arguments nested two parentheses deep at most) followed by `.cuda(` / `.to(`
_FACTORY_THEN_MOVE = re.compile(
    r"torch\.(?:zeros|ones|empty|full|eye|rand|randn|randint|randperm|arange|linspace|logspace)"
    r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)\s*\.\s*(?:cuda|to)\("
)


def _separator(args: list[cst.Arg], call: cst.Call) -> cst.BaseParenthesizableWhitespace:
    for arg in reversed(args[:-1]):
        if isinstance(arg.comma, cst.Comma):
            return arg.comma.whitespace_after
    if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        return call.whitespace_before_args
    return cst.SimpleWhitespace(" ")


class TensorCreatedOnCpuThenMoved(Rule):
    code = "GL310"
    # Out of the default set (issue 14, under 80 % blind precision): on first exposure to each blind corpus
    # 2/4 (first), 2/3 (third), 4/7 and, after the per-step scope, 4/6 (fourth): 57 % (8/14) pooled; the
    # false ones are tensors built once per run or on steps of runs of minutes. `--preview` brings it back.
    preview = True
    name = "tensor-created-on-cpu-then-moved"
    summary = "`torch.zeros(...).cuda()`-style: a tensor is built on the CPU, then copied to the GPU"
    detects = """
        `torch.zeros/ones/empty/full/eye/rand/randn/randint/randperm/arange/linspace/logspace(...)`
        immediately followed by `.cuda()`, `.cuda(i)`, `.to(device)`, `.to(device, dtype)` or
        `.to(device=..., non_blocking=...)`. `.to(dtype)` alone, `.to(other_tensor)`, `.to("cpu")` and
        `.to(memory_format=...)` are not device moves and are not reported. Factories that already name a
        `device=` or take a `generator=` (a seeded CPU generator, for results that do not depend on the
        device) are deliberate and not reported; neither is test code. Only code that runs on every
        training step is reported: a training-step loop, the `forward`/`training_step` method of a
        class (it runs on every step of whatever trains the model), or a function of the module that
        one of those calls (up to three calls deep, such as a LightningModule's `self.sample_noise()`).
        A tensor made once per epoch or per run, or in code whose frequency is unknown (a sampling
        loop after training), is one small copy and not reported; neither is a small model trained
        on a known small dataset (MNIST, CIFAR: minutes of training). For speed the prefilter looks for
        the spelling `torch.<factory>(` and the usual move spellings (`).cuda(`, `).to(device`,
        `).to(self.device`, `).to("cuda"` ...), so `from torch import zeros` or `.to(x.device)` are missed.
        Also `Tensor(np.ones(...))` in a training loop where
        `Tensor` is bound to `torch.cuda.FloatTensor` (the old PyTorch-GAN idiom): NumPy fills the array
        in host memory and the constructor copies it to the GPU on every step.
    """
    why = """
        The tensor is allocated and filled in host memory, then copied over PCIe and freed: an extra host
        allocation, a host fill and a transfer (with a synchronisation) where the GPU could have created
        the values in place. Small per call, but these lines often sit in `forward()` or a training loop.
    """
    bad_example = """
        import torch

        class Gate(torch.nn.Module):
            def forward(self, x):
                mask = torch.ones(x.shape[0], x.shape[1]).cuda()
                return self.layer(x) * mask
    """
    good_example = """
        import torch

        class Gate(torch.nn.Module):
            def forward(self, x):
                mask = torch.ones(x.shape[0], x.shape[1], device=x.device)
                return self.layer(x) * mask
    """
    fix = """
        Pass the device to the factory: `torch.ones(n, device=device)` (and `dtype=` when the `.to()` also
        converted). The automatic fix is safe for `zeros`, `ones`, `empty`, `full` and `eye`, whose values
        do not depend on the device; for random factories (the CUDA generator draws different numbers than
        the CPU one for the same seed) and `arange`/`linspace`/`logspace` (floating-point rounding may
        differ) it is unsafe, as it is when the factory sets `requires_grad=True` (the result becomes a
        leaf tensor).
    """
    fix_applicability = "safe"
    evidence = (
        Evidence(
            "the profiler's ExtraCUDACopyPattern flags the same waste at run time; saving small per call, "
            "larger inside loops (no published number)",
            "PyTorch TorchTidy pattern matcher (torch/profiler/_pattern_matcher.py)",
            "unquantified",
        ),
    )
    saving_scope = "one host allocation, fill and host-to-device copy per call (matters inside loops and forward())"
    impact = GL310_IMPACT
    trigger = (
        (
            "torch.zeros(", "torch.ones(", "torch.empty(", "torch.full(", "torch.eye(", "torch.rand(",
            "torch.randn(", "torch.randint(", "torch.randperm(", "torch.arange(", "torch.linspace(",
            "torch.logspace(",
            "Tensor(np.", "Tensor(numpy.",  # `Tensor(np.ones(...))` with `Tensor = torch.cuda.FloatTensor`
        ),
        # the usual spellings of the move right after the factory's closing parenthesis (a plain `").to("`
        # would send about 9 MB of the torch package's own sources through the parser)
        (
            ").cuda(", ").to(device", ").to(self.device", ").to(dev)", ').to("cuda', ").to('cuda",
            ").to(torch_device", ").to(args.device", ").to(DEVICE", ").to(accelerator.device",
            "torch.cuda.",
        ),
    )

    def could_match(self, text: str) -> bool:
        # Both spellings can sit anywhere in a large file (torch's own 1.4 MB test tables have
        # them); the rule needs the move chained right onto the factory call, which one regex
        # anchored on the factory's name checks far cheaper than a parse.
        if not super().could_match(text):
            return False
        return _FACTORY_THEN_MOVE.search(text) is not None or NUMPY_INTO_TENSOR_TEXT.search(text) is not None

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        yield from numpy_into_cuda_tensor(analysis)
        facts = analysis.facts
        short_run: bool | None = None
        for site in facts.calls:
            if site.attr not in ("cuda", "to") or site.receiver is None or in_test_code(site):
                continue
            if _factory(site.receiver, facts) is None:
                continue
            if before_training_loop(site, facts):
                continue  # once per training run (a dummy forward before the epochs): nothing to save
            if not runs_every_step(site, facts):
                # once per epoch or per run, or code whose frequency is unknown (a sampling loop after
                # training): one small host allocation and copy there is not worth a change
                continue
            frequency = "every-step"
            if short_run is None:
                workload = small_training_workload(analysis)
                short_run = workload is not None and workload.data_known
            if short_run:
                # a small model on a known small dataset (MNIST, CIFAR) trains in minutes: a small
                # copy per step there is not worth a change (as GL401 scales its syncs down)
                continue
            factory_name = _factory(site.receiver, facts)
            if factory_name is None:
                continue
            factory = site.receiver
            assert isinstance(factory, cst.Call)
            if keyword_arg(factory, "device") is not None or keyword_arg(factory, "generator") is not None:
                continue  # created on a chosen device or with a (CPU) generator: on purpose, for reproducibility
            move = _move(site, facts)
            if move is None and site.attr != "cuda":
                continue  # `.to(dtype)`, `.to(tensor)`, `.to("cpu")`: not a device move
            fix = None
            if move is not None:
                device, dtype = move
                fixed = _fixed_factory(factory, device, dtype)
                if fixed is not None:
                    requires_grad = keyword_arg(factory, "requires_grad")
                    exact = factory_name in EXACT_FACTORIES and (
                        requires_grad is None or literal_value(requires_grad.value) is False
                    )
                    fix = RuleFix(
                        "create the tensor on the device",
                        "safe" if exact else "unsafe",
                        replace_node(site.node, lambda _node, fixed=fixed: fixed),
                    )
            func = analysis.module.code_for_node(factory.func)
            move_text = ".cuda()" if site.attr == "cuda" else ".to(...)"
            yield Report(
                site.node,
                f"`{func}(...){move_text}` builds the tensor in host memory and then copies it to the GPU; "
                f"pass `device=` to `{func}` to create it there directly",
                fix=fix,
                frequency=frequency,
            )


RULE = TensorCreatedOnCpuThenMoved()
