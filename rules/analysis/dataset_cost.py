"""What a DataLoader's dataset costs per item (GL306, GL307): expensive (reads or decodes a file,
runs image transforms or a tokenizer in `__getitem__`), cheap (tensors in memory, or already on
the GPU) or unknown, following names through their assignments and `random_split`.

Separate from data_pipeline_facts.py, which holds what every GL3 rule shares (DataLoader calls,
tokenizers, whether the module trains): only the two DataLoader rules classify datasets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import TokenizerFacts, assigned_values, moves_to_gpu, tokenizer_facts
from greenlint.rules.analysis.dataset_splits import split_sources
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import argument, literal_value
from greenlint.rules.analysis.names import dotted_name, terminal_name
from greenlint.rules.analysis.tree import walk

TENSOR_DATASETS = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"})
WRAPPING_DATASETS = frozenset(
    {
        "torch.utils.data.Subset", "torch.utils.data.dataset.Subset",
        "torch.utils.data.ConcatDataset", "torch.utils.data.dataset.ConcatDataset",
    }
)
DATASET_BASES = frozenset(
    {
        "torch.utils.data.Dataset", "torch.utils.data.dataset.Dataset",
        "torch.utils.data.IterableDataset", "torch.utils.data.dataset.IterableDataset",
    }
)


HEAVY_CALLS = (
    "PIL.Image.open", "cv2.imread", "cv2.imdecode", "imageio.", "skimage.io.imread", "torchvision.io.read_",
    "torchvision.io.decode_", "torch.load", "numpy.load", "numpy.fromfile", "librosa.", "soundfile.read",
    "torchaudio.load", "pandas.read_", "h5py.File", "json.load", "pickle.load", "nibabel.load", "tifffile.imread",
    "scipy.io.", "pydicom.", "SimpleITK.ReadImage", "decord.", "av.open",
)
_HEAVY_METHODS = frozenset({"convert", "decode", "read", "read_text", "read_bytes", "resize", "crop", "imread"})
_TRANSFORM_ATTR = re.compile(r"transform|augment|preprocess|process", re.IGNORECASE)
# torchvision datasets that hold their images in memory: heavy only with CPU image transforms
IN_MEMORY_TORCHVISION = frozenset(
    {"MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "CIFAR10", "CIFAR100", "SVHN", "USPS", "FakeData", "SEMEION"}
)
_CPU_IMAGE_TRANSFORM = re.compile(r"Random|Resize|Crop|Jitter|AutoAugment|AugMix|Blur|Affine|Perspective|Rotation|Erasing")


@dataclass(frozen=True)
class DatasetKind:
    heavy: bool | None  # True: real work per item; False: in-memory tensors; None: cannot tell
    what: str  # phrase for messages: "`ImageFolder` (decodes an image file per item)"
    on_device: bool = False  # the tensors already live on the GPU


UNKNOWN = DatasetKind(None, "")


def heavy_getitem(analysis: ModuleAnalysis, class_name: str) -> str | None:
    """What a dataset class of this module does per item, if it is real work: reads a file, decodes,
    runs a transform or a tokenizer. None when `__getitem__` only indexes memory."""
    facts = analysis.facts
    methods = [f for f in facts.functions.get("__getitem__", []) if f.class_name == class_name]
    if not methods:
        for base in facts.class_bases(class_name):
            if base in facts.classes:
                found = heavy_getitem(analysis, base)
                if found:
                    return found
        return None
    tokenizers = tokenizer_facts(analysis)
    seen: set[int] = set()
    todo = [(methods[0], 0)]
    while todo:
        function, depth = todo.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        for site in function.calls:
            what = _heavy_call(site, facts, tokenizers)
            if what:
                return what
            if depth < 2:
                todo.extend((f, depth + 1) for f in facts.local_functions_called(site))
    return None


def _heavy_call(site: CallSite, facts: ModuleFacts, tokenizers: TokenizerFacts) -> str | None:
    qualname = site.qualname
    if qualname is not None and qualname.startswith(HEAVY_CALLS):
        return f"calls `{qualname}`"
    func = site.node.func
    if isinstance(func, cst.Name) and func.value == "open" and "open" not in facts.imports.bindings:
        return "opens a file"
    if tokenizers.is_tokenizer_call(site):
        return "tokenizes text"
    attr = site.attr
    if site.is_method_call and attr in _HEAVY_METHODS:
        return f"calls `.{attr}()`"
    name = terminal_name(func)
    if name and _TRANSFORM_ATTR.search(name) and isinstance(func, cst.Attribute):
        return f"runs `{dotted_name(func) or name}`"
    return None


def classify_dataset(analysis: ModuleAnalysis, node: cst.BaseExpression | None, depth: int = 0) -> DatasetKind:
    """What a DataLoader's dataset argument costs per item, following names through assignments."""
    if node is None or depth > 3:
        return UNKNOWN
    facts = analysis.facts
    if isinstance(node, (cst.Name, cst.Attribute)):
        qualname = facts.imports.resolve(node)
        if qualname is not None:
            return UNKNOWN
        name = terminal_name(node)
        values = assigned_values(facts, name) if name else []
        if not values and isinstance(node, cst.Name):
            split = split_sources(analysis).get(node.value)  # `train_ds, val_ds = random_split(dataset, ...)`
            values = [split] if split is not None else []
        if not values:
            return UNKNOWN
        kinds = [classify_dataset(analysis, value, depth + 1) for value in values[:4]]
        if any(kind.on_device for kind in kinds):
            return DatasetKind(False, kinds[0].what, on_device=True)
        known = [kind for kind in kinds if kind.heavy is not None]
        if known and all(kind.heavy for kind in known) and len(known) == len(kinds):
            return known[0]
        if known and all(kind.heavy is False for kind in known) and len(known) == len(kinds):
            return known[0]
        return UNKNOWN
    if not isinstance(node, cst.Call):
        return UNKNOWN
    qualname = facts.imports.resolve(node.func)
    if qualname in TENSOR_DATASETS:
        on_device = moves_to_gpu(node) or any(
            moves_to_gpu(value)
            for arg in node.args
            if isinstance(arg.value, cst.Name)
            for value in assigned_values(facts, arg.value.value)
        )
        return DatasetKind(False, "`TensorDataset` (tensors in memory)", on_device=on_device)
    if qualname in WRAPPING_DATASETS:
        inner = argument(node, "dataset", 0)
        if qualname.endswith("ConcatDataset") and isinstance(inner, (cst.List, cst.Tuple)) and inner.elements:
            inner = inner.elements[0].value
        return classify_dataset(analysis, inner, depth + 1)
    if qualname is not None and qualname in facts.context.file_datasets:
        # a dataset class of another project module that reads a file per item (code/dataset.py's
        # `__getitem__` calls cv2.imread)
        return DatasetKind(True, f"`{qualname.rsplit('.', 1)[-1]}` (its `__getitem__` {facts.context.file_datasets[qualname]})")
    if qualname is not None and qualname.startswith("torchvision.datasets."):
        short = qualname.rsplit(".", 1)[-1]
        if short in IN_MEMORY_TORCHVISION:
            transform = argument(node, "transform", 2 if short.endswith("MNIST") or short.startswith("CIFAR") else None)
            if transform is not None and _has_cpu_image_transform(analysis, transform):
                return DatasetKind(True, f"`{short}` with CPU image augmentation per item")
            if transform is not None and literal_value(transform) is not None:
                # even `ToTensor()` alone turns each stored array into a PIL image and back into a float
                # tensor, per item, in the process that iterates the loader
                return DatasetKind(True, f"`{short}` (a PIL image and its transform per item)")
            return DatasetKind(False, f"`{short}` (images in memory)")
        if short[:1].isupper():
            return DatasetKind(True, f"`{short}` (decodes an image file per item)")
        return UNKNOWN
    func = node.func
    if isinstance(func, cst.Name) and func.value in facts.classes:
        if any(moves_to_gpu(f.node) for f in facts.functions.get("__getitem__", []) if f.class_name == func.value):
            return DatasetKind(False, f"`{func.value}` (returns GPU tensors)", on_device=True)
        what = heavy_getitem(analysis, func.value)
        if what:
            return DatasetKind(True, f"`{func.value}` (its `__getitem__` {what})")
        if _has_getitem(facts, func.value):
            return DatasetKind(False, f"`{func.value}` (its `__getitem__` only indexes memory)")
    return UNKNOWN


def _has_getitem(facts: ModuleFacts, class_name: str) -> bool:
    if any(f.class_name == class_name for f in facts.functions.get("__getitem__", [])):
        return True
    return any(_has_getitem(facts, base) for base in facts.class_bases(class_name) if base in facts.classes)


def _has_cpu_image_transform(analysis: ModuleAnalysis, node: cst.BaseExpression, depth: int = 0) -> bool:
    if depth > 2:
        return False
    facts = analysis.facts
    for child in walk(node):
        if isinstance(child, cst.Call):
            qualname = facts.imports.resolve(child.func) or ""
            if qualname.startswith("torchvision.transforms") and _CPU_IMAGE_TRANSFORM.search(qualname.rsplit(".", 1)[-1]):
                return True
        elif isinstance(child, cst.Name):
            for value in assigned_values(facts, child.value)[:3]:
                if _has_cpu_image_transform(analysis, value, depth + 1):
                    return True
    return False
