"""GL402: an evaluation loop runs the model with autograd recording."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, FunctionInfo
from greenlint.rules.analysis.literals import (
    NOT_LITERAL,
    argument,
    keyword_arg,
    literal_value,
)
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.run_size import small_run
from greenlint.rules.analysis.training_loop_facts import (
    SET_GRAD_ENABLED,
    GradContexts,
    grad_contexts,
    imports_module,
    is_test_module,
    loop_header,
    uses_keras,
    uses_torch,
    walk,
)
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.evidence import NO_GRAD_THROUGHPUT_EVIT
from greenlint.rules.fixes import (
    chain,
    ensure_import,
    find_statement_block,
    module_alias,
    wrap_statements_in_with,
)
from greenlint.rules.impact import RuleImpact, WasteSize

_EVAL_FUNCTION = re.compile(r"^_*(eval|valid|val_|val$|test|predict|infer)", re.IGNORECASE)
# an evaluation word later in the name: `calculate_accuracy`, `run_inference`, `model_eval`
# (share020/dl 73c10db assignments/mp4/src/part-2/src/utils.py:87, blind4)
_EVAL_WORD = re.compile(
    r"_(eval|evaluate|evaluation|validate|validation|valid|predict|prediction|predictions|infer|inference|accuracy|acc)(_|$)",
    re.IGNORECASE,
)
# What an evaluation pass iterates: a loader, a dataset or split, a list of files, or the indices of
# a collection (`range(len(img_dirs))`). A loop over the rows of one batch (`zip(imgs["A"], imgs["B"])`),
# over classes (`range(n_c)`) or over conditions draws a few samples for a picture: bicyclegan.py:107,
# clustergan.py:535 (eriklindernoren/PyTorch-GAN 36d3c77, blind), 5GT-GAN/inference.py:29
# (0913ktg/5G-Traffic-Generator 9086981, blind3), all judged not worth the change.
_DATA_ITERABLE = re.compile(
    r"loader|data|_dl\b|\bdl\b|batches|split|test|val|eval|files|paths|dirs|samples|examples|sentences|texts|"
    r"queries|questions|documents|images\b|len\(",
    re.IGNORECASE,
)
# What a model is called: `model(x)`, `self.net(x)`, `encoder(x)`, `model.forward(x)`.
_MODEL_NAME = re.compile(
    r"(^|_)(model|net|encoder|decoder|classifier|backbone|generator|discriminator|policy|actor|critic|"
    r"vae|unet|transformer|cnn|rnn|lstm|resnet|network|teacher|student)(s|\d+|_?[a-z0-9])?$|(net|model)\d*$",
    re.IGNORECASE,
)
# `get_model(...)`, `build_net(...)`: functions that make or handle a model, not its forward pass
_NOT_A_FORWARD = re.compile(r"^_*(get|build|create|make|load|init|setup|save|print|log|train|run|to|set|update|reset|copy|freeze)_", re.IGNORECASE)
# Already without autograd: Lightning's evaluation hooks, Hugging Face `generate`.
_NO_GRAD_HOOKS = frozenset(
    {"validation_step", "test_step", "predict_step", "on_validation_epoch_end", "on_test_epoch_end",
     "validation_epoch_end", "test_epoch_end", "on_validation_batch_end", "on_test_batch_end"}
)
_GRADIENT_ATTRS = frozenset({"backward", "requires_grad_", "retain_grad", "enable_grad", "grad", "vjp", "jvp", "jacobian", "hessian"})
_MAX_CALLER_DEPTH = 3
# what a file must contain: a call of something named like a model ...
_MODEL_CALL_WORDS = (
    "model(", "net(", "encoder(", "decoder(", "classifier(", "backbone(", "discriminator(", "policy(",
    "critic(", "vae(", "unet(", "cnn(", "rnn(", "lstm(", "network(", "teacher(", "student(",
)
# ... and `.eval()` or the definition of an evaluation function
_EVAL_DEF = re.compile(r"def _*(?:eval|valid|val_|val\(|test|predict|infer\(|inference)", re.IGNORECASE)


# ... or of a function with an evaluation word later in its name (`def calculate_accuracy(`)
_EVAL_DEF_WORD = re.compile(
    r"def \w*_(?:eval|evaluate|evaluation|validate|validation|valid|predict|prediction|predictions|infer|inference|accuracy|acc)\b",
    re.IGNORECASE,
)


def _model_name(name: str) -> bool:
    return bool(_MODEL_NAME.search(name)) and not _NOT_A_FORWARD.search(name) and not _EVAL_FUNCTION.search(name)


def is_model_call(site: CallSite) -> bool:
    func = site.node.func
    if site.qualname is not None:
        return False
    if isinstance(func, cst.Name):
        return _model_name(func.value)
    if isinstance(func, cst.Attribute):
        if func.attr.value == "forward":
            name = terminal_name(func.value)
            return name is not None and _model_name(name)
        if isinstance(func.value, cst.Name) and func.value.value == "self":
            return _model_name(func.attr.value)
    return False


def _computes_gradients(calls: list[CallSite], ignore_backward: bool = False) -> bool:
    """Backward, `torch.autograd.grad`, `requires_grad_()`, `requires_grad=True`: gradient-based
    evaluation (saliency maps, adversarial examples, influence functions) needs autograd."""
    for site in calls:
        if site.attr in _GRADIENT_ATTRS and not (ignore_backward and site.attr == "backward"):
            return True
        arg = keyword_arg(site.node, "requires_grad")
        if arg is not None and literal_value(arg.value) is not False:
            return True
        if site.qualname is not None and site.qualname.startswith(("torch.func.", "functorch.")):
            return True
    return False


def _cpu_only(analysis: ModuleAnalysis) -> bool:
    """The module names the "cpu" device (`map_location=torch.device("cpu")`) and no CUDA GPU."""
    if analysis.device.uses_gpu:
        return False
    return any(literal_value(arg.value) == "cpu" for site in analysis.facts.calls for arg in site.node.args)


def _runs_once(loop: LoopInfo) -> bool:
    """The body ends with an unconditional `break`: one batch for a visualisation
    (rasbt/deeplearning-models autoencoder notebooks, blind2), not an evaluation pass."""
    body = loop.node.body
    statements = body.body if isinstance(body, cst.IndentedBlock) else ()
    if not statements:
        return False
    last = statements[-1]
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, cst.Break) for s in last.body)


def _iterates_data(analysis: ModuleAnalysis, loop: LoopInfo) -> bool:
    """Does the loop go over evaluation data (see _DATA_ITERABLE)? A `while` loop counts (a
    `while True:` over `next(iterator)` cannot be read)."""
    if not isinstance(loop.node, cst.For):
        return True
    return _DATA_ITERABLE.search(analysis.module.code_for_node(loop.node.iter)) is not None


def _mode_switches(analysis: ModuleAnalysis) -> list[tuple[int, CallSite, bool]]:
    """`.eval()` / `.train()` / `.train(False)` calls: (index in the call list, site, is eval)."""
    result = []
    for index, site in enumerate(analysis.facts.calls):
        if not site.is_method_call or site.attr not in ("eval", "train"):
            continue
        if site.attr == "eval":
            if not site.node.args:
                result.append((index, site, True))
        elif not site.node.args:
            result.append((index, site, False))
        else:
            mode = literal_value(argument(site.node, "mode", 0))
            if mode is False:
                result.append((index, site, True))
            elif mode is True:
                result.append((index, site, False))
    return result


class EvalWithoutNoGrad(Rule):
    code = "GL402"
    # Out of the default set (issue 14): 1 of 6 findings worth acting on in the first blind corpus,
    # and the energy effect is within noise to 1 % (the gain is memory, not energy).
    preview = True
    name = "eval-without-no-grad"
    summary = "An evaluation loop runs the model with autograd on: no `torch.no_grad()` / `inference_mode()`"
    detects = """
        A PyTorch loop that calls the model (`model(x)`, `self.net(x)`, `model.forward(x)`), runs no
        backward and no optimizer step, and is an evaluation loop: it is in a function named
        `eval*`, `valid*`, `val_*`, `test*`, `predict*` or `infer*` (or with such a word, or
        `accuracy`, later in its name: `calculate_accuracy`), or follows a `model.eval()` in the
        same function; and it, or a loop around it, goes over evaluation data (a loader, dataset,
        split, files, `range(len(...))`), not over the rows of one batch or a few classes drawn for
        a picture. Reported at the forward pass. Reported when neither the loop nor its function is under
        `torch.no_grad()`, `torch.inference_mode()` or `torch.set_grad_enabled(False)` (as `with` or
        decorator), and no call of that function in the module is. Silent for gradient-based
        evaluation (`backward`, `torch.autograd.grad`, `requires_grad_`), for loops that only call
        `generate` (already no-grad), in Lightning modules, in pytest tests, and when grad mode is
        left to a run-time value (`set_grad_enabled(is_train)`).
        Test modules (importing pytest or unittest) are skipped, and so are modules that name the CPU
        device and no CUDA GPU, modules that train a small model on a known small dataset (a run of
        minutes, rules/analysis/run_size.py), loops that end in an unconditional `break` (one
        batch, for a picture), and loops that wrap their inputs in `Variable(x, volatile=True)`
        (PyTorch < 0.4's way of turning autograd off).
    """
    why = """
        With autograd on, every forward pass records the graph and keeps every intermediate
        activation alive for a backward pass that never comes. That memory caps the evaluation batch
        size; the graph bookkeeping is extra CPU work per operation. On a large, compute-bound model
        the GPU energy per batch barely changes (greenlint measured about 0 % on an H100); the gain is
        memory, which allows larger, more efficient evaluation batches, and less CPU overhead for
        small models.
    """
    bad_example = """
        import torch

        def evaluate(model, loader):
            model.eval()
            correct = 0
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum()
            return correct
    """
    good_example = """
        import torch

        @torch.no_grad()
        def evaluate(model, loader):
            model.eval()
            correct = 0
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum()
            return correct
    """
    fix = """
        Wrap the loop in `with torch.no_grad():` (the autofix), or decorate the function with
        `@torch.no_grad()`. `torch.inference_mode()` goes a little further, but its outputs can never
        be used in autograd later.
    """
    fix_applicability = "safe"
    evidence = (
        Evidence(
            "ResNet-50 evaluation, batch 256: autograd on -> inference_mode changed GPU energy per batch from "
            "44.8 J to 45.5 J (0 %, within noise), 74 ms either way; it saves memory, not compute",
            "greenlint's own H100 measurements (docs/evidence.md#h100-training-step), one run, about ±5 % noise",
            "measured",
        ),
        Evidence(
            "no_grad/inference_mode in evaluation reduces memory and speeds it up (no number given)",
            "PyTorch Performance Tuning Guide",
            "doc",
        ),
        Evidence("inference_mode vs no_grad: CIFAR-10 evaluation 3.7 s -> 3.6 s", "pytorch/ignite issue #2193", "issue"),
        NO_GRAD_THROUGHPUT_EVIT,
    )
    impact = RuleImpact(
        WasteSize(
            0.0,
            0.01,
            "GPU energy per evaluation batch unchanged within noise (greenlint, ResNet-50 on an H100) and "
            "throughput within 1 % (youweiliang/evit #11): the gain is memory and CPU overhead, not energy",
        ),
        "every-eval",
    )
    saving_scope = "evaluation memory (larger batches) and autograd's CPU overhead; about 0 GPU energy on a compute-bound model"
    # The documented (loose) trigger; `could_match` below adds the exact function-name test.
    trigger = (("torch",), _MODEL_CALL_WORDS)

    def could_match(self, text: str) -> bool:
        if "torch" not in text or not any(word in text for word in _MODEL_CALL_WORDS):
            return False
        return (".eval()" in text or "train(False)" in text or _EVAL_DEF.search(text) is not None
                or _EVAL_DEF_WORD.search(text) is not None)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if not facts.loops or not uses_torch(analysis) or uses_keras(analysis):
            return
        if imports_module(analysis, "lightning", "pytorch_lightning", "jax") or is_test_module(analysis):
            return
        if _cpu_only(analysis):
            # the gain is memory and autograd's CPU overhead; a CPU-only analysis notebook that
            # evaluates a few hundred images once saves seconds (christianmcb/Deep-Learning-Project
            # notebooks/modelTesting.ipynb, blind3: seven findings judged not worth the change)
            return
        for site in facts.calls:
            if site.qualname in SET_GRAD_ENABLED or site.qualname == "torch._C._set_grad_enabled":
                value = literal_value(argument(site.node, "mode", 0))
                if value is False or value is NOT_LITERAL:
                    return  # grad mode switched off (or chosen) module-wide
        candidates = self._candidates(analysis)
        if not candidates or small_run(analysis) is not None:
            # a small model on a known small data set (rasbt/deeplearning-models' `compute_accuracy`
            # over MNIST/CIFAR with a small CNN, blind2): the whole run takes minutes, so evaluating it
            # without autograd saves seconds and memory nobody runs short of
            return
        contexts = grad_contexts(analysis)
        model_calls_of = {id(loop): model_calls for loop, model_calls in candidates}
        unprotected = []
        for loop, model_calls in candidates:
            if id(loop.node) in contexts.grad_off:
                continue
            if all(contexts.call_grad_off(site.node) for site in model_calls):
                continue  # `with torch.no_grad():` inside the loop, around the forward pass
            if _volatile_inputs(loop):
                continue  # PyTorch < 0.4's no_grad: `Variable(data, volatile=True)` (bamos/densenet.pytorch, blind31)
            if loop.function is not None and self._called_without_grad(analysis, loop.function, contexts, 0):
                continue
            unprotected.append(loop)
        chosen = {id(loop) for loop in unprotected}
        for loop in unprotected:
            if any(id(outer) in chosen for outer in loop.enclosing()[1:]):
                continue  # reported at the outer evaluation loop
            # at the forward pass (where the labellers point); the fix wraps the whole loop
            forward = next((site for site in model_calls_of[id(loop)] if not contexts.call_grad_off(site.node)), None)
            yield Report(
                forward.node if forward is not None else loop.node,
                f"evaluation loop `{loop_header(analysis, loop)}` runs the model with autograd on: every "
                "forward pass records the graph and keeps its activations; wrap it in `with torch.no_grad():` "
                "or `torch.inference_mode()` (this saves memory and CPU overhead; greenlint measured about 0 % "
                "GPU energy change for ResNet-50 evaluation on an H100)",
                end_node=None if forward is not None else loop.node.iter if isinstance(loop.node, cst.For) else loop.node.test,
                fix=_no_grad_fix(analysis, loop),
            )

    def _candidates(self, analysis: ModuleAnalysis) -> list[tuple[LoopInfo, list[CallSite]]]:
        facts = analysis.facts
        pytest_module = imports_module(analysis, "pytest", "unittest")
        switches: list[tuple[int, CallSite, bool]] | None = None
        call_index: dict[int, int] | None = None
        qualifying: list[tuple[LoopInfo, list[CallSite]]] = []
        for loop in facts.loops:
            if loop.does_backward or loop.does_step or loop.does_fit:
                continue
            model_calls = [site for site in loop.calls if is_model_call(site)]
            if not model_calls or _runs_once(loop) or not any(_iterates_data(analysis, lp) for lp in loop.enclosing()):
                continue
            function = loop.function
            if function is not None and function.name in _NO_GRAD_HOOKS:
                continue
            if _computes_gradients(loop.calls) or (
                # a training loop elsewhere in the function may call backward; other gradient work may not
                function is not None and _computes_gradients(function.calls, ignore_backward=True)
            ):
                continue
            if self._eval_function(function, pytest_module):
                qualifying.append((loop, model_calls))
                continue
            if switches is None:
                switches = _mode_switches(analysis)
                call_index = {id(site): index for index, site in enumerate(facts.calls)}
            assert call_index is not None
            start = call_index[id(loop.calls[0])]
            last = None
            for index, site, is_eval in switches:
                if index >= start:
                    break
                if site.function is function:
                    last = is_eval
            if last:
                qualifying.append((loop, model_calls))
        return qualifying

    @staticmethod
    def _eval_function(function: FunctionInfo | None, pytest_module: bool) -> bool:
        if function is None or not (_EVAL_FUNCTION.search(function.name) or _EVAL_WORD.search(function.name)):
            return False
        if function.name.lower().startswith("test"):
            # pytest / unittest tests exercise the model; an evaluation helper takes the model or data
            if pytest_module or (function.class_name or "").startswith("Test") or not function.params - {"self"}:
                return False
            if function.name.startswith("test_") and not any(
                word in param.lower() for param in function.params for word in ("model", "net", "loader", "data")
            ):
                return False
        return True

    def _called_without_grad(self, analysis: ModuleAnalysis, function: FunctionInfo, contexts: GradContexts, depth: int) -> bool:
        """Is some call of `function` in this module made with autograd off (directly or through
        its own callers)?"""
        if depth > _MAX_CALLER_DEPTH:
            return False
        for site in analysis.facts.calls:
            if site.attr != function.name:
                continue
            if function not in analysis.facts.local_functions_called(site):
                continue
            if contexts.call_grad_off(site.node):
                return True
            caller = site.function
            if caller is not None and caller is not function and self._called_without_grad(analysis, caller, contexts, depth + 1):
                return True
        return False


def _volatile_inputs(loop: LoopInfo) -> bool:
    """The loop wraps its inputs in `Variable(x, volatile=True)`: before PyTorch 0.4 that switched
    autograd off for everything computed from them, as `torch.no_grad()` does now."""
    for node in walk(loop.node.body):
        if isinstance(node, cst.Call) and terminal_name(node.func) == "Variable":
            volatile = keyword_arg(node, "volatile")
            if volatile is not None and literal_value(volatile.value) is True:
                return True
    return False


def _no_grad_fix(analysis: ModuleAnalysis, loop: LoopInfo) -> RuleFix | None:
    if any(isinstance(node, (cst.Yield, cst.Await)) for node in walk(loop.node)):
        return None  # a generator: the grad mode would leak into the consumer between yields
    located = find_statement_block(loop.function.node if loop.function is not None else analysis.module, loop.node)
    if located is None:
        return None
    block, index = located
    alias = module_alias(analysis.facts.imports, "torch")
    steps = []
    if alias is None:
        alias = "torch"
        steps.append(ensure_import("torch"))
    steps.insert(0, wrap_statements_in_with(block, index, index + 1, cst.parse_expression(f"{alias}.no_grad()")))
    return RuleFix("wrap the evaluation loop in `with torch.no_grad():`", "safe", chain(*steps))


RULE = EvalWithoutNoGrad()
