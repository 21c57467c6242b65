"""GL407: autograd anomaly detection, the autograd profiler or eager execution left switched on."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import argument, keyword_arg, literal_value
from greenlint.rules.analysis.scope_facts import module_trains
from greenlint.rules.analysis.training_loop_facts import (
    grad_contexts,
    looks_like_test_code,
    uses_keras,
    walk,
)
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.fixes import replace_node, set_keyword
from greenlint.rules.training_loop.debug_sync_switches import (
    LAUNCH_BLOCKING,
    sync_switch_reports,
)

SET_DETECT_ANOMALY = frozenset(
    {"torch.autograd.set_detect_anomaly", "torch.autograd.anomaly_mode.set_detect_anomaly", "torch.set_detect_anomaly"}
)
DETECT_ANOMALY = frozenset({"torch.autograd.detect_anomaly", "torch.autograd.anomaly_mode.detect_anomaly"})
AUTOGRAD_PROFILERS = frozenset(
    {
        "torch.autograd.profiler.profile", "torch.autograd.profiler.emit_nvtx", "torch.autograd.profile",
        "torch.autograd.emit_nvtx", "torch.cuda.profiler.profile", "torch.profiler.profile",
        "torch.autograd.profiler_legacy.profile",
    }
)
RUN_FUNCTIONS_EAGERLY = frozenset(
    {
        "tensorflow.config.run_functions_eagerly", "tensorflow.config.experimental_run_functions_eagerly",
        "keras.config.run_functions_eagerly",
    }
)


# Switches that are not training configuration themselves (unlike Keras `compile(run_eagerly=True)`).
_SWITCHES = SET_DETECT_ANOMALY | DETECT_ANOMALY | RUN_FUNCTIONS_EAGERLY


class DebugApisLeftEnabled(Rule):
    code = "GL407"
    # Out of the default set (issue 14, session 8, post-selection): under 80 % strict precision on the sixth
    # and seventh blind corpora, the rule as it stands: 3/5 (blind6 1/1, blind7 2/4). `--preview` brings it back.
    preview = True
    name = "debug-apis-left-enabled"
    summary = "Anomaly detection, the autograd profiler or eager execution is left on in training code"
    detects = """
        Unconditional (not under an `if`) debugging switches: `torch.autograd.set_detect_anomaly(True)`;
        `torch.autograd.detect_anomaly()` (as a context manager or decorator); `CUDA_LAUNCH_BLOCKING=1`
        set from Python (`os.environ[...] = "1"`, `setdefault`, `putenv`) and
        `torch.cuda.set_sync_debug_mode("warn" | "error")`; the autograd profiler
        (`torch.autograd.profiler.profile`, `emit_nvtx`, or `torch.profiler.profile` without a
        `schedule=`) wrapped around a training loop or opened on every training step; TensorFlow
        `tf.config.run_functions_eagerly(True)`; Keras `compile(run_eagerly=True)` or
        `model.run_eagerly = True`. Switches guarded by a debug flag (`if args.debug:`) or given a
        non-literal value are the user's choice and are not reported.
        Test code (test modules, scripts of argument-less `test_*`/`*_test` functions) is skipped, and
        so is a switch inside a function of a module that trains nothing (no training loop, `fit` or
        trainer): a debugging utility, such as the numerics check of torch's own
        `_inductor/fx_passes/numeric_utils.py`.
    """
    why = """
        Anomaly mode records a Python stack trace for every autograd operation and checks every
        backward result for NaNs; the autograd profiler records every operator; eager execution
        turns off graph compilation of `tf.function`s and Keras models; `CUDA_LAUNCH_BLOCKING=1`
        makes every kernel launch synchronous, so the CPU cannot queue work ahead of the GPU. All of
        them slow every training step for information that is only needed while debugging.
    """
    bad_example = """
        import torch

        torch.autograd.set_detect_anomaly(True)
        for x, y in loader:
            loss = model(x).sum()
            loss.backward()
            opt.step()
    """
    good_example = """
        import torch

        if args.debug:
            torch.autograd.set_detect_anomaly(True)
        for x, y in loader:
            loss = model(x).sum()
            loss.backward()
            opt.step()
    """
    fix = """
        Remove the switch, or guard it behind a debug flag that is off by default. Profile a few
        steps only, with `torch.profiler.profile(schedule=torch.profiler.schedule(...))`.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "'disable debugging APIs' (anomaly detection, autograd profiler, emit_nvtx, gradcheck) once "
            "debugging is done (no number given)",
            "PyTorch Performance Tuning Guide",
            "doc",
        ),
        Evidence(
            "run_functions_eagerly / run_eagerly turn off graph execution, which is what makes tf.function "
            "and Keras fit fast",
            "TensorFlow tf.config.run_functions_eagerly and Keras Model.compile documentation",
            "doc",
        ),
        Evidence("slowdown depends on the model (anomaly mode is typically large); not measured", "greenlint's research notes, no source with a number found (docs/evidence.md#gl407)", "unquantified"),
    )
    saving_scope = "the debugging overhead on every training step (unquantified)"
    impact = None  # no quantified source (no published slowdown figure for these switches was found): shown as impact unknown
    # The documented (loose) trigger; `could_match` below is the exact prefilter: one of the
    # switches, or a profiler in a file that trains.
    trigger = (("detect_anomaly(", "run_functions_eagerly(", "run_eagerly", "profiler", "emit_nvtx(", LAUNCH_BLOCKING, "set_sync_debug_mode("),)

    def could_match(self, text: str) -> bool:
        if "detect_anomaly(" in text or "run_functions_eagerly(" in text or "run_eagerly" in text:
            return True
        if LAUNCH_BLOCKING in text or "set_sync_debug_mode(" in text:
            return True
        return ("profiler" in text or "emit_nvtx(" in text) and "backward(" in text and "step(" in text

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if looks_like_test_code(analysis):
            return
        keras: bool | None = None
        trains: bool | None = None
        profilers: list[CallSite] = []
        for site in analysis.facts.calls:
            qualname = site.qualname
            if site.cond_depth > 0:
                continue  # guarded by a flag (or in an except/else branch)
            if site.function is not None and qualname in _SWITCHES:
                if trains is None:
                    trains = module_trains(analysis)
                if not trains:
                    continue  # a debugging utility's function in a module that trains nothing
            if qualname in SET_DETECT_ANOMALY:
                value = argument(site.node, "mode", 0)
                if value is not None and literal_value(value) is True:
                    yield Report(
                        site.node,
                        "`set_detect_anomaly(True)` records a stack trace for every autograd operation and "
                        "checks every gradient for NaNs on every step; remove it or guard it behind a debug flag",
                        fix=RuleFix("switch anomaly detection off", "unsafe", replace_node(value, _false)),
                    )
            elif qualname in DETECT_ANOMALY:
                yield Report(
                    site.node,
                    "`detect_anomaly()` records a stack trace for every autograd operation and checks every "
                    "gradient for NaNs; remove it or guard it behind a debug flag",
                )
            elif qualname in AUTOGRAD_PROFILERS:
                enabled = argument(site.node, "enabled", 0)
                if enabled is not None and literal_value(enabled) is not True:
                    continue  # off, or chosen at run time
                if qualname == "torch.profiler.profile" and keyword_arg(site.node, "schedule") is not None:
                    continue  # profiles a bounded window of steps
                profilers.append(site)
            elif qualname in RUN_FUNCTIONS_EAGERLY:
                value = argument(site.node, "run_eagerly", 0)
                if value is not None and literal_value(value) is True:
                    yield Report(
                        site.node,
                        "`run_functions_eagerly(True)` turns off graph execution for every `tf.function` "
                        "(and Keras `fit`); remove it or guard it behind a debug flag",
                        fix=RuleFix("switch eager execution off", "unsafe", replace_node(value, _false)),
                    )
            elif site.attr == "compile" and site.is_method_call:
                arg = keyword_arg(site.node, "run_eagerly")
                if arg is None or literal_value(arg.value) is not True:
                    continue
                if keras is None:
                    keras = uses_keras(analysis)
                if keras:
                    yield Report(
                        site.node,
                        "`compile(run_eagerly=True)` runs every Keras training step eagerly, without a "
                        "compiled graph; remove it or guard it behind a debug flag",
                        fix=RuleFix("set run_eagerly=False", "unsafe", set_keyword(site.node, "run_eagerly", cst.Name("False"))),
                    )
        if profilers:
            yield from _profiler_reports(analysis, profilers)
        yield from sync_switch_reports(analysis)
        for name, value in analysis.facts.assignments:
            if name == "run_eagerly" and literal_value(value) is True and uses_keras(analysis):
                yield Report(
                    value,
                    "`run_eagerly = True` runs every Keras training step eagerly, without a compiled graph; "
                    "remove it or guard it behind a debug flag",
                    fix=RuleFix("set run_eagerly = False", "unsafe", replace_node(value, _false)),
                )


def _false(node: cst.CSTNode) -> cst.CSTNode:
    return cst.Name("False")


def _trains(analysis: ModuleAnalysis, site: CallSite) -> bool:
    """Does this call run a training loop of the module (`train(model)`)?"""
    return any(
        loop.does_training for function in analysis.facts.local_functions_called(site) for loop in function.loops
    )


def _profiler_reports(analysis: ModuleAnalysis, profilers: list[CallSite]) -> Iterable[Report]:
    contexts = grad_contexts(analysis)
    by_id = {id(site.node): site for site in profilers}
    around: dict[int, str] = {}
    # a `with profile():` around a training loop
    for loop in analysis.facts.loops:
        if not loop.does_training:
            continue
        for _name, item in contexts.withs.get(id(loop.node), ()):
            if item in by_id:
                around.setdefault(item, "around the training loop")
        if loop.is_training_step:
            # opened inside the training step: a new profile on every step
            for site in profilers:
                if site.loop is not None and loop in site.loop.enclosing():
                    around.setdefault(id(site.node), "on every training step")
    # a `with profile():` around a call of a function of this module that trains
    sites_by_node = None
    for statement, items in contexts.with_statements:
        ids = [id(expr) for _name, expr in items if id(expr) in by_id and id(expr) not in around]
        if not ids:
            continue
        if sites_by_node is None:
            sites_by_node = {id(site.node): site for site in analysis.facts.calls}
        for node in walk(statement.body):
            site = sites_by_node.get(id(node)) if isinstance(node, cst.Call) else None
            if site is not None and _trains(analysis, site):
                for item in ids:
                    around.setdefault(item, "around a call that trains")
                break
    for item, where in around.items():
        site = by_id[item]
        yield Report(
            site.node,
            f"the autograd profiler `{site.qualname}` is open {where}: it records every operator of "
            "every step; profile a few steps with `torch.profiler.schedule`, or guard it behind a debug flag",
        )


RULE = DebugApisLeftEnabled()
