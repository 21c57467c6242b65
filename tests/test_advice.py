"""Advice: the savings model's arithmetic on made-up profiles, carbon, compare, and the real loop
(profile -> advice -> fix -> profile -> compare) on a CPU script."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from greenlint.advice import build_advice, covered_rows, run_scale
from greenlint.carbon import DEFAULT_GRID_G_PER_KWH, carbon_of
from greenlint.compare import CompareError, compare, load_document
from greenlint.findings import Finding, Location
from greenlint.savings import SAVINGS, has_bf16_tensor_cores

TRAIN = textwrap.dedent(
    """
    import torch
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(200):
        data = torch.load("data.pt")
        loss = model(data).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    """
).lstrip()


def _finding(code: str, filename: str, row: int, end_row: int | None = None) -> Finding:
    return Finding(code, f"{code} message", filename, Location(row, 5), Location(end_row or row, 20), noqa_row=row)


def _profile(tmp_path: Path, **overrides) -> dict:
    script = tmp_path / "train.py"
    script.write_text(TRAIN, encoding="utf-8")
    profile = {
        "steps": 20,
        "energy_j": 40.0,
        "window_energy_j": 10.0,
        "j_per_step": 0.5,
        "devices": [{"kind": "cpu", "name": "process CPU time", "method": "estimate", "energy_j": 40.0,
                     "window_energy_j": 10.0, "tolerance": 0.5}],
        "lines": [
            {"filename": str(script), "line": 5, "energy_j": 6.0, "time_s": 1.2, "share": 0.6},
            {"filename": str(script), "line": 6, "energy_j": 3.0, "time_s": 0.6, "share": 0.3},
        ],
        "projection": {"total_steps": 200, "energy_j": 130.0, "low_j": 60.0, "high_j": 200.0,
                       "basis": "projected: ..."},
    }
    profile.update(overrides)
    return profile


def test_loop_invariant_load_saves_its_line_times_n_minus_1_over_n_scaled_by_steps(tmp_path):
    profile = _profile(tmp_path)
    [advice] = build_advice(profile, [_finding("GL301", str(tmp_path / "train.py"), 5)])
    assert advice.quantified and advice.rank == 1
    # 6 J over 20 measured steps, x 200/20 steps, x 199/200 repeats
    assert advice.estimated_savings_j == pytest.approx(6.0 * 10 * 199 / 200)
    assert advice.estimated_savings_pct == pytest.approx(100 * 6.0 * 10 * 199 / 200 / 130.0)
    assert advice.low_j < advice.estimated_savings_j < advice.high_j
    assert advice.confidence == "high"  # 1.2 s of samples at 5 ms = 240 samples
    assert advice.basis.startswith("estimated:") and "line 5" in advice.basis and "200 total steps / 20" in advice.basis


def test_findings_on_a_loop_cover_the_whole_loop():
    tree = ast.parse(TRAIN)
    assert covered_rows(_finding("GL604", "t.py", 4), tree) == (4, 9)
    assert covered_rows(_finding("GL301", "t.py", 5), tree) == (5, 5)


def test_gpu_fix_on_a_cpu_only_run_is_unquantified_and_ranked_after(tmp_path):
    profile = _profile(tmp_path)
    advice = build_advice(profile, [_finding("GL101", str(tmp_path / "train.py"), 6),
                                    _finding("GL301", str(tmp_path / "train.py"), 5)])
    assert [a.code for a in advice] == ["GL301", "GL101"]
    gpu = advice[1]
    assert not gpu.quantified and gpu.estimated_savings_j is None and gpu.low_j is None
    assert gpu.basis.startswith("unquantified: no GPU was measured") and "49%-82%" in gpu.basis


def test_gpu_fix_uses_the_measured_gpu_energy_of_the_steps(tmp_path):
    gpu = {"kind": "gpu", "name": "NVIDIA H100 80GB HBM3", "method": "nvml-energy-counter", "energy_j": 300.0,
           "window_energy_j": 100.0, "tolerance": 0.05}
    profile = _profile(tmp_path)
    profile["devices"].append(gpu)
    [advice] = build_advice(profile, [_finding("GL101", str(tmp_path / "train.py"), 6)])
    model = SAVINGS["GL101"]
    assert advice.estimated_savings_j == pytest.approx(100.0 * model.point * 10)
    assert advice.low_j == pytest.approx(100.0 * model.low * 10 * (1 - _weighted_tolerance(10.0, 100.0)))
    assert "docs/evidence.md#h100-precision" in advice.basis


def _weighted_tolerance(cpu_j: float, gpu_j: float) -> float:
    return (cpu_j * 0.5 + gpu_j * 0.05) / (cpu_j + gpu_j)


def test_bf16_savings_do_not_apply_to_pre_ampere_gpus(tmp_path):
    profile = _profile(tmp_path)
    profile["devices"].append({"kind": "gpu", "name": "Tesla V100-SXM2-16GB", "method": "nvml-energy-counter",
                               "energy_j": 3.0, "window_energy_j": 1.0, "tolerance": 0.05})
    [advice] = build_advice(profile, [_finding("GL101", str(tmp_path / "train.py"), 6)])
    assert not advice.quantified and "pre-Ampere" in advice.basis
    assert has_bf16_tensor_cores("NVIDIA A100-SXM4-40GB") is True
    assert has_bf16_tensor_cores("Some Future GPU") is None


def test_rule_without_evidence_is_never_given_a_number(tmp_path):
    [advice] = build_advice(_profile(tmp_path), [_finding("GL407", str(tmp_path / "train.py"), 6)])
    assert not advice.quantified and advice.confidence == "none"
    assert advice.basis.startswith("unquantified: no measured or published fraction")


def test_line_without_samples_is_unquantified(tmp_path):
    [advice] = build_advice(_profile(tmp_path), [_finding("GL301", str(tmp_path / "train.py"), 8)])
    assert not advice.quantified and "no profile samples landed" in advice.basis


def test_without_total_steps_the_saving_covers_the_measured_steps(tmp_path):
    profile = _profile(tmp_path, projection={"total_steps": None, "energy_j": None, "basis": "unknown"})
    [advice] = build_advice(profile, [_finding("GL301", str(tmp_path / "train.py"), 5)])
    assert advice.estimated_savings_j == pytest.approx(6.0 * 0.5)  # n unknown: at least half
    assert "measured steps only" in advice.basis and "pass --total-steps" in advice.basis


def test_run_without_steps_scales_by_one(tmp_path):
    profile = _profile(tmp_path, steps=0, window_energy_j=None)
    scale = run_scale(profile)
    assert scale is not None and scale.factor == 1.0 and scale.run_energy_j == 40.0


def test_carbon_uses_the_cited_default_or_the_users_figure():
    default = carbon_of(3.6e6, 1.8e6, 7.2e6, "projected whole-run")
    assert default.energy_kwh == 1.0 and default.co2e_g == DEFAULT_GRID_G_PER_KWH
    assert default.low_g == DEFAULT_GRID_G_PER_KWH / 2 and "Ember" in default.grid_source
    mine = carbon_of(3.6e6, None, None, "measured", grid_g_per_kwh=100.0, pue=1.5)
    assert mine.co2e_g == pytest.approx(150.0) and mine.grid_source == "given by the user"


def _doc(j_per_step: float, advice: list[dict], total_steps: int = 1000) -> dict:
    # 20 per-step energies within ±4 % of the mean, for compare's interval
    steps = [j_per_step * (1 + 0.02 * ((i % 5) - 2)) for i in range(20)]
    return {"profile": {"steps": 20, "j_per_step": j_per_step, "step_energy_j": steps, "energy_how": "estimated",
                        "devices": [{"kind": "cpu", "method": "estimate"}],
                        "projection": {"total_steps": total_steps, "energy_j": j_per_step * total_steps}},
            "advice": advice}


def test_compare_measures_the_per_step_saving_against_the_applied_prediction():
    predicted = {"code": "GL301", "filename": "/x/train.py", "line": 5, "estimated_savings_j": 300.0,
                 "low_j": 200.0, "high_j": 450.0}
    other = {"code": "GL101", "filename": "/x/train.py", "line": 9, "estimated_savings_j": None,
             "low_j": None, "high_j": None}
    result = compare(_doc(0.5, [predicted, other]), _doc(0.2, [dict(other, line=8)]))
    assert result.saved_j_per_step == pytest.approx(0.3)
    assert result.measured_run_saving_j == pytest.approx(300.0)
    assert [p.code for p in result.applied] == ["GL301"]
    assert result.within_prediction is True
    assert result.verdict == "confirmed" and result.significant
    assert result.run_saving_low_j < 300.0 < result.run_saving_high_j
    worse = compare(_doc(0.5, [predicted]), _doc(0.49, []))
    assert worse.within_prediction is False


def test_compare_rejects_files_that_are_not_profiles(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    with pytest.raises(CompareError, match="not a greenlint profile"):
        load_document(str(bad))
    with pytest.raises(CompareError, match="cannot read"):
        load_document(str(tmp_path / "missing.json"))
    proc = subprocess.run([sys.executable, "-m", "greenlint", "compare", str(bad), str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "not a greenlint profile" in proc.stderr


# ------------------------------------------------------------------------------------ real runs

RELOADING = """
import os, sys, tempfile, torch
torch.set_num_threads(1)
path = os.path.join(tempfile.mkdtemp(), "data.pt")
torch.save(torch.randn(200000, 16), path)
model = torch.nn.Linear(16, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(int(sys.argv[1])):
    data = torch.load(path)
    loss = model(data[:256]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


def _greenlint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "greenlint", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=180)


def test_reload_advice_is_first_and_compare_confirms_it(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(RELOADING).lstrip(), encoding="utf-8")
    common = ("profile", "--steps", "30", "--warmup", "3", "--total-steps", "400", "--no-html", "--format", "json")
    before = _greenlint(tmp_path, *common, "--output", "before.json", "train.py", "100000")
    assert before.returncode == 0, before.stderr
    document = json.loads((tmp_path / "before.json").read_text())
    first = document["advice"][0]
    assert (first["code"], first["line"], first["quantified"]) == ("GL301", 8, True)
    assert first["estimated_savings_j"] > 0 and first["low_j"] <= first["estimated_savings_j"] <= first["high_j"]
    assert document["carbon"]["grid_g_per_kwh"] == DEFAULT_GRID_G_PER_KWH

    fixed = _greenlint(tmp_path, "check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "GL301", "train.py")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert script.read_text().index("torch.load(path)") < script.read_text().index("for step")

    after = _greenlint(tmp_path, *common, "--output", "after.json", "train.py", "100000")
    assert after.returncode == 0, after.stderr
    result = _greenlint(tmp_path, "compare", "--format", "json", "before.json", "after.json")
    comparison = json.loads(result.stdout)
    assert [p["code"] for p in comparison["applied"]] == ["GL301"]
    assert comparison["saved_j_per_step"] > 0
    assert comparison["within_prediction"] is True, comparison


def test_local_modules_the_script_imports_are_linted_too(tmp_path):
    (tmp_path / "helpers.py").write_text(textwrap.dedent("""
        def train(model, optimizer):
            import torch
            for epoch in range(3):
                data = torch.load("train.pt")
                for x, y in data:
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
    """).lstrip(), encoding="utf-8")
    (tmp_path / "train.py").write_text("import helpers\nprint('never calls it')\n", encoding="utf-8")
    proc = _greenlint(tmp_path, "profile", "--no-html", "--format", "json", "--output", "p.json", "train.py")
    assert proc.returncode == 0, proc.stderr
    document = json.loads((tmp_path / "p.json").read_text())
    assert any(p.endswith("helpers.py") for p in document["profile"]["user_modules"])
    [item] = [a for a in document["advice"] if a["code"] == "GL301"]
    assert item["filename"].endswith("helpers.py") and not item["quantified"]


def test_compare_tells_two_findings_of_one_rule_in_one_file_apart():
    first = {"code": "GL301", "filename": "/x/train.py", "line": 5, "message": "`torch.load(...)` loads ...",
             "estimated_savings_j": 300.0, "low_j": 200.0, "high_j": 450.0}
    second = {"code": "GL301", "filename": "/x/train.py", "line": 9, "message": "`np.load(...)` loads ...",
              "estimated_savings_j": 10.0, "low_j": 5.0, "high_j": 20.0}
    result = compare(_doc(0.5, [first, second]), _doc(0.2, [dict(second, line=8)]))
    assert [(p.code, p.line) for p in result.applied] == [("GL301", 5)]
    assert result.predicted_j == 300.0


# -- preview rules in advice: kept only when the profile quantifies their saving -----------------

def _advised(tmp_path: Path, profile: dict, settings=None):
    from types import SimpleNamespace

    from greenlint.profiling import advise

    (tmp_path / "train.py").write_text(GPU_FP32_LOOP, encoding="utf-8")
    fake = SimpleNamespace(to_json=lambda: profile)
    return advise(0, fake, str(tmp_path / "train.py"), settings=settings, cwd=tmp_path)


GPU_FP32_LOOP = textwrap.dedent('''\
    import torch
    import torchvision

    model = torchvision.models.resnet50().cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1000):
        x = torch.randn(64, 3, 224, 224, device="cuda")
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
''')


def _gpu_profile(tmp_path: Path, gpu_name: str) -> dict:
    profile = _profile(tmp_path)
    profile["lines"] = [{"filename": str(tmp_path / "train.py"), "line": 8, "energy_j": 6.0, "time_s": 1.2,
                         "share": 1.0}]
    profile["devices"].append({"kind": "gpu", "name": gpu_name, "method": "nvml-energy-counter",
                               "energy_j": 300.0, "window_energy_j": 100.0, "tolerance": 0.05})
    return profile


def test_preview_gpu_rule_is_advice_when_the_measured_gpu_quantifies_it(tmp_path):
    from greenlint.config import Settings
    from greenlint.rules import PREVIEW_CODES

    assert "GL101" in PREVIEW_CODES  # out of the linter's default set (docs/precision.md)
    settings = Settings(project_root=tmp_path.resolve())
    advised = _advised(tmp_path, _gpu_profile(tmp_path, "NVIDIA H100 80GB HBM3"), settings)
    codes = [a.code for a in advised.advice]
    assert "GL101" in codes
    gl101 = advised.advice[codes.index("GL101")]
    assert gl101.quantified and gl101.estimated_savings_j and gl101.estimated_savings_j > 0
    assert [a.rank for a in advised.advice] == list(range(1, len(codes) + 1))


def test_preview_gpu_rule_is_dropped_when_the_profile_cannot_quantify_it(tmp_path):
    from greenlint.config import Settings

    settings = Settings(project_root=tmp_path.resolve())
    cpu_only = _advised(tmp_path, _profile(tmp_path, lines=[]), settings)
    assert "GL101" not in [a.code for a in cpu_only.advice]
    pre_ampere = _advised(tmp_path, _gpu_profile(tmp_path, "Tesla V100-SXM2-16GB"), settings)
    assert "GL101" not in [a.code for a in pre_ampere.advice]


def test_an_ignored_preview_rule_stays_out_of_advice(tmp_path):
    from dataclasses import replace as dc_replace

    from greenlint.config import Settings

    settings = Settings(project_root=tmp_path.resolve())
    settings = dc_replace(settings, selection=dc_replace(settings.selection, ignore=("GL101",)))
    advised = _advised(tmp_path, _gpu_profile(tmp_path, "NVIDIA H100 80GB HBM3"), settings)
    assert "GL101" not in [a.code for a in advised.advice]


def test_in_a_long_run_script_the_run_length_rules_are_advice_even_unquantified(tmp_path):
    from dataclasses import replace as dc_replace

    from greenlint.config import Settings

    settings = Settings(project_root=tmp_path.resolve())
    without = {a.code for a in _advised(tmp_path, _profile(tmp_path, lines=[]), settings).advice}
    assert not without & {"GL101", "GL403"}
    long_run = dc_replace(settings, long_runs=("train.py",))
    advised = _advised(tmp_path, _profile(tmp_path, lines=[]), long_run)
    by_code = {a.code: a for a in advised.advice}
    assert {"GL101", "GL403"} <= set(by_code)  # named a long run: advised as default rules are
    assert not by_code["GL101"].quantified  # a CPU-only profile cannot quantify it: said, not guessed
    assert [a.rank for a in advised.advice] == list(range(1, len(advised.advice) + 1))
    elsewhere = dc_replace(settings, long_runs=("other.py",))
    assert not {a.code for a in _advised(tmp_path, _profile(tmp_path, lines=[]), elsewhere).advice} & {"GL101", "GL403"}
