"""Energy to kWh and grams of CO2e, at a stated grid intensity and PUE.

The default grid intensity is a world average with its source and year; users should pass their
own region's figure (`--grid-intensity`, or `grid-intensity` in the configuration). PUE (power
usage effectiveness, facility energy / IT energy) defaults to 1.0: only what the devices drew.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from greenlint.profiler.units import J_PER_KWH

# Ember, Global Electricity Review 2023: the world's electricity generation emitted 436 g CO2 per
# kWh in 2022 (lifecycle emissions, CO2-equivalent).
DEFAULT_GRID_G_PER_KWH = 436.0
DEFAULT_GRID_SOURCE = "world average for 2022, Ember Global Electricity Review 2023 (436 gCO2e/kWh)"


@dataclass
class Carbon:
    energy_kwh: float
    low_kwh: float
    high_kwh: float
    grid_g_per_kwh: float
    grid_source: str
    pue: float
    co2e_g: float
    low_g: float
    high_g: float
    basis: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def carbon_of(energy_j: float, low_j: float | None, high_j: float | None, how: str,
              grid_g_per_kwh: float | None = None, pue: float = 1.0) -> Carbon:
    """`how` says what the energy is (e.g. "projected whole run"); it leads the basis."""
    grid = DEFAULT_GRID_G_PER_KWH if grid_g_per_kwh is None else grid_g_per_kwh
    source = DEFAULT_GRID_SOURCE if grid_g_per_kwh is None else "given by the user"
    kwh = energy_j * pue / J_PER_KWH
    low = (low_j if low_j is not None else energy_j) * pue / J_PER_KWH
    high = (high_j if high_j is not None else energy_j) * pue / J_PER_KWH
    basis = (f"{how} energy x PUE {pue:g} x grid intensity {grid:g} gCO2e/kWh ({source}); "
             "devices measured or estimated by greenlint only, not the rest of the machine")
    return Carbon(kwh, low, high, grid, source, pue, kwh * grid, low * grid, high * grid, basis)
