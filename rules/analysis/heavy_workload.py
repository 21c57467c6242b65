"""Does the module show that its training step is compute-heavy? Positive evidence for GL101.

Mixed precision pays where the step's time is spent in large matrix products and convolutions:
tensor cores multiply bf16/fp16 tiles many times faster than float32, and bf16 autocast cut the
GPU energy of a ResNet-50 step at 224 pixels by 70 % on an H100 (rules/evidence.py
`H100_BF16_RESNET`). A small model's step is launch-bound: the same switch saves about nothing
and can even be slower (`AMP_SMALL_MODELS`: 0.49x-0.87x on an A100). workload.py recognises
some KNOWN small workloads; this module answers the other question, whether the module shows the
step is large, so that GL101 reports at full impact only with a reason it can name. Without such
evidence GL101 still reports, below the default impact threshold (`--min-impact low` or
`--select GL101` shows it).

Evidence, each read from the module's own code (literals, constants, argparse defaults, config
values through `literals.resolved_value`); the first found is the reason:
- a large zoo architecture (torchvision/timm/hub/segmentation_models_pytorch/Keras applications): ResNet-50 and
  deeper, ResNeXt, Wide ResNet, VGG, DenseNet, EfficientNet, RegNet, Inception, ViT/DeiT/BEiT,
  Swin, ConvNeXt, segmentation and detection models; any other zoo CNN (ResNet-18, MobileNet) only
  when it sees inputs of at least `MIN_IMAGE_SIDE` pixels;
- a pretrained diffusers network (`UNet2DConditionModel.from_pretrained(...)`, a pipeline);
- a pretrained Transformers model (`...ForSequenceClassification.from_pretrained(name)`, any
  name but those of the tiny/mini/small checkpoints, which are not evidence);
- a class defined here named after a deep architecture (DenseNet, VGG, UNet, Inception,
  EfficientNet, ViT, Swin, ConvNeXt, a ResNet with a Bottleneck block) that builds convolutions
  of at least `MIN_DEEP_CHANNELS` channels, or attention;
- attention layers built here (`nn.TransformerEncoderLayer`, `nn.MultiheadAttention`, a class
  named Transformer/Attention) with a model width of at least `MIN_ATTENTION_WIDTH`;
- convolutions built here on images of at least `MIN_IMAGE_SIDE` pixels (an image-size setting,
  a resize or a crop): the 128-256 pixel image-to-image GANs, UNets and super-resolution nets;
- a fully connected layer or width setting of at least `MIN_DENSE_WIDTH` units (AlexNet/VGG-style
  4096-wide heads);
- more than `model_size.MAX_CONV_LAYERS` convolutions with `MIN_STACK_CHANNELS` channels or more.
Anything it cannot see (a model imported from another module, sizes the module computes) is not
evidence: GL101 then keeps its finding but below the default threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, positional_args, resolved_value, string_value
from greenlint.rules.analysis.memo import once_per_module
from greenlint.rules.analysis.model_size import MAX_CONV_LAYERS, _widths

# An image side from which a convolutional step is compute-bound at ordinary batch sizes: the
# FLOPs of a convolution grow with the pixels, 16x from 32 to 128 pixels (CIFAR-sized GANs and
# classifiers are launch-bound; 128-256 pixel image-to-image GANs and UNets are not).
MIN_IMAGE_SIDE = 128
# Channels a deep-architecture class must reach: ResNet-18 and up end at 512, VGG at 512,
# DenseNet-121 at 1024; a "ResNet" of 16-64 channels on MNIST is a small net with a big name.
MIN_DEEP_CHANNELS = 256
# d_model of the base Transformer (Vaswani et al.) and of BERT-base (768) and up.
MIN_ATTENTION_WIDTH = 512
# Channels of a convolutional stack deeper than model_size.MAX_CONV_LAYERS that make it compute-bound
# (Network-in-Network's 192); the DCGAN- and ResNet9-sized nets judged launch-bound have at most 8.
MIN_STACK_CHANNELS = 192
# A 4096x4096 matrix product per sample (AlexNet's and VGG's classifier heads).
MIN_DENSE_WIDTH = 4096

_HEAVY_ZOO = re.compile(
    r"^(resnet_?(50|101|152|200)\w*|resnext\w*|wide_resnet\w*|seresnet(50|101|152)\w*|vgg\w*|densenet\w*|"
    r"efficientnet\w*|regnet\w*|inception\w*|googlenet|vit\w*|deit\w*|beit\w*|swin\w*|convnext\w*|"
    r"deeplabv3\w*|fcn_resnet\w*|lraspp\w*|maskrcnn\w*|fasterrcnn\w*|retinanet\w*|keypointrcnn\w*|fcos\w*|ssd\w*|"
    r"r3d\w*|r2plus1d\w*|mvit\w*|s3d|alexnet|xception\w*|nfnet\w*|coat\w*|maxvit\w*|eva\d*(_\w+)?)$",
    re.IGNORECASE,
)
_MID_ZOO = re.compile(r"^resnet_?(18|34)$", re.IGNORECASE)
_ZOO_PREFIXES = ("torchvision.models.", "timm.create_model", "torch.hub.load", "segmentation_models_pytorch.",
                 "keras.applications.", "tensorflow.keras.applications.", "tf_keras.applications.")
# checkpoints too small to count as evidence (bert-tiny, bert-mini, t5-small, ...)
_TINY_CHECKPOINT = re.compile(r"(tiny|mini|small|micro|nano)", re.IGNORECASE)
_NOT_A_MODEL = re.compile(r"(Tokenizer|Config|Processor|FeatureExtractor|ImageProcessor)", re.IGNORECASE)
_DEEP_CLASS = re.compile(r"DenseNet|VGG|UNet|Unet|U_Net|Inception|EfficientNet|ViT|VisionTransformer|Swin|ConvNeXt|"
                         r"ResNe[Xx]t|Bottleneck")
_ATTENTION_CLASS = re.compile(r"Transformer|Attention|SelfAttention|MultiHead", re.IGNORECASE)
_ATTENTION_LAYER = re.compile(r"^torch\.nn\.(modules\.\w+\.)?(Transformer\w*|MultiheadAttention)$")
_CONV = re.compile(r"^(Lazy)?Conv(Transpose)?[23]d$")
# settings that hold an image side (`--img_height 256`, `IMG_SIZE = 224`, `crop_size`); not
# `input_size`, which is a recurrent layer's width as often as an image's side
_SIDE_NAME = re.compile(r"^(img|image|crop|hr|load|fine|patch_img|target)_?(size|side|height|width|h|w|res|resolution|shape)$|"
                        r"^(resolution|image_resolution|img_res|resize)$", re.IGNORECASE)
_WIDTH_NAME = re.compile(r"^(d_model|n_embd|d_hidden|dim_model|width|"
                         r"\w*(hidden|embed|embedding|emb|model|attention|attn|decoder|encoder)_?(dim|size|units))$",
                         re.IGNORECASE)
# a model class the module imports from another file of the project, named after a deep architecture
_IMPORTED_DEEP = re.compile(r"DenseNet|VGG|UNet|Unet|U_Net|Inception|EfficientNet|VisionTransformer|ViT$|Swin|ConvNeXt|"
                            r"ResNe[Xx]t|ResNet(50|101|152)|Transformer$|DETR|Deeplab|DeepLab|"
                            # detectors and dense-prediction nets: 416-1333 pixel inputs (YOLOv3/v4, Darknet-53)
                            r"YOLO|Yolo|Darknet|HRNet|PSPNet|RetinaNet|FasterRCNN|MaskRCNN|EfficientDet|CenterNet")
# a project function that builds a detector or dense-prediction net (`yolo_body(inputs, ...)`,
# `darknet53(...)`, `tiny_yolo_body`): the Keras projects build their models with functions
_DETECTOR_BUILDER = re.compile(r"^(tiny_)?(yolo|darknet|retinanet|hrnet|pspnet|efficientdet|centernet)", re.IGNORECASE)
_RESIZERS = ("Resize", "RandomResizedCrop", "CenterCrop", "RandomCrop", "RandomSizedCrop", "Crop", "PadIfNeeded",
             "SmallestMaxSize", "LongestMaxSize", "RescaleT", "Rescale")


@dataclass(frozen=True)
class HeavyWorkload:
    """Why the training step is compute-heavy, as a phrase: "a ResNet-50 from torchvision"."""

    reason: str


@once_per_module
def heavy_training_workload(analysis: ModuleAnalysis) -> HeavyWorkload | None:
    """The first piece of evidence that the module's training step is compute-heavy, else None."""
    sides = _image_sides(analysis)
    side = max(sides) if sides else 0
    for finder in (_zoo_model, _pretrained_transformer, _pretrained_diffusion):
        found = finder(analysis, side)
        if found:
            return HeavyWorkload(found)
    convs, channels, dense, attention = _layers(analysis)
    widths = _width_settings(analysis)
    deep = sorted(name for name in analysis.facts.classes if _DEEP_CLASS.search(name))
    # a deep architecture's name is evidence unless the module's own known sizes say the model is
    # small: eeyhsong/EEG-Conformer's `ViT` of 40-wide embeddings and 40-channel convolutions (blind64)
    small_sizes = bool(channels) and max(channels) < MIN_DEEP_CHANNELS and max(widths, default=0) < MIN_ATTENTION_WIDTH
    if deep and not small_sizes:
        return HeavyWorkload(f"a deep architecture defined here (`{deep[0]}`)")
    resnets = sorted(name for name in analysis.facts.classes if "ResNet" in name)
    if resnets and max(channels, default=0) >= MIN_DEEP_CHANNELS:
        return HeavyWorkload(f"a residual network defined here (`{resnets[0]}`, up to {max(channels)} channels)")
    attention_classes = sorted(name for name in analysis.facts.classes if _ATTENTION_CLASS.search(name))
    attention_classes += _imported_classes(analysis, _ATTENTION_CLASS)
    # the model width a setting names (`emb_size=40`, `d_model=512`) before any Linear layer's: a
    # classifier over flattened features (`nn.Linear(2440, 256)`) is not the attention's width
    width = max(widths) if widths else max(dense, default=0)
    if (attention or attention_classes) and width >= MIN_ATTENTION_WIDTH:
        what = "`nn." + attention + "`" if attention else f"`{attention_classes[0]}`"
        return HeavyWorkload(f"attention layers ({what}) of width {width}")
    if side >= MIN_IMAGE_SIDE:
        # whatever the model (built here or imported), a step over images this large is not
        # launch-bound: an MLP on 128-pixel images is rare, convolutions and patches are the rule
        return HeavyWorkload(f"{side}-pixel input images" + (" through convolutions" if convs else ""))
    imported = _imported_deep_model(analysis)
    if imported:
        return HeavyWorkload(imported)
    if analysis.facts.context.heavy_caller:
        return HeavyWorkload(analysis.facts.context.heavy_caller)
    if max(dense + widths, default=0) >= MIN_DENSE_WIDTH:
        return HeavyWorkload(f"a {max(dense + widths)}-wide layer")
    if convs > MAX_CONV_LAYERS and max(channels, default=0) >= MIN_STACK_CHANNELS:
        # more convolutions than the small-model estimate allows, wide ones: a Network-in-Network or
        # VGG-style stack runs for tens of minutes even on 32-pixel CIFAR images
        return HeavyWorkload(f"a deep convolutional stack ({convs} convolutions, up to {max(channels)} channels)")
    return None


def _imported_deep_model(analysis: ModuleAnalysis) -> str:
    """`from unet import UNet` then `UNet(...)`: a model class of another project module, named
    after a deep architecture (its layers are not visible here; the name is the evidence)."""
    context = analysis.facts.context
    # a class of another module whose layers the project index read (advisor/model_layers.py): heavy
    # by its convolutions (audioset_tagging_cnn's Cnn14, blind32); one read as small is no evidence
    # whatever its name
    for site in analysis.facts.calls if context.heavy_models else ():
        qualname = _project_qualname(analysis, site)
        phrase = context.heavy_models.get(qualname)
        if phrase:
            return f"`{qualname.rpartition('.')[2]}`, {phrase}"
    names = [name for name in _imported_classes(analysis, _IMPORTED_DEEP)
             if not any(key.rpartition(".")[2] == name for key in context.small_models)]
    if names:
        return f"`{names[0]}`, a deep architecture from another module of the project"
    # `from model import resnet18`: a builder of the project named after a zoo architecture (a
    # CIFAR ResNet-18 is about 0.56 GFLOPs per 32-pixel image, 11 M parameters)
    local = analysis.facts.context.local_modules
    for site in analysis.facts.calls if local else ():
        module, _, name = _project_qualname(analysis, site).rpartition(".")
        if module in local and (_HEAVY_ZOO.match(name) or _MID_ZOO.match(name) or _DETECTOR_BUILDER.match(name)):
            return f"`{name}`, a deep architecture from another module of the project"
    return ""


def _imported_classes(analysis: ModuleAnalysis, pattern: re.Pattern[str]) -> list[str]:
    """Classes of other project modules the module builds (`UNet(...)` after `from unet import UNet`)
    whose name matches `pattern`."""
    local = analysis.facts.context.local_modules
    found: list[str] = []
    for site in analysis.facts.calls if local else ():
        module, _, name = _project_qualname(analysis, site).rpartition(".")
        if module in local and name[:1].isupper() and pattern.search(name) and name not in found:
            found.append(name)
    return found


def _project_qualname(analysis: ModuleAnalysis, site: CallSite) -> str:
    """The call's qualified name, also for a name a star import brought in from a project module
    (`from models import *` then `ResNet18()`, ndb796/Pytorch-Adversarial-Training-CIFAR, blind39)."""
    if site.qualname is not None:
        return site.qualname
    func = site.node.func
    if isinstance(func, cst.Name) and func.value not in analysis.facts.imports.bindings:
        return analysis.facts.context.star_names.get(func.value, "")
    return ""


def _zoo_model(analysis: ModuleAnalysis, side: int) -> str:
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if not qualname.startswith(_ZOO_PREFIXES):
            continue
        name = _zoo_name(site, qualname)
        if not name:
            continue
        source = qualname.split(".", 1)[0]
        if _HEAVY_ZOO.match(name) or qualname.startswith("segmentation_models_pytorch."):
            return f"a large architecture (`{name}` from {source})"
        if side >= MIN_IMAGE_SIDE:
            return f"`{name}` from {source} on {side}-pixel images"
    return ""


def _zoo_name(site: CallSite, qualname: str) -> str:
    """`torchvision.models.resnet50` -> "resnet50"; `torchvision.models.segmentation.deeplabv3_resnet50`;
    `timm.create_model("convnext_tiny")`; `torch.hub.load(repo, "resnet101")`; `smp.Unet(...)` -> "Unet"."""
    if qualname.startswith("torchvision.models."):
        last = qualname.rsplit(".", 1)[-1]
        return "" if last[:1].isupper() else last  # a weights enum or a class, not a builder
    if qualname == "timm.create_model":
        return string_value(argument(site.node, "model_name", 0)) or ""
    if qualname == "torch.hub.load":
        return string_value(argument(site.node, "model", 1)) or ""
    if qualname.startswith("segmentation_models_pytorch."):
        last = qualname.rsplit(".", 1)[-1]
        return last if last[:1].isupper() else ""
    if ".applications." in qualname:
        # Keras applications: `InceptionV3(weights="imagenet")` -> "inceptionv3" (stratospark/food-101-keras,
        # blind33 post hoc); `preprocess_input` and the other helpers are not networks
        last = qualname.rsplit(".", 1)[-1]
        return last.lower() if last[:1].isupper() else ""
    return ""


def _pretrained_transformer(analysis: ModuleAnalysis, side: int) -> str:
    """`AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")`: a Transformers
    model of BERT-base size (110 M parameters) or more, whatever the checkpoint, unless its name
    says it is a tiny one."""
    for site in analysis.facts.calls:
        if site.attr != "from_pretrained":
            continue
        qualname = site.qualname or ""
        if not qualname.startswith(("transformers.", "peft.", "sentence_transformers.")):
            continue
        model_class = qualname.split(".")[-2] if qualname.count(".") >= 2 else ""
        if not model_class or _NOT_A_MODEL.search(model_class):
            continue
        name = resolved_value(argument(site.node, "pretrained_model_name_or_path", 0))
        if isinstance(name, str):
            if _TINY_CHECKPOINT.search(name.rsplit("/", 1)[-1]):
                continue
            return f"a pretrained Transformers model (`{name}`)"
        return f"a pretrained Transformers model (`{model_class}`)"
    return ""


# diffusers classes whose `from_pretrained` loads a network (not a scheduler, tokenizer or config)
_DIFFUSION_NETWORK = re.compile(r"UNet|Transformer2D|SD3Transformer|FluxTransformer|ControlNet|AutoencoderKL|VQModel|Pipeline$")


def _pretrained_diffusion(analysis: ModuleAnalysis, side: int) -> str:
    """`UNet2DConditionModel.from_pretrained(...)`, `StableDiffusionPipeline.from_pretrained(...)`: a
    pretrained diffusers network (Stable Diffusion's UNet alone has about 860 M parameters and runs
    convolutions and attention over 64x64 latents), whatever the checkpoint."""
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if site.attr != "from_pretrained" or not qualname.startswith("diffusers."):
            continue
        model_class = qualname.split(".")[-2] if qualname.count(".") >= 2 else ""
        if _DIFFUSION_NETWORK.search(model_class):
            return f"a pretrained diffusion model (`{model_class}`)"
    return ""


def _layers(analysis: ModuleAnalysis) -> tuple[int, list[int], list[int], str]:
    """(conv call sites, their known channels, known Linear widths, the first attention layer's name)."""
    convs = 0
    channels: list[int] = []
    dense: list[int] = []
    attention = ""
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if not qualname.startswith("torch.nn.") or qualname.count(".") > 3:
            continue
        name = qualname.rsplit(".", 1)[-1]
        if _CONV.match(name):
            convs += 1
            channels.extend(_widths(site, (0, 1)))
        elif name == "Linear":
            dense.extend(_widths(site, (0, 1)))
        elif _ATTENTION_LAYER.match(qualname) and not attention:
            attention = name
            width = resolved_value(argument(site.node, "d_model" if name != "MultiheadAttention" else "embed_dim", 0))
            if isinstance(width, int) and not isinstance(width, bool):
                dense.append(width)
    return convs, channels, dense, attention


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _image_sides(analysis: ModuleAnalysis) -> list[int]:
    """Image sides the module sets: image-size settings (constants, argparse defaults, parameter
    defaults) and the sizes of torchvision/albumentations resizes and crops."""
    sides: list[int] = []
    heights: list[int] = []
    widths: list[int] = []
    for name, value in analysis.facts.assignments:
        if _SIDE_NAME.search(name):
            found = _ints(resolved_value(value))
            # a named height and width are one image: 22 x 600 EEG windows (eeyhsong/EEG-Conformer's
            # `img_height = 22`, `img_width = 600`, blind64) are 13,200 pixels, not a 600-pixel side
            kind = heights if re.search(r"(height|_h)$", name, re.IGNORECASE) else \
                widths if re.search(r"(width|_w)$", name, re.IGNORECASE) else sides
            kind.extend(found)
    if heights and widths:
        sides.append(int((max(heights) * max(widths)) ** 0.5))
    else:
        sides.extend(heights + widths)
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        last = qualname.rsplit(".", 1)[-1]
        if site.attr == "add_argument" and site.node.args:
            flag = (string_value(site.node.args[0].value) or "").lstrip("-").replace("-", "_")
            if _SIDE_NAME.search(flag):
                default = argument(site.node, "default")
                sides.extend(_ints(resolved_value(default) if default is not None else NOT_LITERAL))
        elif last in _RESIZERS and (qualname.startswith(("torchvision.", "albumentations."))
                                    or qualname.rpartition(".")[0] in analysis.facts.context.local_modules):
            # also the project's own resize or crop transform (U-2-Net's `RescaleT(320)`/`RandomCrop(288)`
            # from data_loader.py, blind33): a literal size is the size of the images
            args = positional_args(site.node)
            nodes = [arg.value for arg in args[:2]] + [
                arg.value for arg in site.node.args
                if arg.keyword is not None and arg.keyword.value in ("size", "height", "width", "max_size")
            ]
            for node in nodes:
                sides.extend(_ints(resolved_value(node)))
    imported = analysis.facts.context.fixed_size_inputs
    if imported is not None:
        sides.append(imported[1])  # a project transform that crops or resizes to one size (U-2-Net's RandomCrop(288))
    return [side for side in sides if 0 < side <= 8192]


def _ints(value: object) -> list[int]:
    single = _int(value)
    if single is not None:
        return [single]
    if isinstance(value, (list, tuple)):
        return [v for v in (_int(item) for item in value) if v is not None]
    return []


def _width_settings(analysis: ModuleAnalysis) -> list[int]:
    """Model widths the module sets by name (`d_model = 512`, `--d_model 512`, `hidden_size=768`)."""
    found: list[int] = []
    for name, value in analysis.facts.assignments:
        if _WIDTH_NAME.match(name):
            found.extend(_ints(resolved_value(value)))
    for site in analysis.facts.calls:
        if site.attr == "add_argument" and site.node.args:
            flag = (string_value(site.node.args[0].value) or "").lstrip("-").replace("-", "_")
            if _WIDTH_NAME.match(flag):
                default = argument(site.node, "default")
                found.extend(_ints(resolved_value(default) if default is not None else NOT_LITERAL))
        for arg in site.node.args:
            if arg.keyword is not None and _WIDTH_NAME.match(arg.keyword.value):
                found.extend(_ints(resolved_value(arg.value)))
    # a constructor's defaults (`def __init__(self, emb_size=40)`: EEG-Conformer's, blind64)
    for functions in analysis.facts.functions.values():
        for function in functions:
            params = function.node.params
            for param in [*params.params, *params.kwonly_params]:
                if param.default is not None and _WIDTH_NAME.match(param.name.value):
                    found.extend(_ints(resolved_value(param.default)))
    return found
