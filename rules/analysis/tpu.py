"""Does this PyTorch / Hugging Face / Lightning module run on a TPU? Rules whose advice and figures
are about NVIDIA GPUs (tensor cores, CUDA mixed precision) must not describe a TPU run as a GPU run.

A TPU run shows itself by torch_xla (imported, or `xla_device()`), by trainer arguments that only
mean something on a TPU (`tpu_num_cores=`, Lightning `accelerator="tpu"` / `tpu_cores=`), or by the
Colab TPU address variable. Nothing here is a guess from names alone.
"""

from __future__ import annotations

from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.literals import literal_value

_TPU_KEYWORDS = frozenset({"tpu_num_cores", "tpu_cores"})


def tpu_evidence(facts: ModuleFacts, code: str = "") -> str | None:
    """A short phrase saying why the module runs on a TPU ("imports `torch_xla`"), or None."""
    for bound in facts.imports.bindings.values():
        if bound == "torch_xla" or bound.startswith("torch_xla."):
            return "imports `torch_xla`"
    for site in facts.calls:
        if site.attr == "xla_device":
            return "calls `xla_device()`"
        for arg in site.node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key in _TPU_KEYWORDS and literal_value(arg.value) not in (None, 0, "0"):
                return f"passes `{key}=`"
            if key == "accelerator" and literal_value(arg.value) == "tpu":
                return 'passes `accelerator="tpu"`'
    if "COLAB_TPU_ADDR" in code:
        return "reads `COLAB_TPU_ADDR`"
    return None
