"""GL208: MNIST/CIFAR-sized images resized to ImageNet resolution to feed an ImageNet model."""

from __future__ import annotations

from collections.abc import Iterable


from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import in_test_code, is_test_module
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, resolved_value, string_value
from greenlint.rules.base import Report, Rule
from greenlint.rules.evidence import PIXELS_PER_IMAGE
from greenlint.rules.impact import RuleImpact, WasteSize

# Side in pixels of the images of small benchmark datasets.
_NATIVE = {
    "MNIST": 28, "FashionMNIST": 28, "KMNIST": 28, "EMNIST": 28, "QMNIST": 28,
    "CIFAR10": 32, "CIFAR100": 32, "SVHN": 32, "USPS": 16,
}
_KERAS_DATASETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100"}
_HUB_NAMES = {
    "mnist": "MNIST", "ylecun/mnist": "MNIST", "fashion_mnist": "FashionMNIST", "zalando-datasets/fashion_mnist": "FashionMNIST",
    "cifar10": "CIFAR10", "uoft-cs/cifar10": "CIFAR10", "cifar100": "CIFAR100", "uoft-cs/cifar100": "CIFAR100",
    "svhn": "SVHN", "svhn_cropped": "SVHN", "kmnist": "KMNIST", "emnist": "EMNIST",
}
_LOADERS = frozenset({"datasets.load_dataset", "tensorflow_datasets.load", "tensorflow_datasets.builder"})
_IMAGENET_MODELS = ("torchvision.models.", "timm.", "keras.applications.", "tensorflow.keras.applications.", "tf_keras.applications.")
_RESIZES = {
    "Resize": "size", "RandomResizedCrop": "size", "Resizing": "height", "resize": "size", "interpolate": "size",
}
# An upsampled side from here on is ImageNet-scale (ImageNet models are trained at 224).
_MIN_SIDE = 160


def _small_dataset(site: CallSite) -> str | None:
    qualname = site.qualname or ""
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torchvision.datasets.") and last in _NATIVE:
        return last
    parts = qualname.split(".")
    if last == "load_data" and len(parts) >= 3 and parts[-3] == "datasets" and parts[-2] in _KERAS_DATASETS:
        return _KERAS_DATASETS[parts[-2]]
    if qualname in _LOADERS:
        name = string_value(argument(site.node, "path" if qualname.startswith("datasets") else "name", 0))
        return _HUB_NAMES.get((name or "").lower().split(":", 1)[0])
    return None


def _other_image_data(site: CallSite) -> bool:
    """ImageFolder, ImageNet, a folder of images, another hub dataset: the resize may be for those."""
    qualname = site.qualname or ""
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torchvision.datasets.") and last not in _NATIVE:
        return True
    if last.endswith("dataset_from_directory") or last == "flow_from_directory":
        return True
    return qualname in _LOADERS and _small_dataset(site) is None


def _imagenet_model(site: CallSite) -> bool:
    qualname = site.qualname or ""
    if qualname.startswith(_IMAGENET_MODELS):
        return not qualname.startswith(("torchvision.models.detection", "timm.data")) and not qualname.endswith("Weights")
    return qualname.startswith("transformers.") and ("ImageClassification" in qualname or "ViT" in qualname)


def _target_side(site: CallSite) -> int | None:
    """The longest side a resize call produces, when the module spells it out."""
    qualname = site.qualname or ""
    last = qualname.rsplit(".", 1)[-1]
    if last not in _RESIZES or not qualname.startswith(
        ("torchvision.transforms", "tensorflow.image", "tensorflow.keras.layers", "keras.layers", "cv2", "torch.nn.functional")
    ):
        return None
    position = 1 if qualname.startswith(("tensorflow.image", "cv2", "torch.nn.functional")) else 0
    value = resolved_value(argument(site.node, _RESIZES[last] if last != "resize" or "cv2" not in qualname else "dsize", position))
    if last == "Resizing":
        width = resolved_value(argument(site.node, "width", 1))
        value = (value, width)
    sides = value if isinstance(value, (tuple, list)) else (value,)
    if value is NOT_LITERAL or not sides or not all(isinstance(s, int) and not isinstance(s, bool) for s in sides):
        return None
    return max(sides)


class SmallImagesUpsampled(Rule):
    code = "GL208"
    name = "small-images-upsampled"
    summary = "MNIST/CIFAR-sized images resized to ImageNet resolution (224 px): 49-64x the pixels per image"
    detects = """
        A module that loads a small-image dataset (torchvision `MNIST`, `FashionMNIST`, `KMNIST`, `EMNIST`,
        `QMNIST`, `CIFAR10`, `CIFAR100`, `SVHN`, `USPS`; `keras.datasets.mnist/fashion_mnist/cifar10/cifar100`;
        `load_dataset("cifar10")` / `tfds.load("mnist")` ...), builds an ImageNet-scale model (torchvision /
        timm / Keras applications / a Hugging Face image classifier) and resizes images to 160 px or more
        (`transforms.Resize(224)`, `RandomResizedCrop(224)`, `tf.image.resize(x, (224, 224))`,
        `layers.Resizing(224, 224)`, `cv2.resize`, `F.interpolate(size=224)`). Silent when the module also
        reads other image data (an `ImageFolder`, ImageNet, a directory of images), and in tests.
    """
    why = """
        A 32x32 CIFAR image resized to 224x224 carries no new information, but a convolutional network's
        work per image grows with the pixel count: 49x for 32 px images and 64x for 28 px ones, in every
        training and evaluation step.
    """
    bad_example = """
        import torchvision
        from torchvision import transforms

        tf = transforms.Compose([transforms.Resize(224), transforms.ToTensor()])
        train = torchvision.datasets.CIFAR10("data", train=True, transform=tf, download=True)
        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
    """
    good_example = """
        import torchvision
        from torchvision import transforms

        tf = transforms.Compose([transforms.ToTensor()])
        train = torchvision.datasets.CIFAR10("data", train=True, transform=tf, download=True)
        model = torchvision.models.resnet18(num_classes=10)  # or a CIFAR-style network at 32 px
    """
    fix = """
        Train at the native resolution with a network designed for it (a CIFAR-style ResNet, a small CNN), or,
        when the pretrained ImageNet features are the point, fine-tune at a moderate resolution (64-112 px)
        and check the accuracy: each halving of the side is 4x fewer pixels.
    """
    evidence = (PIXELS_PER_IMAGE,)
    saving_scope = "the forward and backward compute per image"
    impact = RuleImpact(
        size=WasteSize(0.75, 0.98, "work per image scales with pixels: halving 224 to 112 saves 75 %, native 28-32 px saves 98 % (arithmetic)"),
        frequency="every-step",
    )
    trigger = (("MNIST", "CIFAR", "SVHN", "USPS", "mnist", "cifar", "svhn"), ("Resize", "resize", "Resizing", "interpolate"))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if is_test_module(facts):
            return
        datasets = [name for site in facts.calls if (name := _small_dataset(site)) is not None]
        if not datasets or any(_other_image_data(site) for site in facts.calls) or not any(_imagenet_model(s) for s in facts.calls):
            return
        native = min(_NATIVE[name] for name in datasets)
        for site in facts.calls:
            side = _target_side(site)
            if side is None or side < _MIN_SIDE or in_test_code(site):
                continue
            ratio = (side / native) ** 2
            yield Report(
                site.node,
                f"`{datasets[0]}` images are {native}x{native} px; resizing them to {side} px feeds the ImageNet-scale "
                f"model {ratio:.0f}x the pixels per image (work per image grows with pixels): train at the native "
                "size with a network made for it, or fine-tune at 64-112 px",
            )


RULE = SmallImagesUpsampled()
