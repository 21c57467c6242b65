"""GL104: a GPU training module that explicitly turns TF32 off, so float32 matmuls/convs run strict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument, literal_value, string_value
from greenlint.rules.analysis.precision import Precision
from greenlint.rules.analysis.precision_facts import (
    trains_in_float64,
    assignment_targets,
    is_test_module,
    simple_statements,
)
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.impact import RuleImpact, WasteSize
from greenlint.rules.fixes import replace_node

# Switch -> which work it governs (for the message).
_BOOL_SWITCHES = {
    "torch.backends.cuda.matmul.allow_tf32": "matmul",
    "torch.backends.cudnn.allow_tf32": "conv",
}
# PyTorch 2.9's replacement API: "ieee" is strict float32, "tf32" allows TF32.
_PRECISION_SWITCHES = {
    "torch.backends.fp32_precision": "all",
    "torch.backends.cuda.matmul.fp32_precision": "matmul",
    "torch.backends.cudnn.fp32_precision": "conv",
    "torch.backends.cudnn.conv.fp32_precision": "conv",
    "torch.backends.cudnn.rnn.fp32_precision": "conv",
}
_MATMUL_PRECISION = frozenset({"torch.set_float32_matmul_precision"})
_TRAINER_CLASSES = (
    "transformers.Trainer", "transformers.Seq2SeqTrainer", "trl.", "lightning.Trainer",
    "lightning.pytorch.Trainer", "pytorch_lightning.Trainer", "lightning.Fabric", "accelerate.Accelerator",
)


@dataclass(frozen=True)
class _Switch:
    node: cst.CSTNode  # what the finding points at
    scope: str  # "matmul", "conv" or "all"
    spelled: str  # how the code says it, for the message
    off: bool  # True: strict float32; False: TF32 allowed
    fix_target: cst.BaseExpression | None  # the literal to flip
    fix_value: str
    guarded: bool  # under an `if`/`except`: chosen at run time


def _switches(analysis: ModuleAnalysis) -> list[_Switch]:
    found: list[_Switch] = []
    imports = analysis.facts.imports
    for statement in simple_statements(analysis.module):
        for target, value in assignment_targets(statement):
            if "tf32" not in target and "fp32_precision" not in target:
                continue
            head, _, rest = target.partition(".")
            base = imports.bindings.get(head)
            qualname = f"{base}.{rest}" if base and rest else None
            literal = literal_value(value)
            if qualname in _BOOL_SWITCHES and isinstance(literal, bool):
                found.append(
                    _Switch(statement.node, _BOOL_SWITCHES[qualname], f"{target} = {literal}",
                            not literal, value, "True", statement.cond_depth > 0)
                )
            elif qualname in _PRECISION_SWITCHES and isinstance(literal, str):
                found.append(
                    _Switch(statement.node, _PRECISION_SWITCHES[qualname], f'{target} = "{literal}"',
                            literal == "ieee", value, '"tf32"', statement.cond_depth > 0)
                )
    for site in analysis.facts.calls:
        if site.qualname not in _MATMUL_PRECISION:
            continue
        value_node = argument(site.node, "precision", 0)
        value = string_value(value_node)
        if value is None:
            continue
        guarded = site.cond_depth > 0
        found.append(
            _Switch(site.node, "matmul", f'set_float32_matmul_precision("{value}")', value == "highest",
                    value_node, '"high"', guarded)
        )
    return found


def _trains(analysis: ModuleAnalysis) -> bool:
    if any(loop.does_training for loop in analysis.facts.loops):
        return True
    return any((site.qualname or "").startswith(_TRAINER_CLASSES) for site in analysis.facts.calls)


class Tf32Disabled(Rule):
    code = "GL104"
    name = "tf32-disabled"
    summary = "A GPU training module explicitly turns TF32 off, so float32 matmuls run at strict-fp32 speed"
    detects = """
        In a module that puts work on a CUDA GPU and trains (a loop that calls `backward()` and
        steps an optimizer, or a Hugging Face / Lightning / Accelerate trainer): an unconditional
        `torch.backends.cuda.matmul.allow_tf32 = False`, `torch.backends.cudnn.allow_tf32 = False`,
        `torch.set_float32_matmul_precision("highest")`, or the PyTorch 2.9 spelling
        `torch.backends[.cuda.matmul|.cudnn[.conv]].fp32_precision = "ieee"`. Silent when the switch
        sits under an `if` (chosen at run time), when the module turns TF32 back on somewhere, when
        the module already trains in bf16/fp16 (the switch then barely matters), and in float64
        modules. A module that never mentions TF32 is not reported here: its float32 training loop
        is GL101's finding, and bf16 autocast saves more than TF32.
    """
    why = """
        On Ampere and newer GPUs, TF32 runs float32 matrix multiplies on tensor cores with a 10-bit
        mantissa; strict float32 runs them on the much slower FP32 pipeline. Turning TF32 off makes
        every training step take longer at similar power. Strict float32 is needed for bit-exact
        tests and some numerically sensitive scientific code, rarely for training a network.
    """
    bad_example = """
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        model = torch.nn.Linear(1024, 1024).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x in loader:
            loss = model(x.cuda()).square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    good_example = """
        import torch

        torch.set_float32_matmul_precision("high")
        model = torch.nn.Linear(1024, 1024).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x in loader:
            loss = model(x.cuda()).square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    fix = """
        Allow TF32: `torch.set_float32_matmul_precision("high")` (or `allow_tf32 = True`, or
        `fp32_precision = "tf32"`). Better still, train in bf16 with `torch.autocast` (GL101). Keep
        strict float32 only where a test or a numerically sensitive computation needs it, and then
        scope it (set it back after that computation).
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "GPT-style 125M model, batch 16x512, AdamW: strict fp32 -> TF32 allowed cut GPU energy per step from "
            "137.5 J to 48.5 J (65 %), 222 ms -> 76 ms per step",
            evidence.GPU_MEASUREMENTS,
            "measured",
        ),
        Evidence(
            "10240x10240 matmul on an A100: 0.11 s in FP32, 0.016 s in TF32 (about 7x)",
            "PyTorch CUDA semantics note on TF32, quoted in pytorch/pytorch issue #63951",
            "doc",
        ),
        Evidence(
            "SpeechBrain users reported training taking twice as long after PyTorch 1.12 turned TF32 matmuls off by default",
            "speechbrain/speechbrain issue #2531; huggingface/transformers issue #16588",
            "issue",
        ),
    )
    saving_scope = "the GPU compute energy of the float32 matmuls/convolutions of the training step (measured 65 % per step for a GPT-style model on an H100; little for conv nets when only the matmul switch is off)"
    impact = RuleImpact(
        size=WasteSize(
            0.50,
            0.65,
            "allowing TF32 cut the GPU energy of a float32 step by 65 % on an H100 (measured, "
            "docs/evidence.md#h100-precision); training took twice as long (50 %) after PyTorch 1.12 turned "
            "TF32 matmuls off (speechbrain#2531)",
        ),
        frequency="run-wide",
    )
    trigger = (
        ("allow_tf32 =", "allow_tf32=", "set_float32_matmul_precision(", "fp32_precision =", "fp32_precision="),
        ("backward(", "Trainer(", "Accelerator(", "Fabric("),
        (".step(", "optimizer_step(", "Trainer(", "Accelerator(", "Fabric("),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        switches = _switches(analysis)
        offs = [s for s in switches if s.off and not s.guarded]
        if not offs:
            return
        if not analysis.device.uses_gpu or not _trains(analysis) or is_test_module(analysis):
            return
        precision = analysis.precision
        if precision.state is Precision.ON or trains_in_float64(analysis):
            return
        turned_on = {s.scope for s in switches if not s.off}
        for switch in offs:
            if switch.scope in turned_on or "all" in turned_on:
                continue  # toggled back on elsewhere: strict float32 is scoped on purpose
            what = {"matmul": "float32 matmuls", "conv": "float32 convolutions", "all": "float32 matmuls and convolutions"}[switch.scope]
            yield Report(
                switch.node,
                f"`{switch.spelled}` makes the {what} of this GPU training run in strict float32 instead "
                "of TF32; allow TF32 (`torch.set_float32_matmul_precision(\"high\")`) or train in bf16 "
                "(measured on an H100: strict fp32 -> TF32 cut GPU energy per step by 65 % for a GPT-style model)",
                fix=_fix(switch),
            )


def _fix(switch: _Switch) -> RuleFix | None:
    if switch.fix_target is None:
        return None
    value = cst.parse_expression(switch.fix_value)
    return RuleFix("allow TF32", "unsafe", replace_node(switch.fix_target, lambda _node: value))


RULE = Tf32Disabled()
