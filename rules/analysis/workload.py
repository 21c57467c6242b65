"""One estimate of the training workload's size, shared by the rules whose saving shrinks with it.

Mixed precision (GL101, GL102) and removing a per-step host sync (GL401) save a share of the GPU's
time, and that share is only worth a code change when the run is large: a 2-layer LSTM on AG News
or a MobileNet on 64-pixel CIFAR images spends its step launching kernels and finishes in minutes
(rules/evidence.py `AMP_SMALL_MODELS`; LANfactory measured "under 1 %" for a per-step sync in real
training). The rules lower such a finding's estimated impact with `Scale`; they never drop it, so
`--select CODE` or a lower `min-impact` still shows it.

The estimate says SMALL only when the module shows it:
- a model built here from layers of known small width on known small data, or a single Linear
  layer (rules/analysis/model_size.py has the details and limits);
- a mobile-class torchvision/timm/hub architecture (MobileNet, ShuffleNet, SqueezeNet, MnasNet)
  on a known small dataset whose every input side the module sets is at most 64 pixels.
`data_known` says whether the data is known small too (a short run) or only the model (a
launch-bound step over data of unknown size): GL401's saving depends on the run's length, so it
needs the former. Anything else, including every model it cannot see, is "not known to be small" (None): hiding a
real large run's waste is worse than showing a small run's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import argument, resolved_value, string_value
from greenlint.rules.analysis.model_size import MAX_IMAGE_SIDE, small_data, small_workload
from greenlint.rules.analysis.memo import once_per_module
from greenlint.rules.impact import Scale

# mobile-class architectures: a few hundred MFLOPs at 224 pixels at most, and the FLOPs of a
# convolutional net scale with the number of pixels, so at 64 pixels or less the step is tiny
_MOBILE_ARCH = re.compile(r"^(mobilenet_?v?[23]\w*|mobilenetv[23]\w*|shufflenet\w*|squeezenet\w*|mnasnet\w*)$",
                          re.IGNORECASE)
_ZOO_BUILDERS = ("torchvision.models.", "timm.create_model", "torch.hub.load")
_NATIVE_SIDE = re.compile(r"\((\d+)x(\d+)\)")
_CROPS = ("RandomCrop", "CenterCrop", "RandomResizedCrop")


@dataclass(frozen=True)
class Workload:
    """A training workload known to be small; `reason` says how the module shows it."""

    reason: str
    # the data is known to be small too, so the run is short; False when only the model is known
    # to be small (a step is launch-bound, but the number of steps is not known)
    data_known: bool = True


@once_per_module  # three rules ask
def small_training_workload(analysis: ModuleAnalysis) -> Workload | None:
    """A Workload when the module visibly trains a small workload, else None (unknown or large)."""
    return _estimate(analysis)


# A small, launch-bound workload: mixed precision saves about nothing there (autocast ran 0.49x-0.87x
# as fast as float32 on a small A100 workload, evidence.AMP_SMALL_MODELS). The factor puts GL101's
# and GL102's estimate under the 2 % "medium" level (midpoint of 49-82 % x 0.02 = 1.3 %): it stands
# for "about nothing", it is not a measurement.
SMALL_WORKLOAD_AMP_FACTOR = 0.02


def mixed_precision_scale(analysis: ModuleAnalysis) -> Scale | None:
    """The Scale GL101 and GL102 put on a finding in a module that trains a small workload."""
    workload = small_training_workload(analysis)
    if workload is None:
        return None
    return Scale(
        SMALL_WORKLOAD_AMP_FACTOR,
        f"{workload.reason}: launch-bound, so mixed precision saves about nothing there (autocast ran "
        "0.49x-0.87x as fast as float32 on a small workload on an A100, huggingface/transformers#15026)",
    )


def _estimate(analysis: ModuleAnalysis) -> Workload | None:
    built_here = small_workload(analysis)
    if built_here is not None:
        return Workload(built_here.reason(), built_here.data_known)
    return _mobile_architecture(analysis)


def _mobile_architecture(analysis: ModuleAnalysis) -> Workload | None:
    """`torch.hub.load("pytorch/vision", "mobilenet_v3_small")` or `torchvision.models.mobilenet_v2()`
    on CIFAR-10 with `RandomCrop((64, 64))`."""
    arch: str | None = None
    data: str | None = None
    resizes: list[int] = []
    crops: list[int] = []
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        data = data or small_data(site, qualname)
        name = _zoo_name(site, qualname)
        if name is not None:
            if not _MOBILE_ARCH.match(name):
                return None  # another zoo model next to it: its size is not known
            arch = arch or name
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torchvision.") and last in ("Resize",) + _CROPS:
            sides = _sides(site)
            if sides is None:
                return None  # a side the module computes: not known
            (crops if last in _CROPS else resizes).extend(sides)
        elif last in ("interpolate", "Upsample"):
            return None
    if arch is None or data is None:
        return None
    # the network sees the crop when there is one, else the resize, else the dataset's own size
    sides = crops or resizes or _native_sides(data)
    if not sides or max(sides) > MAX_IMAGE_SIDE:
        return None
    return Workload(f"a mobile-class network ({arch}) on {data} at {max(sides)}-pixel inputs")


def _zoo_name(site: CallSite, qualname: str) -> str | None:
    """The architecture a zoo call builds: `torchvision.models.mobilenet_v2` -> "mobilenet_v2",
    `timm.create_model("mobilenetv3_small_100")`, `torch.hub.load(repo, "mobilenet_v3_small")`;
    "" when the call builds a model whose name is not a literal."""
    if not qualname.startswith(_ZOO_BUILDERS):
        return None
    if qualname.startswith("torchvision.models."):
        parts = qualname.split(".")
        if len(parts) != 3 or parts[2][:1].isupper():
            return None  # a submodule (`torchvision.models.detection`) or a weights enum
        return parts[2]
    if qualname == "timm.create_model":
        return string_value(argument(site.node, "model_name", 0)) or ""
    if qualname == "torch.hub.load":
        return string_value(argument(site.node, "model", 1)) or ""
    return None


def _sides(site: CallSite) -> list[int] | None:
    value = resolved_value(argument(site.node, "size", 0))
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return list(value)
    return None


def _native_sides(data: str) -> list[int]:
    match = _NATIVE_SIDE.search(data)
    return [int(match.group(1)), int(match.group(2))] if match else []
