"""GL205: gradient checkpointing on a small model that does not need the memory it saves."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import keyword_arg
from greenlint.rules.analysis.model_choice_facts import (
    all_models_small,
    is_training_arguments,
    keyword_literal,
    memory_pressure,
    model_loads,
)
from greenlint.rules.analysis.precision_facts import is_test_module
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.impact import RuleImpact, WasteSize
from greenlint.rules.fixes import set_keyword

HF_1GPU = "Hugging Face Transformers docs, 'Efficient training on a single GPU' (v4.2x page with measured tables, bert-large on a V100-16GB)"


class UnneededGradientCheckpointing(Rule):
    code = "GL205"
    name = "unneeded-gradient-checkpointing"
    summary = "Gradient checkpointing is switched on for a small model that does not need the memory"
    detects = """
        `gradient_checkpointing=True` in `TrainingArguments` (or a TRL / sentence-transformers
        training config), or `model.gradient_checkpointing_enable()`, in a module whose every model
        load is a known small checkpoint (about base size or smaller: distil*, *-small, *-base,
        gpt2, MiniLM ...), with no sign of memory pressure: no 4/8-bit quantisation, no sequence length
        of 1024 or more, no per-device batch above 32. Modules that load a model by a non-literal name
        or load any larger model are not reported.
    """
    why = """
        Gradient checkpointing throws activations away in the forward pass and recomputes them in
        the backward pass: about one extra forward pass per step. That trade is worth it when memory
        is what limits the batch or the model; for a base-size model at a modest batch and sequence
        length, the memory was never short, and the recomputation is pure extra GPU time.
    """
    bad_example = """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
        args = TrainingArguments(output_dir="out", per_device_train_batch_size=16, gradient_checkpointing=True, bf16=True)
        Trainer(model=model, args=args, train_dataset=train_ds).train()
    """
    good_example = """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
        args = TrainingArguments(output_dir="out", per_device_train_batch_size=16, bf16=True)
        Trainer(model=model, args=args, train_dataset=train_ds).train()
    """
    fix = """
        Turn gradient checkpointing off (`gradient_checkpointing=False`, or drop
        `gradient_checkpointing_enable()`). If memory really is short, first try bf16 and a smaller
        per-device batch; use checkpointing when it lets you train something that would not fit
        otherwise, and then raise the batch size to use the memory it frees.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "with gradient checkpointing 'training will be ~20 % slower'; bert-large example 66 s -> 85 s",
            HF_1GPU,
            "doc",
        ),
    )
    saving_scope = "the recomputed forward pass: about 20 % of the GPU time of each training step (documented)"
    impact = RuleImpact(
        size=WasteSize(
            0.17,
            0.22,
            "gradient checkpointing makes training '~20 % slower' (1 - 1/1.2 = 17 % of the time); bert-large "
            "66 s -> 85 s (22 %) on a V100 (HF docs)",
        ),
        frequency="run-wide",
    )
    trigger = (("gradient_checkpointing",), ("from_pretrained", "SentenceTransformer(", "CrossEncoder("))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        sites = []
        for site in analysis.facts.calls:
            if site.attr == "gradient_checkpointing_enable" and site.is_method_call and site.cond_depth == 0 or is_training_arguments(site) and keyword_literal(site.node, "gradient_checkpointing") is True:
                sites.append(site)
        if not sites or is_test_module(analysis):
            return
        checkpoint = all_models_small(analysis, model_loads(analysis))
        if checkpoint is None or memory_pressure(analysis) is not None:
            return
        for site in sites:
            yield Report(
                site.node,
                f"gradient checkpointing recomputes the forward pass in every backward pass, but the model "
                f"(`{checkpoint}`) is small and nothing here is short of memory; turn it off "
                "(Hugging Face docs: training with checkpointing is about 20 % slower)",
                fix=_fix(site.node),
            )


def _fix(call: cst.Call) -> RuleFix | None:
    if keyword_arg(call, "gradient_checkpointing") is None:
        return None  # `gradient_checkpointing_enable()`: removing a statement is left to the user
    return RuleFix(
        "set gradient_checkpointing=False",
        "unsafe",
        set_keyword(call, "gradient_checkpointing", cst.Name("False")),
    )


RULE = UnneededGradientCheckpointing()
