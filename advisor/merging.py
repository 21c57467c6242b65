"""`greenlint merge NODE.json ...`: one document for a multi-node job from its nodes' profiles.

Each node runs `greenlint profile --format json` under its own torchrun (SLURM `srun`, one task
per node) and writes `{"profile", "advice", "carbon"}`. Each node measured only its own devices,
so the profiles merge as a node's ranks do (profiler/merge.py): devices and ranks concatenated,
energies and projections summed, steps reported once and checked equal. The same finding on every
node is one advice item whose saving is the sum of the nodes' savings (each node saves its part).
"""

from __future__ import annotations

from typing import Any

from greenlint.profile_schema import SchemaError, validate_document
from greenlint.profiler.merge import merge_profiles, profile_from_json
from greenlint.profiling import carbon_for


class MergeError(Exception):
    pass


_SUMMED = ("estimated_savings_j", "low_j", "high_j")
_CONFIDENCE = ("none", "low", "medium", "high")


def merge_advice(documents: list[dict[str, Any]], run_energy_j: float | None) -> list[dict[str, Any]]:
    """Advice deduplicated by (code, file, line); quantities summed, re-ranked by saving."""
    merged: dict[tuple[str, str, int], dict[str, Any]] = {}
    counts: dict[tuple[str, str, int], int] = {}
    for document in documents:
        for item in document.get("advice", []):
            key = (item.get("code", ""), item.get("filename", ""), int(item.get("line", 0)))
            counts[key] = counts.get(key, 0) + 1
            if key not in merged:
                merged[key] = dict(item)
                continue
            into = merged[key]
            for name in _SUMMED:
                into[name] = None if into.get(name) is None or item.get(name) is None else into[name] + item[name]
            into["quantified"] = bool(into.get("quantified")) and bool(item.get("quantified"))
            # the least certain node's confidence
            into["confidence"] = min((into.get("confidence", "none"), item.get("confidence", "none")),
                                     key=lambda c: _CONFIDENCE.index(c) if c in _CONFIDENCE else 0)
    for key, item in merged.items():
        if counts[key] > 1:
            item["basis"] = f"summed over {counts[key]} node profiles; first node: {item.get('basis', '')}"
        saving = item.get("estimated_savings_j")
        item["estimated_savings_pct"] = (100.0 * saving / run_energy_j if saving is not None and run_energy_j
                                         else None)
    ordered = sorted(merged.values(), key=lambda a: (not a.get("quantified"), -(a.get("estimated_savings_j") or 0.0),
                                                     a.get("filename", ""), a.get("line", 0), a.get("code", "")))
    for rank, item in enumerate(ordered, 1):
        item["rank"] = rank
    return ordered


def merge_documents(documents: list[dict[str, Any]], names: list[str] | None = None) -> dict[str, Any]:
    """The job's `{"profile", "advice", "carbon", "advice_notices"}` from its nodes' documents
    (`names`: what to call them in errors, e.g. their paths)."""
    if len(documents) < 2:
        raise MergeError("merge needs at least two profile documents")
    for i, document in enumerate(documents, 1):
        name = names[i - 1] if names and len(names) >= i else f"document {i}"
        if not isinstance(document, dict) or not isinstance(document.get("profile"), dict):
            raise MergeError(f"{name} is not a `greenlint profile --format json` document (no \"profile\")")
        try:
            validate_document(document)
        except SchemaError as exc:
            raise MergeError(f"{name}: not a valid greenlint profile: {exc}") from None
    ranks = [r.get("rank") for d in documents for r in d["profile"].get("ranks", [])]
    if len(ranks) != len(set(ranks)):
        raise MergeError("the documents share ranks: the same node (or the same run) was given twice")
    profile = merge_profiles([profile_from_json(d["profile"]) for d in documents])
    profile_json = profile.to_json()
    projection = profile_json.get("projection") or {}
    run_energy = projection.get("energy_j") or profile_json.get("energy_j")
    document: dict[str, Any] = {"profile": profile_json, "advice": merge_advice(documents, run_energy)}
    first_carbon = next((d["carbon"] for d in documents if d.get("carbon")), None)
    if first_carbon is not None:
        user_grid = first_carbon.get("grid_source") == "given by the user"
        carbon = carbon_for(profile_json, first_carbon["grid_g_per_kwh"] if user_grid else None,
                            float(first_carbon.get("pue", 1.0)))
        if carbon is not None:
            document["carbon"] = carbon.to_json()
    notices = [n for d in documents for n in d.get("advice_notices", [])]
    document["advice_notices"] = list(dict.fromkeys(notices))
    return document
