"""GL505: an Optuna study or Ray Tune run over an iteratively trained objective that never stops a trial early."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import follow, in_test_code, int_value, is_test_module
from greenlint.rules.analysis.facts import FunctionInfo, ModuleFacts
from greenlint.rules.analysis.literals import argument
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.base import Report, Rule
from greenlint.rules.evidence import ASHA_SPEEDUP, HYPERBAND_SPEEDUP, OPTUNA_PRUNING_NEEDS_REPORTS
from greenlint.rules.impact import RuleImpact, WasteSize

_CREATE_STUDY = frozenset({"optuna.create_study", "optuna.study.create_study"})
_TUNE_RUN = frozenset({"ray.tune.run", "ray.tune.tune.run"})
_TUNER = frozenset({"ray.tune.Tuner", "ray.tune.tuner.Tuner"})
_WRAPPERS = frozenset({"ray.tune.with_parameters", "ray.tune.with_resources", "functools.partial"})
_EPOCH_KEYWORDS = ("epochs", "nb_epoch", "max_epochs", "num_train_epochs")
# Optuna's default MedianPruner prunes nothing until 5 trials have finished (n_startup_trials=5).
_STARTUP_TRIALS = 5
_MAX_DEPTH = 3


def _follow(node: cst.BaseExpression | None, facts: ModuleFacts) -> cst.BaseExpression | None:
    """A name's assigned value, or the name itself when it is not assigned (a `def`)."""
    followed = follow(node, facts)
    return node if followed is None else followed


def _objective_functions(node: cst.BaseExpression | None, facts: ModuleFacts) -> list[FunctionInfo]:
    """The module functions an objective/trainable argument runs: a name, `self.method`, a lambda
    calling one, `functools.partial` / `tune.with_parameters` around one, a Ray `TorchTrainer`'s
    `train_loop_per_worker`; then the module functions those call, a few levels deep."""
    node = _follow(node, facts)
    for _ in range(3):
        if isinstance(node, cst.Call) and node.args:
            qualname = facts.imports.resolve(node.func) or ""
            if qualname in _WRAPPERS:
                node = _follow(node.args[0].value, facts)
                continue
            inner = argument(node, "train_loop_per_worker", 0) if qualname.startswith("ray.train") else None
            node = _follow(inner, facts) if inner is not None else node
        break
    if isinstance(node, cst.Lambda) and isinstance(node.body, cst.Call):
        node = node.body.func
    found: list[FunctionInfo] = []
    if isinstance(node, cst.Name) and node.value not in facts.imports.bindings:
        found = [f for f in facts.functions.get(node.value, []) if f.class_name is None]
    elif isinstance(node, cst.Attribute) and terminal_name(node.value) == "self":
        found = [f for f in facts.functions.get(node.attr.value, []) if f.class_name is not None]
    result: list[FunctionInfo] = []
    frontier = found[:1]
    for _ in range(_MAX_DEPTH):
        frontier = [f for f in frontier if f not in result]
        result += frontier
        frontier = [called for f in frontier for site in f.calls for called in facts.local_functions_called(site)[:1]]
    return result


def _trains_iteratively(functions: list[FunctionInfo], facts: ModuleFacts) -> str | None:
    """A phrase for how the objective trains over several epochs/steps, or None."""
    for function in functions:
        if any(loop.does_backward and loop.does_step for loop in function.loops):
            return f"`{function.name}` runs a training loop"
        for site in function.calls:
            if site.attr in ("fit", "Trainer", "TrainingArguments") or (site.qualname or "").endswith((".Trainer", ".TrainingArguments")):
                for keyword in _EPOCH_KEYWORDS:
                    value = argument(site.node, keyword)
                    epochs = int_value(value, facts) if value is not None else None
                    if value is not None and (epochs is None or epochs > 1):
                        return f"`{function.name}` trains for `{keyword}` epochs"
    return None


def _reports_progress(functions: list[FunctionInfo]) -> bool:
    """`trial.report` / `trial.should_prune`, or an Optuna pruning callback, in the objective."""
    for function in functions:
        for site in function.calls:
            name = site.attr or ""
            if name in ("report", "should_prune") and "trial" in (terminal_name(site.receiver) or "").lower():  # type: ignore[arg-type]
                return True
            if name.endswith("PruningCallback") or (site.qualname or "").endswith("PruningCallback"):
                return True
    return False


class SearchWithoutPruning(Rule):
    code = "GL505"
    name = "search-without-pruning"
    summary = "Optuna / Ray Tune search over a model trained for many epochs, with no pruning or early-stopping scheduler"
    detects = """
        `study.optimize(objective)` on an `optuna.create_study(...)` study whose objective (a module
        function, followed through lambdas, `functools.partial` and the functions it calls) trains
        iteratively (a training loop, or `fit`/`Trainer` with an epoch count other than 1) and either never
        reports intermediate values (`trial.report`, `trial.should_prune`, an Optuna `*PruningCallback`) or
        runs under `optuna.pruners.NopPruner`. Optuna's default pruner (MedianPruner) is enough when the
        objective reports. And `tune.run(trainable)` / `tune.Tuner(trainable)` over such a trainable with
        no `scheduler` (Ray's default FIFOScheduler never stops a trial). Silent for 5 trials or fewer
        (MedianPruner waits for 5 finished trials), for a Tune run of one sample without a grid, and in tests.
    """
    why = """
        Most configurations of a search are clearly worse after a few epochs. Without pruning, every one of
        them trains to the last epoch; successive halving and median stopping end them early and spend the
        budget on the promising ones.
    """
    bad_example = """
        import optuna

        def objective(trial):
            lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
            model, opt = build(lr)
            for epoch in range(50):
                for x, y in loader:
                    opt.zero_grad()
                    loss_fn(model(x), y).backward()
                    opt.step()
            return evaluate(model)

        study = optuna.create_study(direction="maximize")
        study.optimize(objective, n_trials=100)
    """
    good_example = """
        import optuna

        def objective(trial):
            lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
            model, opt = build(lr)
            for epoch in range(50):
                for x, y in loader:
                    opt.zero_grad()
                    loss_fn(model(x), y).backward()
                    opt.step()
                trial.report(evaluate(model), epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return evaluate(model)

        study = optuna.create_study(direction="maximize", pruner=optuna.pruners.HyperbandPruner())
        study.optimize(objective, n_trials=100)
    """
    fix = """
        Optuna: report the validation metric each epoch (`trial.report(value, epoch)`; `if
        trial.should_prune(): raise optuna.TrialPruned()`), or pass the framework's pruning callback
        (`optuna_integration.PyTorchLightningPruningCallback`, `TFKerasPruningCallback` ...); keep the
        default MedianPruner or choose `HyperbandPruner` / `SuccessiveHalvingPruner`. Ray Tune: report per
        epoch and pass `scheduler=ASHAScheduler(...)` (in `tune.TuneConfig` for a `Tuner`).
    """
    evidence = (OPTUNA_PRUNING_NEEDS_REPORTS, HYPERBAND_SPEEDUP, ASHA_SPEEDUP)
    saving_scope = "the training epochs of the search's unpromising trials"
    impact = RuleImpact(
        size=WasteSize(0.5, 0.9, "early-stopping searches reached good configurations 2x (ASHA vs Vizier) to over 10x (Hyperband vs Bayesian optimisation) sooner"),
        frequency="run-wide",
    )
    trigger = (("optuna", "ray.tune", "ray import tune"), ("optimize(", "tune.run(", "Tuner("))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if is_test_module(facts):
            return
        studies = {name: value for name, value in facts.assignments if isinstance(value, cst.Call) and facts.imports.resolve(value.func) in _CREATE_STUDY}
        grid = any((s.qualname or "").endswith("tune.grid_search") for s in facts.calls)
        for site in facts.calls:
            if in_test_code(site):
                continue
            qualname = site.qualname
            if site.attr == "optimize" and site.is_method_call:
                receiver = site.receiver
                create = studies.get(receiver.value) if isinstance(receiver, cst.Name) else None
                if create is None and isinstance(receiver, cst.Call) and facts.imports.resolve(receiver.func) in _CREATE_STUDY:
                    create = receiver
                if create is None:
                    continue
                trials = int_value(argument(site.node, "n_trials", 1), facts)
                if trials is not None and trials <= _STARTUP_TRIALS:
                    continue
                functions = _objective_functions(argument(site.node, "func", 0), facts)
                how = _trains_iteratively(functions, facts)
                if how is None:
                    continue
                pruner = _follow(argument(create, "pruner"), facts)
                nop = isinstance(pruner, cst.Call) and (facts.imports.resolve(pruner.func) or "").endswith("NopPruner")
                if _reports_progress(functions) and not nop:
                    continue
                reason = "the study uses `NopPruner`" if nop else "the objective never calls `trial.report`, so no pruner can stop a trial"
                yield Report(
                    site.node,
                    f"every trial of this Optuna study trains to the end: {how} and {reason}; report the validation "
                    "metric each epoch and prune (`trial.report` + `trial.should_prune()`, MedianPruner or HyperbandPruner)",
                )
            elif qualname in _TUNE_RUN or qualname in _TUNER:
                config = site.node if qualname in _TUNE_RUN else _follow(argument(site.node, "tune_config"), facts)
                if config is not None and not isinstance(config, cst.Call):
                    continue  # a TuneConfig the module does not spell out
                scheduler = _follow(argument(config, "scheduler"), facts) if config is not None else None
                if scheduler is not None and not (
                    isinstance(scheduler, cst.Call) and (facts.imports.resolve(scheduler.func) or "").endswith("FIFOScheduler")
                ):
                    continue
                samples_node = argument(config, "num_samples") if isinstance(config, cst.Call) else None
                samples = int_value(samples_node, facts) if samples_node is not None else (None if grid else 1)
                if samples is not None and samples <= _STARTUP_TRIALS:
                    continue
                how = _trains_iteratively(_objective_functions(argument(site.node, "run_or_experiment" if qualname in _TUNE_RUN else "trainable", 0), facts), facts)
                if how is None:
                    continue
                yield Report(
                    site.node,
                    f"this Ray Tune search trains every trial to the end: {how} and no early-stopping `scheduler` is "
                    "set (the default FIFOScheduler stops nothing); report each epoch and pass `scheduler=ASHAScheduler(...)`",
                )


RULE = SearchWithoutPruning()
