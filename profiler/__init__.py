"""Energy measurement: `greenlint profile` (runner, bootstrap), the Python API and training callbacks.

    from greenlint.profiler import EnergyMeter
    from greenlint.profiler import GreenlintTrainerCallback      # Hugging Face Trainer
    from greenlint.profiler import GreenlintLightningCallback    # Lightning

The names are resolved on first use: importing this package loads nothing else (no torch, no
transformers, no lightning), so the CLI and the linter stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EnergyMeter": "greenlint.profiler.meter",
    "Measurement": "greenlint.profiler.meter",
    "DeviceEnergy": "greenlint.profiler.meter",
    "WindowError": "greenlint.profiler.meter",
    "GreenlintTrainerCallback": "greenlint.profiler.callbacks",
    "GreenlintLightningCallback": "greenlint.profiler.callbacks",
}

__all__ = ["DeviceEnergy", "EnergyMeter", "GreenlintLightningCallback", "GreenlintTrainerCallback", "Measurement", "WindowError"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
