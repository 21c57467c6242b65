"""Human units for the numbers greenlint prints: one place, so that the text report, the advice,
`compare` and the HTML report all say the same thing the same way."""

from __future__ import annotations

J_PER_KWH = 3.6e6


def format_energy(joules: float | None) -> str:
    if joules is None:
        return "n/a"
    if joules >= J_PER_KWH:
        return f"{joules / J_PER_KWH:.3g} kWh"
    if joules >= 3600:
        return f"{joules / 3600:.3g} Wh"
    if joules >= 0.1:
        return f"{joules:.3g} J"
    return f"{joules * 1000:.3g} mJ"


def format_kwh(kwh: float | None) -> str:
    """An energy given in kWh (carbon figures): Wh below 0.1 kWh, so small runs stay readable."""
    if kwh is None:
        return "n/a"
    return f"{kwh:.3g} kWh" if kwh >= 0.1 else f"{kwh * 1000:.3g} Wh"


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.3g} ms"


def format_grams(grams: float | None) -> str:
    if grams is None:
        return "n/a"
    if grams >= 1e6:
        return f"{grams / 1e6:.3g} t"
    if grams >= 1000:
        return f"{grams / 1000:.3g} kg"
    if grams >= 1:
        return f"{grams:.3g} g"
    return f"{grams * 1000:.3g} mg"


def format_watts(watts: float | None) -> str:
    if watts is None:
        return "n/a"
    return f"{watts / 1000:.3g} kW" if watts >= 1000 else f"{watts:.3g} W"
