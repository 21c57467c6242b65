"""Is mixed precision on, off, or chosen at run time? A tri-state read from the whole module.

Only OFF may be reported as missing: a flag that is not a literal (`autocast(enabled=args.amp)`,
`bf16=cfg.bf16`, `TrainingArguments(**kwargs)`) is CONFIGURABLE, and the user's choice, unless the
module's configuration gives it a known default (config_values.py: an argparse default, a config
file key, a dataclass field, a constant). Then the default decides, as issue 13 asks: a run with
the defaults (`--amp` not passed, `amp: false` in config.yaml) trains in float32, so the flag is
OFF and the fact's `detail` names where the default is set, for the message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import (
    NOT_LITERAL,
    argument,
    has_double_star,
    keyword_arg,
    literal_value,
    resolved_value,
    value_source,
)
from greenlint.rules.analysis.tree import walk


class Precision(enum.IntEnum):
    OFF = 0
    CONFIGURABLE = 1
    ON = 2


AUTOCAST = {
    # qualified name -> position of the `enabled` parameter
    "torch.autocast": 2,
    "torch.amp.autocast": 2,
    "torch.amp.autocast_mode.autocast": 2,
    "torch.cuda.amp.autocast": 0,
    "torch.cuda.amp.autocast_mode.autocast": 0,
    "torch.cpu.amp.autocast": 0,
}
GRAD_SCALER = {
    "torch.amp.GradScaler": 5,
    "torch.amp.grad_scaler.GradScaler": 5,
    "torch.GradScaler": 5,
    "torch.cuda.amp.GradScaler": 4,
    "torch.cuda.amp.grad_scaler.GradScaler": 4,
}
HF_TRAINING_ARGUMENTS = frozenset(
    {
        "transformers.TrainingArguments",
        "transformers.Seq2SeqTrainingArguments",
        "transformers.training_args.TrainingArguments",
        "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
        "trl.SFTConfig", "trl.DPOConfig", "trl.ORPOConfig", "trl.KTOConfig", "trl.CPOConfig",
        "trl.RewardConfig", "trl.GRPOConfig",
        "sentence_transformers.SentenceTransformerTrainingArguments",
        "sentence_transformers.training_args.SentenceTransformerTrainingArguments",
    }
)
# Trainers that build a float32 TrainingArguments themselves when given none.
HF_TRAINERS = frozenset({"transformers.Trainer", "transformers.Seq2SeqTrainer", "transformers.trainer.Trainer"})
LIGHTNING_TRAINERS = frozenset(
    {
        "lightning.Trainer", "lightning.pytorch.Trainer", "lightning.pytorch.trainer.Trainer",
        "lightning.pytorch.trainer.trainer.Trainer", "pytorch_lightning.Trainer",
        "pytorch_lightning.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
        "lightning.Fabric", "lightning.fabric.Fabric", "lightning_fabric.Fabric",
    }
)
LIGHTNING_FABRIC = frozenset({"lightning.Fabric", "lightning.fabric.Fabric", "lightning_fabric.Fabric"})
ACCELERATOR = frozenset({"accelerate.Accelerator", "accelerate.accelerator.Accelerator"})
_LIGHTNING_ON = {16, "16", "16-mixed", "bf16", "bf16-mixed", "16-true", "bf16-true",
                 "transformer-engine", "transformer-engine-float16"}
_LIGHTNING_OFF = {32, "32", "32-true", 64, "64", "64-true"}
_HALF_DTYPES = frozenset({"torch.float16", "torch.half", "torch.bfloat16"})
_WIDE_DTYPES = frozenset({"torch.float64", "torch.double"})


@dataclass(frozen=True)
class PrecisionFact:
    state: Precision
    source: str  # "autocast", "grad-scaler", "hf-training-args", "hf-trainer-default", ...
    node: cst.CSTNode
    detail: str = ""


@dataclass(frozen=True)
class PrecisionFacts:
    facts: tuple[PrecisionFact, ...]
    # torch.float64 / torch.double named anywhere (a dtype, a default dtype)
    uses_float64: bool
    # every argument-less `.double()` call: on a model it means float64 training, on a metric
    # (`correct.double() / n`) it means nothing about the training step, so rules decide which
    # (precision_facts.trains_in_float64)
    double_calls: tuple[CallSite, ...] = ()

    @property
    def state(self) -> Precision:
        return max((f.state for f in self.facts), default=Precision.OFF)

    def off_sites(self, *sources: str) -> list[PrecisionFact]:
        return [f for f in self.facts if f.state is Precision.OFF and f.source in sources]


def _flag_state(value: cst.BaseExpression | None, default: Precision, resolve: bool = False) -> Precision:
    """A boolean flag: absent -> default; literal True -> ON; literal False -> OFF; else CONFIGURABLE.
    With `resolve`, a configured default counts as written (only where the message names it)."""
    if value is None:
        return default
    literal = resolved_value(value) if resolve else literal_value(value)
    if literal is NOT_LITERAL or not isinstance(literal, (bool, int, type(None))):
        return Precision.CONFIGURABLE
    return Precision.ON if literal else Precision.OFF


def _flag_fact(value: cst.BaseExpression | None, default: Precision, source: str, call: cst.Call) -> PrecisionFact:
    state = _flag_state(value, default, resolve=True)
    configured = value_source(value) if value is not None and state is Precision.OFF else None
    return PrecisionFact(state, source, call, configured or "")


# TRL >= 0.19 (June 2025, huggingface/trl#3515 "New defaults: bf16=True"): every TRL trainer config
# sets `bf16 = not fp16` when `bf16` is not given, so an absent `bf16` means bf16 mixed precision.
_BF16_BY_DEFAULT = frozenset(q for q in HF_TRAINING_ARGUMENTS if q.startswith("trl."))


def _hf_arguments_state(call: cst.Call, qualname: str = "") -> Precision:
    if has_double_star(call):
        return Precision.CONFIGURABLE
    bf16_default = Precision.ON if qualname in _BF16_BY_DEFAULT else Precision.OFF
    states = [_flag_state(argument(call, "fp16"), Precision.OFF), _flag_state(argument(call, "bf16"), bf16_default)]
    return max(states)


def _names_training_arguments(node: cst.BaseExpression, site: CallSite) -> bool:
    """`TrainingArguments` itself, or inside a tuple/list passed to HfArgumentParser."""
    if isinstance(node, (cst.Tuple, cst.List)):
        return any(_names_training_arguments(e.value, site) for e in node.elements)
    qualname = site.imports.resolve(node)
    return qualname in HF_TRAINING_ARGUMENTS or (qualname or "").endswith("TrainingArguments")


def _site_fact(site: CallSite) -> PrecisionFact | None:
    qualname = site.qualname
    call = site.node
    for arg in call.args:
        # `functools.partial(torch.autocast, dtype=...)`: autocast chosen at run time (timm)
        if site.imports.resolve(arg.value) in AUTOCAST:
            return PrecisionFact(Precision.CONFIGURABLE, "autocast", call)
    if qualname is None:
        if site.is_method_call and site.attr in ("half", "bfloat16") and not call.args:
            return PrecisionFact(Precision.ON, "half-model", call)
        return None
    if qualname in AUTOCAST:
        return _flag_fact(argument(call, "enabled", AUTOCAST[qualname]), Precision.ON, "autocast", call)
    if qualname in GRAD_SCALER:
        return _flag_fact(argument(call, "enabled", GRAD_SCALER[qualname]), Precision.ON, "grad-scaler", call)
    if qualname in HF_TRAINING_ARGUMENTS:
        return PrecisionFact(_hf_arguments_state(call, qualname), "hf-training-args", call)
    if qualname.endswith("HfArgumentParser"):
        # Only a parser that builds the TrainingArguments makes fp16/bf16 a command-line choice.
        if any(_names_training_arguments(arg.value, site) for arg in call.args):
            return PrecisionFact(Precision.CONFIGURABLE, "hf-argument-parser", call)
        return None
    if qualname in HF_TRAINERS:
        if has_double_star(call):
            return PrecisionFact(Precision.CONFIGURABLE, "hf-trainer-default", call)
        if argument(call, "args", 1) is None:
            return PrecisionFact(Precision.OFF, "hf-trainer-default", call)
        return None
    if qualname in LIGHTNING_TRAINERS:
        if has_double_star(call):
            return PrecisionFact(Precision.CONFIGURABLE, "lightning-trainer", call)
        precision = argument(call, "precision")
        if precision is None and qualname in LIGHTNING_FABRIC:
            # `fabric run --precision=...` and LT_PRECISION decide at run time
            return PrecisionFact(Precision.CONFIGURABLE, "lightning-trainer", call)
        if precision is None:
            return PrecisionFact(Precision.OFF, "lightning-trainer", call)
        # a configured default counts as written, as for the flags (`precision=args.precision` with
        # `--precision` defaulting to 32: float32 unless the launch says otherwise), and is named
        value = resolved_value(precision)
        if value is NOT_LITERAL:
            return PrecisionFact(Precision.CONFIGURABLE, "lightning-trainer", call)
        if value in _LIGHTNING_OFF:
            configured = value_source(precision) if literal_value(precision) is NOT_LITERAL else None
            return PrecisionFact(Precision.OFF, "lightning-trainer", call,
                                 f"precision={value!r}" + (f": {configured}" if configured else ""))
        return PrecisionFact(Precision.ON, "lightning-trainer", call)
    if qualname.endswith(".from_argparse_args") and "Trainer" in qualname:
        return PrecisionFact(Precision.CONFIGURABLE, "lightning-trainer", call)
    if qualname in ACCELERATOR:
        mixed = argument(call, "mixed_precision", 2)
        if mixed is None or has_double_star(call):
            # `accelerate config` / `accelerate launch --mixed_precision` decide at run time
            return PrecisionFact(Precision.CONFIGURABLE, "accelerate", call)
        value = literal_value(mixed)
        if value is NOT_LITERAL:
            return PrecisionFact(Precision.CONFIGURABLE, "accelerate", call)
        if value in ("no", None):
            return PrecisionFact(Precision.OFF, "accelerate", call, 'mixed_precision="no"')
        return PrecisionFact(Precision.ON, "accelerate", call)
    if qualname.endswith(("set_global_policy", "set_policy", "set_dtype_policy", "mixed_precision.Policy")):
        policy = literal_value(argument(call, "policy", 0))
        if policy is NOT_LITERAL:
            return PrecisionFact(Precision.CONFIGURABLE, "keras-policy", call)
        if isinstance(policy, str) and policy.startswith("mixed"):
            return PrecisionFact(Precision.ON, "keras-policy", call)
        return PrecisionFact(Precision.OFF, "keras-policy", call)
    if qualname == "apex.amp.initialize":
        return PrecisionFact(Precision.ON, "apex-amp", call)
    if qualname.endswith(("MixedPrecision", "MixedPrecisionPlugin", "MixedPrecisionPolicy")):
        return PrecisionFact(Precision.ON, "plugin", call)
    if qualname.endswith("BitsAndBytesConfig"):
        return PrecisionFact(Precision.ON, "quantized", call)
    if qualname in ("deepspeed.initialize",):
        return PrecisionFact(Precision.CONFIGURABLE, "deepspeed", call)
    if site.is_method_call and site.attr in ("half", "bfloat16") and not call.args:
        return PrecisionFact(Precision.ON, "half-model", call)
    return None


def _keyword_facts(site: CallSite) -> list[PrecisionFact]:
    """`torch_dtype=torch.bfloat16`, `load_in_4bit=True` ... on any call (from_pretrained etc.)."""
    result = []
    keys = ["torch_dtype", "load_in_8bit", "load_in_4bit", "quantization_config"]
    if site.attr == "from_pretrained":
        keys.append("dtype")  # the newer spelling of torch_dtype in transformers
    for key in keys:
        arg = keyword_arg(site.node, key)
        if arg is None:
            continue
        value = literal_value(arg.value)
        if key in ("torch_dtype", "dtype"):
            if value is NOT_LITERAL:
                # torch.float32 spelled out is OFF; torch.bfloat16 is counted by the dtype scan
                name = site.imports.resolve(arg.value)
                if name is None:
                    result.append(PrecisionFact(Precision.CONFIGURABLE, "model-dtype", site.node))
            elif isinstance(value, str) and value not in ("float32", "fp32"):
                result.append(PrecisionFact(Precision.ON, "model-dtype", site.node))
        elif key == "quantization_config" or value is NOT_LITERAL or value:
            result.append(PrecisionFact(Precision.ON, "quantized", site.node))
    return result


def _in_training_loop(site: CallSite) -> bool:
    """Called on every iteration of a training step (not per epoch, not under an `if` such as a
    periodic evaluation)."""
    loop = site.loop
    if loop is None or site.cond_depth != loop.cond_depth:
        return False
    return any(enclosing.is_training_step for enclosing in loop.enclosing())


def collect_precision_facts(facts: ModuleFacts, module: cst.Module | None = None) -> PrecisionFacts:
    found: list[PrecisionFact] = []
    uses_float64 = False
    double_calls: list[CallSite] = []
    for qualname, node in facts.watched_attributes:
        if qualname in _HALF_DTYPES:
            found.append(PrecisionFact(Precision.ON, "half-dtype", node))
        elif qualname in _WIDE_DTYPES:
            uses_float64 = True
    for decorator in facts.autocast_decorators:
        if facts.imports.resolve(decorator.decorator) in AUTOCAST:
            found.append(PrecisionFact(Precision.ON, "autocast", decorator))
    trained_calls = None
    for qualname, node in facts.project_refs:
        phrase = facts.context.autocast.get(qualname)
        if phrase is None:
            continue
        if qualname in facts.context.autocast_functions:
            # a function (`train_step`) counts where a training loop calls it; an `evaluate()` that
            # runs under autocast says nothing about the training step
            if trained_calls is None:
                trained_calls = {id(site.node.func) for site in facts.calls if _in_training_loop(site)}
            if id(node) not in trained_calls:
                continue
        # the model class or step function it uses runs under autocast in its own module
        found.append(PrecisionFact(Precision.ON, "imported-autocast", node, phrase))
    for site in facts.calls:
        fact = _site_fact(site)
        if fact is not None:
            found.append(fact)
        if site.node.args:
            found.extend(_keyword_facts(site))
        if site.is_method_call and site.attr == "double" and not site.node.args:
            double_calls.append(site)
    if module is not None and any(f.state is Precision.ON and f.source in ("autocast", "grad-scaler", "apex-amp")
                                  and isinstance(f.node, cst.Call) for f in found):
        found = _switched_by_default(found, module)
    return PrecisionFacts(tuple(found), uses_float64, tuple(double_calls))


# the facts an `if` on a precision flag can switch off: the autocast, the scaler, the half dtype
# it picks (`if fp16: dtype16 = torch.float16`) and apex's `amp.initialize` (`if args.amp:`,
# kekmodel/FixMatch-pytorch, blind42)
_SWITCHABLE = frozenset({"autocast", "grad-scaler", "half-dtype", "apex-amp"})


def _switched_by_default(found: list[PrecisionFact], module: cst.Module) -> list[PrecisionFact]:
    """An autocast (or GradScaler) that runs only under `if opt.fp16 or opt.bf16:` where every flag
    of the test is off by default (`store_true` options not passed by any launch): OFF, naming
    where the defaults are set, as `autocast(enabled=args.amp)` is (layumi/Person_reID_baseline_pytorch
    train.py, blind35 post hoc). A test it cannot read leaves the autocast as it was."""
    switchable = {id(f.node) for f in found if f.state is Precision.ON and f.source in _SWITCHABLE}
    guarded: dict[int, str] = {}
    for node in walk(module):
        if not isinstance(node, cst.If):
            continue
        inside = [id(inner) for inner in walk(node.body) if id(inner) in switchable]
        detail = _off_by_default(node.test) if inside else ""
        for key in inside if detail else ():
            guarded.setdefault(key, detail)
    if not guarded:
        return found
    found = [PrecisionFact(Precision.OFF, f.source, f.node, guarded[id(f.node)])
             if f.state is Precision.ON and f.source in _SWITCHABLE and id(f.node) in guarded else f for f in found]
    autocasts = [f for f in found if f.source == "autocast"]
    others_on = [f for f in found if f.state is not Precision.OFF and f.source not in _SWITCHABLE]
    if autocasts and all(f.state is Precision.OFF for f in autocasts) and not others_on:
        # a GradScaler built unconditionally scales float32 gradients: no mixed precision without
        # the autocast it was made for (Person_reID's module-level `GradScaler()`)
        detail = next(f.detail for f in autocasts if f.detail)
        found = [PrecisionFact(Precision.OFF, f.source, f.node, f.detail or detail) if f.source == "grad-scaler" else f
                 for f in found]
    return found


def _off_by_default(test: cst.BaseExpression) -> str:
    """Where the defaults are set when `test` (a flag, or flags joined by `or`) is false with every
    flag at its configured default; "" when any flag is unknown, true or a literal."""
    operands: list[cst.BaseExpression] = []

    def flatten(node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.BooleanOperation):
            return isinstance(node.operator, cst.Or) and flatten(node.left) and flatten(node.right)
        if isinstance(node, (cst.Name, cst.Attribute)):
            operands.append(node)
            return True
        return False

    if not flatten(test):
        return ""
    sources: list[str] = []
    for operand in operands:
        if literal_value(operand) is not NOT_LITERAL or resolved_value(operand) is not False:
            return ""
        source = value_source(operand)
        if not source:
            return ""
        if source not in sources:
            sources.append(source)
    return "; ".join(sources)
