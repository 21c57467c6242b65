"""Training callbacks that measure energy per epoch and per step, for Hugging Face and Lightning.

    from greenlint.profiler.callbacks import GreenlintTrainerCallback     # needs transformers
    from greenlint.profiler.callbacks import GreenlintLightningCallback   # needs lightning (or pytorch_lightning)

Each class is built from its framework's base class on first access, so importing greenlint (or
this package) never imports transformers or lightning; both are optional dependencies
(``pip install 'greenlint[callbacks]'``).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "GreenlintTrainerCallback": "greenlint.profiler.callbacks.huggingface",
    "GreenlintLightningCallback": "greenlint.profiler.callbacks.lightning",
    "GreenlintPytorchLightningCallback": "greenlint.profiler.callbacks.lightning",
    "TrainingEnergy": "greenlint.profiler.callbacks.tracker",
}

__all__ = ["GreenlintLightningCallback", "GreenlintPytorchLightningCallback", "GreenlintTrainerCallback", "TrainingEnergy"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
