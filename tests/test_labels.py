"""One labelling rule for every figure (profiler/labels.py), one number format (profiler/units.py).

The end-to-end tests profile a real script with the CPU-time estimate (no energy sensor: RAPL is
not readable here, and no GPU), then walk every output, text, JSON and HTML, and fail if any
estimated energy is labelled measured, or any number is printed in scientific notation.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from html import unescape

import pytest
from greenlint.profiler import labels
from greenlint.profiler.units import (
    format_energy,
    format_grams,
    format_kwh,
    format_number,
    format_time,
    format_watts,
)

TIMEOUT = 300
SCI = re.compile(r"(?<![\w#])[-+]?\d+(?:\.\d+)?[eE][-+]?\d+\b")
ENERGY_UNIT = r"(?:µJ|mJ|kJ|MJ|GJ|J|mWh|Wh|kWh|MWh)"
TIME_UNIT = r"(?:ms|s|min|h)"
FIGURE = re.compile(rf"(-?\d[\d,]*(?:\.\d+)?)\s*({ENERGY_UNIT}|{TIME_UNIT})(?!\w)")

SCRIPT = textwrap.dedent("""
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = torch.utils.data.TensorDataset(torch.randn(512, 64), torch.randn(512, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=16)
    for epoch in range(2):
        for x, y in loader:
            loss = (model(x) - y).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
""").lstrip("\n")


# ------------------------------------------------------------------------------------ units


@pytest.mark.parametrize("fmt", [format_energy, format_kwh, format_grams, format_watts, format_number, format_time])
def test_no_format_ever_uses_scientific_notation(fmt):
    for exponent in range(-12, 16):
        for mantissa in (1.0, 1.234, 9.996, 5.5):
            for sign in (1, -1):
                shown = fmt(sign * mantissa * 10.0 ** exponent)
                assert not SCI.search(shown), shown
                assert "e+" not in shown and "e-" not in shown, shown


def test_engineering_units_with_three_significant_digits():
    assert format_energy(1.2e3) == "1.2 kJ" and format_energy(-8.95e1) == "-89.5 J"
    assert format_energy(0.0123) == "12.3 mJ" and format_energy(15400) == "15.4 kJ"
    assert format_energy(999.6) == "1 kJ"  # rounding carries into the next unit
    assert format_energy(123456) == "123 kJ" and format_energy(2.5e6) == "2.5 MJ"
    assert format_energy(0) == "0 J" and format_energy(None) == "n/a" and format_energy(math.nan) == "n/a"
    assert format_kwh(1.91e-05) == "19.1 mWh" and format_kwh(0.5) == "500 Wh" and format_kwh(2.5) == "2.5 kWh"
    assert format_number(123456) == "123000" and format_number(0.000123) == "0.000123"


# ------------------------------------------------------------------------------------ the rule


def test_labels_come_from_how_each_figure_was_obtained():
    assert labels.method_how("rapl") == "measured" and labels.method_how("estimate") == "estimated"
    assert labels.method_how("something new") == "estimated"  # never promoted to measured
    assert labels.methods_how(["rapl", "nvml-energy-counter"]) == "measured"
    assert labels.methods_how(["rapl", "estimate"]) == "partly estimated"
    full = {"kind": "full run", "basis": "estimated: the full training run"}
    assert labels.projection_how(full, "estimated") == "estimated"
    assert labels.projection_how({"kind": "projection", "basis": "projected: ..."}, "measured") == "projected"
    # documents written before "kind": the --full basis said "measured: the whole run (--full)"
    assert labels.is_full_run({"basis": "measured: the whole run (--full); range ..."})
    assert "sensor" not in labels.tolerance_words("estimated", 0.5).replace("no energy sensor", "")
    assert "sensors" in labels.tolerance_words("measured", 0.05)
    assert labels.confidence_words("none", False) == "saving not quantified"
    assert labels.confidence_words("high", True) == "high"


def _raw(sources, run_end, full):
    return {"version": 1, "outcome": "completed", "exit_code": 0,
            "config": {"warmup": 0, "steps": None, "duration": None, "full": full},
            "sources": sources, "cheap_index": [], "notices": [], "hook_installed": True, "steps_seen": 0,
            "run": {"t_begin": 0.0, "t_end": 10.0, "begin": [0.0] * len(sources), "end": run_end},
            "window": None, "step_times": [], "step_cpu": [], "lines_window": [], "lines_all": [],
            "samples": 0, "sample_interval_s": 0.005, "unattributed_s": 0.0, "unattributed_window_s": 0.0}


@pytest.mark.parametrize(("methods", "expected"), [
    (("nvml-energy-counter", "rapl"), "measured"),
    (("nvml-energy-counter", "estimate"), "partly estimated"),
    (("estimate",), "estimated"),
])
def test_a_full_run_carries_the_label_of_its_sources(methods, expected):
    from greenlint.profiler.profile import compute_profile

    sources = [{"kind": "gpu" if m.startswith("nvml") else "cpu", "name": m, "method": m, "cheap": False,
                "tolerance": 0.05 if m != "estimate" else 0.5, "basis": ""} for m in methods]
    profile = compute_profile(_raw(sources, [100.0] * len(methods), full=True))
    proj = profile.projection
    assert profile.energy_how == expected and proj.how == expected and proj.kind == "full run"
    assert proj.basis.startswith(f"{expected}:")
    assert labels.projection_how(proj, profile.energy_how) == expected
    assert labels.projection_heading(proj, profile.energy_how) == f"Full training run ({expected}, ran to its end)"
    assert ("sensors' stated tolerance" in proj.basis) == (expected == "measured")


# ------------------------------------------------------------------------------------ end to end


def _strip_tags(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", " ", page))


def _assert_text_labels(stdout: str) -> None:
    """No line that shows an energy figure calls it measured (times may be measured)."""
    for line in stdout.splitlines():
        if not re.search(rf"\d\s*{ENERGY_UNIT}\b", line):
            continue
        cleaned = re.sub(r"time measured|measured steps?|measured span|measured after|measured window", "", line)
        # a rule's own message may cite its evidence ("measured 49-82 % less GPU energy on an H100")
        cleaned = re.sub(r"measured \d[\d-]* ?%", "", cleaned)
        assert "(measured" not in cleaned and "measured:" not in cleaned, line
        assert "sensor tolerance" not in line, line


def _assert_json_labels(document: dict) -> None:
    p = document["profile"]
    assert p["energy_how"] == "estimated"
    assert {d["method"] for d in p["devices"]} == {"estimate"}
    bases = [p["lines_basis"], p.get("phases_basis", ""), p["projection"]["basis"],
             *(d["timeline_basis"] for d in p["devices"]), *(a["basis"] for a in document.get("advice", []))]
    if document.get("carbon"):
        bases.append(document["carbon"]["basis"])
    for basis in bases:
        assert labels.label_of_basis(basis, "none") != "measured", basis
        assert "sensor tolerance" not in basis, basis
    assert labels.projection_how(p["projection"], p["energy_how"]) in ("estimated", "projected")


def _assert_html_labels(page: str) -> None:
    """Each "measured" badge follows a time, never an energy."""
    badge = '<span class="how how-measured">measured</span>'
    start = 0
    while (at := page.find(badge, start)) >= 0:
        before = _strip_tags(page[max(at - 600, 0):at])
        figures = FIGURE.findall(before)
        assert figures, before[-200:]
        assert re.fullmatch(TIME_UNIT, figures[-1][1]), before[-200:]
        start = at + len(badge)
    text = _strip_tags(page)
    assert not SCI.search(text), SCI.search(text).group(0)
    assert "sensor tolerance" not in text
    assert "measured:" not in text.replace("time measured", "")


@pytest.fixture(scope="module")
def estimate_runs(tmp_path_factory):
    """One --full run (text + HTML) and one projected run (JSON + HTML) of the same script, on the
    CPU-time estimate."""
    tmp = tmp_path_factory.mktemp("labels")
    script = tmp / "train.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "CUDA_VISIBLE_DEVICES": ""}  # no GPU counter: CPU only
    full = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--full", "--html", "full.html", "train.py"],
                          check=False, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp, env=env)
    assert full.returncode == 0, full.stderr
    proj = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--steps", "8", "--warmup", "2",
                           "--total-steps", "400", "--format", "json", "--output", "p.json", "--html", "proj.html",
                           "train.py"], check=False, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp, env=env)
    assert proj.returncode == 0, proj.stderr
    return tmp, full.stdout, json.loads((tmp / "p.json").read_text(encoding="utf-8"))


def test_no_estimated_energy_is_labelled_measured_anywhere(estimate_runs):
    tmp, stdout, document = estimate_runs
    if {d["method"] for d in document["profile"]["devices"]} != {"estimate"}:
        pytest.skip("an energy sensor is readable on this machine: the profile is not a CPU-time estimate")
    _assert_text_labels(stdout)
    assert "Full training run (estimated, ran to its end)" in stdout
    _assert_json_labels(document)
    assert document["profile"]["projection"]["kind"] == "projection"
    for name in ("full.html", "proj.html"):
        _assert_html_labels((tmp / name).read_text(encoding="utf-8"))


def test_html_shows_paths_as_the_terminal_does(estimate_runs):
    tmp, _, document = estimate_runs
    page = (tmp / "proj.html").read_text(encoding="utf-8")
    assert str(tmp) not in _strip_tags(page) and "train.py" in _strip_tags(page)
    # the lines the sampler attributed (how many depends on the machine's load: the test asks only
    # that those it did attribute are shown as the terminal shows them)
    if any(line["filename"].endswith("train.py") for line in document["profile"]["lines"]):
        assert "train.py:" in page


def test_the_walk_catches_an_estimate_labelled_measured(estimate_runs):
    """The checks above can fail: the old wording is caught by each of them."""
    _, _, document = estimate_runs
    with pytest.raises(AssertionError):
        _assert_text_labels("Full run (measured): 1.5 J (range 748 mJ - 2.24 J)")
    bad = json.loads(json.dumps(document))
    bad["profile"]["projection"]["basis"] = "measured: the whole run (--full)"
    with pytest.raises(AssertionError):
        _assert_json_labels(bad)
    with pytest.raises(AssertionError):
        _assert_html_labels('<p>1.5 J <span class="how how-measured">measured</span></p>')
    with pytest.raises(AssertionError):
        _assert_html_labels("<p>1.91e-05 kWh</p>")
