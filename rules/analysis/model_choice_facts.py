"""Analysis shared by the GL2xx model-choice rules (GL202-GL206).

- Checkpoints: the literal model checkpoints a module loads and a coarse size class for each
  ("small" up to about base size, "large", or unknown), from their names.
- Hugging Face training configurations: the literal keyword values of `TrainingArguments` and
  its TRL / sentence-transformers cousins.
- Memory pressure: quantised loading, long sequences, very large batches (reasons to keep
  memory-saving techniques such as gradient checkpointing).
- String literals of a module (prompts), collected only when a rule asks for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import (
    NOT_LITERAL,
    argument,
    literal_value,
    resolved_value,
    string_value,
)
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.precision import HF_TRAINING_ARGUMENTS
from greenlint.rules.analysis.tree import visit

# ---- checkpoints -----------------------------------------------------------------------------

_LARGE = re.compile(
    r"(^|[/_-])(large|xl|xxl|huge|giant|medium)([-_./]|$)|(^|[-_/.])\d+(\.\d+)?[bB]([-_/.]|$)|"
    r"llama|mistral|mixtral|falcon|bloom|gpt-j|gpt-neox|qwen|gemma|phi-?\d|opt-\d|olmo|"
    r"deepseek|vicuna|zephyr|starcoder|codegen|mpt-\d|pythia-\d+(\.\d+)?b",
    re.IGNORECASE,
)
_SMALL = re.compile(
    r"distil|(^|[/_.-])(tiny|mini|small)|(^|[/_-])base([-_./]|$)|mobilebert|squeezebert|"
    r"(^|/)gpt2$|(^|/)bert-base|(^|/)roberta-base|electra-small|albert-base|pythia-(14|31|70|160)m|"
    r"smollm2?-(135|360)m|all-mpnet-base|minilm",
    re.IGNORECASE,
)
_NOT_A_MODEL = re.compile(r"Tokenizer|Config|Processor|FeatureExtractor|ImageProcessor")


def checkpoint_size(name: str) -> str | None:
    """"large", "small" or None (unknown) for a checkpoint name such as "bert-base-uncased"."""
    if _LARGE.search(name):
        return "large"
    if _SMALL.search(name):
        return "small"
    return None


@dataclass(frozen=True)
class ModelLoad:
    site: CallSite
    receiver: str  # qualified name of the class it is loaded with ("transformers.AutoModel")
    checkpoint: str | None  # the literal checkpoint, if it is one


def model_loads(analysis: ModuleAnalysis) -> list[ModelLoad]:
    """Every `<transformers/peft/sentence-transformers model>.from_pretrained(...)` and
    `SentenceTransformer("...")` of the module (tokenizers, configs and processors left out)."""
    loads: list[ModelLoad] = []
    imports = analysis.facts.imports
    for site in analysis.facts.calls:
        if site.attr == "from_pretrained" and site.receiver is not None:
            receiver = imports.resolve(site.receiver)
            if receiver is None or not receiver.startswith(("transformers.", "peft.", "sentence_transformers.", "trl.")):
                continue
            if _NOT_A_MODEL.search(terminal_name(site.receiver) or ""):
                continue
            checkpoint = resolve_checkpoint(analysis, argument(site.node, "pretrained_model_name_or_path", 0))
            loads.append(ModelLoad(site, receiver, checkpoint))
        elif site.qualname in ("sentence_transformers.SentenceTransformer", "sentence_transformers.CrossEncoder"):
            checkpoint = resolve_checkpoint(analysis, argument(site.node, "model_name_or_path", 0))
            loads.append(ModelLoad(site, site.qualname, checkpoint))
    return loads


def resolve_checkpoint(analysis: ModuleAnalysis, node: cst.BaseExpression | None) -> str | None:
    """A literal checkpoint, the literal a name is always assigned (`CHECKPOINT = "bert-large-uncased"`
    then `from_pretrained(CHECKPOINT)`), or the configured default of the expression (an argparse
    default, a dataclass field, a config-file key: literals.resolved_value)."""
    value = string_value(node)
    if value is not None or node is None:
        return value
    if isinstance(node, cst.Name):
        values = {string_value(v) for name, v in analysis.facts.assignments if name == node.value}
        if len(values) == 1:
            return values.pop()
    configured = resolved_value(node)
    return configured if isinstance(configured, str) else None


def all_models_small(analysis: ModuleAnalysis, loads: list[ModelLoad]) -> str | None:
    """The checkpoint name if every model load of the module is a known small checkpoint."""
    if not loads:
        return None
    names = []
    for load in loads:
        checkpoint = load.checkpoint or resolve_checkpoint(
            analysis, argument(load.site.node, "pretrained_model_name_or_path", 0)
        )
        if checkpoint is None or checkpoint_size(checkpoint) != "small":
            return None
        names.append(checkpoint)
    return names[0]


# ---- Hugging Face training arguments ---------------------------------------------------------


def is_training_arguments(site: CallSite) -> bool:
    qualname = site.qualname or ""
    return qualname in HF_TRAINING_ARGUMENTS or (
        qualname.startswith(("transformers.", "trl.", "sentence_transformers."))
        and qualname.endswith(("TrainingArguments", "Config"))
        and qualname.rsplit(".", 1)[-1] in _TRAINER_CONFIG_NAMES
    )


_TRAINER_CONFIG_NAMES = frozenset(
    {
        "TrainingArguments", "Seq2SeqTrainingArguments", "SFTConfig", "DPOConfig", "ORPOConfig", "KTOConfig",
        "CPOConfig", "RewardConfig", "GRPOConfig", "PPOConfig", "SentenceTransformerTrainingArguments",
        "CrossEncoderTrainingArguments",
    }
)


def keyword_literal(call: cst.Call, name: str) -> Any:
    """The literal value of keyword `name`, None if absent, NOT_LITERAL if computed."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return literal_value(arg.value)
    return None


# ---- memory pressure -------------------------------------------------------------------------

_LONG_SEQUENCE_KEYS = ("max_length", "max_seq_length", "model_max_length", "block_size", "max_position_embeddings")


def memory_pressure(analysis: ModuleAnalysis) -> str | None:
    """Why this module may be short of GPU memory: quantised loading, long sequences, big batches."""
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if qualname.endswith("BitsAndBytesConfig") or qualname.startswith("bitsandbytes."):
            return "quantised loading"
        for arg in site.node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            value = literal_value(arg.value)
            if key in ("load_in_4bit", "load_in_8bit", "quantization_config") and value is not False:
                return "quantised loading"
            if key in _LONG_SEQUENCE_KEYS and isinstance(value, int) and value >= 1024:
                return f"{key}={value}"
            if key in ("per_device_train_batch_size", "train_batch_size") and isinstance(value, int) and value > 32:
                return f"{key}={value}"
    return None


# ---- strings ---------------------------------------------------------------------------------


def string_literals(module: cst.Module) -> list[str]:
    """The text of every string literal, f-string (its literal parts) and concatenation."""
    found: list[str] = []

    class Collector(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            value = string_value(node)
            if value:
                found.append(value)

        def visit_FormattedString(self, node: cst.FormattedString) -> None:
            found.append(
                "".join(part.value if isinstance(part, cst.FormattedStringText) else " {} " for part in node.parts)
            )

        def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
            value = string_value(node)
            if value:
                found.append(value)

    visit(module, Collector())
    return found


def literal_string_list(node: cst.BaseExpression) -> list[str] | None:
    """The strings of a list/tuple/set literal of strings, else None."""
    if isinstance(node, cst.Set):
        values = [string_value(e.value) for e in node.elements if isinstance(e, cst.Element)]
        return values if values and all(isinstance(v, str) for v in values) else None  # type: ignore[return-value]
    value = literal_value(node)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


__all__ = [
    "NOT_LITERAL",
    "ModelLoad",
    "all_models_small",
    "checkpoint_size",
    "is_training_arguments",
    "keyword_literal",
    "literal_string_list",
    "memory_pressure",
    "model_loads",
    "resolve_checkpoint",
    "string_literals",
]
