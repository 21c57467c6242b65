"""The savings model: what fixing a finding is worth, as a fraction of some measured energy.

Each rule that can be quantified names *which* energy its fix affects (its `scope`) and *what
fraction* of it the fix removes (`low`..`high`, a point value, and where those numbers come from).
The fractions are not invented here: each one cites a measurement (first-hand, H100) or a published
figure recorded in docs/evidence.md, by anchor, and carries its uncertainty. A rule with no such evidence has no
model and its advice is listed as unquantified (advice.py), never given a number.

Scopes (what the fraction multiplies, taken from the profile by advice.py):
- ``lines``: the measured energy of the lines the finding covers (the statement, or the whole loop
  for a loop finding). The fraction may depend on how often the code repeats (`repeats`).
- ``gpu``: the GPU energy of the measured training steps. Needs a measured GPU; on a CPU-only
  run the advice is unquantified (the saving would be on a GPU, not in this run).

`repeats` for ``lines`` models:
- ``"steps"``: a loop-invariant piece of work that runs every iteration of its loop; fixing it
  keeps one of n runs: fraction (n - 1) / n, with n the loop's iterations over the run.
- ``"epochs"``: work repeated once per epoch: (E - 1) / E with E the epochs (at least 2).
- ``None``: a fixed fraction (a published speed-up of that code).
"""

from __future__ import annotations

from dataclasses import dataclass


def _measured(anchor: str) -> str:
    """Where a first-hand figure is recorded, with how it was measured (docs/evidence.md)."""
    return f"greenlint's own measurements, docs/evidence.md#{anchor}; first-hand, about ±5 % noise per figure"


def _published(code: str) -> str:
    """Where a rule's published figures are recorded, with their publications."""
    return f"docs/evidence.md#{code.lower()}"


@dataclass(frozen=True)
class SavingsModel:
    scope: str  # "lines" or "gpu"
    point: float  # fraction of the scope's energy saved
    low: float
    high: float
    confidence: str  # high / medium / low
    source: str  # the sentence that says where the fraction comes from
    repeats: str | None = None  # lines only: "steps", "epochs" or None
    # GPU models that depend on tensor cores (bf16, TF32) need Ampere or newer
    needs_tensor_cores: bool = False


def _repeat(repeats: str, what: str) -> SavingsModel:
    return SavingsModel(
        "lines", 1.0, 0.5, 1.0, "high",
        f"{what}: the work is the same every time, so all runs but the first are saved", repeats,
    )


SAVINGS: dict[str, SavingsModel] = {
    # -- lines: measured energy of the code the finding covers -----------------------------------
    "GL301": _repeat("steps", "a loop-invariant load"),
    "GL309": _repeat("steps", "a loop-invariant host-to-device copy"),
    "GL303": _repeat("epochs", "tokenisation repeated every epoch"),
    "GL302": SavingsModel(
        "lines", 0.82, 0.5, 0.9, "medium",
        f"batched tokenisation ran 5.5x faster than per-example in the Hugging Face course's "
        f"measurement (1 - 1/5.5 = 82 %; {_published('GL302')}); range 50-90 % for other tokenizers and text lengths",
    ),
    "GL601": SavingsModel(
        "lines", 0.9, 0.5, 0.99, "medium",
        f"on 100k rows iterrows took 4.68 s against 0.029 s for the vectorised form (about 160x) in a published "
        f"pandas benchmark ({_published('GL601')}); 90 % (10x) taken as the point, 50 % as a floor for loops doing other work",
    ),
    "GL604": SavingsModel(
        "lines", 0.9, 0.5, 0.99, "medium",
        f"one array expression instead of a per-element Python loop; no NumPy-specific measurement was found, so "
        f"the pandas row-iteration figure (about 160x, {_published('GL601')}) stands in; 90 % (10x) taken as the point, "
        f"50 % as a floor",
    ),
    # -- gpu: GPU energy of the measured training steps --------------------------------------------
    "GL101": SavingsModel(
        "gpu", 0.7, 0.49, 0.82, "medium",
        f"bf16 autocast cut GPU energy per step by 70 % (ResNet-50), 82 % (GPT-125M from strict fp32) and "
        f"49 % (GPT-125M from TF32) on an H100 ({_measured('h100-precision')}); about 0 for tiny, launch-bound models",
        needs_tensor_cores=True,
    ),
    "GL102": SavingsModel(
        "gpu", 0.7, 0.49, 0.82, "medium",
        f"bf16 mixed precision cut GPU energy per step by 49-82 % on an H100 in raw PyTorch "
        f"({_measured('h100-precision')}); the Trainer runs the same autocast",
        needs_tensor_cores=True,
    ),
    "GL104": SavingsModel(
        "gpu", 0.65, 0.0, 0.65, "low",
        f"allowing TF32 cut GPU energy per step by 65 % on a matmul-bound GPT-125M on an H100 "
        f"({_measured('h100-precision')}); convolution-heavy models gain less, down to nothing",
        needs_tensor_cores=True,
    ),
    "GL201": SavingsModel(
        "gpu", 0.79, 0.5, 0.88, "medium",
        f"ResNet-152 -> ResNet-18 on 32x32 images cut GPU energy per step by 79 % and ResNet-18 -> a small "
        f"CNN by 88 % on an H100 ({_measured('h100-model-size')}); the accuracy the smaller model reaches must be checked",
    ),
    "GL306": SavingsModel(
        "gpu", 0.8, 0.0, 0.8, "low",
        f"num_workers=0 -> 8 with pin_memory cut GPU energy per step by 80 % on an input-bound ResNet-18 "
        f"({_measured('h100-input-pipeline')}); a compute-bound step gains little, so the range starts at 0",
    ),
    "GL403": SavingsModel(
        "gpu", 0.1, 0.0, 0.19, "low",
        f"channels_last + cudnn.benchmark together cut 19 % of GPU energy per step on bf16 ResNet-50 "
        f"({_measured('h100-training-step')}); this rule's part of it was not measured alone",
    ),
    "GL404": SavingsModel(
        "gpu", 0.1, 0.0, 0.19, "low",
        f"channels_last + cudnn.benchmark together cut 19 % of GPU energy per step on bf16 ResNet-50 "
        f"({_measured('h100-training-step')}); this rule's part of it was not measured alone",
    ),
    "GL405": SavingsModel(
        "gpu", 0.06, 0.01, 0.11, "low",
        f"AdamW(fused=True) cut 6 % of GPU energy per step on a bf16 GPT-125M on an H100 ({_measured('h100-training-step')}); "
        "±5 points for the measurement noise",
    ),
    "GL401": SavingsModel(
        "gpu", 0.02, 0.0, 0.07, "low",
        f"`loss.item()` every step cost 2 % more GPU energy per step on a bf16 GPT-125M on an H100 "
        f"({_measured('h100-training-step')}); ±5 points for the measurement noise (floored at 0)",
    ),
}


def savings_model(code: str) -> SavingsModel | None:
    return SAVINGS.get(code)


# NVML reports names such as "NVIDIA H100 80GB HBM3" or "NVIDIA A100-SXM4-40GB". Tensor-core bf16
# and TF32 arrived with Ampere (compute capability 8.0); these families are Ampere or newer.
_TENSOR_CORE_FAMILIES = ("A100", "A30", "A40", "A10", "A16", "A2", "A800", "H100", "H200", "H800", "H20",
                         "GH200", "B100", "B200", "GB200", "L4", "L40", "RTX 30", "RTX 40", "RTX 50",
                         "RTX A", "RTX 2000 Ada", "RTX 4000 Ada", "RTX 5000 Ada", "RTX 6000 Ada")


def has_bf16_tensor_cores(gpu_name: str) -> bool | None:
    """True for a known Ampere-or-newer GPU, False for a known older one, None when unsure."""
    name = gpu_name.replace("NVIDIA ", "")
    if any(family in name for family in _TENSOR_CORE_FAMILIES):
        return True
    if any(old in name for old in ("V100", "T4", "P100", "P40", "P4", "K80", "M60", "RTX 20", "GTX", "TITAN V")):
        return False
    return None
