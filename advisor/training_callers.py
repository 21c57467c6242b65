"""Which project script runs this module's training loop on a CUDA GPU (GL101 across modules).

A common layout keeps the loop in `training.py` (`def train(model, loader, opt, device)`) and the
decisions in `main.py`: `device = "cuda"`, `model.to(device)`, `train(model, ..., device)`. Linted
alone, `training.py` names no GPU, so GL101 stayed silent on the loop (christianmcb/Deep-Learning-
Project c1e2779 code/training.py, called from code/main.py). This module answers, for a file that
defines a function holding a training step or loop, which project file imports that function
(directly, or through a package `__init__.py` that re-exports it), calls it, and names a CUDA
device (its own literal "cuda", `.cuda()`, or a device bound in a project module it imports).

It says nothing when any such caller turns on reduced precision in any spelling (autocast,
GradScaler, `.half()`, a bf16/fp16 dtype or flag, a `precision=`/`mixed_precision` setting, an
8/4-bit load): the run then decides precision where the loop is not, and a text test cannot tell
which run uses which setting. Only text scans and the exports the project index already caches.
"""

from __future__ import annotations

from dataclasses import dataclass

import re
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint.loader_consumers import binds_cuda_device

if TYPE_CHECKING:
    from greenlint.project_index import ProjectIndex

_MAX_IMPORTERS = 8  # read at most this many importers of the module (and of a re-exporting package)
# a CUDA device named in the caller's own text
_CUDA_TEXT = re.compile(r"""["']cuda(?::\d+)?["']|\.cuda\(""")
# any spelling of reduced precision (deliberately broad: a false match only keeps GL101 silent)
_REDUCED_PRECISION = re.compile(
    r"autocast|GradScaler|\.half\(|bfloat16|float16|\bbf16\b|\bfp16\b|mixed_precision|precision\s*=|"
    r"load_in_[48]bit|BitsAndBytes|\bamp\b|\bapex\b"
)


@dataclass(frozen=True)
class Caller:
    """A project file that imports `path`'s training functions and calls one of them."""

    path: Path
    text: str
    via_star: bool  # found through `from module import *` (only GL403's cuDNN question follows those)
    is_test: bool  # a test that calls the loop is not the training run (GL101, GL403's CNN question)


def calling_files(index: ProjectIndex, path: Path, text: str) -> list[Caller]:
    """Every project file that imports `path`'s training functions (`text` is `path`'s source) and
    calls one of them, each read once: the questions below all ask about the same few files, so the
    project index reads them once per training module and hands the list to each question."""
    exports = index.exports_of(path)
    if exports is None:
        return []
    functions = set(exports.step_functions) | set(exports.loop_functions)
    if not functions:
        return []
    functions |= _entry_points(text, functions)
    # `from utils import *` (share020/dl's main.py) imports every training function too
    candidates = [(importer, set(functions), True) for importer in index.star_importers_of(path)[:_MAX_IMPORTERS]]
    candidates += [(importer, names, False) for importer, names in _importers(index, path, functions)]
    found: list[Caller] = []
    for importer, names, via_star in candidates:
        try:
            caller_text = importer.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(f"{name}(" in caller_text or _dispatched(name, caller_text) for name in names):
            is_test = importer.name.startswith("test_") or "tests" in importer.parts
            found.append(Caller(importer, caller_text, via_star, is_test))
    return found


def training_callers(callers: list[Caller]) -> list[tuple[Path, str]]:
    """(file, its text) of the callers that are training runs: where the model that the module
    trains is built (caller_workload.py reads them)."""
    return [(c.path, c.text) for c in callers if not c.via_star and not c.is_test]


def gpu_training_caller(index: ProjectIndex, callers: list[Caller]) -> str:
    """A phrase naming the project file that runs the module's training function on a CUDA device
    with no reduced precision anywhere in the callers; "" when none does (or any caller sets one)."""
    found = ""
    for caller in training_callers(callers):
        importer, text = caller
        if _REDUCED_PRECISION.search(text):
            return ""  # a run of this loop may well be in mixed precision: stay silent
        if not found and _names_cuda(index, importer, text):
            shown = index.relative_path(importer) or str(importer)
            found = f"`{shown}`, which puts the run on a CUDA device"
    return found


# a cuDNN choice written in a caller: benchmark mode set, or determinism asked for
_CUDNN_CHOICE = re.compile(r"cudnn\.(?:benchmark|deterministic)\s*=|use_deterministic_algorithms\(")


def cudnn_setting_caller(index: ProjectIndex, callers: list[Caller]) -> str:
    """A phrase naming the project file that imports and calls the module's training function and
    sets `cudnn.benchmark` or cuDNN determinism itself: `main.py` sets `cudnn.benchmark = True` and
    runs `train_model` of `utils.py` (share020/dl 8c5d0ac assignments/mp4/src/part-2, blind4).
    "" when no caller does."""
    for caller in callers:
        if _CUDNN_CHOICE.search(caller.text):
            return f"`{index.relative_path(caller.path) or caller.path}` sets cuDNN's algorithm choice"
    return ""


# a fixed input size written in a caller: `Resize((64, 64))`, `RandomResizedCrop(224)`, `CenterCrop(256)`
_FIXED_SIZE_TEXT = re.compile(r"\b(?:Resize|CenterCrop|RandomCrop|RandomResizedCrop)\(\s*[\(\[]?\s*(\d+)")
# a convolutional model: its layers, or a torchvision/timm builder of a CNN
_CONV_TEXT = re.compile(
    r"\bConv[123]d\(|\b(?i:resnet|resnext|wide_resnet|vgg|densenet|efficientnet|convnext|regnet|mobilenet|unet)\w*\("
)
_TINY_SIDE = 32  # GL403's floor: MNIST/CIFAR-size inputs do not count


def cnn_training_caller(index: ProjectIndex, callers: list[Caller]) -> str:
    """A phrase naming the project script that runs the module's training function on a convolutional
    model (built in it, or in a project module it imports) at a fixed input size larger than 32
    pixels, and leaves cuDNN's choice alone: `run.py` resizes every image to 64x64, builds `VGG` of
    `VGG.py` and calls `train` of `training.py` (KostaR99/VGG16_like_NN d694bb9, blind). "" when
    no caller does, or any caller sets cuDNN's choice (GL403)."""
    found = ""
    for c in callers:
        if c.via_star:
            continue
        importer, caller = c.path, c.text
        if _CUDNN_CHOICE.search(caller):
            return ""  # this run's cuDNN choice is made there
        sides = [int(side) for side in _FIXED_SIZE_TEXT.findall(caller)]
        if found or not sides or max(sides) <= _TINY_SIDE or not _builds_cnn(index, importer, caller):
            continue
        shown = index.relative_path(importer) or str(importer)
        found = f"is run by `{shown}` on a convolutional model at a fixed {max(sides)}-pixel input size"
    return found


def _builds_cnn(index: ProjectIndex, importer: Path, text: str) -> bool:
    """The caller's text builds a CNN, or a project module it imports holds convolution layers."""
    if _CONV_TEXT.search(text):
        return True
    from greenlint.import_scan import scan_imports

    package = index.package_of(importer) or ""
    for statement in scan_imports(text, package)[:_MAX_IMPORTERS]:
        target = index.module_file(statement.module, importer, package)
        if target is None or target == importer:
            continue
        try:
            if _CONV_TEXT.search(target.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


# a top-level `def` or `class` (a class ends the text of the function before it)
_TOP_LEVEL_DEF = re.compile(r"^(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)


def _dispatched(name: str, text: str) -> bool:
    """`trainer = {'Synapse': trainer_synapse}` then `trainer[dataset](args, net)`: the function is a
    value of a dispatch table, called through it (Beckschen/TransUNet's train.py, blind40)."""
    return re.search(r":\s*" + re.escape(name) + r"\s*[,}]", text) is not None


def _entry_points(text: str, functions: set[str]) -> set[str]:
    """Top-level functions whose text calls one of `functions`: `train_model()` that runs
    `train_epoch()` once per epoch is what a script imports (paolorechia/common-lit-kaggle 795b53e
    common_lit_kaggle/modeling/training.py). One level, read from the text between two `def`s."""
    starts = [(m.start(), m.group(1), m.group(2)) for m in _TOP_LEVEL_DEF.finditer(text)]
    found: set[str] = set()
    for i, (start, kind, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        body = text[text.find(":", start):end]
        if kind == "def" and name not in functions and any(f"{callee}(" in body for callee in functions):
            found.add(name)
    return found


def _importers(index: ProjectIndex, path: Path, functions: set[str]) -> list[tuple[Path, set[str]]]:
    """(file, the training functions it imports from `path`), following one package `__init__.py`
    that re-exports them (`from .training import train_model`)."""
    found: list[tuple[Path, set[str]]] = []
    for importer, imported in index.importers_of(path)[:_MAX_IMPORTERS]:
        names = imported & functions
        if not names:
            continue
        if importer.name == "__init__.py" and importer.parent == path.parent:
            for outer, outer_names in index.importers_of(importer)[:_MAX_IMPORTERS]:
                if outer_names & names:
                    found.append((outer, outer_names & names))
        else:
            found.append((importer, names))
    return found


def _names_cuda(index: ProjectIndex, importer: Path, text: str) -> bool:
    if _CUDA_TEXT.search(text):
        return True
    exports = index.exports_of(importer)
    return exports is not None and binds_cuda_device(index, importer, exports)
