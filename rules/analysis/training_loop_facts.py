"""Analysis shared by the training-loop hygiene rules (GL4xx).

- `walk`: every node under a node, without recursion (deep expressions must not overflow).
- `loop_header`: the `for x in loader` text of a loop, for messages.
- `GradContexts`: which loops and calls run with autograd switched off (`with torch.no_grad():`,
  `@torch.inference_mode()`, `with torch.set_grad_enabled(False):` ...), and which run under a
  debugging or profiling context manager. One extra walk of the module, done only when a rule asks
  for it, and remembered for the rest of that module's rules.
- framework tests: does the module use PyTorch, Keras/TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import LoopInfo
from greenlint.rules.analysis.names import ImportTable
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, literal_value
from greenlint.rules.analysis.scope_facts import imports_test_code
from greenlint.rules import fixes
from greenlint.rules.analysis.tree import walk

# The prefilter group that GPU-only rules share with GL101: a GPU module names one of these.
GPU_WORDS = ("cuda", "device_map", "DataParallel", "Accelerator", "gpu", "accelerator")

# Context managers / decorators that switch autograd off for what they enclose.
NO_GRAD = frozenset(
    {
        "torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad",
        "torch.autograd.inference_mode", "torch.autograd.grad_mode.inference_mode",
    }
)
SET_GRAD_ENABLED = frozenset(
    {"torch.set_grad_enabled", "torch.autograd.set_grad_enabled", "torch.autograd.grad_mode.set_grad_enabled"}
)


# `tf.function` as a decorator or a call: the TF training step compiled into a graph (GL411, GL419)
TF_FUNCTION = frozenset({"tensorflow.function", "tensorflow.compat.v2.function"})


def is_tf_function(decorator: cst.BaseExpression, imports: ImportTable) -> bool:
    """`@tf.function` or `@tf.function(jit_compile=True)`: the decorated function is traced."""
    return imports.resolve(decorator.func if isinstance(decorator, cst.Call) else decorator) in TF_FUNCTION


def loop_header(analysis: ModuleAnalysis, loop: LoopInfo) -> str:
    return fixes.loop_header(analysis.module, loop.node)


def imports_module(analysis: ModuleAnalysis, *prefixes: str) -> bool:
    """Does any import of the module bind a name from one of these top-level packages?"""
    for qualified in analysis.facts.imports.bindings.values():
        head = qualified.split(".", 1)[0]
        if head in prefixes:
            return True
    return False


def uses_torch(analysis: ModuleAnalysis) -> bool:
    return imports_module(analysis, "torch")


def uses_keras(analysis: ModuleAnalysis) -> bool:
    return imports_module(analysis, "tensorflow", "keras", "tf_keras")


def _grad_off(expr: cst.BaseExpression, analysis: ModuleAnalysis) -> bool:
    """Does this with-item or decorator switch autograd off (or leave it to the user)?"""
    call = expr if isinstance(expr, cst.Call) else None
    func = call.func if call is not None else expr
    qualname = analysis.facts.imports.resolve(func)
    if qualname in NO_GRAD:
        if call is not None and qualname.endswith("inference_mode"):
            mode = literal_value(argument(call, "mode", 0))
            return mode is not False  # inference_mode(False) switches it back on
        return True
    if qualname in SET_GRAD_ENABLED and call is not None:
        value = literal_value(argument(call, "mode", 0))
        # set_grad_enabled(phase == "train"): the user decides at run time, not our business
        return value is NOT_LITERAL or value is False
    if qualname is not None and qualname in analysis.facts.context.grad_off:
        return True  # the project's own wrapper, defined in another module (`@smart_inference_mode()`)
    if qualname is None and isinstance(func, cst.Name):
        return func.value in _local_grad_off_wrappers(analysis)
    return False


def _local_grad_off_wrappers(analysis: ModuleAnalysis) -> frozenset[str]:
    """Top-level functions of this module that return an autograd switch applied to something
    (`return torch.inference_mode()(fn)`) or yield inside one (`@contextmanager`): decorating or
    entering them switches autograd off. A function merely decorated with `@torch.no_grad()` is
    its own no-grad region, not a wrapper. Computed once per module, when first asked."""
    cached = analysis.__dict__.get("_grad_off_wrappers")
    if cached is not None:
        return cached
    resolve = analysis.facts.imports.resolve
    found: set[str] = set()
    for name, infos in analysis.facts.functions.items():
        for info in infos:
            if info.class_name is None and _wraps_grad_off(info.node, resolve):
                found.add(name)
    result = frozenset(found)
    analysis.__dict__["_grad_off_wrappers"] = result
    return result


def _wraps_grad_off(function: cst.FunctionDef, resolve) -> bool:  # noqa: ANN001
    with_items: set[int] = set()
    yields = False
    for node in walk(function.body):
        if isinstance(node, cst.With):
            for item in node.items:
                with_items.add(id(item.item))
                if isinstance(item.item, cst.Call):
                    with_items.add(id(item.item.func))
        elif isinstance(node, cst.Yield):
            yields = True
    for node in walk(function.body):
        if isinstance(node, (cst.Attribute, cst.Name)) and resolve(node) in NO_GRAD:
            if id(node) not in with_items or yields:
                return True
    return False


@dataclass
class GradContexts:
    """Found by a walk over statements only (cheap: expressions are not visited)."""

    # ids of For/While nodes that run with autograd off
    grad_off: set[int] = field(default_factory=set)
    # id of a For/While node -> (qualified name, id of the with-item expression) for each `with`
    # around it in the module, outermost first
    withs: dict[int, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    # the `with` statements and decorated functions whose bodies run with autograd off
    grad_off_regions: list[cst.CSTNode] = field(default_factory=list)
    # every `with` statement: (statement, [(qualified name, item expression)])
    with_statements: list[tuple[cst.With, list[tuple[str, cst.BaseExpression]]]] = field(default_factory=list)

    _grad_off_calls: set[int] | None = None

    def call_grad_off(self, call: cst.Call) -> bool:
        """Does this call run with autograd off? (walks the no-grad regions once, when first asked)"""
        if self._grad_off_calls is None:
            self._grad_off_calls = {
                id(node) for region in self.grad_off_regions for node in walk(region) if isinstance(node, cst.Call)
            }
        return id(call) in self._grad_off_calls


def _compound_bodies(statement: cst.BaseCompoundStatement) -> list[cst.BaseSuite]:
    bodies: list[cst.BaseSuite] = []
    if isinstance(statement, cst.Match):
        return [case.body for case in statement.cases]
    bodies.append(statement.body)
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):  # elif chain
            bodies.append(orelse.body)
            orelse = orelse.orelse
        else:
            bodies.append(orelse.body)
            orelse = None
    for handler in getattr(statement, "handlers", ()):
        bodies.append(handler.body)
    finalbody = getattr(statement, "finalbody", None)
    if finalbody is not None:
        bodies.append(finalbody.body)
    return bodies


def _grad_contexts(analysis: ModuleAnalysis) -> GradContexts:
    result = GradContexts()
    resolve = analysis.facts.imports.resolve
    # (statement, grad-off depth, with stack)
    stack: list[tuple[cst.CSTNode, int, tuple[tuple[str, int], ...]]] = [
        (statement, 0, ()) for statement in reversed(analysis.module.body)
    ]
    while stack:
        statement, off, withs = stack.pop()
        if not isinstance(statement, cst.BaseCompoundStatement):
            continue
        if isinstance(statement, cst.FunctionDef):
            if any(_grad_off(d.decorator, analysis) for d in statement.decorators):
                off += 1
                result.grad_off_regions.append(statement)
        elif isinstance(statement, cst.With):
            items = []
            for item in statement.items:
                expr = item.item
                qualname = resolve(expr.func if isinstance(expr, cst.Call) else expr)
                if qualname is not None:
                    items.append((qualname, expr))
                    withs = (*withs, (qualname, id(expr)))
                if _grad_off(expr, analysis):
                    off += 1
                    result.grad_off_regions.append(statement)
            result.with_statements.append((statement, items))
        elif isinstance(statement, (cst.For, cst.While)):
            if off:
                result.grad_off.add(id(statement))
            if withs:
                result.withs[id(statement)] = withs
        for body in _compound_bodies(statement):
            inner = body.body if isinstance(body, cst.IndentedBlock) else ()
            stack.extend((child, off, withs) for child in reversed(inner))
    return result


_cache: list[tuple[ModuleAnalysis, GradContexts]] = []


def grad_contexts(analysis: ModuleAnalysis) -> GradContexts:
    """The grad/with contexts of the module's loops (computed once per module)."""
    if _cache and _cache[0][0] is analysis:
        return _cache[0][1]
    result = _grad_contexts(analysis)
    _cache[:] = [(analysis, result)]
    return result


# ---- convolutional models ------------------------------------------------------------------------

_CONV_CLASSES = {"Conv1d": 1, "Conv2d": 2, "Conv3d": 3, "ConvTranspose2d": 2, "ConvTranspose1d": 1, "ConvTranspose3d": 3}
# torchvision / timm builders of 2-D CNNs (prefixes of the builder's name)
CNN_BUILDERS = (
    "resnet", "resnext", "wide_resnet", "vgg", "densenet", "mobilenet", "efficientnet", "alexnet",
    "inception", "googlenet", "regnet", "convnext", "shufflenet", "squeezenet", "mnasnet", "ghostnet",
    "dla", "dpn", "hrnet", "rexnet", "cspresnet", "cspdarknet", "darknet", "seresnet", "senet", "xception",
    "nfnet", "dm_nfnet", "res2net", "resnest", "tresnet", "deeplabv3", "fcn_resnet", "lraspp", "unet",
)
CNN_TRIGGER = ("Conv1d", "Conv2d", "Conv3d", "resnet", "vgg", "densenet", "mobilenet", "efficientnet",
               "alexnet", "inception", "googlenet", "regnet", "convnext", "shufflenet", "squeezenet", "mnasnet")


def conv_evidence(analysis: ModuleAnalysis, dims: tuple[int, ...] = (1, 2, 3)) -> str | None:
    """A phrase naming the convolutional model this module builds, or None: `nn.Conv2d` layers, or
    a torchvision/timm CNN builder (`torchvision.models.resnet50`, `timm.create_model("resnet50")`)."""
    for site in analysis.facts.calls:
        qualname = site.qualname
        if qualname is None:
            continue
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torch.nn.") and _CONV_CLASSES.get(last) in dims:
            return f"builds `nn.{last}` layers"
        if (
            2 in dims
            and qualname.startswith(("torchvision.models.", "timm.models."))
            and last.lower().startswith(CNN_BUILDERS)
            and "weights" not in last.lower()
        ):
            return f"builds `{last}`"
        if 2 in dims and qualname in ("timm.create_model", "timm.models.create_model"):
            name = literal_value(argument(site.node, "model_name", 0))
            if isinstance(name, str) and name.lower().startswith(CNN_BUILDERS):
                return f'builds `timm.create_model("{name}")`'
    return None


# torchvision datasets whose images all have one size, with that size's longer side in pixels
_FIXED_SIZE_DATASETS = {
    "MNIST": 28, "FashionMNIST": 28, "KMNIST": 28, "EMNIST": 28, "QMNIST": 28, "USPS": 16,
    "CIFAR10": 32, "CIFAR100": 32, "SVHN": 32, "STL10": 96,
}
_CROPS = frozenset({"CenterCrop", "RandomCrop", "RandomResizedCrop", "FiveCrop", "TenCrop"})
_TENSOR_FACTORIES = frozenset({"torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty"})
# Inputs of at most this many pixels a side (MNIST/CIFAR-size): GL403's evidence (224-px images,
# speech) does not cover them, and their convolutions are too small for the algorithm choice to matter.
TINY_INPUT_SIDE = 32


def fixed_input_size_evidence(analysis: ModuleAnalysis, min_side: int | None = None) -> str | None:
    """A phrase showing that the model sees one input size larger than MNIST/CIFAR-size images, or
    None: a fixed-size torchvision dataset (STL10), a crop or `Resize((h, w))` transform, or a 4-D/5-D
    tensor with literal sizes made inside the training loop. Evidence of inputs of at most 32 pixels
    a side (MNIST, CIFAR, a `RandomCrop(32)`) does not count, and neither does a transform of unknown
    size in a module that trains on such a dataset (`Resize(opt.img_size)` on MNIST). `min_side` (GL403,
    for a deep CNN) lowers that floor: inputs of at least that many pixels a side count."""
    tiny = TINY_INPUT_SIDE if min_side is None else min_side - 1
    found: list[tuple[str, int | None]] = []  # (phrase, longer side in pixels when known)
    tiny_dataset = False
    smaller_dataset = False  # MNIST-size images (padded to 32 by a crop, they are still MNIST)
    for site in analysis.facts.calls:
        qualname = site.qualname
        if qualname is None:
            continue
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torchvision.datasets.") and last in _FIXED_SIZE_DATASETS:
            side = _FIXED_SIZE_DATASETS[last]
            tiny_dataset = tiny_dataset or side <= tiny
            smaller_dataset = smaller_dataset or side < TINY_INPUT_SIDE
            found.append((f"trains on `{last}`, whose images all have one size", side))
        elif qualname.startswith(("torchvision.transforms.", "albumentations.")):
            if last in _CROPS and site.node.args:
                found.append((f"crops inputs to a fixed size (`{last}`)", _side(argument(site.node, "size", 0))))
            elif last == "Resize":
                size = literal_value(argument(site.node, "size", 0))
                if isinstance(size, (tuple, list)) and len(size) == 2 or qualname.startswith("albumentations."):
                    found.append(("resizes inputs to a fixed size (`Resize((h, w))`)", _side(argument(site.node, "size", 0))))
        elif last in _CROPS and qualname.rpartition(".")[0] in analysis.facts.context.local_modules:
            # the project's own crop transform with a literal size (xuebinqin/U-2-Net's
            # `RandomCrop(288)` from data_loader.py, blind33 post hoc): a size it cannot read is no evidence
            side = _side(argument(site.node, "output_size", 0))
            if side is not None:
                found.append((f"crops inputs to a fixed size (`{last}({side})` of the project)", side))
        elif qualname in _TENSOR_FACTORIES and site.loop is not None and any(lp.does_training for lp in site.loop.enclosing()):
            # synthetic inputs made in the training loop (a dummy tensor for a shape check proves nothing)
            sizes = [literal_value(arg.value) for arg in site.node.args if arg.keyword is None and not arg.star]
            if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
                sizes = list(sizes[0])
            if len(sizes) in (4, 5) and all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
                found.append(("feeds fixed-size tensors", max(sizes[2:])))
    imported = analysis.facts.context.fixed_size_inputs
    if imported is not None and not found:
        found.append(imported)  # `from .transforms import train_transform` (RandomCrop(288) there)
    for phrase, side in found:
        if side is not None and side > tiny and not (side <= TINY_INPUT_SIDE and smaller_dataset):
            return phrase
    for phrase, side in found:
        if side is None and not tiny_dataset:
            return phrase
    return None


def _side(size: cst.BaseExpression | None) -> int | None:
    """The longer side of a literal transform size (`32`, `(224, 224)`), or None."""
    value = literal_value(size)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return max(value)
    return None


def is_test_module(analysis: ModuleAnalysis) -> bool:
    """A test module (test framework or test helpers imported): it exercises APIs, it is not a
    training workload."""
    return imports_test_code(analysis.facts.imports)


def looks_like_test_code(analysis: ModuleAnalysis) -> bool:
    """A test module, or a script of test entry points (`def numerical_test():`, `def test_x():` at
    the top level, taking no arguments). Debug switches are expected there."""
    if is_test_module(analysis):
        return True
    for name, functions in analysis.facts.functions.items():
        if name.startswith("test_") or name.endswith("_test"):
            if any(f.class_name is None and not f.params for f in functions):
                return True
    return False
