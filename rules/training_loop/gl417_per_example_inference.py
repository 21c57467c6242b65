"""GL417: a model called on one example at a time in a Python loop over the examples, at inference."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst

from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import DATA_LOADERS, TokenizerFacts, assigned_values, tokenizer_facts
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import argument, literal_value, range_stop
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.scope_facts import in_test_function, is_test_module, module_trains
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule
from greenlint.rules.evidence import BATCHING_GREEN_AI, PIPELINE_BATCHING_DOCS, PIPELINE_BATCHING_PR
from greenlint.rules.impact import RuleImpact, WasteSize

_MODEL = re.compile(r"(^|_)(model|net|classifier|encoder|backbone|cnn|resnet|network|detector|predictor)\d*$", re.IGNORECASE)
_FORWARD_METHODS = frozenset({"forward", "predict", "predict_on_batch"})
# The text of such a call, for the prefilter (torch's own sources have the tensor words but rarely this).
_MODEL_CALL_TEXT = re.compile(
    r"(?<![A-Za-z0-9])(?:model|net|classifier|encoder|backbone|cnn|resnet|network|detector|predictor)\d*"
    r"(?:\.forward|\.predict\w*)?\("
)
# Methods that keep a tensor's batch dimension: `x.unsqueeze(0).to(device)` is still one example.
_PASS_THROUGH = frozenset({"to", "cuda", "float", "half", "double", "cpu", "type", "contiguous", "long", "int", "bfloat16"})
_EXPAND = frozenset({"numpy.expand_dims", "torch.unsqueeze", "tensorflow.expand_dims", "jax.numpy.expand_dims"})
_PIPELINES = frozenset({"transformers.pipeline", "transformers.pipelines.pipeline"})
_DEMO_SIZE = 16


def _model_callee(site: CallSite) -> str | None:
    """`model(x)`, `self.net(x)`, `model.forward(x)`, `model.predict(x)`: the model's name, or None."""
    func = site.node.func
    if site.qualname is not None:
        return None
    if isinstance(func, cst.Name):
        return func.value if _MODEL.search(func.value) else None
    if isinstance(func, cst.Attribute):
        if func.attr.value in _FORWARD_METHODS:
            name = terminal_name(func.value)
            return name if name and _MODEL.search(name) else None
        if terminal_name(func.value) == "self" and _MODEL.search(func.attr.value):
            return func.attr.value
    return None


def _peel(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _PASS_THROUGH:
        node = node.func.value
    return node


def _one_example(node: cst.BaseExpression, facts: ModuleFacts) -> cst.BaseExpression | None:
    """The expression a one-example batch is made from (`x` in `x.unsqueeze(0)`, `x[None]`,
    `np.expand_dims(x, 0)`, `x.reshape(1, -1)`, `x.view(1, 3, 32, 32)`), or None."""
    node = _peel(node)
    if isinstance(node, cst.Subscript) and node.slice:
        first = node.slice[0].slice
        if isinstance(first, cst.Index) and (
            literal_value(first.value) is None or facts.imports.resolve(first.value) == "numpy.newaxis"
        ):
            return node.value
        return None
    if not isinstance(node, cst.Call) or not node.args:
        return None
    qualname = facts.imports.resolve(node.func)
    if qualname in _EXPAND and len(node.args) >= 2:
        return node.args[0].value if literal_value(argument(node, "axis" if "numpy" in qualname else "dim", 1)) == 0 else None
    if isinstance(node.func, cst.Attribute) and qualname is None:
        method = node.func.attr.value
        if method == "unsqueeze" and literal_value(argument(node, "dim", 0)) == 0:
            return node.func.value
        if method in ("reshape", "view") and literal_value(node.args[0].value) in (1, (1, -1)):
            return node.func.value
    return None


def _one_text(node: cst.BaseExpression, tokenizers: TokenizerFacts) -> cst.BaseExpression | None:
    """The text of `tokenizer(text, return_tensors="pt")` when it is one string: a batch of one."""
    node = _peel(node)
    if not isinstance(node, cst.Call) or not node.args or argument(node, "return_tensors") is None:
        return None
    text = node.args[0].value
    # one string: a name, `row["text"]`, `example.text` or an f-string; a call (`list(chunk)`) may be a batch
    if node.args[0].keyword or not isinstance(text, (cst.Name, cst.Subscript, cst.Attribute, cst.FormattedString)):
        return None
    if _sliced(text) or literal_value(argument(node, "padding")) in (True, "longest"):
        return None  # `texts[i:i + 8]`, padding several sequences to one length: a batch already
    return text if tokenizers.encodes(node) else None


def _sliced(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Subscript) and any(isinstance(e.slice, cst.Slice) for e in node.slice)


def _root(node: cst.BaseExpression) -> str | None:
    """`inputs` for `inputs`, `inputs["input_ids"]`, `inputs.input_ids.to(device)`."""
    node = _peel(node)
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = _peel(node.value)
    return node.value if isinstance(node, cst.Name) else None


def _names(node: cst.CSTNode) -> set[str]:
    """The variable names an expression reads (not attribute or keyword names)."""
    found, stack = set(), [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)
        elif isinstance(current, cst.Arg):
            stack.append(current.value)
        else:
            stack.extend(current.children)
    return found


def _shape_guarded(loop: LoopInfo) -> set[int]:
    """Statements under an `if` that tests a shape (`if len(im.shape) == 3: im = im[None]`): the
    items may already be batches, the guard only makes sure of the batch dimension."""
    guarded: set[int] = set()
    for node in walk(loop.node.body):
        if isinstance(node, cst.If) and any(
            isinstance(n, cst.Attribute) and n.attr.value in ("shape", "ndim", "dim", "ndimension") for n in walk(node.test)
        ):
            guarded |= {id(n) for n in walk(node.body)}
    return guarded


def _assignments(loop: LoopInfo) -> list[tuple[set[str], cst.BaseExpression]]:
    """(names bound, value) for every assignment statement in the loop body, tuple targets included."""
    found = []
    guarded = _shape_guarded(loop)
    for node in walk(loop.node.body):
        if id(node) in guarded:
            continue
        if isinstance(node, cst.Assign):
            found.append((set().union(*(_names(t.target) for t in node.targets)), node.value))
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and node.value is not None:
            found.append((_names(node.target), node.value))
    return found


def _closure(seeds: set[str], assignments: list[tuple[set[str], cst.BaseExpression]], extra=None) -> set[str]:  # noqa: ANN001
    """Names bound from expressions that read a seed name (or satisfy `extra`), to a fixed point."""
    result = set(seeds)
    changed = True
    while changed:
        changed = False
        for targets, value in assignments:
            if not targets <= result and (_names(value) & result or (extra is not None and extra(value))):
                result |= targets
                changed = True
    return result


def _pipeline_on_gpu(node: cst.BaseExpression, facts: ModuleFacts, uses_gpu: bool) -> bool | None:
    """For `pipe(...)` where `pipe = pipeline(...)`: does it run on a GPU (`device=0`, `"cuda"`,
    `device_map`, a device variable in a module that uses CUDA)? None when `pipe` is no pipeline."""
    if not isinstance(node, cst.Name):
        return None
    for value in assigned_values(facts, node.value)[:3]:
        if isinstance(value, cst.Call) and facts.imports.resolve(value.func) in _PIPELINES:
            device = argument(value, "device")
            literal = literal_value(device)
            if argument(value, "device_map") is not None or (isinstance(literal, int) and not isinstance(literal, bool) and literal >= 0):
                return True
            if isinstance(literal, str):
                return literal.startswith("cuda")
            return device is not None and uses_gpu
    return None


def _not_a_dataset(loop: LoopInfo, facts: ModuleFacts) -> bool:
    """`for x in loader`: a DataLoader yields batches already. A literal list of a few items, a
    `range` of at most 16, or a loop that plots is a demo on a handful of examples."""
    iterable = loop.node.iter  # type: ignore[union-attr]
    if isinstance(iterable, (cst.List, cst.Tuple)) and len(iterable.elements) <= 4:
        return True
    stop = literal_value(range_stop(iterable)) if isinstance(iterable, cst.Call) else None
    if isinstance(stop, int) and stop <= _DEMO_SIZE:
        return True
    if any((site.qualname or "").startswith(("matplotlib.", "seaborn.", "PIL.ImageDraw", "cv2.imshow")) for site in loop.calls):
        return True
    for name in _names(iterable):
        if any(word in name.lower() for word in ("loader", "batch", "chunk")):
            return True
        for value in assigned_values(facts, name)[:3]:
            if isinstance(value, cst.Call) and facts.imports.resolve(value.func) in DATA_LOADERS:
                return True
    return False


class PerExampleInference(Rule):
    code = "GL417"
    # Out of the default set (issue 14, rule under 80 % blind precision): 2 of 12 findings worth acting on in the third blind corpus
    # (10 of them in a CPU-only analysis notebook).
    preview = True
    name = "per-example-inference"
    summary = "A model called on one example at a time inside a loop over the examples, at inference: batch them"
    detects = """
        A `for` loop that trains nothing (no backward, no optimizer step, no `fit`) and calls a model
        (`model(x)`, `self.net(x)`, `model.forward(x)`, Keras/scikit-learn `model.predict(x)`) on a
        one-example batch made from the loop's item (`x.unsqueeze(0)`, `x[None]`, `np.expand_dims(x, 0)`,
        `x.reshape(1, -1)`, `x.view(1, ...)`, also through a name assigned in the loop); or calls a Hugging
        Face `pipeline(...)` placed on a GPU with the loop's item. Silent when the model's input depends on
        an earlier output of the model in the same loop (autoregressive generation, a recurrent state,
        diffusion sampling), when the batch dimension is added only under a shape test (`if im.ndim ==
        3: im = im[None]`: the items may be batches), when the loop walks a DataLoader (already batches),
        a literal list of a few items or a `range` of at most 16, when it plots (a handful of examples
        shown), and in tests.
    """
    why = """
        One example per call leaves a GPU (or a CPU's vector units) mostly idle: every call pays the Python,
        framework and kernel-launch overhead for a single example, and the weights are read from memory
        once per example instead of once per batch.
    """
    bad_example = """
        import torch

        model.eval()
        predictions = []
        with torch.no_grad():
            for image in test_images:
                logits = model(image.unsqueeze(0).to(device))
                predictions.append(logits.argmax(1).item())
    """
    good_example = """
        import torch
        from torch.utils.data import DataLoader

        model.eval()
        predictions = []
        with torch.no_grad():
            for images in DataLoader(test_images, batch_size=256):
                logits = model(images.to(device))
                predictions.extend(logits.argmax(1).tolist())
    """
    fix = """
        Batch the examples: iterate a `DataLoader(dataset, batch_size=...)`, or stack them
        (`torch.stack(xs)`, `np.stack(xs)`) and call the model on slices of a few hundred; for a Hugging Face
        pipeline pass the whole list or a dataset (`pipe(texts, batch_size=32)` or `KeyDataset`) and measure,
        since the Transformers docs report batching can also slow a pipeline down. Not an autofix: the code
        that consumes each output changes too.
    """
    evidence = (PIPELINE_BATCHING_PR, PIPELINE_BATCHING_DOCS, BATCHING_GREEN_AI)
    saving_scope = "the inference or evaluation pass"
    impact = RuleImpact(
        size=WasteSize(0.57, 0.84, "Transformers PR #11251: batching 1000 examples cut 57 % (CPU) to 84 % (GPU) of the time"),
        frequency="every-eval",
    )
    # The documented (loose) trigger; `could_match` below also wants a call of something named like a model.
    trigger = (("for ",), ("unsqueeze(", "[None", "expand_dims(", "reshape(1", "view(1", "newaxis", "pipeline(", "return_tensors"))

    def could_match(self, text: str) -> bool:
        if not super().could_match(text):
            return False
        return _MODEL_CALL_TEXT.search(text) is not None or ("pipeline(" in text and "transformers" in text)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if is_test_module(analysis):
            return
        frequency = "every-eval" if module_trains(analysis) else "run-wide"
        for loop in facts.loops:
            if not isinstance(loop.node, cst.For) or loop.does_backward or loop.does_step or loop.does_fit:
                continue
            if in_test_function(loop.function) or _not_a_dataset(loop, facts):
                continue
            sites = [s for s in loop.calls if s.loop is loop]
            pipelines = {id(s.node): _pipeline_on_gpu(s.node.func, facts, analysis.device.uses_gpu) for s in sites}
            model_sites = [s for s in sites if pipelines[id(s.node)] or (pipelines[id(s.node)] is None and _model_callee(s))]
            if not model_sites:
                continue
            assignments = _assignments(loop)
            model_calls = {id(s.node) for s in model_sites}
            outputs = _closure(set(), assignments, lambda value: any(id(c) in model_calls for c in walk(value)))
            items = _closure(_names(loop.node.target), assignments)
            tokenizers = tokenizer_facts(analysis)
            singles = {
                name: single
                for targets, value in assignments
                if (single := _one_example(value, facts) or _one_text(value, tokenizers)) is not None
                for name in targets
            }
            for site in model_sites:
                if not site.node.args or _names(site.node) & outputs:
                    continue  # autoregressive: the input depends on an earlier output
                first = site.node.args[0].value
                pipeline = bool(pipelines[id(site.node)])
                if pipeline:
                    batch = isinstance(first, (cst.List, cst.ListComp)) or _sliced(first) or site.node.args[0].keyword
                    single = None if batch else first
                else:
                    single = _one_example(first, facts) if not site.node.args[0].keyword and not site.node.args[0].star else None
                    # `model(**inputs)`, `model(x)`, `model(input_ids=enc["input_ids"])` with a one-example name
                    roots = [_root(arg.value) for arg in site.node.args]
                    single = single or next((singles[r] for r in roots if r in singles), None)
                if single is None or not _names(single) & items:
                    continue
                what = "this pipeline" if pipeline else f"`{_model_callee(site)}`"
                yield Report(
                    site.node,
                    f"{what} runs on one example per call inside `for` over the examples: batch them (a DataLoader "
                    "or stacked slices of a few hundred; for a pipeline, pass the list or a dataset with `batch_size`)",
                    frequency=frequency,
                )


RULE = PerExampleInference()
