"""GL102: a Hugging Face / Lightning / Accelerate trainer that trains in float32 on a GPU."""

from __future__ import annotations

from typing import Iterable

from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
import libcst as cst

from greenlint.rules.analysis.literals import NOT_LITERAL, argument, keyword_arg, literal_value
from greenlint.rules.analysis.precision import Precision, PrecisionFact
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.scope_facts import in_test_function, is_test_module
from greenlint.rules.analysis.tpu import tpu_evidence
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.analysis.workload import mixed_precision_scale
from greenlint.rules.impact import RuleImpact, WasteSize
from greenlint.rules.fixes import set_keyword

_MESSAGES = {
    "hf-training-args": (
        "`{name}` sets neither `bf16` nor `fp16`, so the Trainer trains in float32 on any GPU it "
        "finds; pass `bf16=True` (Ampere or newer) or `fp16=True`"
    ),
    "hf-trainer-default": (
        "`{name}` is built without `args`, so it uses a default float32 `TrainingArguments` on any "
        "GPU it finds; pass `args=TrainingArguments(..., bf16=True)`"
    ),
    "lightning-trainer": (
        "`{name}` has no mixed `precision` ({detail}), so it trains in float32 on any GPU it finds; "
        'pass `precision="bf16-mixed"` (Ampere or newer) or `precision="16-mixed"`'
    ),
    "accelerate": (
        '`{name}` sets `mixed_precision="no"`, so it trains in float32 on the GPU; use '
        '`mixed_precision="bf16"` (Ampere or newer) or `"fp16"`'
    ),
}


class TrainerWithoutMixedPrecision(Rule):
    code = "GL102"
    # Out of the default set (issue 14, rule under 80 % blind precision): 1 of 6 findings worth acting on in the third blind corpus
    # (47 % on the second before tuning on it): most Trainer runs it flags are small models.
    preview = True
    name = "trainer-without-mixed-precision"
    summary = "Hugging Face, Lightning or Accelerate training configured without fp16/bf16"
    detects = """
        `TrainingArguments` (and `Seq2SeqTrainingArguments`, TRL and sentence-transformers configs)
        with neither `bf16` nor `fp16` set; a `transformers.Trainer` built without `args`; a Lightning
        `Trainer` or `Fabric` without a mixed `precision`; `Accelerator(mixed_precision="no")`.
        These trainers use a GPU whenever one is present, so no device needs to be named. Silent when
        the trainer is told to use the CPU (`use_cpu=True`, `no_cuda=True`, `accelerator="cpu"`), when
        the model is loaded in bf16/fp16 or quantised, or when any precision flag is not a literal.
        TRL configs (`SFTConfig`, `GRPOConfig`, ...) are mixed precision by default since TRL 0.19
        (`bf16` defaults to `not fp16`), so only an explicit `bf16=False` is reported for them. Test
        code is skipped (test modules, `test_*` functions, `Test*` classes), and so are configs built
        inside a trainer's own implementation (a method of a class that subclasses a trainer: library
        defaults, not a training run). Silent on a TPU run (`torch_xla` imported or `xla_device()`,
        `tpu_num_cores=`, Lightning `accelerator="tpu"` or `tpu_cores=`): the rule's figures are GPU
        figures, and a TPU run is not a GPU run. Silent too when the module loads its model with
        `device_map="cpu"` (a deliberate CPU run). On a small workload (a known small dataset such as
        MNIST or CIFAR with a model of small visible layers, or a MobileNet-class network at 64 pixels
        or less; rules/analysis/workload.py) the finding's estimated impact is scaled down: mixed
        precision saves about nothing on a launch-bound step.
    """
    why = """
        Float32 training leaves the tensor cores of every GPU since Volta mostly idle: the same
        epochs take about twice as long at similar power. The trainers switch to mixed precision
        with one argument.
    """
    bad_example = """
        from transformers import Trainer, TrainingArguments

        args = TrainingArguments(output_dir="out", num_train_epochs=3)
        Trainer(model=model, args=args, train_dataset=train_ds).train()
    """
    good_example = """
        from transformers import Trainer, TrainingArguments

        args = TrainingArguments(output_dir="out", num_train_epochs=3, bf16=True)
        Trainer(model=model, args=args, train_dataset=train_ds).train()
    """
    fix = """
        Hugging Face: `bf16=True` in `TrainingArguments` (Ampere or newer; `fp16=True` on older GPUs).
        Lightning: `Trainer(precision="bf16-mixed")`. Accelerate: `Accelerator(mixed_precision="bf16")`.
        Guard for machines without a suitable GPU if the same script also runs on CPUs, for example
        `bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported()`.
    """
    fix_applicability = "unsafe"
    evidence = (evidence.HF_FP16_BERT_LARGE, evidence.H100_BF16_GPT, evidence.H100_BF16_WHOLE_SCRIPT)
    saving_scope = "the GPU compute energy of training (about 2x faster on a V100 for bert-large; measured 49-82 % less GPU energy per step on an H100 in raw PyTorch)"
    impact = RuleImpact(
        size=WasteSize(
            0.49,
            0.82,
            "mixed precision cut bert-large fine-tuning with the HF Trainer from 57.82 s to 27.46 s on a V100 "
            "(53 % less time, HF docs); bf16 autocast cut the GPU energy of a step by 49-82 % on an H100 "
            "(measured, docs/evidence.md#h100-precision)",
        ),
        frequency="run-wide",
    )
    trigger = (
        ("Trainer", "TrainingArguments", "Accelerator", "Fabric", "Config"),
        ("transformers", "lightning", "accelerate", "trl", "sentence_transformers"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        precision = analysis.precision
        if precision.state is not Precision.OFF or is_test_module(analysis):
            return
        off_sites = precision.off_sites(*_MESSAGES)
        if off_sites and tpu_evidence(analysis.facts, analysis.code) is not None:
            # a TPU run: this rule's figures and advice are about GPU tensor cores (issue 14)
            return
        if off_sites and _loaded_on_cpu(analysis):
            return  # `from_pretrained(..., device_map="cpu")`: the run is meant for the CPU
        scale = mixed_precision_scale(analysis) if off_sites else None
        for fact in off_sites:
            site = _site(analysis, fact.node)
            if _told_to_use_cpu(fact) or (site is not None and (in_test_function(site.function, site.class_name) or _in_trainer_implementation(analysis, site))):
                continue
            name = analysis.facts.imports.resolve(fact.node.func) or "Trainer"
            short = name.rsplit(".", 1)[-1]
            detail = fact.detail or "default 32-true"
            message = _MESSAGES[fact.source].format(name=short, detail=detail)
            switched_off = _switched_off(fact.node) if fact.source == "hf-training-args" else None
            if switched_off is not None:
                message = (f"`{short}` sets `{switched_off}=False`, so the Trainer trains in float32 on any GPU it "
                           "finds; pass `bf16=True` (Ampere or newer) or `fp16=True`")
            yield Report(
                fact.node,
                message,
                fix=_fix(fact),
                scale=scale,
            )


_FIXES = {
    "hf-training-args": ("bf16", "True", "set bf16=True"),
    "lightning-trainer": ("precision", '"bf16-mixed"', 'set precision="bf16-mixed"'),
    "accelerate": ("mixed_precision", '"bf16"', 'set mixed_precision="bf16"'),
}


def _switched_off(call: cst.Call) -> str | None:
    """`bf16` or `fp16` when the arguments turn mixed precision off explicitly (a TRL config's
    bf16 default, say), else None."""
    for name in ("bf16", "fp16"):
        arg = keyword_arg(call, name)
        if arg is not None and literal_value(arg.value) is False:
            return name
    return None


def _fix(fact: PrecisionFact) -> RuleFix | None:
    if fact.source not in _FIXES:
        return None  # a Trainer without args needs a whole TrainingArguments: advice only
    keyword, value, message = _FIXES[fact.source]
    if fact.source == "accelerate" and keyword_arg(fact.node, keyword) is None:
        return None  # passed by position: leave it to the user
    given = keyword_arg(fact.node, keyword)
    if given is not None and literal_value(given.value) is NOT_LITERAL:
        return None  # `precision=args.precision`: the option is the fix, its value is the user's
    return RuleFix(message, "unsafe", set_keyword(fact.node, keyword, cst.parse_expression(value)))


def _site(analysis: ModuleAnalysis, node: cst.CSTNode) -> CallSite | None:
    return next((site for site in analysis.facts.calls if site.node is node), None)


def _in_trainer_implementation(analysis: ModuleAnalysis, site: CallSite) -> bool:
    """Inside a method of a class that subclasses a trainer (sentence-transformers builds a default
    `SentenceTransformerTrainingArguments(output_dir="unused")` in its Trainer for the model card)."""
    if site.class_name is None:
        return False
    return any(base.rsplit(".", 1)[-1].endswith("Trainer") for base in analysis.facts.class_bases(site.class_name))


def _loaded_on_cpu(analysis: ModuleAnalysis) -> bool:
    """A model loaded with a literal `device_map="cpu"` (or `{"": "cpu"}`) in a module that names no
    GPU and loads no other model onto one: the script trains on the CPU on purpose, whatever GPU the
    machine has. (A CPU load next to a GPU one, say to merge an adapter, is not a CPU run.)"""
    code = analysis.code.lower()
    if "cuda" in code or "gpu" in code:
        return False  # any mention of a GPU: not known to be a CPU run (the `device_map=` itself counts as GPU evidence)
    on_cpu = False
    for site in analysis.facts.calls:
        if site.attr != "from_pretrained":
            continue
        device_map = argument(site.node, "device_map")
        if device_map is None:
            continue
        value = literal_value(device_map)
        if value == "cpu" or (isinstance(value, dict) and value and set(value.values()) == {"cpu"}):
            on_cpu = True
        else:
            return False  # "auto", a GPU index or a value chosen at run time
    return on_cpu


def _told_to_use_cpu(fact: PrecisionFact) -> bool:
    call = fact.node
    if fact.source in ("hf-training-args", "hf-trainer-default"):
        for key in ("use_cpu", "no_cuda"):
            value = argument(call, key)
            if value is not None and literal_value(value) is not False:
                return True  # True, or chosen at run time
        return False
    if fact.source == "lightning-trainer":
        accelerator = argument(call, "accelerator")
        if accelerator is not None:
            value = literal_value(accelerator)
            if value is NOT_LITERAL or value == "cpu":
                return True
        gpus = argument(call, "gpus")
        return gpus is not None and literal_value(gpus) in (0, None, "0")
    if fact.source == "accelerate":
        cpu = argument(call, "cpu")
        return cpu is not None and literal_value(cpu) is not False
    return False


RULE = TrainerWithoutMixedPrecision()
