"""Does the module show that its training run is long (hours of accelerator time)? Session 10.

The run-length rules (advisor/long_runs.py: GL101 mixed precision, GL306 pinned memory, GL401
per-step syncs, GL503 early stopping ...) point at a real pattern 97 % of the time, but they are
worth acting on only when the run is long, which a file rarely says outright. The user can name
such files (`long-runs`); this module finds the ones whose own code says so, so that the default
selection reports there too. Positive evidence only, each read from the module's code (literals,
module constants, argparse and dataclass defaults, config values through `literals.resolved_value`),
the first found is the reason the finding names:

- distributed data-parallel training (`DistributedDataParallel`, `init_process_group`, DeepSpeed,
  FSDP, Horovod, a Lightning `ddp`/`deepspeed`/`fsdp` strategy, Hugging Face `deepspeed=`/`fsdp=`
  arguments, or a launch of the script on several processes written in the project's scripts,
  README or notebooks: `torchrun --nproc_per_node=8`, `deepspeed --num_gpus=8`): nobody spreads a
  run of minutes over several GPUs. `nn.DataParallel` is not evidence: it is boilerplate in many small scripts
  (`if torch.cuda.device_count() > 1`);
- a configured length: a training loop over `range(N)` steps, a step/iteration setting, or Hugging
  Face / Lightning / Keras trainer arguments, of at least MIN_STEPS steps (MIN_HEAVY_STEPS when
  heavy_workload.py sees a compute-heavy step), MIN_EPOCHS epochs (MIN_HEAVY_EPOCHS heavy),
  MIN_ENV_STEPS environment steps (reinforcement learning) or MIN_KIMG thousand images (StyleGAN);
- fine-tuning a pretrained language model of a billion parameters or more (`llama-2-7b`,
  `pythia-12b`): even a LoRA pass over a modest instruction set takes hours
  (large_language_model.py);
- lengths in a configuration handed over whole: a Hydra entry point's composed tree, a config
  section splatted into a trainer or instantiated (config_trees.py);
- a notebook whose training cells' saved output records (or projects) an hour or more of progress
  (rules/recorded_run.py). This one is a measurement: it comes before the code's evidence, and a
  notebook whose recorded run finished within the hour is short whatever its code asks for. A
  trainer's or `fit`'s length is a cap, not evidence, when the module builds an early-stopping
  callback. The
  dataset size a notebook's output shows (`num_rows: 6`) caps what its epoch count can mean: fewer
  than MIN_EXAMPLES examples in all is no long run.

Vetoes, checked first: the module does not train (no training-step loop, fit or trainer), is test
code, or trains a known small workload (model_size.small_workload / run_size.small_run: MNIST-sized
data, a small model); TPU runs (the GPU advice does not apply); on MNIST-sized data or a toy table
an epoch or step count is no evidence; an epoch count is none either when an epoch is one step (a
full-batch loop) or a sentinel (`range(10**9)`, "until early stopping"). A path that names
evaluation, inference, a demo or a plot (and not training) is not the training run
(`training_run_path`, asked by the engine). Anything unseen is no evidence:
the file then keeps the default selection. Thresholds are ASSUMPTIONS about a step's time (50 ms
for an ordinary step, 200 ms for a heavy one; an epoch of an ordinary dataset a minute), chosen
so that a run past them lasts about an hour or more; docs/architecture.md says how they were
checked against the blind corpora.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import FunctionInfo, LoopInfo
from greenlint.rules.analysis.experiment_facts import (HF_TRAINING_ARGS, LIGHTNING_TRAINERS, configured_source,
                                                       fit_stops_early, is_keras_fit, range_length, stops_early)
from greenlint.rules.analysis.heavy_workload import heavy_training_workload
from greenlint.rules.analysis.literals import argument, resolved_value, string_value
from greenlint.rules.analysis.config_trees import handed_over_settings
from greenlint.rules.analysis.large_language_model import large_language_model
from greenlint.rules.analysis.memo import once_per_module
from greenlint.rules.analysis.model_size import dataset_setting, small_data, small_workload
from greenlint.rules.analysis.run_length_settings import count_of, named_lengths, settings, unit_of
from greenlint.rules.analysis.run_size import small_run
from greenlint.rules.analysis.scope_facts import is_test_module, module_trains, training_step_loops
from greenlint.rules.analysis.while_bounds import (MAX_WHILE_BOUND, break_bound, endless_loop, increment_depth,
                                                   while_counter)
from greenlint.rules.analysis.tpu import tpu_evidence

MIN_STEPS = 50_000
MIN_HEAVY_STEPS = 10_000
MIN_EPOCHS = 100
MIN_HEAVY_EPOCHS = 30
MIN_ENV_STEPS = 2_000_000
# more epochs than this is a sentinel ("until early stopping": `range(10**9)`), not a length
MAX_EPOCHS = 100_000
# an epoch-named loop that is itself the training step counts steps; more than this is a sentinel
MAX_STEP_EPOCHS = 100_000_000
MIN_KIMG = 1_000
# a notebook whose training cells recorded (or project) an hour of progress ran long; one whose
# recorded run finished within the hour did not, whatever its code asks for
MIN_RECORDED_SECONDS = 3_600
# examples an epoch count must add up to when a notebook's output shows the dataset's size: an hour
# at the heavy step's assumed 200 ms, even at one example per step
MIN_EXAMPLES = 18_000

_DISTRIBUTED_CALLS = {
    "torch.nn.parallel.DistributedDataParallel": "`DistributedDataParallel`",
    "torch.nn.parallel.distributed.DistributedDataParallel": "`DistributedDataParallel`",
    "torch.distributed.init_process_group": "`torch.distributed.init_process_group`",
    "torch.distributed.fsdp.FullyShardedDataParallel": "FSDP",
    "deepspeed.initialize": "DeepSpeed",
    "apex.parallel.DistributedDataParallel": "apex `DistributedDataParallel`",
    "horovod.torch.init": "Horovod",
    "horovod.tensorflow.init": "Horovod",
}
_ENV_NAME = re.compile(r"env", re.IGNORECASE)  # `env`, `envs`, `train_env`, `environment`
_DISTRIBUTED_STRATEGY = re.compile(r"ddp|deepspeed|fsdp", re.IGNORECASE)
# settings that choose how training is distributed: `strategy="ddp"`, `distributed_backend = "ddp"`,
# `--dist-backend` defaulting to "nccl" (NVIDIA's collective library: only multi-GPU runs use it)
_DISTRIBUTION_SETTING = re.compile(r"strategy|accelerator|distributed_backend|dist_backend|backend", re.IGNORECASE)
_DISTRIBUTION_VALUE = re.compile(r"^(ddp\w*|deepspeed\w*|fsdp\w*|nccl)$", re.IGNORECASE)
# A file whose path says it evaluates, tests, infers, demonstrates, plots or exports (and not that it
# trains) is not the project's long training run, even when it fits something for many epochs: a
# linear probe over frozen features (`feature_eval/..._evaluator.ipynb`), a benchmark harness.
_NOT_A_TRAINING_RUN = re.compile(r"(^|[/_.\-])(eval\w*|evaluat\w*|tests?|inference|infer|demo\w*|predict\w*|"
                                 r"visuali[sz]\w*|plot\w*|export\w*|benchmarks?)([/_.\-]|$)", re.IGNORECASE)


def training_run_path(display_path: str) -> bool:
    """False for a path that names evaluation, inference, demos or plots and not training."""
    return "train" in display_path.lower() or not _NOT_A_TRAINING_RUN.search(display_path)


@dataclass(frozen=True)
class LongRun:
    """Why the module's training run is long, as a phrase: "`--epochs` defaults to 300 (train.py:12)"."""

    reason: str


def reported_long_run(analysis: ModuleAnalysis, reported: set[str], display_path: str) -> str:
    """The engine's question: why the file's run is evidently long ("" when nothing says so), asked
    only when a run-length rule the detection shows (greenlint.rules.DETECTION_CODES) is among
    the `reported` codes.
    Never raises: the evidence is optional, the findings stand without it."""
    from greenlint.rules import DETECTION_CODES  # the catalog's codes: no rule module imported

    return file_long_run(analysis, display_path) if reported & DETECTION_CODES else ""


def each_training_short(analysis: ModuleAnalysis) -> bool:
    """A notebook's saved output shows every one of its trainings, projected to its end, under an
    hour (recorded_run.RecordedRun.longest_training), however long they add up to: a rule whose
    saving is a share of one fit (early stopping, PER_FIT_CODES) has no long run to cut short."""
    recorded = analysis.facts.context.recorded_run
    return recorded is not None and 0 < recorded.longest_training < MIN_RECORDED_SECONDS


def file_long_run(analysis: ModuleAnalysis, display_path: str) -> str:
    """Why the file's run is evidently long, "" when nothing says so or the path names evaluation,
    inference or plots. Never raises."""
    if not training_run_path(display_path):
        return ""
    try:
        found = long_run_evidence(analysis)
    except Exception:  # noqa: BLE001 - as the engine does with a failing rule: GREENLINT_DEBUG=1 shows it
        if os.environ.get("GREENLINT_DEBUG"):
            traceback.print_exc()
        return ""
    return found.reason if found is not None else ""


@once_per_module
def long_run_evidence(analysis: ModuleAnalysis) -> LongRun | None:
    """The first piece of evidence that the module's training run lasts hours, else None."""
    if is_test_module(analysis) or not (module_trains(analysis) or _calls_imported_training(analysis)):
        return None
    if small_workload(analysis) is not None or small_run(analysis) is not None:
        return None
    if tpu_evidence(analysis.facts, analysis.code):
        return None
    recorded = analysis.facts.context.recorded_run
    if recorded is not None:
        # a measurement in the file beats any reading of its code
        longest = max(recorded.seconds, recorded.projected)
        if longest >= MIN_RECORDED_SECONDS:
            projected = f", {_hours(recorded.projected)} projected" if recorded.projected > recorded.seconds * 1.2 else ""
            return LongRun(f"the notebook's saved output records {_hours(recorded.seconds)} of training{projected} "
                           f"({recorded.where})")
        if recorded.complete:
            return None  # the saved output shows the whole run finishing in under an hour
    heavy = heavy_training_workload(analysis) is not None
    finders = (_distributed, large_language_model) if _tiny_data(analysis) else (
        _distributed, _configured_length, _endless_run, large_language_model)
    for finder in finders:
        reason = finder(analysis, heavy)
        if reason:
            return LongRun(reason)
    return None


def _calls_imported_training(analysis: ModuleAnalysis) -> bool:
    """A loop of the module calls another project module's training step or batch loop
    (`for epoch in range(300): train_one_epoch(model, loader, optimizer)` with the function in
    `engine.py`): the run is this script's, its steps are the other module's."""
    context = analysis.facts.context
    imported = context.step_functions | context.loop_functions
    return bool(imported) and any(site.loop is not None and site.qualname in imported for site in analysis.facts.calls)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} hours" if seconds >= 3600 else f"{seconds / 60:.0f} minutes"


def _tiny_data(analysis: ModuleAnalysis) -> str | None:
    """MNIST-sized images or a scikit-learn toy table (model_size.small_data): however many
    epochs the script asks for, the run is minutes (CIFAR-sized data is not tiny: 200 epochs of a
    ResNet or ViT on CIFAR-10 take hours)."""
    for site in analysis.facts.calls:
        data = small_data(site, site.qualname or "")
        if data and ("28x28" in data or "16x16" in data or "8x8" in data or "table" in data):
            return data
    return dataset_setting(analysis)


def distributed_run(analysis: ModuleAnalysis) -> str:
    """The evidence that the module's run is spread over several GPUs (a multi-process launch, DDP,
    DeepSpeed/FSDP, a distributed Lightning strategy), "" when none is seen."""
    return _distributed(analysis, False)


def _distributed(analysis: ModuleAnalysis, heavy: bool) -> str:
    launched = analysis.facts.context.launch_processes
    if launched is not None:
        processes, how = launched
        return f"launched on {processes} processes ({how}): a run spread over several GPUs"
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        what = _DISTRIBUTED_CALLS.get(qualname)
        if what is None and qualname in HF_TRAINING_ARGS:
            what = _hf_sharding(site.node)
        if what is None and qualname.endswith("DistributedDataParallel") and "parallel" in qualname:
            what = "`DistributedDataParallel`"
        if what is None and qualname in LIGHTNING_TRAINERS:
            strategy = resolved_value(argument(site.node, "strategy"))
            if isinstance(strategy, str) and _DISTRIBUTED_STRATEGY.search(strategy):
                what = f'a Lightning `strategy="{strategy}"`'
        if what:
            return f"distributed data-parallel training ({what}): a run spread over several GPUs"
    for name, value, said in settings(analysis):
        text = string_value(value) if value is not None else None
        if text and _DISTRIBUTION_SETTING.search(name) and _DISTRIBUTION_VALUE.match(text):
            return f'distributed data-parallel training ({said} "{text}"): a run spread over several GPUs'
    return ""


def _hf_sharding(call: cst.Call) -> str | None:
    """DeepSpeed or FSDP configured in Hugging Face training arguments (`deepspeed="ds_z3.json"`,
    `fsdp="full_shard auto_wrap"`, or an option the launch passes: `deepspeed=args.deepspeed` run
    with `--deepspeed configs/z3.json`); None when unset or left at a None default."""
    for keyword, what in (("deepspeed", "DeepSpeed"), ("fsdp", "FSDP")):
        value = resolved_value(argument(call, keyword))
        if isinstance(value, (str, dict)) and value and value not in ("False", "false"):
            return f"{what} in the training arguments (`{keyword}=`)"
    return None


def _configured_length(analysis: ModuleAnalysis, heavy: bool) -> str:
    min_steps = MIN_HEAVY_STEPS if heavy else MIN_STEPS
    min_epochs = MIN_HEAVY_EPOCHS if heavy else MIN_EPOCHS
    batched = _epochs_hold_batches(analysis)
    shown = analysis.facts.context.shown_dataset
    for count, unit, where in _lengths(analysis):
        if unit == "epochs" and (not batched or count > MAX_EPOCHS):
            continue
        if unit == "epochs" and shown is not None and count * shown.rows < MIN_EXAMPLES:
            continue  # 50 epochs of the 6 images the notebook printed: minutes
        if unit == "steps" and count >= min_steps or unit == "epochs" and count >= min_epochs \
                or unit == "environment steps" and count >= MIN_ENV_STEPS or unit == "kimg" and count >= MIN_KIMG:
            amount = f"{count:,} thousand images" if unit == "kimg" else f"{count:,} {unit}"
            return f"{amount} ({where})" + ("" if not heavy or unit in ("environment steps", "kimg") else
                                             " of a compute-heavy step")
    return ""


def _lengths(analysis: ModuleAnalysis):  # noqa: ANN202 - an iterator of (count, unit, where)
    """Every run length the module configures: (count, "steps" | "epochs" | ..., where it is set)."""
    facts = analysis.facts
    for loop in training_step_loops(analysis):
        node = loop.node
        outers = loop.enclosing()[1:]
        if isinstance(node, cst.For):
            steps = range_length(node.iter, facts)
            if steps is not None and _iterates_steps(node, steps):
                yield steps, "steps", _where(node.iter, analysis, "a training loop over `range`")
            elif steps is None and not outers:
                yield from _break_length(node, analysis)
        elif isinstance(node, cst.While):
            yield from _while_length(node, analysis, around_step=False)
        for outer in outers:
            if isinstance(outer.node, cst.For):
                epochs = range_length(outer.node.iter, facts)
                if epochs is not None and not _runs_episodes(outer):
                    yield epochs, "epochs", _where(outer.node.iter, analysis, "the epoch loop")
                break
            if isinstance(outer.node, cst.While):
                yield from _while_length(outer.node, analysis, around_step=True)
                break
        if not outers and loop.function is not None:
            yield from _calling_epoch_loops(loop.function, analysis)
    capped = stops_early(facts)
    for site in facts.calls:
        qualname = site.qualname or ""
        keywords: tuple[tuple[str, str], ...] = ()
        if capped and not is_keras_fit(site, facts):
            pass  # a trainer with an early-stopping callback: its length is a cap, not the run
        elif qualname in HF_TRAINING_ARGS:
            keywords = (("max_steps", "steps"), ("num_train_epochs", "epochs"))
        elif qualname in LIGHTNING_TRAINERS:
            keywords = (("max_steps", "steps"), ("max_epochs", "epochs"))
        elif is_keras_fit(site, facts):
            if fit_stops_early(site.node, facts):
                continue  # this fit's callbacks stop it early: its epochs are a cap
            keywords = (("epochs", "epochs"), ("nb_epoch", "epochs"))
            steps = _keras_steps(site.node, analysis)
            if steps is not None:
                yield steps, "steps", f"`steps_per_epoch=` x `epochs=` of `{site.attr}(...)`"
        for keyword, unit in keywords:
            value = argument(site.node, keyword)
            count = count_of(value, analysis)
            if count is not None and count > 0:
                yield count, unit, _where(value, analysis, f"`{keyword}=` of `{site.attr}(...)`")
    yield from named_lengths(analysis)
    yield from _config_tree_lengths(analysis)


def _runs_episodes(loop: LoopInfo) -> bool:
    """A reinforcement-learning episode loop (`for i_episode in range(500): observation =
    env.reset() ...`): its count is episodes, each one training step or a few, not epochs over a
    dataset (MIT 6.S191's policy-gradient labs train once per finished episode, blind28, post
    hoc). Told by the loop's name (`i_episode`) or its environment calls (`env.reset()`). Frame and step budgets (`range(num_frames)`) are read as steps elsewhere."""
    target = loop.node.target if isinstance(loop.node, cst.For) else None
    if isinstance(target, cst.Name) and "episode" in target.value.lower():
        return True  # `for i_episode in range(500)`
    return any(site.attr in ("reset", "step") and isinstance(site.receiver, cst.Name) and _ENV_NAME.search(site.receiver.value)
               for site in loop.calls)


def _endless_run(analysis: ModuleAnalysis, heavy: bool) -> str:
    """An epoch loop around the training step that never ends by itself (while_bounds.endless_loop):
    the run lasts until someone stops it."""
    for loop in training_step_loops(analysis):
        for outer in loop.enclosing()[1:]:
            what = endless_loop(outer.node)
            if what is not None:
                return f"an epoch loop with no end ({what}): the run lasts until it is stopped"
    return ""


def _calling_epoch_loops(function: FunctionInfo, analysis: ModuleAnalysis):  # noqa: ANN202 - (count, unit, where)
    """`for step in range(total_epoch): train(model, iterator, ...)` where the module's `train`
    holds the batch loop: the calling loop's count is the run's epochs (a loop in a function the
    epoch loop calls is not nested in it, so `enclosing()` does not see it)."""
    facts = analysis.facts
    for site in facts.calls:
        if site.loop is None or not isinstance(site.loop.node, cst.For) or function not in facts.local_functions_called(site):
            continue
        epochs = range_length(site.loop.node.iter, facts)
        if epochs is not None:
            yield epochs, "epochs", _where(site.loop.node.iter, analysis, f"the epoch loop calling `{function.name}()`")


def _while_length(node: cst.While, analysis: ModuleAnalysis, around_step: bool):  # noqa: ANN202 - (count, unit, where)
    """`while i < 10000000:` whose counter grows once per batch (steps) or once per pass around
    the step loop (epochs); nothing for any other counter (while_bounds.py)."""
    found = while_counter(node)
    if found is None:
        return
    counter, bound = found
    depth = increment_depth(node, counter)
    count = count_of(bound, analysis)
    if depth is None or count is None or not 0 < count < MAX_WHILE_BOUND:
        return
    unit = ("steps" if depth >= 1 else "epochs") if around_step else ("steps" if depth == 0 else None)
    if unit is not None:
        yield count, unit, _where(bound, analysis, f"the `while {counter} < ...` loop")


def _break_length(node: cst.For, analysis: ModuleAnalysis):  # noqa: ANN202 - (count, unit, where)
    """A training-step loop over a loader, in no epoch loop, that ends itself at a step count
    (`if iteration == early_stop: break`, while_bounds.break_bound): the loader is endless (a
    sampler that never runs out), the bound is the run's steps. Inside an epoch loop the counter
    usually counts every epoch's steps and the epochs may end first, so it is not read there."""
    found = break_bound(node)
    if found is None:
        return
    counter, bound = found
    count = count_of(bound, analysis)
    if count is not None and 0 < count < MAX_WHILE_BOUND:
        yield count, "steps", _where(bound, analysis, f"the `if {counter} == ...: break` of the training loop")


def _keras_steps(call: cst.Call, analysis: ModuleAnalysis) -> int | None:
    """The steps of a Keras fit that sets both `steps_per_epoch=` and `epochs=` (5 x 5,000)."""
    per_epoch = count_of(argument(call, "steps_per_epoch"), analysis)
    epochs = count_of(argument(call, "epochs"), analysis)
    return per_epoch * epochs if per_epoch and epochs and per_epoch > 0 and epochs > 0 else None


def _config_tree_lengths(analysis: ModuleAnalysis):  # noqa: ANN202 - an iterator of (count, unit, where)
    """Lengths in a configuration the module hands over whole (config_trees.py)."""
    for path, value, source in handed_over_settings(analysis):
        unit = unit_of(path[-1])
        count = value if isinstance(value, int) and not isinstance(value, bool) else (
            int(value) if isinstance(value, float) and value.is_integer() else None)
        if unit and count is not None and 0 < count < 10**12:
            yield count, unit, f"`{'.'.join(path)}` is {count:,} in {source}"


def _epochs_hold_batches(analysis: ModuleAnalysis) -> bool:
    """An epoch count measures the run only when an epoch is many steps: a training-step loop
    nested in another loop (`for epoch ...: for batch in loader:`), or a framework that iterates
    batches itself (Keras `fit`, a Hugging Face or Lightning trainer), or a loop calling another
    project module's function that iterates the batches (`train_one_epoch`). A tutorial's full-batch
    loop (`for epoch in range(1000): loss = loss_fn(model(X_train), y)`) is 1,000 steps of a toy
    problem, not 1,000 epochs of data."""
    for loop in training_step_loops(analysis):
        # nested in an epoch loop, or iterating a loader (its epoch loop may call this function)
        if loop.parent is not None or not _over_range(loop.node):
            return True
    # `for epoch in range(300): train_one_epoch(...)` with the batch loop in another project module
    imported_loops = analysis.facts.context.loop_functions
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if qualname in HF_TRAINING_ARGS or qualname in LIGHTNING_TRAINERS or is_keras_fit(site, analysis.facts):
            return True
        if qualname in imported_loops and site.loop is not None:
            return True
    return False


def _over_range(node: cst.CSTNode) -> bool:
    """`for ... in range(...)` or a `while` loop: counts, not batches of data."""
    if not isinstance(node, cst.For):
        return True
    iterable = node.iter
    return isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value in ("range", "trange")


def _iterates_steps(node: cst.For, count: int) -> bool:
    """`for step in range(N)` / `for it in range(start, n_iters)`: the loop's own target counts steps.
    So does `for epoch in range(epochs)` when that loop is itself the training step (a GAN that
    draws one batch per "epoch": dragen1860's DCGAN, 3,000,000 of them), unless the count is a
    sentinel (`range(10**9)`: until something breaks out). An epoch loop around a `for batch in
    loader` is never a training-step loop itself: its inner loop is."""
    target = node.target
    if not isinstance(target, cst.Name):
        return False
    return not re.search(r"epoch", target.value, re.IGNORECASE) or count < MAX_STEP_EPOCHS


def _where(node: cst.BaseExpression | None, analysis: ModuleAnalysis, what: str) -> str:
    source = configured_source(node, analysis.facts) if node is not None else None
    return f"{what}; {source}" if source else what
