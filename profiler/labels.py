"""How each figure was obtained, and the words for the spans they cover: one rule for every
number greenlint shows (text report, JSON, HTML, callbacks, advice, carbon).

The rule: a figure's label comes from how that figure was obtained, never from what else is on
the same row.

- **measured**: read from a sensor or an energy counter (NVML, RAPL), or a wall-clock time;
- **estimated**: computed from a model, e.g. CPU seconds x watts per core, or a line's share of
  stack samples, or a fix's saving;
- **partly estimated**: a sum of measured and estimated parts;
- **projected**: extrapolated beyond what ran (the full training run from the measured steps).

So a run's time is measured while its energy can be estimated, and the energy of a run that ran
to its end under `--full` is measured or estimated like the rest of the profile, not projected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MEASURED = "measured"
ESTIMATED = "estimated"
PARTLY = "partly estimated"
PROJECTED = "projected"
UNQUANTIFIED = "unquantified"
LABELS = (MEASURED, ESTIMATED, PARTLY, PROJECTED)

# Methods that read a sensor or counter. The CPU-time estimate ("estimate") and anything unknown
# is an estimate: an unknown method must never be promoted to "measured".
MEASURED_METHODS = frozenset({"nvml-energy-counter", "nvml-power-samples", "nvml-power-polled", "rapl"})

# The vocabulary for the spans a figure covers (the same words in every output).
PROFILED_RUN = "profiled run"  # what ran under greenlint, start to where the profile stopped
MEASURED_STEPS = "measured steps"  # the window of optimizer steps after the warm-up
FULL_RUN = "full training run"  # start to the script's last step: projected, or run with --full
NOT_QUANTIFIED = "saving not quantified"  # an advice item's confidence when it has no number


def method_how(method: Any) -> str:
    """How one energy source's figures are obtained."""
    return MEASURED if method in MEASURED_METHODS else ESTIMATED


def methods_how(methods: Iterable[Any]) -> str:
    """A sum over sources: measured only if every source is measured."""
    hows = {method_how(m) for m in methods}
    if not hows:
        return "none"
    if hows == {MEASURED}:
        return MEASURED
    return ESTIMATED if hows == {ESTIMATED} else PARTLY


def devices_how(devices: Iterable[Any], window: bool = False) -> str:
    """How the energy summed over these devices (dicts or Device objects) was obtained; only the
    devices with a figure for the span count."""
    key = "window_energy_j" if window else "energy_j"
    methods = []
    for d in devices:
        get = d.get if isinstance(d, dict) else lambda k, d=d: getattr(d, k, None)
        if get(key) is not None:
            methods.append(get("method"))
    return methods_how(methods)


def tolerance_words(how: str, tolerance: float) -> str:
    """The range's reason: a sensor's tolerance only where there is a sensor."""
    pct = f"±{tolerance:.0%}"
    if how == MEASURED:
        return f"the sensors' stated tolerance {pct}"
    if how == ESTIMATED:
        return f"the estimate's stated uncertainty {pct} (no energy sensor was read)"
    return f"the sources' stated tolerance or uncertainty {pct} (some energy is estimated)"


def is_full_run(projection: Any) -> bool:
    """The projection's figure is the whole training run, run to its end (`--full`, or a callback
    that saw training end), not an extrapolation."""
    proj = _as_dict(projection)
    if proj.get("kind"):
        return proj["kind"] == "full run"
    basis = str(proj.get("basis") or "")
    if label_of_basis(basis, "") == PROJECTED:
        return False
    # documents written before "kind" existed said "measured: the whole ..." for such runs; a
    # merged torchrun profile quotes its first part's basis
    return "(--full)" in basis or "ran to its end" in basis or (basis.startswith(MEASURED) and "whole" in basis)


def projection_how(projection: Any, energy_how: str) -> str:
    """The label of the full-run figure: the run's own energy label when it ran to its end,
    else projected."""
    recorded = _as_dict(projection).get("how")
    if recorded in LABELS:
        return recorded
    if is_full_run(projection):
        return energy_how if energy_how in LABELS else ESTIMATED
    return PROJECTED


def projection_heading(projection: Any, energy_how: str) -> str:
    """"Full training run (projected)", or "(measured, ran to its end)" after --full."""
    how = projection_how(projection, energy_how)
    return f"Full training run ({how})" if how == PROJECTED else f"Full training run ({how}, ran to its end)"


def energy_label(how: Any) -> str:
    """A safe label for a document's energy_how: anything unknown reads as estimated."""
    return str(how) if how in LABELS else ESTIMATED


def label_of_basis(basis: Any, default: str) -> str:
    """A basis starts with how its number was obtained ("projected: ..."); `default` otherwise."""
    text = str(basis or "").lstrip().lower()
    for how in (PARTLY, MEASURED, ESTIMATED, PROJECTED):
        if text.startswith(how):
            return how
    return default


def confidence_words(confidence: Any, quantified: bool) -> str:
    """An advice item's confidence for people: an unquantified item has no number to be sure of,
    which says nothing against the finding itself."""
    if not quantified or confidence in (None, "", "none"):
        return NOT_QUANTIFIED
    return str(confidence)


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return {k: getattr(value, k, None) for k in ("kind", "how", "basis", "energy_j")}
