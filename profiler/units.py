"""Human units for the numbers greenlint prints: one place, so that the text report, the advice,
`compare`, the callbacks and the HTML report all say the same thing the same way.

Every figure is shown with 3 significant digits in an engineering unit (mJ, J, kJ, MJ; Wh, kWh)
and never in scientific notation: `1.2e+03 J` is hard to read and easy to misread by 1000x.
"""

from __future__ import annotations

import math

J_PER_KWH = 3.6e6
SIGNIFICANT = 3

# (size of the unit in the base unit, its symbol), smallest first
_ENERGY = ((1e-6, "µJ"), (1e-3, "mJ"), (1.0, "J"), (1e3, "kJ"), (1e6, "MJ"), (1e9, "GJ"), (1e12, "TJ"))
_KWH = ((1e-6, "mWh"), (1e-3, "Wh"), (1.0, "kWh"), (1e3, "MWh"), (1e6, "GWh"))
_GRAMS = ((1e-3, "mg"), (1.0, "g"), (1e3, "kg"), (1e6, "t"), (1e9, "kt"))
_WATTS = ((1e-3, "mW"), (1.0, "W"), (1e3, "kW"), (1e6, "MW"))


def format_number(value: float | None, digits: int = SIGNIFICANT) -> str:
    """`value` rounded to `digits` significant digits in plain positional notation: 1230, 12.3,
    0.00123 (never 1.23e+03); trailing zeros after the point are dropped, as %g does."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - exponent, 0)
    rounded = round(value, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > exponent:  # 9.996 -> 10.0: one decimal fewer
        decimals = max(decimals - 1, 0)
    text = f"{rounded:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if decimals == 0 and exponent >= digits:  # 123456 -> 123000: keep only the significant digits
        scale = 10 ** (exponent - digits + 1)
        text = str(round(value / scale) * scale)
    return "0" if text in ("-0", "") else text


def _scaled(value: float | None, units: tuple[tuple[float, str], ...]) -> str:
    """The largest unit in which |value| is at least 1 (after rounding to 3 significant digits)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return f"0 {next(symbol for size, symbol in units if size == 1.0)}"
    size, symbol = units[0]
    for unit_size, unit_symbol in units:
        if abs(float(format_number(value / unit_size))) >= 1:
            size, symbol = unit_size, unit_symbol
    return f"{format_number(value / size)} {symbol}"


def format_energy(joules: float | None) -> str:
    """Joules in µJ, mJ, J, kJ, MJ, ... with 3 significant digits: 0.0123 -> "12.3 mJ"."""
    return _scaled(joules, _ENERGY)


def format_kwh(kwh: float | None) -> str:
    """An energy given in kWh (carbon figures): Wh below 1 kWh and mWh below 1 Wh, so small runs stay readable."""
    return _scaled(kwh, _KWH)


def format_kwh_of_joules(joules: float | None) -> str:
    return format_kwh(None if joules is None else joules / J_PER_KWH)


def format_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:.1f} h"
    if abs(seconds) >= 60:
        return f"{seconds / 60:.1f} min"
    if abs(seconds) >= 1:
        return f"{seconds:.2f} s"
    return f"{format_number(seconds * 1000)} ms"


def format_grams(grams: float | None) -> str:
    return _scaled(grams, _GRAMS)


def format_watts(watts: float | None) -> str:
    return _scaled(watts, _WATTS)


def format_percent(fraction: float | None, decimals: int = 1) -> str:
    """A fraction (0.342) as a percentage ("34.2 %")."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    return f"{fraction * 100:.{decimals}f} %"
