"""Are a module's training batches known to be small in bytes? (GL307, pinned memory.)

Pinning speeds up the host-to-device copy of each batch; for a batch of MNIST/CIFAR-size images or
of token ids (a few MB at most, usually under 3 MB) that copy is a sliver of the step, and the
labellers of all four dev corpora judged `pin_memory` there not worth a change (bench/
blind2_judgements.toml: 41 GL307 findings on rasbt/deeplearning-models' MNIST/CIFAR/DistilBERT
notebooks, all false; blind4: share020/dl's CIFAR and Tiny-ImageNet loaders). Their labelled
cases were 12-134 MB batches of 128-256 pixel images or volumes.

The answer is "small" only when the module shows it:
- every image size it sets (`Resize`, a crop, `interpolate` size) is at most 64 pixels a side, or
  it sets none and reads only MNIST/CIFAR-class torchvision data sets;
- or it feeds tokenized text (a Hugging Face tokenizer) and reads no images.
A size it computes, or any other data, keeps the answer "not known" (None).
"""

from __future__ import annotations

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import argument, resolved_value
from greenlint.rules.analysis.memo import once_per_module
from greenlint.rules.analysis.model_size import MAX_IMAGE_SIDE

# torchvision data sets of images at most 32 pixels a side
_SMALL_IMAGE_SETS = frozenset(
    {"MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "USPS", "CIFAR10", "CIFAR100", "SVHN"}
)
_SIZED = frozenset({"Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop", "FiveCrop", "TenCrop"})
_IMAGE_READERS = ("torchvision.datasets.", "PIL.", "cv2.", "imageio.", "skimage.io.")


@once_per_module
def small_batches(analysis: ModuleAnalysis) -> str | None:
    """A phrase saying why the module's batches are small ("CIFAR10 images", "images of at most
    64 pixels a side", "token ids"), or None when that is not known."""
    sides: list[int] = []
    small_sets: list[str] = []
    images = other_images = False
    tokenizer = False
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith(_IMAGE_READERS):
            images = True
            if qualname.startswith("torchvision.datasets.") and last in _SMALL_IMAGE_SETS:
                small_sets.append(last)
            else:
                other_images = True  # ImageFolder, CelebA, files it decodes itself: their size is the transforms' 
        if (qualname.startswith(("torchvision.transforms.", "albumentations.")) and last in _SIZED) or last in ("interpolate", "Upsample"):
            images = True
            value = resolved_value(argument(site.node, "size", 1 if last == "interpolate" else 0))
            side = _longer_side(value)
            if side is None:
                return None  # a size computed at run time
            sides.append(side)
        if qualname.startswith("transformers.") and "Tokenizer" in qualname:
            tokenizer = True
    if sides:
        return f"images of at most {max(sides)} pixels a side" if max(sides) <= MAX_IMAGE_SIDE else None
    if small_sets and not other_images:
        return f"`{small_sets[0]}` images"
    if tokenizer and not images:
        return "token ids"
    return None


def _longer_side(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return max(value)
    return None
