"""Does this module put work on an NVIDIA GPU? GPU-only rules stay silent on CPU-only scripts."""

from __future__ import annotations

from dataclasses import dataclass

from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.literals import literal_value

_GPU_CONSTRUCTORS = frozenset(
    {
        "torch.nn.DataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "accelerate.Accelerator",
    }
)


@dataclass(frozen=True)
class DeviceFacts:
    uses_gpu: bool
    evidence: str  # a short phrase for messages, such as "calls `.cuda()`"; "" when none


def collect_device_facts(facts: ModuleFacts) -> DeviceFacts:
    if facts.cuda_strings:
        return DeviceFacts(True, 'names the "cuda" device')
    for qualname, _node in facts.watched_attributes:
        if qualname.startswith(("torch.cuda", "torch.backends.cudnn", "torch.accelerator")):
            return DeviceFacts(True, f"uses `{qualname}`")
    for site in facts.calls:
        if site.attr == "cuda" and site.is_method_call:
            return DeviceFacts(True, "calls `.cuda()`")
        qualname = site.qualname
        if qualname in _GPU_CONSTRUCTORS:
            return DeviceFacts(True, f"uses `{qualname}`")
        for arg in site.node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key == "device_map":
                return DeviceFacts(True, "loads a model with `device_map=`")
            if key in ("accelerator", "device") and literal_value(arg.value) in ("gpu", "cuda"):
                return DeviceFacts(True, f'passes `{key}="{literal_value(arg.value)}"`')
            if key == "gpus" and literal_value(arg.value) not in (0, None, "0", [], ()):
                return DeviceFacts(True, "passes `gpus=`")
    # a device chosen in another module of the project: `from tools.config import DEVICE`
    for qualname, _node in facts.project_refs:
        phrase = facts.context.devices.get(qualname)
        if phrase is not None:
            return DeviceFacts(True, f"uses {phrase}")
    return DeviceFacts(False, "")
