"""Is the data a Keras `fit`/`fit_generator` trains on a Python generator that does CPU work for
every item (GL306)?

Keras runs a Python generator in one thread of the training process (`workers=1`, the default):
each image of each batch is read, decoded and augmented there while the accelerator waits. The
generator is recognised three ways, each with its per-item work:
- a generator function of this module (`def data_generator(...): ... yield`), or a function that
  returns one's call (keras-yolo3's `data_generator_wrapper`), whose body (or a function of the
  module it calls, two calls deep) reads or transforms images: a call of rules/per_item_calls.py's
  libraries, or of a project function that does (`get_random_data` from yolo3/utils.py, read by
  the project index);
- a generator function or class of another project module, exported as one by the project index
  (advisor/exported_generators.py): `fit_generator(batches(paths))`,
  `fit(ImageGenerator(data).flow("train"))`, `fit(DataGenerator(...).generate(...))`;
- the same, bound once to a name first (`train_gen = data_generator(...)`).
Anything else (arrays, tf.data, a `keras.utils.Sequence`, a generator that only slices arrays in
memory, one the analysis cannot read) is no evidence. Also Keras' own `ImageDataGenerator.flow`
over arrays in memory when it applies a random affine transform (rotation, shift, shear, zoom) to
each image: that too runs image by image in the one thread.
"""

from __future__ import annotations

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import bound_once
from greenlint.rules.analysis.facts import FunctionInfo
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.per_item_calls import PER_ITEM_WORK

_MAX_DEPTH = 2
# ImageDataGenerator settings that apply an affine transform to each image (a scipy.ndimage
# resampling of the whole image); flips and rescaling alone are cheap and do not count
_AFFINE = frozenset({"rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range"})


def generator_work(analysis: ModuleAnalysis, node: cst.BaseExpression | None) -> str | None:
    """What the Python generator `node` does per item, as a phrase naming the generator and the work
    ("`data_generator_wrapper(...)`, a Python generator that calls `PIL.Image.open` (through
    `get_random_data`, yolo3/utils.py)"), or None when `node` is not one that works per item."""
    node = _bound_once(analysis, node) if node is not None else None
    if not isinstance(node, cst.Call):
        return None
    written = cst.Module([]).code_for_node(node.func)
    shown = f"`{written if len(written) <= 40 else terminal_name(node.func)}(...)`"
    augmenting = _augmenting_flow(analysis, node)
    if augmenting:
        return f"{shown}, a Keras `ImageDataGenerator` that applies a random affine transform ({augmenting}) to every image on the CPU"
    imported = _imported_generator(analysis, node)
    if imported:
        return f"{shown}, a Python generator ({imported})"
    function = _local_generator(analysis, node)
    work = _work(analysis, function) if function is not None else None
    return f"{shown}, a Python generator that {work}" if work else None


def _augmenting_flow(analysis: ModuleAnalysis, call: cst.Call) -> str | None:
    """`datagen.flow(x, y)` with `datagen = ImageDataGenerator(rotation_range=10, zoom_range=.1)`:
    an affine transform of every image (scipy.ndimage), in the training process; which ones it applies."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "flow"):
        return None
    owner = _bound_once(analysis, func.value)
    if not isinstance(owner, cst.Call) or not (analysis.facts.imports.resolve(owner.func) or "").endswith(
            "preprocessing.image.ImageDataGenerator"):
        return None
    applied = [arg.keyword.value.removesuffix("_range") for arg in owner.args
               if arg.keyword is not None and arg.keyword.value in _AFFINE and literal_value(arg.value) not in (0, 0.0, None)]
    return ", ".join(applied) or None


def _bound_once(analysis: ModuleAnalysis, node: cst.BaseExpression) -> cst.BaseExpression | None:
    return bound_once(analysis.facts, node.value) if isinstance(node, cst.Name) else node


def _imported_generator(analysis: ModuleAnalysis, call: cst.Call) -> str | None:
    """`batches(paths)` or `ImageGenerator(data).flow(...)` with the function or class from a
    project module the index exports as a generator that works per item."""
    facts = analysis.facts
    context = facts.context
    qualname = facts.imports.resolve(call.func)
    if qualname in context.batch_generators:
        return context.per_item_work[qualname]
    func = call.func
    if isinstance(func, cst.Attribute):
        owner = _bound_once(analysis, func.value)
        if isinstance(owner, cst.Call):
            cls = facts.imports.resolve(owner.func)
            if cls in context.batch_generators:
                return context.per_item_work[cls]
    return None


def _local_generator(analysis: ModuleAnalysis, call: cst.Call, depth: int = 0) -> FunctionInfo | None:
    """The module's top-level generator function `call` runs, following one function that returns
    a generator function's call (`def wrapper(...): return data_generator(...)`)."""
    if not isinstance(call.func, cst.Name) or call.func.value in analysis.facts.imports.bindings or depth > 1:
        return None
    candidates = [f for f in analysis.facts.functions.get(call.func.value, []) if f.class_name is None]
    if len(candidates) != 1:
        return None
    function = candidates[0]
    if _yields(function.node):
        return function
    returned = [s.value for s in _own_nodes(function.node) if isinstance(s, cst.Return) and isinstance(s.value, cst.Call)]
    for value in returned:
        found = _local_generator(analysis, value, depth + 1)
        if found is not None:
            return found
    return None


def _work(analysis: ModuleAnalysis, function: FunctionInfo, depth: int = 0) -> str | None:
    """The first per-item work call of `function`, or of a function of the module it calls."""
    facts = analysis.facts
    per_item = facts.context.per_item_work
    for site in function.calls:
        qualname = site.qualname or ""
        if qualname.startswith(PER_ITEM_WORK):
            return f"calls `{qualname}`"
        if qualname in per_item:
            return f"{per_item[qualname]} (through `{qualname.rsplit('.', 1)[-1]}`)"
        if depth < _MAX_DEPTH:
            for callee in facts.local_functions_called(site):
                if callee is not function:
                    found = _work(analysis, callee, depth + 1)
                    if found:
                        return found
    return None


def _yields(node: cst.FunctionDef) -> bool:
    return any(isinstance(n, cst.Yield) for n in _own_nodes(node))


def _own_nodes(node: cst.FunctionDef):  # noqa: ANN202 - an iterator of libcst nodes
    """The nodes of a function's body, without those of functions, classes and lambdas inside it."""
    todo: list[cst.CSTNode] = [node.body]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(c for c in current.children if not isinstance(c, (cst.FunctionDef, cst.ClassDef, cst.Lambda)))
