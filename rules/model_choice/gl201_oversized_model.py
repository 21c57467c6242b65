"""GL201: a model far larger than the task needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import argument, literal_value, string_value
from greenlint.rules.analysis.model_choice_facts import resolve_checkpoint
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.scope_facts import module_trains
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.impact import RuleImpact, WasteSize

TORCHVISION_DOCS = "torchvision model documentation (per-weights metadata: num_params)"


@dataclass(frozen=True)
class BigModel:
    display: str
    params_m: float | None  # millions of parameters, from the cited source; None when not known
    instead: str


# Deep ImageNet-scale vision models, by builder name (torchvision and timm share most names).
BIG_VISION = {
    "resnet101": BigModel("ResNet-101", 44.5, "ResNet-18 (11.7 M parameters) or a small CNN"),
    "resnet152": BigModel("ResNet-152", 60.2, "ResNet-18 (11.7 M parameters) or a small CNN"),
    "resnext101_32x8d": BigModel("ResNeXt-101 32x8d", 88.8, "ResNet-18 or a small CNN"),
    "resnext101_64x4d": BigModel("ResNeXt-101 64x4d", 83.5, "ResNet-18 or a small CNN"),
    "wide_resnet50_2": BigModel("Wide ResNet-50-2", 68.9, "ResNet-18 or a small CNN"),
    "wide_resnet101_2": BigModel("Wide ResNet-101-2", 126.9, "ResNet-18 or a small CNN"),
    "vgg16": BigModel("VGG-16", 138.4, "ResNet-18 or a small CNN"),
    "vgg16_bn": BigModel("VGG-16-BN", 138.4, "ResNet-18 or a small CNN"),
    "vgg19": BigModel("VGG-19", 143.7, "ResNet-18 or a small CNN"),
    "vgg19_bn": BigModel("VGG-19-BN", 143.7, "ResNet-18 or a small CNN"),
    "vit_l_16": BigModel("ViT-L/16", 304.3, "ViT-B/16, DeiT-Tiny, or a small CNN at native resolution"),
    "vit_l_32": BigModel("ViT-L/32", 306.5, "ViT-B/32, DeiT-Tiny, or a small CNN at native resolution"),
    "vit_h_14": BigModel("ViT-H/14", 633.5, "ViT-B/16, DeiT-Tiny, or a small CNN at native resolution"),
    "efficientnet_b5": BigModel("EfficientNet-B5", 30.4, "EfficientNet-B0 or MobileNetV3"),
    "efficientnet_b6": BigModel("EfficientNet-B6", 43.0, "EfficientNet-B0 or MobileNetV3"),
    "efficientnet_b7": BigModel("EfficientNet-B7", 66.3, "EfficientNet-B0 or MobileNetV3"),
    "efficientnet_v2_l": BigModel("EfficientNetV2-L", 118.5, "EfficientNetV2-S or EfficientNet-B0"),
    "convnext_base": BigModel("ConvNeXt-Base", 88.6, "ConvNeXt-Tiny or ResNet-18"),
    "convnext_large": BigModel("ConvNeXt-Large", 197.8, "ConvNeXt-Tiny or ResNet-18"),
    "regnet_y_32gf": BigModel("RegNetY-32GF", 145.0, "RegNetY-400MF or ResNet-18"),
    "regnet_y_128gf": BigModel("RegNetY-128GF", 644.8, "RegNetY-400MF or ResNet-18"),
    "swin_b": BigModel("Swin-B", 87.8, "Swin-T or ResNet-18"),
    "swin_v2_b": BigModel("Swin-V2-B", 87.9, "Swin-V2-T or ResNet-18"),
}
# timm spells some of them differently.
_TIMM_PATTERNS = [
    (re.compile(r"^vit_(large|huge|giant)"), BigModel("ViT-Large/Huge", None, "vit_tiny / deit_tiny or a small CNN")),
    (re.compile(r"^convnext_(large|xlarge)"), BigModel("ConvNeXt-Large", None, "convnext_tiny or resnet18")),
    (re.compile(r"^swin_(base|large)"), BigModel("Swin-Base/Large", None, "swin_tiny or resnet18")),
    (re.compile(r"^efficientnet_b[5-8]$|^tf_efficientnet_b[5-8]"), BigModel("EfficientNet-B5+", None, "efficientnet_b0")),
]
KERAS_DOCS = "keras.io Keras Applications table (parameter counts)"
_KERAS_SMALLER = "MobileNetV2 (3.5 M parameters) or a small CNN at native resolution"
KERAS_BIG = {
    "ResNet101": BigModel("Keras ResNet101", 44.7, _KERAS_SMALLER),
    "ResNet152": BigModel("Keras ResNet152", 60.4, _KERAS_SMALLER),
    "ResNet101V2": BigModel("Keras ResNet101V2", 44.7, _KERAS_SMALLER),
    "ResNet152V2": BigModel("Keras ResNet152V2", 60.4, _KERAS_SMALLER),
    "VGG16": BigModel("Keras VGG16", 138.4, _KERAS_SMALLER),
    "VGG19": BigModel("Keras VGG19", 143.7, _KERAS_SMALLER),
    "EfficientNetB5": BigModel("Keras EfficientNetB5", 30.6, "EfficientNetB0 or MobileNetV2"),
    "EfficientNetB6": BigModel("Keras EfficientNetB6", 43.3, "EfficientNetB0 or MobileNetV2"),
    "EfficientNetB7": BigModel("Keras EfficientNetB7", 66.7, "EfficientNetB0 or MobileNetV2"),
    "EfficientNetV2L": BigModel("Keras EfficientNetV2L", 119.0, "EfficientNetV2B0 or MobileNetV2"),
    "ConvNeXtBase": BigModel("Keras ConvNeXtBase", 88.5, "ConvNeXtTiny or MobileNetV2"),
    "ConvNeXtLarge": BigModel("Keras ConvNeXtLarge", 197.7, "ConvNeXtTiny or MobileNetV2"),
    "ConvNeXtXLarge": BigModel("Keras ConvNeXtXLarge", 350.1, "ConvNeXtTiny or MobileNetV2"),
    "InceptionResNetV2": BigModel("Keras InceptionResNetV2", 55.9, _KERAS_SMALLER),
    "NASNetLarge": BigModel("Keras NASNetLarge", 88.9, _KERAS_SMALLER),
}

# Small, low-resolution, few-class image datasets.
SMALL_VISION_TORCHVISION = {
    "MNIST": "MNIST (28x28, 10 classes)", "FashionMNIST": "Fashion-MNIST (28x28, 10 classes)",
    "KMNIST": "KMNIST (28x28, 10 classes)", "EMNIST": "EMNIST (28x28)", "QMNIST": "QMNIST (28x28, 10 classes)",
    "USPS": "USPS (16x16, 10 classes)", "SVHN": "SVHN (32x32, 10 classes)",
    "CIFAR10": "CIFAR-10 (32x32, 10 classes)", "CIFAR100": "CIFAR-100 (32x32, 100 classes)",
}
SMALL_VISION_KERAS = {
    "mnist": "MNIST (28x28, 10 classes)", "fashion_mnist": "Fashion-MNIST (28x28, 10 classes)",
    "cifar10": "CIFAR-10 (32x32, 10 classes)", "cifar100": "CIFAR-100 (32x32, 100 classes)",
}
SMALL_VISION_HUB = {
    "mnist": "MNIST (28x28, 10 classes)", "ylecun/mnist": "MNIST (28x28, 10 classes)",
    "fashion_mnist": "Fashion-MNIST (28x28, 10 classes)",
    "zalando-datasets/fashion_mnist": "Fashion-MNIST (28x28, 10 classes)",
    "cifar10": "CIFAR-10 (32x32, 10 classes)", "uoft-cs/cifar10": "CIFAR-10 (32x32, 10 classes)",
    "cifar100": "CIFAR-100 (32x32, 100 classes)", "uoft-cs/cifar100": "CIFAR-100 (32x32, 100 classes)",
    "svhn": "SVHN (32x32, 10 classes)",
}
# Small text-classification datasets with few labels.
SMALL_TEXT = {
    "imdb": "IMDb (2 labels)", "stanfordnlp/imdb": "IMDb (2 labels)", "sst2": "SST-2 (2 labels)",
    "stanfordnlp/sst2": "SST-2 (2 labels)", "rotten_tomatoes": "Rotten Tomatoes (2 labels)",
    "cornell-movie-review-data/rotten_tomatoes": "Rotten Tomatoes (2 labels)",
    "ag_news": "AG News (4 labels)", "fancyzhx/ag_news": "AG News (4 labels)",
    "emotion": "emotion (6 labels)", "dair-ai/emotion": "emotion (6 labels)",
    "yelp_polarity": "Yelp polarity (2 labels)", "tweet_eval": "TweetEval (2-4 labels)",
    "trec": "TREC (6 coarse labels)", "sms_spam": "SMS spam (2 labels)",
    "amazon_polarity": "Amazon polarity (2 labels)",
}
_GLUE_SMALL = {"sst2", "mrpc", "cola", "rte", "qnli", "wnli", "qqp", "mnli"}

# Large language-model checkpoints and their usual smaller siblings.
_LARGE_LM = [
    (re.compile(r"(^|/)bert-large"), "BERT-large (340 M parameters)", "distilbert-base-uncased (66 M) or bert-base-uncased (110 M)"),
    (re.compile(r"(^|/)(xlm-)?roberta-large"), "RoBERTa-large (355 M parameters)", "distilroberta-base (82 M) or roberta-base (125 M)"),
    (re.compile(r"deberta(-v\d)?-(large|xlarge|xxlarge)"), "DeBERTa-large", "deberta-v3-small or deberta-v3-base"),
    (re.compile(r"electra-large"), "ELECTRA-large", "electra-small or electra-base"),
    (re.compile(r"albert-x+large"), "ALBERT-xlarge", "albert-base-v2"),
    (re.compile(r"(^|/)t5-(large|3b|11b)|flan-t5-(large|xl|xxl)"), "T5-large or bigger", "t5-small or flan-t5-small"),
    (re.compile(r"mistral|mixtral|(^|[-_/.])\d{1,3}(\.\d)?[bB]([-_/.]|$)", re.IGNORECASE),
     "a billion-parameter LLM", "a fine-tuned encoder such as distilbert-base-uncased or roberta-base"),
]

_SEQUENCE_CLASSIFICATION = re.compile(r"ForSequenceClassification$")
_NOT_A_MODEL = re.compile(r"Tokenizer|Config|Processor|FeatureExtractor|Pipeline")
_EVIDENCE_DISTIL = Evidence(
    "DistilBERT has 40 % fewer parameters than BERT-base, runs 60 % faster and keeps 97 % of its language-understanding score",
    "Sanh et al., 'DistilBERT, a distilled version of BERT' (2019)",
    "paper",
)


class OversizedModel(Rule):
    code = "GL201"
    name = "oversized-model"
    summary = "A deep ImageNet-scale or large language model trained for a small, simple task"
    detects = """
        Two independent signals in the same module: a large model (a deep vision backbone such as
        ResNet-101/152, VGG, ViT-L/H or EfficientNet-B5+ from torchvision, timm or Keras applications;
        or a large language checkpoint such as bert-large, roberta-large or a billion-parameter LLM
        loaded for sequence classification) AND a small task (MNIST, Fashion-MNIST, CIFAR-10/100, SVHN;
        a text-classification head with at most five labels, or a small sentiment/topic dataset such
        as IMDb or SST-2). One signal alone is never reported. A vision model is reported only where
        it is trained: the module trains (a training loop, `fit`, a Hugging Face or Lightning trainer)
        or builds the model with a head for the task (`num_classes=`, Keras `classes=`); a Keras
        application called with its ImageNet top and no input shape is the ImageNet classifier used
        as it is, not trained on the small dataset.
    """
    why = """
        Compute per example grows roughly with parameters and FLOPs. A model sized for ImageNet's
        1,000 classes at 224x224, or for open-ended language understanding, spends most of its energy
        on capacity a 10-class 32x32 or two-label task cannot use.
    """
    bad_example = """
        import torchvision

        train = torchvision.datasets.CIFAR10("data", train=True, download=True)
        model = torchvision.models.resnet152(num_classes=10)
    """
    good_example = """
        import torchvision

        train = torchvision.datasets.CIFAR10("data", train=True, download=True)
        model = torchvision.models.resnet18(num_classes=10)
    """
    fix = """
        Use the smaller sibling the message names (ResNet-18 or a small CNN at native resolution for
        MNIST/CIFAR; distilbert-base or roberta-base for binary sentiment), compare accuracy on a
        validation split, and keep the big model only if the task really needs it. For tabular or
        short-text tasks, a linear model or gradient-boosted trees are often better still.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "CIFAR-size inputs (32x32, 10 classes), batch 256, fp32: ResNet-152 -> ResNet-18 cut GPU energy per step from 22.8 J to 4.76 J (79 %); ResNet-18 -> a small 2-conv CNN, 4.76 J -> 0.56 J (88 %)",
            "greenlint's own H100 measurements (docs/evidence.md#h100-model-size), one run each, about ±5 % noise",
            "measured",
        ),
        _EVIDENCE_DISTIL,
        Evidence(
            "halving network complexity roughly halves training energy, with diminishing accuracy returns",
            "Yarally et al., 'Uncovering Energy-Efficient Practices in Deep Learning Training', CAIN 2023 (abstract)",
            "paper",
        ),
        Evidence("parameter counts of the torchvision builders", TORCHVISION_DOCS, "doc"),
        Evidence("parameter counts of the Keras applications", KERAS_DOCS, "doc"),
    )
    saving_scope = "the whole training run's compute, roughly in proportion to the smaller model's FLOPs (task-dependent; measured 79 % per step for ResNet-152 -> ResNet-18 at 32x32)"
    impact = RuleImpact(
        size=WasteSize(
            0.375,
            0.79,
            "ResNet-152 -> ResNet-18 cut the GPU energy of a 32x32 step by 79 % on an H100 (measured, "
            "docs/evidence.md#h100-model-size); DistilBERT runs 60 % faster than BERT-base (1 - 1/1.6 = "
            "37.5 % less time, Sanh et al. 2019)",
        ),
        frequency="run-wide",
    )
    trigger = (
        (
            "resnet1", "resnext1", "wide_resnet", "vgg1", "VGG1", "vit_", "fficient", "convnext", "ConvNeXt",
            "regnet_y_", "swin", "InceptionResNet", "NASNet", "ResNet1", "large", "mistral", "Mistral",
            "mixtral", "Mixtral", "t5-3b", "t5-11b", "b-", "B-", "b\"", "B\"", "b'", "B'", "b/", "B/",
        ),
        (
            "MNIST", "mnist", "CIFAR", "cifar", "SVHN", "svhn", "USPS", "imdb", "sst2", "rotten_tomatoes",
            "ag_news", "emotion", "yelp_polarity", "tweet_eval", "trec", "sms_spam", "amazon_polarity",
            "glue", "num_labels", "sentiment", "text-classification",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        vision_models, language_models = [], []
        small_vision: str | None = None
        small_text: str | None = None
        few_labels: int | None = None
        notebook = analysis.facts.context.notebook
        current_vision: str | None = None  # in a notebook: the data loaded most recently, in cell order
        for site in analysis.facts.calls:
            vision = _vision_model(site)
            if vision is not None:
                vision_models.append((site, vision, current_vision))
                continue
            if notebook:
                loaded = _small_vision_dataset(site)
                if loaded is not None:
                    current_vision = loaded
                elif _other_image_data(site):
                    current_vision = None  # forty cells later the notebook moved on to other data
            language = _language_model(analysis, site)
            if language is not None:
                language_models.append((site, language))
            small_vision = small_vision or _small_vision_dataset(site)
            small_text = small_text or _small_text_dataset(site)
            labels = _num_labels(site)
            if labels is not None and labels <= 5:
                few_labels = labels if few_labels is None else min(few_labels, labels)
        if small_vision and vision_models:
            trains = module_trains(analysis)
            for site, model, loaded_before in vision_models:
                if not (trains or _has_task_head(site)) or _keras_imagenet_classifier(site):
                    continue
                if notebook:
                    # a notebook's cells run in order: the model meets the data loaded before it
                    if loaded_before is None:
                        continue
                    small_vision = loaded_before
                size = f" ({model.params_m:g} M parameters)" if model.params_m else ""
                yield Report(
                    site.node,
                    f"{model.display}{size} is an ImageNet-scale model, trained here on "
                    f"{small_vision}; use {model.instead} (measured on an H100: ResNet-152 -> "
                    "ResNet-18 cut GPU energy per step by 79 % at 32x32)",
                )
        task = small_text or (f"a {few_labels}-label classification head" if few_labels else None)
        if task:
            for site, (display, instead, head) in language_models:
                if not head and few_labels is None and small_text is None:
                    continue
                yield Report(
                    site.node,
                    f"{display} fine-tuned for {task}; {instead} is the usual choice for a task this "
                    "small (DistilBERT: 40 % fewer parameters than BERT-base, 60 % faster, 97 % of its score)",
                )


def _has_task_head(site: CallSite) -> bool:
    """Built with a head for the task (`resnet152(num_classes=10)`, timm `num_classes=`, Keras
    `classes=`): the model is made to be trained on it even where the training happens elsewhere."""
    return any(arg.keyword is not None and arg.keyword.value in ("num_classes", "classes") for arg in site.node.args)


def _keras_imagenet_classifier(site: CallSite) -> bool:
    """`keras.applications.VGG19()` with the ImageNet top, no input shape and no class count: the
    1,000-class ImageNet classifier used as it is (feature extraction, a demo), not trained on the
    small dataset (it could not take 28x28 or 32x32 inputs)."""
    qualname = site.qualname or ""
    if ".applications" not in qualname:
        return False
    include_top = argument(site.node, "include_top", 0)
    if include_top is not None and literal_value(include_top) is not True:
        return False
    return all(argument(site.node, key) is None for key in ("input_shape", "input_tensor", "classes", "weights"))


def _vision_model(site: CallSite) -> BigModel | None:
    qualname = site.qualname or ""
    name = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torchvision.models.") and name in BIG_VISION:
        return BIG_VISION[name]
    if qualname in ("timm.create_model", "timm.models.create_model"):
        model_name = string_value(argument(site.node, "model_name", 0))
        if model_name is None:
            return None
        base = model_name.split(".", 1)[0].split(":", 1)[-1]
        if base in BIG_VISION:
            return BIG_VISION[base]
        for pattern, model in _TIMM_PATTERNS:
            if pattern.search(base):
                return model
        return None
    if qualname == "torch.hub.load":
        model_name = string_value(argument(site.node, "model", 1))
        return BIG_VISION.get(model_name or "")
    if ".applications" in qualname and (qualname.startswith(("keras.", "tensorflow.keras.", "tf_keras."))):
        return KERAS_BIG.get(name)
    return None


def _language_model(analysis: ModuleAnalysis, site: CallSite) -> tuple[str, str, bool] | None:
    """(display name, suggestion, has a sequence-classification head) for a large LM load. The
    checkpoint may be a literal or a name for one (`CHECKPOINT = "bert-large-uncased"`, an
    argparse default)."""
    if site.attr == "from_pretrained":
        checkpoint = resolve_checkpoint(analysis, argument(site.node, "pretrained_model_name_or_path", 0))
        receiver = site.imports.resolve(site.receiver) if site.receiver is not None else None
        head = bool(receiver and _SEQUENCE_CLASSIFICATION.search(receiver))
        if receiver is not None and not receiver.startswith(("transformers.", "peft.", "sentence_transformers.")):
            return None
        if _NOT_A_MODEL.search(terminal_name(site.receiver) or ""):
            return None  # tokenizers, configs and processors are not the model
    elif site.qualname in ("transformers.pipeline",):
        checkpoint = resolve_checkpoint(analysis, argument(site.node, "model", 1))
        task = string_value(argument(site.node, "task", 0)) or ""
        head = task in ("text-classification", "sentiment-analysis")
    else:
        return None
    if not checkpoint:
        return None
    for pattern, display, instead in _LARGE_LM:
        if pattern.search(checkpoint):
            return f"`{checkpoint}` ({display})", instead, head
    return None


def _small_vision_dataset(site: CallSite) -> str | None:
    qualname = site.qualname or ""
    name = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torchvision.datasets.") and name in SMALL_VISION_TORCHVISION:
        return SMALL_VISION_TORCHVISION[name]
    if ".datasets." in qualname and name == "load_data":
        dataset = qualname.rsplit(".", 2)[-2]
        if qualname.startswith(("keras.", "tensorflow.keras.", "tf_keras.")):
            return SMALL_VISION_KERAS.get(dataset)
    if qualname in ("datasets.load_dataset", "tensorflow_datasets.load"):
        dataset = string_value(argument(site.node, "path", 0) or argument(site.node, "name", 0))
        return SMALL_VISION_HUB.get((dataset or "").lower())
    return None


_OTHER_IMAGE_DATA = ("ImageFolder", "image_dataset_from_directory", "flow_from_directory", "flow_from_dataframe")


def _other_image_data(site: CallSite) -> bool:
    """Image data that is not one of the small datasets: a folder of images, another dataset."""
    qualname = site.qualname or ""
    if site.attr in _OTHER_IMAGE_DATA:
        return True
    if qualname.startswith("torchvision.datasets.") and qualname.rsplit(".", 1)[-1][:1].isupper():
        return True
    return qualname in ("datasets.load_dataset", "tensorflow_datasets.load")


def _small_text_dataset(site: CallSite) -> str | None:
    if site.qualname != "datasets.load_dataset":
        return None
    dataset = (string_value(argument(site.node, "path", 0)) or "").lower()
    config = (string_value(argument(site.node, "name", 1)) or "").lower()
    if dataset in SMALL_TEXT:
        return SMALL_TEXT[dataset]
    if dataset in ("glue", "nyu-mll/glue") and config in _GLUE_SMALL:
        return f"GLUE {config.upper()} (2-3 labels)"
    return None


def _num_labels(site: CallSite) -> int | None:
    value = argument(site.node, "num_labels")
    if value is None:
        return None
    literal = literal_value(value)
    return literal if isinstance(literal, int) and not isinstance(literal, bool) else None


RULE = OversizedModel()
