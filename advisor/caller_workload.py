"""Is the model that a training module trains a large one, as the scripts that call it show?

A common layout keeps the loop in `training.py` (`def train(model, loader, optimizer)`) and builds
the model in `main.py`, which imports and calls it: the training module alone shows nothing of the
model's size, so GL101 (rules/analysis/heavy_workload.py) would keep its finding under the default
threshold. For such a module the project index reads the callers (advisor/training_callers.py
finds them; their text is already read) and looks, in plain text, for the same kinds of evidence
heavy_workload.py reads from a module's syntax tree, narrowed to unambiguous spellings:
- a call of a large zoo builder (`resnet50(`, `deeplabv3_mobilenet_v3_large(`, `densenet121(`,
  `vit_b_16(`, `efficientnet_b0(`, ...) or `create_model("convnext_tiny"...)`;
- `...ForSequenceClassification.from_pretrained(` / `AutoModel....from_pretrained(`;
- a class named after a deep architecture built there (`class UNet(`, `class VGG16(`);
- an architecture option whose default names a large one (`--backbone` defaulting to "resnet50").
Text only (no parse); the first evidence found names its file. Nothing is guessed from a name in
a comment: lines starting with `#` are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

_ZOO_CALL = re.compile(
    r"\b(resnet(50|101|152)\w*|resnext\w+|wide_resnet\w+|vgg(11|13|16|19)\w*|densenet\d+\w*|efficientnet_\w+|"
    r"regnet_[xy]_\w+|inception_v3|vit_[bhl]_\d+|swin_[tsb]\w*|convnext_\w+|deeplabv3_\w+|fcn_resnet\w+|"
    r"maskrcnn_\w+|fasterrcnn_\w+|retinanet_\w+)\s*\(", re.IGNORECASE)
_TIMM = re.compile(r"create_model\(\s*[\"'](resnet(50|101|152)|resnext|vgg|densenet|efficientnet|vit_|deit|swin|convnext|"
                   r"regnet|inception)")
_PRETRAINED = re.compile(r"\b(AutoModel\w*|\w+For(SequenceClassification|TokenClassification|QuestionAnswering|"
                         r"CausalLM|MaskedLM|Seq2SeqLM|ConditionalGeneration|ImageClassification)|\w+Model)"
                         r"\.from_pretrained\(\s*[\"']?([\w./-]*)")
_TINY = re.compile(r"(tiny|mini|small|micro|nano)", re.IGNORECASE)
_DEEP_NAMES = r"(DenseNet|VGG|UNet|Unet|EfficientNet|ResNe[Xx]t|VisionTransformer|ConvNeXt|Swin|DeepLab)"
_DEEP_CLASS = re.compile(r"^class\s+\w*" + _DEEP_NAMES + r"\w*\s*[(:]", re.MULTILINE)
# a model class of the project built in the caller: `model = UNet(3, 1)`, `DeepLabV3_MobileNet_V3_Large(...)`
_DEEP_CALL = re.compile(r"=\s*(\w*" + _DEEP_NAMES + r"\w*)\s*\(")
_DEEP_ALIAS = re.compile(r"\b(\w*" + _DEEP_NAMES + r"\w*)\s+as\s+(\w+)")


# `parser.add_argument("--backbone", default="resnet50")`: the architecture option of a training script
_ARCH_OPTION = re.compile(r"add_argument\(\s*[\"']--?(backbone|arch|architecture|model|model_name|model_type|encoder|net)[\"']"
                          r"[^)]*?default\s*=\s*[\"'](resnet(50|101|152)\w*|resnext\w+|wide_resnet\w+|vgg\d+\w*|densenet\d+\w*|"
                          r"efficientnet\w*|vit_\w+|swin_\w+|convnext_\w+|regnet\w+)[\"']", re.IGNORECASE | re.DOTALL)


def heavy_model_in_callers(callers: list[tuple[str, str]]) -> str:
    """A phrase naming the first caller (shown path, text) that builds a large model, else ""."""
    for shown, text in callers:
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        found = _evidence(code)
        if found:
            return f"{found} in `{shown}`, which calls this module's training function"
    return ""


def _evidence(code: str) -> str:
    match = _ARCH_OPTION.search(code)
    if match:
        return f"a large architecture (`--{match.group(1)}` defaults to `{match.group(2)}`)"
    match = _ZOO_CALL.search(code)
    if match:
        return f"a large architecture (`{match.group(1)}`)"
    match = _TIMM.search(code)
    if match:
        return f"a large timm architecture (`{match.group(1)}...`)"
    for match in _PRETRAINED.finditer(code):
        name = match.group(3) or ""
        if name and _TINY.search(name.rsplit("/", 1)[-1]):
            continue
        if match.group(1).endswith("Model") and not match.group(1).startswith("AutoModel") and "For" not in match.group(1):
            continue  # `SomethingModel.from_pretrained` may be anything; the task heads and AutoModel are Transformers
        return f"a pretrained Transformers model (`{match.group(1)}`)"
    match = _DEEP_CLASS.search(code)
    if match:
        return f"a deep architecture (`{match.group(1)}`)"
    match = _DEEP_CALL.search(code)
    if match:
        return f"a deep architecture (`{match.group(1)}`)"
    # `from networks.vit_seg_modeling import VisionTransformer as ViT_seg` then `net = ViT_seg(...)`
    # (Beckschen/TransUNet, blind40)
    for match in _DEEP_ALIAS.finditer(code):
        if re.search(r"=\s*" + re.escape(match.group(3)) + r"\s*\(", code):
            return f"a deep architecture (`{match.group(1)}`, imported as `{match.group(3)}`)"
    return ""


def shown_callers(callers: list[tuple[Path, str]], relative) -> list[tuple[str, str]]:
    return [(relative(path) or str(path), text) for path, text in callers]
