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
    devices = facts.context.devices
    for qualname, _node in facts.project_refs:
        phrase = devices.get(qualname)
        if phrase is not None:
            return DeviceFacts(True, f"uses {phrase}")
    # `config = Config.get()` of a project class whose `device` attribute is CUDA, though this
    # module never reads `config.device` (its callers place model and data: paolorechia/
    # common-lit-kaggle modeling/training.py, blind3). Classes only (a capitalised owner), not a
    # module whose constant is CUDA.
    owners = {key.rsplit(".", 1)[0]: phrase for key, phrase in devices.items() if key.count(".") >= 2}
    for qualname, _node in facts.project_refs:
        phrase = owners.get(qualname)
        if phrase is not None and qualname.rsplit(".", 1)[-1][:1].isupper():
            return DeviceFacts(True, f"uses the project's `{qualname.rsplit('.', 1)[-1]}`, whose {phrase}")
    return DeviceFacts(False, "")
