"""GL405: Adam/AdamW on a GPU without the fused CUDA kernel."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import keyword_arg, positional_args
from greenlint.rules.analysis.scope_facts import intel_cpu_only
from greenlint.rules.analysis.training_loop_facts import GPU_WORDS, is_test_module
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.evidence import (
    FUSED_VS_FOREACH_TORCHTITAN,
    TORCH_OPTIM_FOREACH_DEFAULT,
)
from greenlint.rules.fixes import set_keyword
from greenlint.rules.impact import RuleImpact, WasteSize

ADAM = frozenset(
    {
        "torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam.Adam", "torch.optim.adamw.AdamW",
    }
)
# Arguments that exclude or conflict with the fused implementation, or show a deliberate choice.
_CONFLICTS = ("fused", "foreach", "differentiable", "capturable")
# Adam(params, lr, betas, eps, weight_decay, amsgrad, *, foreach, maximize, capturable, differentiable, fused)
_MAX_POSITIONAL = 6


class OptimizerNotFused(Rule):
    code = "GL405"
    # Out of the default set (issue 14): 0 of 30 sampled findings were worth acting on in the first
    # blind corpus. torch already runs the foreach update on CUDA by default; fused saves 1.6-6 % more
    # only on long large-transformer runs, which the rule cannot tell from a small CNN or GAN.
    preview = True
    name = "optimizer-not-fused"
    summary = "Adam/AdamW on a GPU without `fused=True`: several kernel launches per parameter group per step"
    detects = """
        `torch.optim.Adam(...)` or `torch.optim.AdamW(...)` (any import spelling) in a module that puts
        work on a CUDA GPU, with no `fused=` argument. Silent when `foreach=`, `capturable=` or
        `differentiable=` is passed (a deliberate choice, and `foreach=True` with `fused=True` is an
        error), when the arguments come from `**kwargs`, and for Hugging Face `Trainer`, whose default
        optimizer on recent versions is already the fused AdamW. Test modules (a test framework or
        testing helpers imported) are skipped, and so are Intel Extension for PyTorch modules that name
        no CUDA device (`ipex.optimize(..., optimizer=)` fuses the update itself).
    """
    why = """
        The default (foreach) Adam launches a handful of multi-tensor kernels per step, each reading
        and writing the parameters, gradients and both moment buffers; the fused kernel does the whole
        update in one pass over memory. The optimizer step is a fixed cost of every training step.
    """
    bad_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    """
    good_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=True)
    """
    fix = """
        Pass `fused=True` (PyTorch 2.0 or later). It needs every parameter to be a floating-point
        tensor on a supported device (CUDA; CPU from PyTorch 2.4), and it cannot be combined with
        `foreach=True`, `differentiable=True` or sparse gradients.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "GPT-style 125M model, bf16, batch 16x512: AdamW(fused=True) cut GPU energy per step from 24.9 J "
            "to 23.3 J (6 %), 42 -> 38 ms per step",
            "greenlint's own H100 measurements (docs/evidence.md#h100-training-step), one run, about ±5 % noise",
            "measured",
        ),
        Evidence("fused Adam: optimizer step 22 -> 8 ms, about 3 % end to end (DPA-2 model)", "deepmodeling/deepmd-kit PR #4463", "issue"),
        Evidence("fused AdamW: +1.5-2 MFU points at the same loss (Llama-3 8B, 8x A100)", "pytorch/torchtitan PR #355", "issue"),
        FUSED_VS_FOREACH_TORCHTITAN,
        TORCH_OPTIM_FOREACH_DEFAULT,
    )
    # Against the foreach update that torch already runs on CUDA by default, not the for-loop one.
    impact = RuleImpact(
        WasteSize(
            0.016,
            0.06,
            "fused against the default foreach update: 1.63-3.62 % faster (torchtitan PR #881, Llama-3 8B) and "
            "6 % less GPU energy per step (greenlint, GPT-style 125M in bf16 on an H100); no source quantifies "
            "it for small CNN, RNN or GAN models",
        ),
        "run-wide",
    )
    saving_scope = "the optimizer step's share of each training step's GPU energy (measured 6 % of the step on an H100, bf16 GPT)"
    trigger = (("Adam(", "AdamW("), GPU_WORDS)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        sites = [site for site in analysis.facts.calls if site.qualname in ADAM]
        if not sites or is_test_module(analysis) or not analysis.device.uses_gpu or intel_cpu_only(analysis):
            return  # Intel Extension for PyTorch: `ipex.optimize(..., optimizer=)` fuses the update itself
        for site in sites:
            call = site.node
            if any(arg.star for arg in call.args) or any(keyword_arg(call, key) is not None for key in _CONFLICTS):
                continue
            if len(positional_args(call)) > _MAX_POSITIONAL:
                continue
            name = site.qualname.rsplit(".", 1)[-1]
            yield Report(
                call,
                f"`{name}` runs the unfused update on a GPU module ({analysis.device.evidence}); pass "
                "`fused=True` for a single-kernel update (measured 6 % less GPU energy per step on an H100, "
                "bf16 GPT)",
                fix=RuleFix("set fused=True", "unsafe", set_keyword(call, "fused", cst.Name("True"))),
            )


RULE = OptimizerNotFused()
