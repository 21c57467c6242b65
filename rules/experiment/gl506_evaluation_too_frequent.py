"""GL506: a framework setting that runs the whole validation set every few training steps."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import (
    HF_TRAINING_ARGS,
    LIGHTNING_TRAINERS,
    in_test_code,
    int_value,
    is_test_module,
    shrinks_dataset,
)
from greenlint.rules.analysis.literals import argument, has_double_star, keyword_arg, literal_value, resolved_value, value_source
from greenlint.rules.base import Evidence, Report, Rule

# The Hugging Face Trainer evaluates every `eval_steps` optimizer steps under eval_strategy="steps";
# `eval_steps` defaults to `logging_steps`, which defaults to 500.
HF_DEFAULT_LOGGING_STEPS = 500
# An evaluation every fewer steps than this is reported: a full pass over the evaluation set every
# handful of updates (the shapes the development corpus labelled: every 1 and every 5 steps).
MIN_EVAL_STEPS = 10
# Lightning: an integer `val_check_interval` is a number of training batches; below this the whole
# validation set (no `limit_val_batches`) runs every few dozen batches.
MIN_VAL_CHECK_BATCHES = 50
# A fractional `val_check_interval` validates 1/x times per epoch: reported from 2 passes per epoch on,
# over runs of this many epochs or more (a 1-3 epoch fine-tune may want the extra read-outs).
MAX_VAL_FRACTION = 0.5
MIN_EPOCHS_FOR_FRACTION = 10
# A run this short is a smoke test.
SHORT_RUN_STEPS = 200
LIGHTNING_DEFAULT_EPOCHS = 1000


class EvaluationTooFrequent(Rule):
    code = "GL506"
    name = "evaluation-too-frequent"
    summary = "The whole validation set runs every few training steps: validation costs as much as training, or more"
    detects = """
        Hugging Face `TrainingArguments(eval_strategy="steps")` (or `evaluation_strategy`) whose evaluation
        interval is under 10 optimizer steps: `eval_steps` (literal or a known configured default), or, when
        `eval_steps` is not given, `logging_steps` (the Trainer's fallback), so `logging_steps=1` with no
        `eval_steps` evaluates after every step. Lightning `Trainer(val_check_interval=N)` with an integer N
        under 50 training batches, or a fraction of at most 0.5 (two or more validation passes per epoch) in a
        run of 10 or more epochs (Lightning's default of 1000 when neither `max_epochs` nor `max_steps` is
        set), in both cases only when `limit_val_batches` does not cut the validation pass down. Not
        reported: `max_steps` of 200 or less, `fast_dev_run`, `limit_train_batches`, `overfit_batches`,
        modules that cut their dataset to a demo sample (`.select(range(20))`), a fractional `eval_steps`
        (a share of the run), test code.
    """
    why = """
        A validation pass is a forward pass over the whole validation set. Run after every few
        training steps it repeats that pass hundreds or thousands of times per run; with a validation
        split of 5-20 % of the data, each pass costs as much as several training steps, so the run
        spends more energy validating than training, for a learning curve sampled far more finely
        than anyone reads it or than checkpoint selection needs.
    """
    bad_example = """
        from transformers import TrainingArguments

        args = TrainingArguments(
            output_dir="out",
            num_train_epochs=3,
            logging_steps=1,
            eval_strategy="steps",
        )
    """
    good_example = """
        from transformers import TrainingArguments

        args = TrainingArguments(
            output_dir="out",
            num_train_epochs=3,
            logging_steps=1,
            eval_strategy="steps",
            eval_steps=500,
        )
    """
    fix = """
        Evaluate once per epoch (`eval_strategy="epoch"`; Lightning's default `val_check_interval=1.0`) or
        every few hundred steps (`eval_steps=500`); if a finer curve is needed, evaluate on a fixed
        subset (`limit_val_batches=20`, a `.select(range(...))` of the evaluation set).
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "an evaluation every k steps instead of once per epoch runs (steps per epoch / k) - 1 extra passes over the "
            "validation set per epoch; their share of the run depends on the validation set's size",
            "arithmetic; magnitude unverified (docs/evidence.md#gl506)",
            "unquantified",
        ),
    )
    saving_scope = "the validation passes beyond one per epoch (or per few hundred steps)"
    # no published measurement: the share depends on the validation set's size (docs/evidence.md#gl506)
    impact = None
    trigger = (("eval_strategy", "evaluation_strategy", "val_check_interval"),)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if is_test_module(facts) or shrinks_dataset(facts):
            return
        for site in facts.calls:
            if in_test_code(site) or has_double_star(site.node):
                continue
            if site.qualname in HF_TRAINING_ARGS:
                report = _hugging_face(site.node)
            elif site.qualname in LIGHTNING_TRAINERS:
                report = _lightning(site.node, facts)
            else:
                report = None
            if report is not None:
                yield report


def _short_run(call: cst.Call) -> bool:
    max_steps = literal_value(argument(call, "max_steps"))
    if type(max_steps) is int and 0 < max_steps <= SHORT_RUN_STEPS:
        return True
    return any(argument(call, name) is not None for name in ("fast_dev_run", "limit_train_batches", "overfit_batches"))


def _hugging_face(call: cst.Call) -> Report | None:
    strategy_node = argument(call, "eval_strategy") or argument(call, "evaluation_strategy")
    strategy = literal_value(strategy_node)
    if isinstance(strategy_node, cst.Attribute):  # IntervalStrategy.STEPS
        strategy = strategy_node.attr.value.lower()
    if strategy != "steps" or _short_run(call):
        return None
    eval_node = argument(call, "eval_steps")
    if eval_node is not None:
        interval, setting, where = resolved_value(eval_node), "eval_steps", value_source(eval_node)
        anchor = keyword_arg(call, "eval_steps")
    else:
        logging_node = argument(call, "logging_steps")
        interval = HF_DEFAULT_LOGGING_STEPS if logging_node is None else resolved_value(logging_node)
        setting, where = "logging_steps", None if logging_node is None else value_source(logging_node)
        anchor = keyword_arg(call, "eval_strategy") or keyword_arg(call, "evaluation_strategy")
    if type(interval) is not int or not 1 <= interval < MIN_EVAL_STEPS:
        return None  # a float is a share of the run; None / unknown is the user's choice
    configured = f" ({where})" if where else ""
    if setting == "eval_steps":
        how = f"`eval_steps={interval}`{configured}"
    else:
        how = f'`eval_strategy="steps"` with no `eval_steps` falls back to `logging_steps={interval}`{configured} and'
    every = "after every optimizer step" if interval == 1 else f"every {interval} optimizer steps"
    return Report(
        anchor or call,
        f"{how} runs the whole evaluation set {every}: unless that set is small next to {interval} training "
        'batch(es), the run spends more on evaluation than on training; evaluate every few hundred steps (`eval_steps=500`) or once per epoch '
        '(`eval_strategy="epoch"`)',
    )


def _lightning(call: cst.Call, facts) -> Report | None:
    interval_node = argument(call, "val_check_interval")
    if interval_node is None or _short_run(call) or argument(call, "limit_val_batches") is not None:
        return None
    interval = resolved_value(interval_node)
    anchor = keyword_arg(call, "val_check_interval") or call
    if type(interval) is int and 1 <= interval < MIN_VAL_CHECK_BATCHES:
        return Report(
            anchor,
            f"`val_check_interval={interval}` runs the whole validation set every {interval} training batches: "
            f"unless that set is small next to {interval} training batches, the run spends more on validation than on "
            "training; "
            "validate once per epoch (the default) or every few hundred batches, or cap the pass with "
            "`limit_val_batches`",
        )
    if type(interval) is float and 0 < interval <= MAX_VAL_FRACTION:
        epochs = _epochs(call, facts)
        if epochs is None or epochs < MIN_EPOCHS_FOR_FRACTION:
            return None
        passes = round(1 / interval)
        return Report(
            anchor,
            f"`val_check_interval={interval:g}` validates {passes} times per epoch over {epochs} epochs: "
            f"{passes - 1} of every {passes} validation passes only sample the curve more finely; validate once "
            "per epoch (the default) or cap the pass with `limit_val_batches`",
        )
    return None


def _epochs(call: cst.Call, facts) -> int | None:
    """The run's epochs: `max_epochs`, or Lightning's default 1000 when neither it nor `max_steps` is set."""
    epochs_node = argument(call, "max_epochs")
    if epochs_node is None:
        max_steps = argument(call, "max_steps")
        return LIGHTNING_DEFAULT_EPOCHS if max_steps is None or literal_value(max_steps) == -1 else None
    epochs = int_value(epochs_node, facts)
    return None if epochs == -1 else epochs  # -1 (unbounded) is GL502's finding


RULE = EvaluationTooFrequent()
