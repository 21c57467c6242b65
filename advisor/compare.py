"""`greenlint compare BEFORE.json AFTER.json`: what a fix measurably saved, next to what the advice
predicted for it.

Both files are `greenlint profile --format json` documents. The measured saving is per step
(the mean J/step of BEFORE minus AFTER's), projected over BEFORE's total steps when it knows them;
that is the quantity the advice predicts for per-step work. A prediction counts as *applied* when
its finding (same rule, same file, same message) is gone from AFTER's advice.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any


class CompareError(Exception):
    pass


@dataclass
class Prediction:
    code: str
    filename: str
    line: int
    estimated_savings_j: float | None
    low_j: float | None
    high_j: float | None


@dataclass
class Comparison:
    before_j_per_step: float | None
    after_j_per_step: float | None
    saved_j_per_step: float | None
    saved_pct_per_step: float | None
    total_steps: int | None
    measured_run_saving_j: float | None  # per-step saving x total steps
    before_run_j: float | None
    after_run_j: float | None
    applied: list[Prediction] = field(default_factory=list)
    predicted_j: float | None = None
    predicted_low_j: float | None = None
    predicted_high_j: float | None = None
    within_prediction: bool | None = None
    basis: str = ""
    notices: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_document(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise CompareError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise CompareError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("profile"), dict):
        raise CompareError(f"{path}: not a greenlint profile (write one with `greenlint profile --format json --output FILE`)")
    return document


def _key(item: dict[str, Any]) -> tuple[str, str, str]:
    # the message names the code involved (`torch.load(...)`, the loop header) but not its row, so
    # it tells two findings of one rule in one file apart even after a fix has moved the lines
    return item["code"], os.path.basename(item["filename"]), item.get("message", "")


def _gone(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of BEFORE with no counterpart left in AFTER (a multiset difference)."""
    remaining: dict[tuple[str, str, str], int] = {}
    for item in after:
        remaining[_key(item)] = remaining.get(_key(item), 0) + 1
    gone = []
    for item in before:
        key = _key(item)
        if remaining.get(key, 0) > 0:
            remaining[key] -= 1
        else:
            gone.append(item)
    return gone


def compare(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    b, a = before["profile"], after["profile"]
    notices: list[str] = []
    for side, profile in (("before", b), ("after", a)):
        if not profile.get("steps"):
            notices.append(f"{side}: no measured optimizer steps; per-step comparison impossible")
    methods_b = sorted({d["method"] for d in b.get("devices", [])})
    methods_a = sorted({d["method"] for d in a.get("devices", [])})
    if methods_b != methods_a:
        notices.append(f"the two profiles were measured differently ({'/'.join(methods_b)} vs {'/'.join(methods_a)})")
    jb, ja = b.get("j_per_step"), a.get("j_per_step")
    saved = jb - ja if jb is not None and ja is not None else None
    pct = 100.0 * saved / jb if saved is not None and jb else None
    total = (b.get("projection") or {}).get("total_steps")
    run_saving = saved * total if saved is not None and total else None

    applied = [
        Prediction(item["code"], item["filename"], item["line"], item.get("estimated_savings_j"),
                   item.get("low_j"), item.get("high_j"))
        for item in _gone(before.get("advice", []), after.get("advice", []))
    ]
    quantified = [p for p in applied if p.estimated_savings_j is not None]
    predicted = sum(p.estimated_savings_j for p in quantified) if quantified else None  # type: ignore[misc]
    low = sum(p.low_j or 0.0 for p in quantified) if quantified else None
    high = sum(p.high_j or 0.0 for p in quantified) if quantified else None
    within = None
    if predicted is not None and run_saving is not None and low is not None and high is not None:
        within = low <= run_saving <= high
    basis = ("measured: mean J/step before minus after"
             + (f", x {total:,} total steps (the BEFORE profile's projection)" if total else
                " (no total step count in BEFORE: per-step only)")
             + "; predicted: the sum of the applied advice items' estimates (their findings are gone from AFTER)")
    if not applied:
        notices.append("no advice item of BEFORE is gone in AFTER: nothing to check the prediction against")
    return Comparison(jb, ja, saved, pct, total, run_saving,
                      (b.get("projection") or {}).get("energy_j"), (a.get("projection") or {}).get("energy_j"),
                      applied, predicted, low, high, within, basis, notices)
