"""GL419: a TensorFlow custom training step (`tape.gradient` + `apply_gradients`) run eagerly."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import MAX_CALL_DEPTH, CallSite, FunctionInfo, LoopInfo, ModuleFacts
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.scope_facts import training_step_loops
from greenlint.rules.analysis.training_loop_facts import TF_FUNCTION, imports_module, is_tf_function, loop_header, looks_like_test_code
from greenlint.rules.analysis.training_steps import is_tape_gradient
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule

# Graph mode for the whole program: TF1 sessions, or eager execution switched off.
_GRAPH_MODE = (
    "tensorflow.compat.v1.disable_eager_execution", "tensorflow.compat.v1.disable_v2_behavior",
    "tensorflow.Session", "tensorflow.compat.v1.Session", "tensorflow.compat.v1.InteractiveSession",
)


class TfEagerTrainingStep(Rule):
    code = "GL419"
    # A run-length rule: a few hundred eager steps cost seconds, a run of hours pays the dispatch
    # overhead on every step. Reported in files named in `long-runs` or whose code shows a long run.
    preview = True
    name = "tf-eager-training-step"
    summary = "a TensorFlow custom training step (`tape.gradient` + `apply_gradients`) runs eagerly, op by op, on every step"
    detects = """
        In a module that imports TensorFlow: a training-step loop whose step takes
        `tape.gradient(...)` (a receiver named `*tape*`) and calls `apply_gradients(...)`, written in
        the loop or in a function of the module that the loop calls, where neither the loop nor any
        function on the way to the gradient is compiled: decorated with `@tf.function` or wrapped by
        `tf.function(name)` anywhere in the module. Silent in TF1 graph-mode programs (`tf.Session`,
        `disable_eager_execution()`), in test code, and for Keras `fit` (which compiles its own step).
        One finding per loop: at the step function's `def` when the loop calls one, else at the loop's
        `with tf.GradientTape()` (else its first eager `apply_gradients` call).
    """
    why = """
        Eager TensorFlow runs each operation from Python, one at a time: for every step of every
        epoch the interpreter dispatches the forward pass, the gradient tape's backward pass, the
        gradient clipping and the optimizer update op by op, and the GPU waits between them.
        `tf.function` traces the step once into a graph that TensorFlow's graph optimiser (Grappler)
        can prune and fuse, and that runs without returning to Python; `jit_compile=True` adds XLA
        fusion. The TensorFlow guide calls graph execution the way to speed up training loops; the
        gain is largest for small models and many small operations.
    """
    bad_example = """
        import tensorflow as tf

        for epoch in range(200):
            for x, y in train_ds:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
    """
    good_example = """
        import tensorflow as tf

        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        for epoch in range(200):
            for x, y in train_ds:
                train_step(x, y)
    """
    fix = """
        Put the step (forward under the tape, `tape.gradient`, clipping, `apply_gradients`) in a
        function decorated with `@tf.function` (`@tf.function(jit_compile=True)` on a GPU) and call it
        from the loop. Keep Python side effects (printing, appending to lists, `.numpy()`) out of it:
        they run only while tracing. Inputs whose shapes change every step retrace the function;
        give `input_signature` or pad to a few shapes.
    """
    fix_applicability = None  # moving code into a traced function changes when Python side effects run
    evidence = (evidence.TF_GRAPH_EXECUTION,)
    saving_scope = "the Python dispatch and unfused kernels of every eager op of the training step"
    impact = None  # the guide gives no figure for a training step (its timings are toy functions): shown as impact unknown
    trigger = (("tensorflow",), ("gradient(",), ("apply_gradients",))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if not imports_module(analysis, "tensorflow") or looks_like_test_code(analysis):
            return
        if any(site.qualname in _GRAPH_MODE for site in facts.calls):
            return
        compiled = _compiled_function_names(analysis)
        reported: set[int] = set()
        for loop in training_step_loops(analysis):
            if _in_compiled_function(loop, compiled) or not _takes_tape_gradients(facts, loop.calls, 0):
                continue
            found = next(iter(_eager_updates(facts, loop.calls, compiled, ())), None)
            if found is None or id(found[0].node) in reported:
                continue
            site, route = found
            reported.add(id(site.node))
            where = (f"in `{route[-1].name}`, called from `{loop_header(analysis, loop)}`" if route
                     else f"in `{loop_header(analysis, loop)}`")
            advice = (f"decorate `{route[-1].name}` with `@tf.function`" if route
                      else "move the step into a function decorated with `@tf.function` and call it from the loop")
            yield Report(
                _where_the_fix_goes(site, route, loop),
                f"this training step runs eagerly {where}: every step dispatches its forward, "
                f"backward and optimizer ops one by one from Python; {advice} so that it runs as one "
                "compiled graph (`jit_compile=True` on a GPU)",
            )


def _where_the_fix_goes(site: CallSite, route: tuple[FunctionInfo, ...], loop: LoopInfo) -> cst.CSTNode:
    """The step function's name (`def train_step`: the decorator goes there), else the loop's
    `with tf.GradientTape()` (the step's body starts there), else the update call itself."""
    if route:
        return route[-1].node.name
    for node in walk(loop.node):
        if isinstance(node, cst.With) and any(
                isinstance(item.item, cst.Call) and terminal_name(item.item.func) == "GradientTape" for item in node.items):
            return node
    return site.node


def _compiled_function_names(analysis: ModuleAnalysis) -> set[str]:
    """Functions the module compiles: `@tf.function` (with or without arguments) or `tf.function(f)`."""
    imports = analysis.facts.imports
    names: set[str] = set()
    for functions in analysis.facts.functions.values():
        for function in functions:
            if any(is_tf_function(decorator.decorator, imports) for decorator in function.node.decorators):
                names.add(function.name)
    for site in analysis.facts.calls:
        if site.qualname in TF_FUNCTION and site.node.args:
            first = site.node.args[0].value
            if isinstance(first, cst.Name):
                names.add(first.value)
            elif isinstance(first, cst.Attribute):
                names.add(first.attr.value)  # tf.function(self.train_step)
    return names


def _in_compiled_function(loop: LoopInfo, compiled: set[str]) -> bool:
    """The loop itself is traced: it sits in a compiled function (`@tf.function def train_epoch`)."""
    return loop.function is not None and loop.function.name in compiled


def _takes_tape_gradients(facts: ModuleFacts, calls: list[CallSite], depth: int) -> bool:
    """The step is TensorFlow's: a `tape.gradient` call here or in a function of the module called here."""
    for site in calls:
        if is_tape_gradient(site):
            return True
        if depth < MAX_CALL_DEPTH and any(
            _takes_tape_gradients(facts, function.calls, depth + 1) for function in facts.local_functions_called(site)
        ):
            return True
    return False


def _eager_updates(
    facts: ModuleFacts, calls: list[CallSite], compiled: set[str], route: tuple[FunctionInfo, ...],
) -> Iterable[tuple[CallSite, tuple[FunctionInfo, ...]]]:
    """The `apply_gradients` calls these calls run without passing through a compiled function, with
    the chain of the module's functions that leads to each. The update marks the step: a
    `tape.gradient` in a helper (a gradient penalty) is part of a step, not the step."""
    for site in calls:
        if site.attr == "apply_gradients" and site.is_method_call:
            yield site, route
            continue
        if len(route) >= MAX_CALL_DEPTH:
            continue
        for function in facts.local_functions_called(site):
            if function.name in compiled or any(f is function for f in route):
                continue
            yield from _eager_updates(facts, function.calls, compiled, (*route, function))


RULE = TfEagerTrainingStep()
