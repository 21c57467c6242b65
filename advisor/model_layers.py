"""Is a model class of a project module small, or compute-heavy, by the layers it builds? (ast only:
the project index must not import the rules' libcst analysis.)

Mixed precision pays where the arithmetic dominates a step; a CNN of a few narrow convolutions spends
its step launching kernels (the blind labels: "small launch-bound models are not worth AMP"). The
training script usually imports its model (`from models import SRCNN`), so the script's own analysis
cannot see the layers; this reads them where they are written. Sessions 17's cases: yjn870/
SRCNN-pytorch (three convolutions of 64 and 32 channels, blind45) and uvipen/Super-mario-bros-
PPO-pytorch (four 32-channel convolutions and a 512-wide layer, blind39), both judged not worth AMP.

Small means, with every hidden width written out (literals, arithmetic of literals, constructor
defaults; the input channels and a head's output width may be the data's): at most
MAX_CONVS convolution layers of at most MAX_CHANNELS channels, `Linear` layers at most MAX_WIDTH
wide and MAX_LINEAR_WEIGHTS weights together, and nothing else that carries weights but
normalisation: no recurrent, embedding or attention layer, no model or block class (its size is
not read here). Anything unknown: not small.

Heavy (heavy_model_phrase) is the positive side, for a training script that imports its model: a
class whose convolution layers (torch.nn convolutions, or the project's own blocks called with an
`out_channels`-like argument) reach HEAVY_CHANNELS channels over at least HEAVY_MIN_CONVS layers, or
that builds more than STACK_CONVS convolutions reaching STACK_CHANNELS (the thresholds of the
module-level evidence in rules/analysis/heavy_workload.py), or a HEAVY_WIDTH-wide `Linear`.
qiuqiangkong/audioset_tagging_cnn's `Cnn14` (six ConvBlocks of 64 to 2048 channels, blind32) is
heavy; PointNet's three kernel-1 convolutions (blind44) are not.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

MAX_CONVS = 6
MAX_CHANNELS = 128
MAX_WIDTH = 4096
# the Linear layers' weights together (in x out, where both are known): a flattened 32x6x6 feature
# map into a 512-wide layer is 0.6 M (the PPO agent); a VGG-style 25088 x 4096 head is 100 M
MAX_LINEAR_WEIGHTS = 2_000_000
# compute-heavy by its layers (see the module docstring)
HEAVY_CHANNELS = 512
HEAVY_MIN_CONVS = 4
STACK_CONVS = 8
STACK_CHANNELS = 192
HEAVY_WIDTH = 4096
# keywords by which a project block takes its output channels (`ConvBlock(in_channels=64, out_channels=128)`)
_OUT_CHANNEL_KEYWORDS = frozenset({"out_channels", "out_ch", "out_planes", "outplanes", "planes", "out_chans"})
_CONVS = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"})
# torch.nn classes without weights, or whose weights follow the layer before (norms)
_LIGHT = frozenset({
    "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Dropout", "Dropout2d", "Flatten", "Upsample", "Identity",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm2d", "GroupNorm", "LayerNorm",
    "Sequential", "ModuleList", "PixelShuffle", "ZeroPad2d", "ReflectionPad2d",
})


def small_model_phrase(node: ast.ClassDef, resolve: Callable[[ast.expr], str | None]) -> str | None:
    """"a small CNN (3 convolutions, at most 64 channels)" when the class builds only small layers of
    known width, else None."""
    defaults = _init_defaults(node)
    convs = linears = linear_weights = 0
    channels: list[int] = []
    widths: list[int] = []
    for child in ast.walk(node):
        if not isinstance(child, ast.Call):
            continue
        qualname = resolve(child.func) or ""
        func = child.func
        name = qualname.rsplit(".", 1)[-1] or (func.id if isinstance(func, ast.Name) else
                                               func.attr if isinstance(func, ast.Attribute) else "")
        if not qualname.startswith("torch.nn."):
            if name[:1].isupper() and not qualname.startswith("torch."):
                return None  # a block or model class whose layers are not read here
            continue
        if name in _CONVS:
            # the input channels come from the data (1-4 for images, `num_inputs` stacked frames)
            found = _sizes(child, 2, ("in_channels", "out_channels"), defaults)
            if found is None or found[1] is None:
                return None
            convs += 1
            channels += [size for size in found if size is not None]
        elif name == "Linear":
            # the output width of a head is the task's (classes, actions): not the model's size
            found = _sizes(child, 2, ("in_features", "out_features"), defaults)
            if found is None or found[0] is None:
                return None
            linears += 1
            widths += [size for size in found if size is not None]
            linear_weights += found[0] * (found[1] if found[1] is not None else 1)
        elif name[:1].isupper() and name not in _LIGHT:
            return None  # LSTM, Embedding, MultiheadAttention, Transformer...: not read as small
    if convs > MAX_CONVS or any(c > MAX_CHANNELS for c in channels) or any(w > MAX_WIDTH for w in widths) \
            or linear_weights > MAX_LINEAR_WEIGHTS:
        return None
    if convs:
        return f"a small CNN ({convs} convolution{'s' if convs != 1 else ''}, at most {max(channels)} channels)"
    if linears >= 2:
        return f"a small MLP ({linears} `Linear` layers, at most {max(widths)} wide)"
    return None


def heavy_model_phrase(node: ast.ClassDef, resolve: Callable[[ast.expr], str | None]) -> str | None:
    """"a CNN of 6 convolution layers up to 2048 channels" when the class's own layers show a
    compute-heavy model, else None (also when nothing is known: absence of evidence is not small)."""
    defaults = _init_defaults(node)
    channels: list[int] = []
    widest = 0
    for child in ast.walk(node):
        if not isinstance(child, ast.Call):
            continue
        qualname = resolve(child.func) or ""
        name = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torch.nn.") and name in _CONVS:
            found = _sizes(child, 2, ("in_channels", "out_channels"), defaults)
            if found is not None and found[-1] is not None:
                channels.append(found[-1])
        elif qualname.startswith("torch.nn.") and name == "Linear":
            found = _sizes(child, 2, ("in_features", "out_features"), defaults)
            if found is not None and None not in found:
                widest = max(widest, min(found))  # both sides wide: a 4096x4096 product per sample
        elif not qualname.startswith("torch."):
            # a block of the project: its output channels by keyword (its own layers are not read here)
            for keyword in child.keywords:
                if keyword.arg in _OUT_CHANNEL_KEYWORDS:
                    size = _integer(keyword.value, defaults)
                    if size is not None:
                        channels.append(size)
    most = max(channels, default=0)
    if (len(channels) >= HEAVY_MIN_CONVS and most >= HEAVY_CHANNELS) or \
            (len(channels) > STACK_CONVS and most >= STACK_CHANNELS):
        return f"a CNN of {len(channels)} convolution layers up to {most} channels"
    if widest >= HEAVY_WIDTH:
        return f"a {widest}-wide `Linear` layer"
    return None


def _init_defaults(node: ast.ClassDef) -> dict[str, int]:
    """`def __init__(self, num_channels=1)`: the integer defaults of the constructor's parameters
    (SRCNN's `nn.Conv2d(num_channels, 64, ...)` is 1 channel in unless a caller says otherwise)."""
    for method in node.body:
        if isinstance(method, ast.FunctionDef) and method.name == "__init__":
            args = method.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is not None]
            return {arg.arg: default.value for arg, default in pairs
                    if isinstance(default, ast.Constant) and type(default.value) is int}
    return {}


def _sizes(call: ast.Call, count: int, keywords: tuple[str, ...], names: dict[str, int]) -> list[int | None] | None:
    """The first `count` size arguments (positional, then by keyword, in that order) as integers,
    None for one not written out (a constructor parameter counts at its default); None when the
    call does not pass them all or unpacks arguments."""
    if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
        return None
    by_keyword = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg in keywords}
    values = [call.args[i] if i < len(call.args) else by_keyword.get(keywords[i]) for i in range(count)]
    if any(value is None for value in values):
        return None
    return [_integer(value, names) for value in values if value is not None]


def _integer(node: ast.expr, names: dict[str, int]) -> int | None:
    """A literal integer, a constructor parameter's default, or + - * // of them (`32 * 6 * 6`)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
        left, right = _integer(node.left, names), _integer(node.right, names)
        if left is None or right is None or (isinstance(node.op, ast.FloorDiv) and right == 0):
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return left // right
    return None
