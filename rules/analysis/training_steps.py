"""Which loops train: the calls that make a training step (`backward`, an optimizer's `step`,
Keras `fit`, and TensorFlow's `tape.gradient(...)` with `optimizer.apply_gradients(...)`), followed through the module's own functions and the project's imported training
functions, and the classification of every loop of a module's facts (`classify_training`, run by
`facts.collect_facts` after its walk).
"""

from __future__ import annotations

import re
import libcst as cst

from greenlint.rules.analysis.facts import MAX_CALL_DEPTH, CallSite, FunctionInfo, LoopInfo, ModuleFacts
from greenlint.rules.analysis.names import dotted_name, terminal_name
from greenlint.rules.project_context import ProjectContext

_OPTIMIZER_NAME = re.compile(r"opt", re.IGNORECASE)
_SCHEDULER_NAME = re.compile(r"sched|lr_", re.IGNORECASE)

OPTIMIZER_FACTORIES = ("torch.optim.", "transformers.AdamW", "transformers.Adafactor",
                       "bitsandbytes.optim.", "timm.optim.", "apex.optimizers.")


_TAPE_NAME = re.compile(r"tape", re.IGNORECASE)


def is_backward_call(site: CallSite) -> bool:
    if site.attr == "gradient":
        return is_tape_gradient(site)
    if site.attr != "backward":
        return False
    return site.is_method_call or site.qualname == "torch.autograd.backward"


def is_tape_gradient(site: CallSite) -> bool:
    """`tape.gradient(loss, model.trainable_variables)`: a TensorFlow `GradientTape`'s backward pass.
    The tape is known by its name (`tape`, `gen_tape`, `disc_tape`): the `with tf.GradientTape() as
    tape:` binding is not followed, and a receiver of another name (`g.gradient`) is missed."""
    if site.attr != "gradient" or site.receiver is None:
        return False
    return bool(_TAPE_NAME.search(terminal_name(site.receiver) or ""))


def is_optimizer_step(site: CallSite, optimizer_names: set[str]) -> bool:
    attr = site.attr
    if attr in ("optimizer_step", "apply_gradients"):
        # torch_xla's xm.optimizer_step(opt); a Keras/TensorFlow optimizer's apply_gradients(...)
        return True
    if site.receiver is None:
        return False
    receiver_name = terminal_name(site.receiver) or ""
    if attr is not None and attr.startswith("step_") and _OPTIMIZER_NAME.search(receiver_name) and not _SCHEDULER_NAME.search(receiver_name):
        return True  # a scheduled-optimizer wrapper's `optimizer.step_and_update_lr()`
    if attr != "step":
        return False
    if receiver_name in optimizer_names:
        return True
    if _SCHEDULER_NAME.search(receiver_name):
        return False
    if _OPTIMIZER_NAME.search(receiver_name):
        return True
    if "scaler" in receiver_name.lower() and site.node.args:
        return True  # GradScaler.step(optimizer)
    return False


_FIT_METHODS = frozenset({"fit", "fit_generator", "train_on_batch"})


def is_fit_call(site: CallSite) -> bool:
    return site.is_method_call and site.attr in _FIT_METHODS


class TrainingClassifier:
    """Decides, for every loop, whether it runs training steps, following local calls."""

    def __init__(self, facts: ModuleFacts, optimizer_names: set[str]) -> None:
        self.facts = facts
        self.optimizer_names = optimizer_names
        self._function_memo: dict[int, tuple[bool, bool, bool, bool]] = {}

    def _calls_summary(self, calls: list[CallSite], depth: int) -> tuple[bool, bool, bool, bool]:
        """(backward, step, fit, contains a step loop via called functions) for a list of calls."""
        backward = step = fit = step_loop = False
        context = self.facts.context
        imported_training = bool(context.step_functions or context.loop_functions)
        for site in calls:
            backward = backward or is_backward_call(site)
            step = step or is_optimizer_step(site, self.optimizer_names)
            fit = fit or is_fit_call(site)
            if imported_training:
                # `train_step(model, batch)` imported from another module of the project
                qualname = site.qualname or _star_qualname(site, context) or _instance_method(site, self.facts)
                if qualname in context.step_functions and _not_training(site):
                    pass  # `model.update(imgs, gt, training=False)`: the same method evaluates
                elif qualname in context.step_functions:
                    backward = step = True
                elif qualname in context.loop_functions:
                    step_loop = True
            if depth < MAX_CALL_DEPTH:
                for function in self.facts.local_functions_called(site):
                    fb, fs, ff, fl = self.function_summary(function, depth + 1)
                    backward, step, fit = backward or fb, step or fs, fit or ff
                    step_loop = step_loop or fl
        return backward, step, fit, step_loop

    def function_summary(self, function: FunctionInfo, depth: int = 0) -> tuple[bool, bool, bool, bool]:
        key = id(function)
        if key in self._function_memo:
            return self._function_memo[key]
        self._function_memo[key] = (False, False, False, False)  # cycle guard
        backward, step, fit, step_loop = self._calls_summary(function.calls, depth)
        for loop in function.loops:
            lb, ls, _, ll = self._calls_summary(loop.calls, depth)
            if lb and ls:
                step_loop = True
            step_loop = step_loop or ll
        result = (backward, step, fit, step_loop)
        self._function_memo[key] = result
        return result

    def classify(self) -> None:
        # Innermost loops first so that a parent can see whether a child steps.
        dead = self.facts.dead_functions
        for loop in sorted(self.facts.loops, key=lambda lp: -len(lp.enclosing())):
            if dead and loop.function is not None and id(loop.function.node) in dead:
                continue  # a loop in code nothing calls trains nothing
            backward, step, fit, step_loop = self._calls_summary(loop.calls, 0)
            loop.does_backward, loop.does_step, loop.does_fit = backward, step, fit
            children_step = any(
                child.does_backward and child.does_step for child in loop_descendants(loop)
            )
            loop.contains_step_loop = step_loop or children_step


def _star_qualname(site: CallSite, context: ProjectContext) -> str | None:
    """`train_step(...)` bound by `from engine import *`: the star-imported module's own name."""
    name = dotted_name(site.node.func)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    base = context.star_names.get(head)
    if base is None or head in site.imports.bindings:
        return None
    return f"{base}.{rest}" if rest else base


def loop_descendants(loop: LoopInfo) -> list[LoopInfo]:
    """Every loop nested in `loop`, at any depth."""
    result, stack = [], list(loop.children)
    while stack:
        child = stack.pop()
        result.append(child)
        stack.extend(child.children)
    return result


def optimizer_variable_names(facts: ModuleFacts) -> set[str]:
    """Variables assigned from an optimizer constructor anywhere in the module."""
    names: set[str] = set()
    optimizer_calls = {
        id(site.node)
        for site in facts.calls
        if site.qualname is not None
        and site.qualname.startswith(OPTIMIZER_FACTORIES)
        and "lr_scheduler" not in site.qualname
    }
    if not optimizer_calls:
        return names
    for name, value in facts.assignments:
        if id(value) in optimizer_calls:
            names.add(name)
    return names


def classify_training(facts: ModuleFacts) -> None:
    """Record the module's optimizer variables and mark every loop's training steps."""
    facts.optimizer_names = optimizer_variable_names(facts)
    TrainingClassifier(facts, facts.optimizer_names).classify()


def _instance_method(site: CallSite, facts: ModuleFacts) -> str | None:
    """`model.update(...)` where the module binds `model` once, to an instance of an imported class
    (`model = Model(local_rank)`): "model.RIFE.Model.update"; None otherwise."""
    from greenlint.rules.analysis.experiment_facts import assigned_value  # it imports this module

    receiver = site.receiver
    if site.attr is None or not isinstance(receiver, cst.Name):
        return None
    value = assigned_value(receiver.value, facts)
    if not isinstance(value, cst.Call):
        return None
    cls = facts.imports.resolve(value.func)
    return f"{cls}.{site.attr}" if cls else None


_TRAINING_SWITCHES = frozenset({"training", "train", "is_train", "is_training", "train_mode"})


def _not_training(site: CallSite) -> bool:
    """The call switches the step function's training off with a literal (`training=False`)."""
    return any(arg.keyword is not None and arg.keyword.value in _TRAINING_SWITCHES
               and isinstance(arg.value, cst.Name) and arg.value.value == "False" for arg in site.node.args)
