"""GL203: a standard architecture trained from random weights on a task pretrained weights exist for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import (
    argument,
    has_double_star,
    keyword_arg,
    literal_value,
    string_value,
)
from greenlint.rules.analysis.model_choice_facts import string_literals
from greenlint.rules.analysis.precision_facts import is_test_module
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.fixes import replace_node, set_keyword

_TV_CLASSIFIERS = re.compile(
    r"^(resnet\d+|resnext\d+_\w+|wide_resnet\d+_2|vgg\d+(_bn)?|densenet\d+|mobilenet_v[23](_large|_small)?|"
    r"efficientnet_(b\d|v2_[sml])|convnext_\w+|regnet_[xy]_\w+|vit_[bhl]_\d+|swin_(v2_)?[tsb]|maxvit_t|"
    r"squeezenet1_[01]|shufflenet_v2_x\d_\d|mnasnet\d_\d+|alexnet|googlenet|inception_v3)$"
)
_TV_SUBMODULES = frozenset(
    {"resnet", "vgg", "densenet", "mobilenet", "mobilenetv2", "mobilenetv3", "efficientnet", "convnext", "regnet",
     "vision_transformer", "swin_transformer", "maxvit", "squeezenet", "shufflenetv2", "mnasnet", "alexnet",
     "googlenet", "inception"}
)
_HF_TASK_HEADS = re.compile(
    r"For(SequenceClassification|TokenClassification|ImageClassification|QuestionAnswering|MultipleChoice)$"
)
# Natural-image datasets for which ImageNet features transfer well (not the 32x32 toy sets).
_NATURAL_IMAGE_DATASETS = frozenset(
    {"ImageFolder", "Flowers102", "Food101", "OxfordIIITPet", "StanfordCars", "Caltech101", "Caltech256", "DTD",
     "FGVCAircraft", "Country211", "SUN397", "Places365", "EuroSAT", "CelebA", "INaturalist", "RenderedSST2"}
)
_NATURAL_IMAGE_HUB = frozenset(
    {"beans", "food101", "ethz/food101", "cats_vs_dogs", "microsoft/cats_vs_dogs", "tf_flowers", "oxford_flowers102",
     "nelorth/oxford-flowers", "oxford_iiit_pet", "timm/oxford-iiit-pet", "stanford_dogs", "cars196", "caltech101",
     "dtd", "eurosat", "deep_weeds", "plant_village", "cassava", "horses_or_humans", "rock_paper_scissors"}
)
_STANDARD_TEXT_HUB = frozenset(
    {"imdb", "stanfordnlp/imdb", "sst2", "stanfordnlp/sst2", "glue", "nyu-mll/glue", "rotten_tomatoes",
     "cornell-movie-review-data/rotten_tomatoes", "ag_news", "fancyzhx/ag_news", "emotion", "dair-ai/emotion",
     "yelp_polarity", "yelp_review_full", "tweet_eval", "trec", "sms_spam", "amazon_polarity", "conll2003",
     "eriktks/conll2003", "squad", "rajpurkar/squad", "squad_v2", "swag", "banking77", "wnut_17", "super_glue"}
)
_TINY_IMAGE_DATASETS = frozenset({"MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "USPS", "SVHN", "CIFAR10", "CIFAR100"})
_TINY_IMAGE_NAMES = re.compile(r"(^|/)(mnist|fashion_mnist|cifar10|cifar100|svhn|uoft-cs/cifar10|ylecun/mnist)$", re.IGNORECASE)
_RESIZE_TRANSFORMS = frozenset({"Resize", "RandomResizedCrop", "CenterCrop", "RandomCrop"})
# Training from scratch is the point: self-supervised pre-training (anywhere in the code, comments
# included), or ImageNet itself (in a string: a path, a dataset name).
_PRETRAINING = re.compile(
    r"simclr|moco|byol|\bdino|barlow|swav|contrastive|nt_?xent|info_?nce|self[-_ ]?supervised|pre-?train(?!ed)|\bmae\b",
    re.IGNORECASE,
)
_IMAGENET = re.compile(r"imagenet|ilsvrc|imnet", re.IGNORECASE)
_CHECKPOINT_LOADS = frozenset({"load_state_dict", "load_weights", "load_from_checkpoint", "load_checkpoint"})
_TRAINERS = ("transformers.Trainer", "transformers.Seq2SeqTrainer", "lightning", "pytorch_lightning", "trl.")


@dataclass(frozen=True)
class _Scratch:
    site: CallSite
    display: str
    kind: str  # "vision" or "language"
    fix: RuleFix | None


def _vision_scratch(site: CallSite) -> _Scratch | None:
    qualname = site.qualname or ""
    call = site.node
    if site.cond_depth > 0 or has_double_star(call):
        return None
    if qualname.startswith("torchvision.models."):
        parts = qualname.split(".")
        name = parts[-1]
        if len(parts) == 3 or (len(parts) == 4 and parts[2] in _TV_SUBMODULES):
            if not _TV_CLASSIFIERS.match(name):
                return None
        else:
            return None
        weights = keyword_arg(call, "weights")
        pretrained = keyword_arg(call, "pretrained")
        if weights is not None:
            if literal_value(weights.value) is not None:
                return None
            spelled = f"{name}(weights=None)"
        elif pretrained is not None:
            if literal_value(pretrained.value) is not False:
                return None
            spelled = f"{name}(pretrained=False)"
        elif call.args and call.args[0].keyword is None:
            return None  # weights passed by position
        else:
            spelled = f"{name}()"
        return _Scratch(site, f"`{spelled}`", "vision", _torchvision_fix(call, weights, pretrained))
    if qualname in ("timm.create_model", "timm.models.create_model"):
        pretrained = argument(call, "pretrained", 1)
        if pretrained is not None and literal_value(pretrained) is not False:
            return None
        model_name = string_value(argument(call, "model_name", 0))
        shown = f'create_model("{model_name}"' if model_name else "create_model(..."
        spelled = f"{shown}, pretrained=False)" if pretrained is not None else f"{shown})"
        fix = None
        if pretrained is None or keyword_arg(call, "pretrained") is not None:  # not passed by position
            fix = RuleFix("load the pretrained weights", "unsafe", set_keyword(call, "pretrained", cst.Name("True")))
        return _Scratch(site, f"`timm.{spelled}`", "vision", fix)
    if ".applications." in qualname and qualname.startswith(("keras.", "tensorflow.keras.", "tf_keras.")):
        name = qualname.rsplit(".", 1)[-1]
        if not name[:1].isupper():
            return None
        weights = keyword_arg(call, "weights")
        if weights is None or literal_value(weights.value) is not None:
            return None  # Keras applications load ImageNet weights by default
        include_top = literal_value(argument(call, "include_top"))
        fix = None
        if include_top is False:
            fix = RuleFix('load the "imagenet" weights', "unsafe", set_keyword(call, "weights", cst.SimpleString('"imagenet"')))
        return _Scratch(site, f"`{name}(weights=None)`", "vision", fix)
    return None


def _torchvision_fix(call: cst.Call, weights: cst.Arg | None, pretrained: cst.Arg | None) -> RuleFix | None:
    classes = keyword_arg(call, "num_classes")
    if classes is not None and literal_value(classes.value) != 1000:
        return None  # pretrained weights need the 1000-class head: replace the head by hand
    value = cst.SimpleString('"DEFAULT"')
    if pretrained is not None:
        new_arg = pretrained.with_changes(keyword=cst.Name("weights"), value=value)
        transform = replace_node(pretrained, lambda _node: new_arg)
    else:
        transform = set_keyword(call, "weights", value)
    return RuleFix('load the default pretrained weights (weights="DEFAULT")', "unsafe", transform)


def _pretrained_builder(site: CallSite) -> bool:
    """A torchvision/timm/Keras builder that loads pretrained weights (`weights="DEFAULT"`, `pretrained=True`)."""
    qualname = site.qualname or ""
    call = site.node
    if qualname.startswith("torchvision.models."):
        weights, pretrained = keyword_arg(call, "weights"), keyword_arg(call, "pretrained")
        return (weights is not None and literal_value(weights.value) is not None) or (
            pretrained is not None and literal_value(pretrained.value) is True
        )
    if qualname in ("timm.create_model", "timm.models.create_model"):
        return literal_value(argument(call, "pretrained", 1)) is True
    if ".applications." in qualname and qualname.rsplit(".", 1)[-1][:1].isupper():
        weights = keyword_arg(call, "weights")
        return weights is None or literal_value(weights.value) is not None
    return False


def _language_scratch(site: CallSite) -> _Scratch | None:
    if site.attr != "from_config" or site.receiver is None or site.cond_depth > 0:
        return None
    receiver = site.imports.resolve(site.receiver) or ""
    if not receiver.startswith("transformers."):
        return None
    name = receiver.rsplit(".", 1)[-1]
    if not _HF_TASK_HEADS.search(name):
        return None
    return _Scratch(site, f"`{name}.from_config(...)`", "language", None)


def _task_signal(analysis: ModuleAnalysis, kind: str) -> str | None:
    """A phrase naming the task data, or None (also None when a veto applies)."""
    natural = text = None
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torchvision.datasets.") and (last in _TINY_IMAGE_DATASETS or last == "ImageNet"):
            return None  # 32x32 toy sets: model size is GL201's business
        if qualname.startswith(("keras.", "tensorflow.keras.")) and ".datasets." in qualname:
            return None
        if qualname.startswith("torchvision.datasets.") and last in _NATURAL_IMAGE_DATASETS:
            natural = natural or f"`{last}` images"
        elif last in ("image_dataset_from_directory",) or (site.attr == "flow_from_directory"):
            natural = natural or "a folder of images"
        elif qualname.startswith("torchvision.transforms.") and last in _RESIZE_TRANSFORMS:
            size = literal_value(argument(site.node, "size", 0))
            first = size[0] if isinstance(size, (tuple, list)) and size else size
            if isinstance(first, int) and not isinstance(first, bool) and first >= 160:
                natural = natural or f"{first}-pixel images"
        elif qualname in ("datasets.load_dataset", "tensorflow_datasets.load"):
            name = (string_value(argument(site.node, "path", 0) or argument(site.node, "name", 0)) or "").lower()
            if _TINY_IMAGE_NAMES.search(name):
                return None
            if name in _NATURAL_IMAGE_HUB:
                natural = natural or f'the "{name}" images'
            elif name in _STANDARD_TEXT_HUB:
                text = text or f'the "{name}" dataset'
        elif site.attr == "from_pretrained" and site.receiver is not None:
            receiver = site.imports.resolve(site.receiver) or ""
            checkpoint = string_value(argument(site.node, "pretrained_model_name_or_path", 0))
            if receiver.startswith("transformers.") and "Config" in receiver and checkpoint:
                text = text or f'the configuration of the pretrained "{checkpoint}"'
    return natural if kind == "vision" else text


def _trains(analysis: ModuleAnalysis) -> bool:
    facts = analysis.facts
    if any(loop.does_training for loop in facts.loops):
        return True
    for site in facts.calls:
        if site.is_method_call and site.attr in ("fit", "fit_generator") and site.qualname is None:
            return True
        if (site.qualname or "").startswith(_TRAINERS) and (site.qualname or "").endswith("Trainer"):
            return True
    return False


def _loads_weights(analysis: ModuleAnalysis) -> bool:
    """Weights come from somewhere: a checkpoint, a state dict, or pretrained weights loaded for
    another model of the module (then the scratch model is a deliberate comparison)."""
    for site in analysis.facts.calls:
        if _pretrained_builder(site):
            return True
        if site.attr in _CHECKPOINT_LOADS or site.qualname == "torch.load":
            return True
        if site.attr == "from_pretrained" and site.receiver is not None:
            receiver = site.imports.resolve(site.receiver) or ""
            name = receiver.rsplit(".", 1)[-1]
            if receiver.startswith("transformers.") and not re.search(r"Tokenizer|Config|Processor|Extractor", name):
                return True  # the same module also loads pretrained weights: from_config is a fallback
    return False


class TrainingFromScratch(Rule):
    code = "GL203"
    name = "training-from-scratch-when-pretrained-exists"
    summary = "A standard architecture is trained from random weights on a task pretrained weights exist for"
    detects = """
        A module that trains (a training loop, `fit`, or a Hugging Face / Lightning trainer) and builds
        a standard architecture without its pretrained weights — a torchvision classifier with
        `weights=None`, `pretrained=False` or no weights argument, `timm.create_model(..., pretrained=False)`
        (or without `pretrained`), a Keras application with `weights=None`, or a Hugging Face
        `*ForSequenceClassification` / `*ForTokenClassification` / `*ForImageClassification` /
        `*ForQuestionAnswering` head built with `from_config` — AND a task pretrained weights transfer
        to: natural images (`ImageFolder`, Flowers102, Food101, Oxford pets ..., a folder of images,
        `Resize`/`RandomResizedCrop` to 160 pixels or more) or a standard language task (IMDb, GLUE,
        AG News, CoNLL ..., or a config taken from a pretrained checkpoint). Silent under an `if` (a
        `--pretrained` switch), with `**kwargs`, when the module loads a checkpoint or state dict, on
        MNIST/CIFAR-size data (GL201's domain), when another model of the module is built with
        pretrained weights (a scratch-versus-pretrained comparison), and when the code mentions ImageNet or self-supervised
        pre-training (SimCLR, MoCo, BYOL, DINO, MAE, contrastive): then training from scratch is the
        point.
    """
    why = """
        Starting from weights learned on a large dataset, a network reaches a given accuracy on a
        related task in far fewer epochs (often a few) than from random initialisation, and frequently
        reaches a better accuracy; the pre-training energy has already been spent once for everyone.
        Training the same architecture from scratch repeats most of that work.
    """
    bad_example = """
        import torch
        import torchvision
        from torchvision import transforms

        tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
        data = torchvision.datasets.ImageFolder("data/train", transform=tf)
        model = torchvision.models.resnet50(weights=None)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(90):
            for x, y in torch.utils.data.DataLoader(data, batch_size=64):
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                opt.zero_grad()
    """
    good_example = """
        import torch
        import torchvision
        from torchvision import transforms

        tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
        data = torchvision.datasets.ImageFolder("data/train", transform=tf)
        model = torchvision.models.resnet50(weights="DEFAULT")
        model.fc = torch.nn.Linear(model.fc.in_features, len(data.classes))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for epoch in range(5):
            for x, y in torch.utils.data.DataLoader(data, batch_size=64):
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                opt.zero_grad()
    """
    fix = """
        Load pretrained weights and fine-tune: `torchvision.models.resnet50(weights="DEFAULT")` then
        replace the head (`model.fc = nn.Linear(model.fc.in_features, n_classes)`);
        `timm.create_model(name, pretrained=True, num_classes=n)`; Keras applications with
        `weights="imagenet", include_top=False` plus a new head; Hugging Face
        `AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=n)`. Freeze the
        backbone for the first epochs if data is scarce, and cut the epoch count. The automatic fix
        only switches the weights on where the head needs no change (no `num_classes`, or Keras
        `include_top=False`); it downloads weights and changes results.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "'pre-trained networks' is one of eight energy patterns for deep-learning development; no magnitude given",
            "Shanbhag, Chimalakonda, Sharma, Kaulgud, 'Towards a Catalog of Energy Patterns in Deep Learning Development', EASE 2022",
            "paper",
        ),
        Evidence(
            "'consider transfer learning' is a green tactic for ML-enabled systems; measured impact not given",
            "Järvenpää et al., 'A Synthesis of Green Architectural Tactics for ML-Enabled Systems', ICSE-SEIS 2024",
            "paper",
        ),
        Evidence(
            "reusing pretrained knowledge lowers training energy; magnitude not read (abstract only)",
            "Geißler et al., 'The Power of Training: How Different NN Setups Influence the Energy Demand', ARCS 2024",
            "unquantified",
        ),
    )
    saving_scope = "most of the training run: the epochs needed to reach the target accuracy (task-dependent, unquantified)"
    # No quantified source (the cited catalogues give no magnitude): impact "unknown", always shown.
    impact = None
    trigger = (
        ("torchvision", "timm", "applications", "from_config"),
        ("backward(", ".fit(", "Trainer(", "fit_generator("),
        (
            "ImageFolder", "Flowers102", "Food101", "OxfordIIITPet", "StanfordCars", "Caltech", "DTD(",
            "FGVCAircraft", "Country211", "SUN397", "Places365", "EuroSAT", "CelebA", "INaturalist",
            "RenderedSST2", "image_dataset_from_directory", "flow_from_directory", "Resize", "Crop(",
            "load_dataset", "tfds", "Config",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        candidates: list[_Scratch] = []
        for site in analysis.facts.calls:
            scratch = _vision_scratch(site) or _language_scratch(site)
            if scratch is not None:
                candidates.append(scratch)
        if not candidates or not _trains(analysis) or _loads_weights(analysis) or is_test_module(analysis):
            return
        signals = {kind: _task_signal(analysis, kind) for kind in {c.kind for c in candidates}}
        if not any(signals.values()):
            return
        if _PRETRAINING.search(analysis.code):
            return
        if any(_IMAGENET.search(text) for text in string_literals(analysis.module) if text.lower() != "imagenet"):
            return
        for scratch in candidates:
            signal = signals[scratch.kind]
            if signal is None:
                continue
            yield Report(
                scratch.site.node,
                f"{scratch.display} trains from random weights on {signal}, a task pretrained weights "
                "exist for; start from the pretrained weights and fine-tune (usually far fewer epochs)",
                fix=scratch.fix,
            )


RULE = TrainingFromScratch()
