"""The statistics of `greenlint compare` and `--measure-fixes` on made-up per-step energies, the
`compare --fail-over` gate's exit codes, per-figure labels, and schema validation of the profile
documents `compare` and `merge` read (a mutation fuzz: no traceback, exit 2 naming the field)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from greenlint.cli import main
from greenlint.compare import compare, energy_label
from greenlint.profile_schema import SchemaError, validate_document
from greenlint.profiler.profile import Device, Profile, Projection
from greenlint.statistics import (
    CONFIRMED,
    LARGER,
    NO_EFFECT,
    REGRESSION,
    SMALLER,
    batch_means,
    compare_runs,
    paired_rounds,
    t_quantile,
    verdict,
    welch,
)

# a fixed, made-up noise pattern (±10 %) so that every test is deterministic
NOISE = [0.03, -0.08, 0.1, -0.02, 0.05, -0.1, 0.07, -0.04, 0.0, -0.01, 0.09, -0.06, 0.02, -0.09, 0.04, 0.06,
         -0.03, 0.08, -0.05, 0.01]


def series(mean: float, n: int = 20, shift: int = 0) -> list[float]:
    return [mean * (1 + NOISE[(i + shift) % len(NOISE)]) for i in range(n)]


# ------------------------------------------------------------------------------------ statistics


@pytest.mark.parametrize("df, expected", [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (30, 2.042)])
def test_t_quantiles_match_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


def test_batch_means_are_contiguous_and_cover_every_value():
    assert batch_means([1.0, 2.0, 3.0, 4.0], batches=2) == [1.5, 3.5]
    assert batch_means([1.0, 2.0, 3.0], batches=10) == [1.0, 2.0, 3.0]
    assert len(batch_means(list(map(float, range(95))))) == 10


def test_clear_saving_is_significant_and_contains_the_true_difference():
    d = compare_runs(series(1.0), series(0.6, shift=7))
    assert d is not None and d.significant and d.low > 0
    assert d.low < 0.4 < d.high
    point, low, high = d.percent()
    assert low < 40.0 < high and point == pytest.approx(100 * d.point / d.mean_before)


def test_no_effect_gives_an_interval_around_zero():
    d = compare_runs(series(1.0), series(1.0, shift=5))
    assert d is not None and not d.significant and d.low < 0 < d.high
    assert verdict((d.low, d.high), (0.1, 0.5)) == NO_EFFECT


def test_regression_is_a_significant_negative_saving():
    d = compare_runs(series(1.0), series(1.3, shift=3))
    assert d is not None and d.significant and d.high < 0
    assert verdict((d.low, d.high), (0.1, 0.5)) == REGRESSION


def test_a_drift_inside_a_run_widens_the_interval():
    """Two runs with the same mean, one drifting from 0.7 to 1.3: steps treated as independent
    would still be fine here, but batch means must not call it a difference either."""
    drifting = [0.7 + 0.6 * i / 19 for i in range(20)]
    d = compare_runs(series(1.0), drifting)
    assert d is not None and not d.significant


def test_paired_rounds_cancel_a_drift_that_hits_both_variants():
    # the machine gets 50 % slower over the rounds; the fix always saves 0.2 J/step
    load = [1.0, 1.2, 1.5, 1.3, 1.1]
    before = [1.0 * f for f in load]
    after = [0.8 * f + 0.01 * (-1) ** i for i, f in enumerate(load)]
    paired = paired_rounds(before, after)
    unpaired = welch(before, after)
    assert paired is not None and unpaired is not None
    assert paired.significant and not unpaired.significant
    assert paired.df == 4 and paired.method.startswith("paired")


def test_too_few_observations_give_no_interval():
    assert compare_runs([1.0], [0.5, 0.6]) is None
    assert paired_rounds([1.0], [0.5]) is None


@pytest.mark.parametrize("measured, predicted, expected", [
    ((5.0, 9.0), (8.0, 20.0), CONFIRMED),
    ((1.0, 3.0), (8.0, 20.0), SMALLER),
    ((25.0, 30.0), (8.0, 20.0), LARGER),
    ((-1.0, 30.0), (8.0, 20.0), NO_EFFECT),
])
def test_the_verdict_is_made_on_the_interval(measured, predicted, expected):
    assert verdict(measured, predicted) == expected


# ------------------------------------------------------------------------------ the documents


def document(steps: list[float], how: str = "estimated", method: str = "estimate", total: int | None = 100,
             advice: list | None = None) -> dict:
    """A profile document with every field greenlint writes (built from the dataclasses)."""
    mean = sum(steps) / len(steps) if steps else None
    profile = Profile(
        outcome="stopped", exit_code=0, steps=len(steps), steps_seen=len(steps) + 3, warmup_steps=3,
        energy_j=10.0, energy_how=how, duration_s=5.0, window_energy_j=sum(steps), window_time_s=2.0,
        j_per_step=mean, j_per_step_p10=None, j_per_step_p90=None, step_time_s=0.1,
        devices=[Device("cpu", "process CPU time", method, 10.0, sum(steps), 0.5, "estimated", [[0.0, 12.0]])],
        projection=Projection(total, 100.0, 50.0, 150.0, 10.0, "projected: ..."),
        step_energy_j=list(steps), step_bounds_s=[0.1 * i for i in range(len(steps) + 1)],
    ).to_json()
    doc = {"profile": profile, "advice": advice or [], "advice_notices": []}
    validate_document(doc)
    return doc


def _write(tmp_path: Path, name: str, doc: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _gate(tmp_path, capsys, before: list[float], after: list[float], pct: str = "5") -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["compare", "--format", "json", "--fail-over", pct,
                 _write(tmp_path, "b.json", document(before)), _write(tmp_path, "a.json", document(after))])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


def test_fail_over_fails_a_significant_regression_larger_than_pct(tmp_path, capsys):
    code, result = _gate(tmp_path, capsys, series(1.0), series(1.4, shift=4))
    assert code == 1 and result["gate"]["failed"] and result["gate"]["increase_low_pct"] > 5


def test_fail_over_passes_no_change_an_improvement_and_a_regression_not_surely_over_pct(tmp_path, capsys):
    assert _gate(tmp_path, capsys, series(1.0), series(1.0, shift=6))[0] == 0
    assert _gate(tmp_path, capsys, series(1.0), series(0.5, shift=6))[0] == 0
    # +6 %: a significant increase (interval 3.1 % to 8.9 %) but not surely over 5 %
    code, result = _gate(tmp_path, capsys, series(1.0), series(1.06, shift=2))
    assert code == 0 and 0 < result["gate"]["increase_low_pct"] <= 5 and not result["gate"]["failed"]
    assert "not significantly more than 5 %" in result["gate"]["reason"]


def test_fail_over_without_per_step_energies_is_an_error(tmp_path, capsys):
    capsys.readouterr()
    code = main(["compare", "--fail-over", "5", _write(tmp_path, "b.json", document([1.0])),
                 _write(tmp_path, "a.json", document([1.2]))])
    assert code == 2 and "per-step energies" in capsys.readouterr().err


def test_no_significant_difference_is_said_in_words(tmp_path, capsys):
    capsys.readouterr()
    code = main(["compare", _write(tmp_path, "b.json", document(series(1.0))),
                 _write(tmp_path, "a.json", document(series(1.0, shift=9)))])
    out = capsys.readouterr().out
    assert code == 0 and "No significant difference" in out and "95 % interval" in out


def test_each_energy_figure_carries_the_label_of_how_its_profile_got_it(tmp_path, capsys):
    estimated = document(series(1.0))
    measured = document(series(0.5), how="measured", method="nvml-energy-counter")
    assert energy_label(estimated)[0] == "estimated" and energy_label(measured["profile"])[0] == "measured"
    result = compare(estimated, measured)
    assert result.labels["before_j_per_step"] == "estimated" and result.labels["after_j_per_step"] == "measured"
    assert result.labels["saved_j_per_step"] == "estimated" and result.labels["measured_run_saving_j"] == "projected"
    capsys.readouterr()
    main(["compare", _write(tmp_path, "b.json", estimated), _write(tmp_path, "a.json", estimated)])
    out = capsys.readouterr().out
    assert "(measured)" not in out and "(estimated)" in out


# ----------------------------------------------------------------------- schema: mutation fuzz

WRONG = [None, "x", True, 1.5, -1, [], {}, [["x"]], float("nan")]


def _paths(value, path=()):
    """Every place in a document, lists reduced to their first element (the rest look alike)."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list) and value:
        yield from _paths(value[0], (*path, 0))


def _set(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _base_document() -> dict:
    advice = [{"rank": 1, "code": "GL301", "name": "loop-invariant-loading", "message": "m", "filename": "/x/train.py",
               "line": 8, "quantified": True, "estimated_savings_j": 5.0, "estimated_savings_pct": 5.0, "low_j": 2.0,
               "high_j": 8.0, "confidence": "high", "basis": "b", "fix_applicability": "unsafe"}]
    doc = document(series(1.0), advice=advice)
    doc["profile"]["lines"] = [{"filename": "/x/train.py", "line": 8, "energy_j": 1.0, "time_s": 0.1, "share": 0.5,
                                "cpu_j": 1.0, "gpu_active_j": 0.0, "gpu_idle_j": 0.0}]
    doc["profile"]["ranks"] = [{"rank": 0, "local_rank": 0, "node": "n", "steps": 20, "steps_seen": 23,
                                "energy_j": 10.0, "j_per_step": 0.5, "devices": ["cpu"], "outcome": "stopped",
                                "exit_code": 0, "t_begin": 1.0}]
    doc["carbon"] = {"energy_kwh": 1e-5, "low_kwh": 1e-5, "high_kwh": 2e-5, "grid_g_per_kwh": 436.0,
                     "grid_source": "s", "pue": 1.0, "co2e_g": 1.0, "low_g": 0.5, "high_g": 2.0, "basis": "b"}
    validate_document(doc)
    return doc


def test_compare_and_merge_never_print_a_traceback_on_mutated_profiles(tmp_path, capsys):
    base = _base_document()
    other = copy.deepcopy(base)
    other["profile"]["ranks"][0]["rank"] = 1
    good = _write(tmp_path, "good.json", other)
    tried = rejected = 0
    for path in list(_paths(base)):
        for wrong in WRONG:
            mutated = _set(base, path, wrong)
            try:
                validate_document(mutated)
                valid = True
            except SchemaError as exc:
                valid = False
                message = str(exc)
            bad = tmp_path / "bad.json"
            bad.write_text(json.dumps(mutated), encoding="utf-8")
            for argv in (["compare", "--format", "json", str(bad), good], ["merge", str(bad), good]):
                capsys.readouterr()
                code = main(argv)  # an exception here is the crash this test exists to catch
                err = capsys.readouterr().err
                assert code in (0, 1, 2), (argv[0], path, wrong)
                if not valid:
                    assert code == 2 and "Traceback" not in err, (argv[0], path, wrong, err)
                    if len(path) >= 2:  # a field inside the document: named in the error
                        where = message.split(" must ")[0].split(" is missing")[0]
                        assert where in err, (argv[0], path, wrong, err)
            tried += 1
            rejected += not valid
    assert tried > 300 and rejected > 200


def test_a_wrong_field_is_named(tmp_path, capsys):
    doc = _base_document()
    doc["profile"]["devices"][0]["energy_j"] = "12 J"
    capsys.readouterr()
    assert main(["compare", _write(tmp_path, "b.json", doc), _write(tmp_path, "a.json", _base_document())]) == 2
    err = capsys.readouterr().err
    assert "profile.devices[0].energy_j must be a number or null, got a string" in err


def test_pairs_of_profiles_made_alternately_cancel_a_slower_machine(tmp_path, capsys):
    # the machine is 1.0, 1.6, 1.2x as slow in three rounds; AFTER always costs 10 % less
    files = []
    for k, load in enumerate((1.0, 1.6, 1.2)):
        files += [_write(tmp_path, f"b{k}.json", document(series(load))),
                  _write(tmp_path, f"a{k}.json", document(series(0.9 * load, shift=k + 3)))]
    capsys.readouterr()
    assert main(["compare", "--format", "json", *files]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["saving"]["method"].startswith("paired") and result["saving"]["df"] == 2
    assert result["significant"] and result["saved_pct_low"] < 10.0 < result["saved_pct_high"]
    # the first pair alone: the same 10 %, from one run a side
    assert main(["compare", "--format", "json", files[0], files[1]]) == 0
    assert json.loads(capsys.readouterr().out)["saving"]["method"].startswith("welch")
    assert main(["compare", *files[:3]]) == 2 and "even number" in capsys.readouterr().err
