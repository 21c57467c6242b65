"""`greenlint compare BEFORE.json AFTER.json`: what a fix measurably saved, how sure that is, and
how it stands against what the advice predicted for it.

Both files are `greenlint profile --format json` documents, checked against the schema greenlint
writes (profile_schema.py) before anything reads them. The measured saving is per step: BEFORE's
mean J/step minus AFTER's, with a 95 % Welch interval on the batch means of the two per-step series
(statistics.py says why). "No significant difference" when the interval contains 0. Over the run,
the per-step figures are multiplied by BEFORE's total steps (a projection). A prediction counts as
*applied* when its finding (same rule, same file, same message) is gone from AFTER's advice; the
verdict against it is made on the interval, never on the point value.

Every energy figure carries its own label, derived from how its profile obtained it
(`energy_how`: a CPU-time estimate is "estimated", never "measured"; totals over the run are
"projected").
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from greenlint.profile_schema import SchemaError, validate_document
from greenlint.statistics import Difference, compare_runs, paired_rounds, verdict


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
class Gate:
    """`compare --fail-over PCT`: fails when the whole 95 % interval of AFTER's increase in energy
    per step (in per cent of BEFORE's) lies above PCT: a significant regression larger than PCT."""

    fail_over_pct: float
    increase_pct: float
    increase_low_pct: float
    increase_high_pct: float
    failed: bool
    reason: str


@dataclass
class Comparison:
    before_j_per_step: float | None
    after_j_per_step: float | None
    saved_j_per_step: float | None
    saved_pct_per_step: float | None
    total_steps: int | None
    measured_run_saving_j: float | None  # per-step saving x total steps (projected)
    before_run_j: float | None
    after_run_j: float | None
    applied: list[Prediction] = field(default_factory=list)
    predicted_j: float | None = None
    predicted_low_j: float | None = None
    predicted_high_j: float | None = None
    within_prediction: bool | None = None  # the measured interval overlaps the predicted range
    basis: str = ""
    notices: list[str] = field(default_factory=list)
    # the 95 % interval of the per-step saving (None without per-step energies on both sides)
    saving: Difference | None = None
    saved_pct_low: float | None = None
    saved_pct_high: float | None = None
    run_saving_low_j: float | None = None
    run_saving_high_j: float | None = None
    significant: bool | None = None
    verdict: str = ""
    # each figure's label: measured / estimated / projected, with how (labels_how)
    labels: dict[str, str] = field(default_factory=dict)
    labels_how: dict[str, str] = field(default_factory=dict)
    gate: Gate | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["saving"] = self.saving.to_json() if self.saving is not None else None
        return data


def load_document(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise CompareError(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:
        raise CompareError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("profile"), dict):
        raise CompareError(f"{path}: not a greenlint profile (write one with `greenlint profile --format json --output FILE`)")
    try:
        validate_document(document)
    except SchemaError as exc:
        raise CompareError(f"{path}: not a valid greenlint profile: {exc}") from None
    return document


# ------------------------------------------------------------------------------------- labels


def energy_label(profile: dict[str, Any]) -> tuple[str, str]:
    """(label, how) of a profile's own energy figures, from `energy_how` and its devices' methods.

    A CPU-time estimate (method "estimate") is "estimated"; a mix of sensors and estimates is
    "estimated" too (partly), since part of it was not measured."""
    how = str(profile.get("energy_how") or "")
    methods = sorted({str(d.get("method")) for d in profile.get("devices", []) if isinstance(d, dict)})
    words = "/".join(methods) or "no device"
    if how == "measured":
        return "measured", f"measured ({words})"
    if how == "partly estimated":
        return "estimated", f"partly estimated ({words})"
    if how == "estimated" or "estimate" in methods:
        return "estimated", f"estimated ({words}: CPU time x watts per core)"
    return "estimated", f"not known how it was obtained ({words}); treated as estimated"


def _combined(a: str, b: str) -> str:
    return "measured" if a == b == "measured" else "estimated"


# ----------------------------------------------------------------------------------- matching


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


def step_energies(profile: dict[str, Any]) -> list[float]:
    """The measured steps' J/step series (one entry per step, or per group of `step_group` steps
    for long runs, whose entries are then already batch means)."""
    return [float(v) for v in profile.get("step_energy_j") or []] if profile.get("steps") else []


# ------------------------------------------------------------------------------------ compare


def compare(before: dict[str, Any], after: dict[str, Any],
            more_rounds: list[tuple[dict[str, Any], dict[str, Any]]] | None = None) -> Comparison:
    """BEFORE against AFTER. `more_rounds`: further (BEFORE, AFTER) pairs of profiles made
    alternately (`compare B1 A1 B2 A2 ...`); the interval is then the paired t-interval of the
    rounds' differences in J/step, which also covers changes of the machine between runs."""
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

    rounds = [(b, a), *((x["profile"], y["profile"]) for x, y in more_rounds or [])]
    if len(rounds) > 1:
        means = [(x.get("j_per_step"), y.get("j_per_step")) for x, y in rounds]
        if any(x is None or y is None for x, y in means):
            saving = None
            notices.append("a profile has no measured steps: no interval over the rounds")
        else:
            saving = paired_rounds([x for x, _ in means], [y for _, y in means])
            jb, ja = saving.mean_before, saving.mean_after  # type: ignore[union-attr]
            saved, pct = jb - ja, (100.0 * (jb - ja) / jb if jb else None)
            run_saving = saved * total if total else None
    else:
        saving = compare_runs(step_energies(b), step_energies(a))
    if saving is None and saved is not None:
        notices.append("fewer than 2 per-step energies on a side: no confidence interval, no verdict")
    pct_band = saving.percent() if saving is not None else None
    run_band = saving.scaled(total) if saving is not None and total else None

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
    words = ""
    if saving is not None:
        # the prediction is over the run when BEFORE knows its total steps, else there is no like
        # for like: the verdict then says only whether there is a measurable effect
        band = (run_band[1], run_band[2]) if run_band else (saving.low, saving.high)
        prediction = (low, high) if predicted is not None and run_band and low is not None and high is not None else None
        words = verdict(band, prediction)
        if prediction is not None:
            within = band[0] <= prediction[1] and prediction[0] <= band[1]

    label_b, how_b = energy_label(b)
    label_a, how_a = energy_label(a)
    per_step = _combined(label_b, label_a)
    labels = {"before_j_per_step": label_b, "after_j_per_step": label_a, "saved_j_per_step": per_step,
              "measured_run_saving_j": "projected", "before_run_j": _run_label(b), "after_run_j": _run_label(a),
              "predicted_j": "estimated"}
    labels_how = {"before": how_b, "after": how_a,
                  "measured_run_saving_j": f"projected: the {per_step} per-step saving x BEFORE's total steps",
                  "predicted_j": "estimated by the advice (the savings model)"}
    basis = (f"saving per step: BEFORE's mean J/step minus AFTER's ({per_step})"
             + (f", x {total:,} total steps (BEFORE's projection)" if total else
                " (no total step count in BEFORE: per-step only)")
             + "; predicted: the sum of the applied advice items' estimates (their findings are gone from AFTER)")
    if not applied:
        notices.append("no advice item of BEFORE is gone in AFTER: nothing to check the prediction against")
    return Comparison(jb, ja, saved, pct, total, run_saving,
                      (b.get("projection") or {}).get("energy_j"), (a.get("projection") or {}).get("energy_j"),
                      applied, predicted, low, high, within, basis, notices,
                      saving=saving,
                      saved_pct_low=pct_band[1] if pct_band else None,
                      saved_pct_high=pct_band[2] if pct_band else None,
                      run_saving_low_j=run_band[1] if run_band else None,
                      run_saving_high_j=run_band[2] if run_band else None,
                      significant=saving.significant if saving is not None else None,
                      verdict=words, labels=labels, labels_how=labels_how)


def _run_label(profile: dict[str, Any]) -> str:
    """A whole-run total: "projected" unless it is the completed run itself (--full)."""
    basis = str((profile.get("projection") or {}).get("basis", ""))
    return energy_label(profile)[0] if basis.startswith("measured") else "projected"


def regression_gate(comparison: Comparison, fail_over_pct: float) -> Gate | None:
    """The CI gate's decision, or None when there is no interval to decide on."""
    band = comparison.saving.percent() if comparison.saving is not None else None
    if band is None:
        return None
    # an increase is a negative saving: flip the signs and the interval's ends
    increase, inc_low, inc_high = -band[0], -band[2], -band[1]
    failed = inc_low > fail_over_pct
    if failed:
        reason = (f"AFTER uses {increase:.1f} % more energy per step (95 % interval {inc_low:.1f} % to "
                  f"{inc_high:.1f} %): significantly more than {fail_over_pct:g} %")
    elif inc_high <= 0 or not comparison.saving.significant:  # type: ignore[union-attr]
        reason = (f"no significant increase (95 % interval of the change {inc_low:+.1f} % to {inc_high:+.1f} %)")
    else:
        reason = (f"AFTER uses {increase:.1f} % more energy per step (95 % interval {inc_low:.1f} % to "
                  f"{inc_high:.1f} %): not significantly more than {fail_over_pct:g} %")
    return Gate(fail_over_pct, increase, inc_low, inc_high, failed, reason)
