"""The facts a module offers to the modules that import it, read with `ast` (about 8x cheaper
than libcst) and only for local modules that some linted file imports.

What crosses a module line (see docs/architecture.md, "The project index"):
- names bound to a CUDA device: `DEVICE = torch.device("cuda" ...)`, a class attribute
  `Config.device = "cuda"` (also set in `__init__`), and module-level instances of such a class;
- functions and classes whose body runs under autocast or in half precision (`Net.forward`);
- wrappers that switch autograd off: a function that returns `torch.no_grad()` /
  `torch.inference_mode()` applied to something (`smart_inference_mode`), or a
  `@contextmanager` that yields inside `with torch.no_grad():`;
- module constants (str, int, float, bool, None), literal class attributes and dataclass field
  defaults (`Config.epochs`), and module-level instances of such a class (`config.epochs`);
- what `from module import *` binds (its `__all__`, or its public names and imports).
Nothing is imported or run: the text is parsed, never executed. The tests applied to each function
body are in exported_functions.py, the literal-value readers in exported_constants.py.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from greenlint.model_layers import heavy_model_phrase, small_model_phrase
from greenlint.exported_constants import (
    _assigned_names,
    _class_constants,
    _constant,
    _dotted,
    _instance_constants,
    _stored_attributes,
    attribute_constants,
)
from greenlint.exported_functions import _is_grad_off_wrapper, _runs_half, _training_kind, fixed_size_transforms
from greenlint.exported_generators import per_item_work
from greenlint.rules.per_item_calls import WORK_WORDS


@dataclass
class ModuleExports:
    bindings: dict[str, str] = field(default_factory=dict)  # the module's own import table
    star_modules: list[str] = field(default_factory=list)  # modules it star-imports (absolute strings)
    public: list[str] = field(default_factory=list)  # what `from it import *` binds of its own names
    devices: dict[str, str] = field(default_factory=dict)  # "DEVICE" / "Config.device" -> source phrase
    autocast: dict[str, str] = field(default_factory=dict)  # "Net" / "train_step" -> "`Net.forward`"
    autocast_functions: list[str] = field(default_factory=list)  # the functions among them (not classes)
    # functions that run one training step (backward and an optimizer step, not in a loop of their
    # own) and functions that hold a whole training loop: a loop elsewhere calling them trains
    step_functions: list[str] = field(default_factory=list)
    loop_functions: list[str] = field(default_factory=list)
    grad_off: dict[str, str] = field(default_factory=dict)  # "smart_inference_mode" -> phrase
    constants: dict[str, Any] = field(default_factory=dict)
    # Dataset classes whose `__getitem__` reads or decodes a file per item: "DFUDataset" -> "calls `cv2.imread`"
    # (GL306 asks it of a dataset built from another module)
    file_datasets: dict[str, str] = field(default_factory=dict)
    # training functions (step or loop) that put their work on a CUDA device themselves (`device =
    # torch.device("cuda" ...)` inside `train()`): a DataLoader passed to them feeds a GPU (GL306)
    gpu_trainers: dict[str, str] = field(default_factory=dict)
    # Lightning-style modules that validate (`validation_step` / `val_dataloader`) and configure
    # no early stopping anywhere in their module: a `Trainer.fit` elsewhere validates them (GL502)
    validating_classes: list[str] = field(default_factory=list)
    # top-level names (a transform pipeline, a dataset class, a builder function) that crop or
    # resize images to one literal size: "train_transform" -> ("`RandomCrop(288)`", 288). A
    # training script that uses one feeds its model fixed-size inputs (GL403's cuDNN autotuner)
    fixed_size_inputs: dict[str, tuple[str, int]] = field(default_factory=dict)
    # top-level functions and classes that read, decode or transform an image (or a sound, an array
    # file) per call: "get_random_data" -> "calls `PIL.Image.open`"; `batch_generators` names the
    # Python generators among them. A Keras fit over one runs that work in one thread (GL306)
    per_item_work: dict[str, str] = field(default_factory=dict)
    batch_generators: list[str] = field(default_factory=list)
    # model classes (subclasses) of a module that builds convolutions (`nn.Conv2d` anywhere in it):
    # "BiSeNet", "U2NET". A script that trains one trains a CNN (GL403's cuDNN autotuner)
    conv_classes: list[str] = field(default_factory=list)
    # model classes built only of small layers of known width: "SRCNN" -> "a small CNN (3 convolutions,
    # at most 64 channels)" (model_layers.py); a script that trains one is launch-bound (GL101)
    small_models: dict[str, str] = field(default_factory=dict)
    # model classes whose layers show a compute-heavy model: "Cnn14" -> "a CNN of 6 convolution layers
    # up to 2048 channels" (model_layers.py); a script that trains one has a compute-heavy step (GL101)
    heavy_models: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ModuleExports | None:
        """None for anything that is not what `to_json` wrote (a damaged cache entry is a miss)."""
        if not isinstance(data, dict):
            return None
        try:
            exports = cls(**data)
        except TypeError:
            return None
        shapes = (
            (exports.bindings, dict), (exports.star_modules, list), (exports.public, list),
            (exports.devices, dict), (exports.autocast, dict), (exports.autocast_functions, list),
            (exports.step_functions, list), (exports.loop_functions, list),
            (exports.grad_off, dict), (exports.constants, dict), (exports.file_datasets, dict),
            (exports.gpu_trainers, dict), (exports.validating_classes, list), (exports.fixed_size_inputs, dict),
            (exports.per_item_work, dict), (exports.batch_generators, list), (exports.conv_classes, list),
            (exports.small_models, dict), (exports.heavy_models, dict),
        )
        return exports if all(isinstance(value, kind) for value, kind in shapes) else None


def absolute_module(module: str, level: int, package: str) -> str | None:
    """`from ..x import y` inside package "a.b.c" -> "a.b.x"; None when it climbs above the root."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


class _Resolver:
    def __init__(self, bindings: dict[str, str]) -> None:
        self.bindings = bindings

    def __call__(self, node: ast.AST) -> str | None:
        name = _dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.bindings.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base


def _import_bindings(tree: ast.Module, package: str) -> tuple[dict[str, str], list[str], bool]:
    """The module's import table and star imports, and whether any node of the tree could make
    `_mentions_cuda` true (a "cuda" string, an `.is_available` attribute): when none does, no
    part of the module is searched for one (the same walk, so the answer costs no extra pass)."""
    bindings: dict[str, str] = {}
    stars: list[str] = []
    cuda = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    bindings[head] = head
        elif isinstance(node, ast.ImportFrom):
            module = absolute_module(node.module or "", node.level, package)
            if module is None:
                continue
            for alias in node.names:
                if alias.name == "*":
                    stars.append(module)
                elif module:
                    bindings[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif not cuda:
            if isinstance(node, ast.Constant):
                cuda = isinstance(node.value, str) and (node.value == "cuda" or node.value.startswith("cuda:"))
            elif isinstance(node, ast.Attribute):
                cuda = node.attr == "is_available"
    return bindings, stars, cuda


def _written(text: str | None, *words: str) -> bool:
    """Can a name made of these words occur in the module? `text` is None for a non-ASCII
    module: the tree's identifiers are NFKC-normalised, so its text alone cannot say."""
    return text is None or any(word in text for word in words)


def _mentions_cuda(node: ast.AST, resolve: _Resolver) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            if sub.value == "cuda" or sub.value.startswith("cuda:"):
                return True
        elif isinstance(sub, ast.Attribute) and sub.attr == "is_available":
            if (resolve(sub) or "").startswith("torch.cuda"):
                return True
    return False


def _defines(node: ast.ClassDef, methods: tuple[str, ...]) -> bool:
    return any(isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in methods for m in node.body)


def _on_cuda(function: ast.AST, resolve: _Resolver) -> bool:
    """The function names the CUDA device itself (a "cuda" string, `torch.cuda.is_available()`) or
    calls `.cuda()`."""
    if _mentions_cuda(function, resolve):
        return True
    return any(
        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "cuda" and not sub.args
        for sub in ast.walk(function)
    )


def _phrase(text: str, node: ast.AST, limit: int = 70) -> str:
    segment = ast.get_source_segment(text, node) or ""
    segment = " ".join(segment.split())
    return segment if len(segment) <= limit else segment[: limit - 3] + "..."


def _class_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a class body, with those of its `if`/`else` branches: a config class may
    pick its device in one (`if len(gpu_ids) > 1: device = ... else: device = torch.device("cuda:3")`,
    huutrinh68/global-wheat-detection 0d87128 project/code/config.py)."""
    found: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, ast.If):
            found.extend(_class_level(statement.body + statement.orelse))
        else:
            found.append(statement)
    return found


def _class_devices(node: ast.ClassDef, text: str, resolve: _Resolver) -> dict[str, str]:
    """Class attributes, and `self.x = ...` in its methods, bound to a CUDA device."""
    found: dict[str, str] = {}
    for statement in _class_level(node.body):
        for name, value in _assigned_names(statement):
            if _mentions_cuda(value, resolve):
                found[name] = _phrase(text, statement)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(statement):
                if isinstance(sub, ast.Assign) and _mentions_cuda(sub.value, resolve):
                    for target in sub.targets:
                        if isinstance(target, ast.Attribute) and _dotted(target.value) == "self":
                            found.setdefault(target.attr, _phrase(text, sub))
    return found


def extract_exports(text: str, package: str) -> ModuleExports:
    """The exports of one module's source text; a module that does not parse exports nothing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code are not ours
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ModuleExports()
    bindings, stars, cuda = _import_bindings(tree, package)
    resolve = _Resolver(bindings)
    exports = ModuleExports(bindings=bindings, star_modules=stars)
    # Each search below looks for a name that must be written in the module (a resolved name is
    # made of the module's own words); a module without any of those words skips that search.
    words = text if text.isascii() else None
    half = _written(words, "autocast", "half", "float16")  # autocast, .half(), float16, bfloat16
    trains = _written(words, "backward")
    grad_off = _written(words, "no_grad", "inference_mode")
    validates = "validation_step" in text or "val_dataloader" in text
    # early stopping, or a learning-rate schedule that may need its full length, set up in the module
    validates = validates and not any(w in text.lower().replace("_", "") for w in ("earlystop", "scheduler", "onecycle", "cosine"))
    convolutional = "Conv" in text and _builds_convolutions(tree)
    layered = convolutional or "Linear" in text
    own_names: list[str] = []
    class_devices: dict[str, dict[str, str]] = {}
    class_constants: dict[str, dict[str, Any]] = {}
    stored = _stored_attributes(tree)
    module_functions = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            own_names.append(statement.name)
            how = _runs_half(statement.body, resolve) if half else None
            if how is not None:
                exports.autocast[statement.name] = f"`{statement.name}()` runs under {how}"
                exports.autocast_functions.append(statement.name)
            kind = _training_kind(statement) if trains else None
            if kind is not None and cuda and _on_cuda(statement, resolve):
                exports.gpu_trainers[statement.name] = f"`{statement.name}()` trains on a CUDA device"
            if kind == "step":
                exports.step_functions.append(statement.name)
            elif kind == "loop":
                exports.loop_functions.append(statement.name)
            if grad_off and _is_grad_off_wrapper(statement, resolve):
                exports.grad_off[statement.name] = f"`{statement.name}` switches autograd off"
        elif isinstance(statement, ast.ClassDef):
            own_names.append(statement.name)
            if convolutional and statement.bases:
                exports.conv_classes.append(statement.name)
            small = small_model_phrase(statement, resolve) if statement.bases and layered else None
            if small is not None:
                exports.small_models[statement.name] = small
            heavy = heavy_model_phrase(statement, resolve) if statement.bases and layered and small is None else None
            if heavy is not None:
                exports.heavy_models[statement.name] = heavy
            for method in statement.body if trains else ():
                # a model class whose method runs the training step (hzwer/ECCV2022-RIFE's
                # `Model.update`: backward and `optimG.step()`; blind34, post hoc): a loop that calls
                # it on an instance trains, as a loop calling a step function does
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and not method.name.startswith("__"):
                    kind = _training_kind(method)
                    if kind == "step":
                        exports.step_functions.append(f"{statement.name}.{method.name}")
                    elif kind == "loop":
                        exports.loop_functions.append(f"{statement.name}.{method.name}")
            for method in statement.body if half else ():
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    how = _runs_half(method.body, resolve)
                    if how is not None:
                        exports.autocast.setdefault(
                            statement.name, f"`{statement.name}.{method.name}` runs under {how}"
                        )
            if validates and _defines(statement, ("validation_step", "val_dataloader")):
                exports.validating_classes.append(statement.name)
            reads = _getitem_reads_files(statement, resolve, module_functions)
            if reads is not None:
                exports.file_datasets[statement.name] = reads
            fields = _class_constants(statement, stored)
            class_constants[statement.name] = fields
            for attr, literal in fields.items():
                exports.constants[f"{statement.name}.{attr}"] = literal
            devices = _class_devices(statement, text, resolve) if cuda else {}
            class_devices[statement.name] = devices
            for attr, phrase in devices.items():
                exports.devices[f"{statement.name}.{attr}"] = phrase
        for name, value in _assigned_names(statement):
            own_names.append(name)
            ok, literal = _constant(value)
            if ok:
                exports.constants[name] = literal
            if isinstance(value, ast.Call) and _dotted(value.func) in class_constants:
                # `config = Config()`: the instance reads the class's defaults, with literal keyword
                # overrides (a dataclass's `Config(epochs=90)`); positional arguments are unknown
                for attr, literal in _instance_constants(value, class_constants[_dotted(value.func) or ""]).items():
                    exports.constants[f"{name}.{attr}"] = literal
            if cuda and _mentions_cuda(value, resolve):
                exports.devices[name] = _phrase(text, statement)
            elif isinstance(value, ast.Call) and _dotted(value.func) in class_devices:
                for attr, phrase in class_devices[_dotted(value.func) or ""].items():
                    exports.devices[f"{name}.{attr}"] = phrase  # `cfg = Config()` -> `cfg.device`
    if _written(words, "Crop", "Resize"):
        exports.fixed_size_inputs = fixed_size_transforms(tree, resolve)
    if _written(words, *WORK_WORDS):
        work = per_item_work(tree, resolve)
        exports.per_item_work, exports.batch_generators = work.work, work.generators
    for path, literal in attribute_constants(tree).items():
        exports.constants.setdefault(path, literal)  # `Cfg.TRAIN_EPOCHS = 300` in a config module
    exports.public = _public_names(tree, own_names, bindings)
    return exports


# Per-item file reading and decoding (the file-reading part of dataset_cost.HEAVY_CALLS; kept
# here because the project index must not import the rules' libcst analysis).
_FILE_READS = (
    "PIL.Image.open", "cv2.imread", "cv2.imdecode", "imageio.", "skimage.io.imread", "torchvision.io.read_",
    "torchvision.io.decode_", "torch.load", "numpy.load", "numpy.fromfile", "librosa.load", "soundfile.read",
    "torchaudio.load", "nibabel.load", "tifffile.imread", "pydicom.", "SimpleITK.ReadImage",
)


def _getitem_reads_files(node: ast.ClassDef, resolve: _Resolver, functions: dict[str, ast.AST]) -> str | None:
    """What the class's own `__getitem__` calls that reads or decodes a file, or None. Calls to the
    class's methods (`self.load(path)`) and the module's functions (`_pil_loader(path)`,
    avinashpaliwal/Super-SloMo dataloader.py) are followed two levels down, as the same-module
    analysis does (rules/analysis/dataset_cost.heavy_getitem)."""
    methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if "__getitem__" not in methods:
        return None
    todo, seen = [(methods["__getitem__"], 0)], set()
    while todo:
        function, depth = todo.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        for child in ast.walk(function):
            if not isinstance(child, ast.Call):
                continue
            qualname = resolve(child.func) or ""
            if qualname.startswith(_FILE_READS):
                return f"calls `{qualname}`"
            func = child.func
            called = functions.get(func.id) if isinstance(func, ast.Name) else \
                methods.get(func.attr) if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "self" else None
            if called is not None and depth < 2:
                todo.append((called, depth + 1))
    return None


def _public_names(tree: ast.Module, own_names: list[str], bindings: dict[str, str]) -> list[str]:
    for statement in tree.body:
        for name, value in _assigned_names(statement):
            if name == "__all__":
                ok, literal = _constant(value) if not isinstance(value, (ast.List, ast.Tuple)) else (False, None)
                if isinstance(value, (ast.List, ast.Tuple)):
                    items = [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                    return sorted(set(items))
                if ok and isinstance(literal, str):
                    return [literal]
    names = {n for n in own_names if not n.startswith("_")} | {n for n in bindings if not n.startswith("_")}
    return sorted(names)


_CONVOLUTIONS = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"})


def _builds_convolutions(tree: ast.Module) -> bool:
    """Does the module call `nn.Conv2d(...)` (any spelling ending in a PyTorch convolution layer)?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in _CONVOLUTIONS:
                return True
    return False
