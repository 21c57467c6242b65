"""GL502: a long training run that evaluates on validation data but never stops early."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import (
    HF_TRAINING_ARGS,
    LIGHTNING_TRAINERS,
    configured_source,
    in_test_code,
    int_value,
    is_hf_trainer,
    is_keras_fit,
    is_test_module,
    mentions,
)
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.lr_schedule import fixed_length_schedule
from greenlint.rules.analysis.run_size import small_run
from greenlint.rules.analysis.training_run_facts import epoch_loop_length
from greenlint.rules.analysis.validation_loops import per_epoch_validation, stops_inside
from greenlint.rules.analysis.literals import (
    NOT_LITERAL,
    argument,
    has_double_star,
    keyword_arg,
    literal_value,
    resolved_value,
    value_source,
)
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.evidence import EARLY_STOPPING_SIZE
from greenlint.rules.impact import RuleImpact
from greenlint.rules.experiment.keras_early_stopping import (
    by_default as _by_default,
    callbacks_without_stopping as _callbacks_without_stopping,
    keras_fit_report as _keras,
)

# A hand-written PyTorch epoch loop: as GL503, from this many epochs on the run is long (the
# tutorial loops of pytorch/examples run 10-20 epochs).
PYTORCH_MIN_EPOCHS = 50
LIGHTNING_MIN_EPOCHS = 20
# Fine-tuning with the HF Trainer defaults to 3 epochs; 10 is already a long fine-tuning run.
HF_MIN_EPOCHS = 10

# Anything that stops training on a signal: callbacks, hand-written stoppers, `model.stop_training = True`.
_STOPPING_WORDS = ("earlystop", "stoptraining", "shouldtrainingstop", "shouldstop")
_COSINE_SCHEDULE_TYPES = ("cosine", "cosine_with_restarts", "cosine_with_min_lr", "cosine_warmup_with_min_lr")


class NoEarlyStopping(Rule):
    code = "GL502"
    # Out of the default set (issue 14, session 8, post-selection): under 80 % strict precision on the sixth
    # and seventh blind corpora, the rule as it stands: 3/11 (blind6 3/6, blind7 0/5). `--preview` brings it back.
    preview = True
    name = "no-early-stopping"
    summary = "Long training with a validation set but no early stopping: epochs run on after the model stopped improving"
    detects = """
        Keras `model.fit(..., epochs=N, validation_data=...|validation_split>0)` with N >= 30 and no
        `EarlyStopping` among its callbacks, in a module that builds a convolutional, recurrent, attention or
        pretrained model (also a Keras application built through a variable: `name_model(include_top=False,
        weights="imagenet")`) or does not show the model (a network of only `Dense`/`Dropout`-style layers trains
        in seconds per epoch and is not reported, nor is an sklearn/XGBoost/custom-class `fit`); a Hugging Face `Trainer` in a module whose
        `TrainingArguments` evaluate (`eval_strategy`/`evaluation_strategy` "steps" or "epoch") for
        `num_train_epochs` >= 10 with no `EarlyStoppingCallback`; a Lightning `Trainer(max_epochs=N)`
        with N >= 20 (a `Trainer` with neither `max_epochs` nor `max_steps` runs Lightning's default 1000)
        in a module that validates (`validation_step`, `val_dataloaders`, a `val_check_interval` or
        `check_val_every_n_epoch` setting, or builds a LightningModule of another project module that
        defines `validation_step` and sets up no early stopping) and has no `EarlyStopping`, or `Trainer(max_epochs=-1)` with no
        `max_steps`, `max_time` or stopping callback (a run without end), validating or not (no Lightning
        finding when `max_time`, `fast_dev_run`, `limit_train_batches` or `overfit_batches` bounds the run); a hand-written PyTorch epoch loop of N >= 50 epochs (literal or configured)
        around a training-step loop that assigns a validation pass's result on every epoch
        (`val_loss = validate(...)`, `valid_loss, acc = eval_epoch(...)`) and has no `break` or
        `return` in it. Silent when the epoch count is neither a literal nor a known
        configured default (argparse default, config file, dataclass field, constant; named in the message), when the callbacks are built
        somewhere the module does not show, when anything in the module stops training on a signal
        (an early-stopping class or function of any name, `stop_training = True`), when the module
        uses a learning-rate schedule that needs its full length (cosine, one-cycle, step and
        multi-step decay except `StepLR(step_size=1)`, `LambdaLR`, Keras `LearningRateScheduler`,
        or a hand-written one: a function with an epoch parameter that sets a parameter group's
        `'lr'`, as in the ImageNet recipe's `adjust_learning_rate(optimizer, epoch)`). Test code (modules that import pytest or unittest, `test_*` functions) is skipped.
        Where the module visibly trains a small model on small data (a few-layer MLP or CNN on
        MNIST/CIFAR, or an MLP with written-out hidden widths on a known small table such as
        `cement_strength.csv`; nothing pretrained), the finding's estimate is scaled down
        (x0.05, impact low): such a run takes minutes. In a notebook, a Keras fit without early
        stopping whose saved log (epoch count as in the call) shows every epoch's `val_loss` and
        time, lowest at least three epochs before the last, with 15 minutes or more of recorded
        training after the best epoch plus a patience of 2, is reported whatever its epoch count or
        model, with that measured saving (rules/recorded_run.py).
    """
    why = """
        Once the validation loss stops improving, the remaining epochs burn the full training energy
        per epoch for a model that is no better (often worse, overfitted). Early stopping ends the
        run at that point and, with `restore_best_weights`, keeps the best model.
    """
    bad_example = """
        from tensorflow import keras

        model = keras.Sequential([
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x_train, y_train, epochs=200, validation_split=0.2)
    """
    good_example = """
        from tensorflow import keras

        model = keras.Sequential([
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
        model.fit(x_train, y_train, epochs=200, validation_split=0.2, callbacks=[stop])
    """
    fix = """
        Keras: `callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5,
        restore_best_weights=True)]` (the unsafe autofix adds it). Hugging Face:
        `Trainer(..., callbacks=[EarlyStoppingCallback(early_stopping_patience=3)])` with
        `load_best_model_at_end=True` and `metric_for_best_model` in the TrainingArguments. Lightning:
        `Trainer(callbacks=[EarlyStopping(monitor="val_loss", patience=5)])` with a logged `val_loss`.
        Choose the patience for your noise level; keep a fixed schedule where the method needs one.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "runtime early stopping combined with layer freezing and quantization saved 56.5 % of training energy "
            "with +2.38 % validation accuracy on CNNs over 12 vision datasets (early stopping alone not separated)",
            "Reguero, Martinez-Fernandez, Verdecchia, Computer Standards & Interfaces 2024 (abstract)",
            "paper",
        ),
        Evidence(
            "early stopping alone saves the epochs after the best validation epoch: (planned - stopped) / planned "
            "of the training energy; how many depends on the run",
            "arithmetic; magnitude unverified (docs/evidence.md#gl502)",
            "unquantified",
        ),
    )
    saving_scope = "the training energy of the epochs after validation stops improving: (planned - stopped) / planned"
    # the epochs saved are a share of the whole run
    impact = RuleImpact(size=EARLY_STOPPING_SIZE, frequency="run-wide")
    trigger = (
        ("fit(", "fit_generator(", "Trainer(", "backward("),
        ("validation_data", "validation_split", "eval_strategy", "evaluation_strategy", "max_epochs", "val", "eval"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if is_test_module(facts):
            return
        if mentions(facts, _STOPPING_WORDS) or fixed_length_schedule(analysis):
            return
        small = small_run(analysis)
        for report in self._reports(analysis):
            # a small model on small data trains in minutes: reported, with its estimate scaled down
            yield report if small is None else replace(report, scale=small.scale())

    def _reports(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        for site in facts.calls:
            if in_test_code(site):
                continue
            if is_keras_fit(site, facts):
                report = _keras(analysis, site)
            elif site.qualname in LIGHTNING_TRAINERS:
                report = _lightning(site, facts)
            elif site.qualname in HF_TRAINING_ARGS:
                report = _hugging_face(site, facts)
            else:
                report = None
            if report is not None:
                yield report
        for loop in facts.loops:
            if not in_test_code(function=loop.function):
                report = _pytorch_loop(loop, facts)
                if report is not None:
                    yield report


def _pytorch_loop(loop, facts: ModuleFacts) -> Report | None:
    """A hand-written epoch loop of 50+ epochs that computes a validation metric every epoch and
    never leaves the loop early (no `break`/`return` in it)."""
    epochs = epoch_loop_length(loop, facts)
    if epochs is None or epochs < PYTORCH_MIN_EPOCHS:
        return None
    metric = per_epoch_validation(loop, facts)
    if metric is None or stops_inside(loop.node):
        return None
    source = configured_source(loop.node.iter, facts)
    return Report(
        loop.node,
        end_node=loop.node.iter,
        message=(
            f"the epoch loop runs {epochs} epochs{_by_default(source)} and computes `{metric}` every epoch but never "
            "stops early: the epochs after the validation metric stops improving are spent for nothing; stop when it "
            "has not improved for a patience of a few epochs (keep the best `state_dict`)"
        ),
    )


def _validates(facts: ModuleFacts) -> bool:
    if "validation_step" in facts.functions or "val_dataloader" in facts.functions:
        return True
    # a LightningModule of another project module that validates (train.py fitting `main.Model()`)
    validating = facts.context.validating_classes
    if validating and any(site.qualname in validating for site in facts.calls):
        return True
    return any(
        keyword_arg(site.node, "val_dataloaders") is not None
        or (site.attr == "fit" and len([a for a in site.node.args if a.keyword is None]) >= 3)
        for site in facts.calls
    )


# Lightning's run length when the Trainer sets neither max_epochs nor max_steps (its docs: "If both
# max_epochs and max_steps are not specified, defaults to max_epochs = 1000")
LIGHTNING_DEFAULT_EPOCHS = 1000
# Trainer arguments that only make sense when the run validates
_VALIDATION_SETTINGS = ("val_check_interval", "check_val_every_n_epoch")
# Trainer arguments that shorten or bound the run some other way (a time limit, a debugging run)
_OTHER_BOUNDS = ("max_time", "fast_dev_run", "limit_train_batches", "overfit_batches")


def _lightning(site: CallSite, facts: ModuleFacts) -> Report | None:
    call = site.node
    if has_double_star(call) or not _callbacks_without_stopping(call, facts):
        return None
    if any(s.qualname and s.qualname.endswith("LightningCLI") for s in facts.calls):
        return None  # callbacks come from the command line / config
    if any(argument(call, name) is not None for name in _OTHER_BOUNDS):
        return None
    if not any(s.attr == "fit" and s.is_method_call for s in facts.calls):
        return None  # a Trainer that only tests or predicts (`trainer.test(model)`) trains nothing
    epochs_node = argument(call, "max_epochs")
    max_steps = argument(call, "max_steps")
    steps_unset = max_steps is None or literal_value(max_steps) == -1
    if epochs_node is not None and literal_value(epochs_node) == -1 and steps_unset:
        # `max_epochs=-1` asks for infinite training: with no stopping callback, no step or time
        # limit, the run ends only when someone kills it
        advice = (
            f'add `EarlyStopping(monitor="{_monitored(facts)}", patience=5)`' if _validates(facts)
            else "give it a `max_epochs` or `max_time`"
        )
        return Report(
            keyword_arg(call, "max_epochs") or call,
            "Lightning `Trainer(max_epochs=-1)` trains without end: no `max_steps`, `max_time` or `EarlyStopping` "
            f"callback stops it, so it runs until the process is killed; {advice}",
        )
    if epochs_node is None:
        if not steps_unset or call.args and call.args[0].keyword is None:
            return None
        epochs, source = LIGHTNING_DEFAULT_EPOCHS, None
    else:
        epochs = int_value(epochs_node, facts)
        source = configured_source(epochs_node, facts)
        if epochs is None or epochs < LIGHTNING_MIN_EPOCHS:
            return None
    validates = _validates(facts) or any(argument(call, name) is not None for name in _VALIDATION_SETTINGS)
    if not validates:
        return None
    setting = (
        f"`Trainer(max_epochs={epochs})`{_by_default(source)}" if epochs_node is not None
        else f"`Trainer` sets neither max_epochs nor max_steps, so it runs Lightning's default {epochs} epochs; it"
    )
    return Report(
        call,
        f"Lightning {setting} validates but has no `EarlyStopping` callback: epochs after "
        f'the validation metric stops improving are spent for nothing; add `EarlyStopping(monitor="{_monitored(facts)}", '
        "patience=5)`",
    )


def _monitored(facts: ModuleFacts) -> str:
    """The metric the module already monitors (`ModelCheckpoint(monitor="val_acc")`), else val_loss."""
    for site in facts.calls:
        value = literal_value(argument(site.node, "monitor"))
        if isinstance(value, str) and value:
            return value
    return "val_loss"


def _hugging_face(site: CallSite, facts: ModuleFacts) -> Report | None:
    call = site.node
    if has_double_star(call):
        return None
    strategy_node = argument(call, "eval_strategy") or argument(call, "evaluation_strategy")
    strategy = literal_value(strategy_node)
    if isinstance(strategy_node, cst.Attribute):  # IntervalStrategy.EPOCH
        strategy = strategy_node.attr.value.lower()
    if strategy not in ("steps", "epoch"):
        return None
    epochs_node = argument(call, "num_train_epochs")
    epochs = 3 if epochs_node is None else resolved_value(epochs_node)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or epochs < HF_MIN_EPOCHS:
        return None
    max_steps = argument(call, "max_steps")
    if max_steps is not None and literal_value(max_steps) not in (-1, 0):
        return None  # max_steps decides the length
    schedule_node = argument(call, "lr_scheduler_type")
    schedule = "linear" if schedule_node is None else literal_value(schedule_node)
    if schedule is NOT_LITERAL or schedule in _COSINE_SCHEDULE_TYPES:
        return None
    trainers = [s for s in facts.calls if is_hf_trainer(s.qualname)]
    if not trainers or not all(_callbacks_without_stopping(s.node, facts) for s in trainers):
        return None
    return Report(
        call,
        f'the Trainer evaluates (eval_strategy="{strategy}") over {epochs:g} epochs{_by_default(value_source(epochs_node))} but has no '
        "`EarlyStoppingCallback`: training goes on after the evaluation metric stops improving; add "
        "`callbacks=[EarlyStoppingCallback(early_stopping_patience=3)]` with `load_best_model_at_end=True`",
    )


RULE = NoEarlyStopping()
