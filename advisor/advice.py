"""Advice: lint findings ranked by the energy their fixes would save in the profiled run.

For each finding, the savings model (savings.py) names which measured energy the fix affects and
what fraction of it goes away. This module takes that energy from the profile and scales it to the
projected full run:

- ``lines`` scope: the energy the profile attributed to the finding's statement (the whole loop for
  a finding on a loop header), over the measured span (the steps, else the whole run), scaled to
  the run by `run_scale` (projected energy / measured energy of the same span);
- ``gpu`` scope: the GPU energy of the measured span, scaled the same way.

The range multiplies three uncertainties: the fraction's own range, the line's share of the stack
samples (binomial, ±2 standard errors) and the projection's range. Findings whose rule has no
model, or whose scope was not measured (a GPU fix on a CPU-only run, a line no sample landed on),
are listed after the quantified ones with `quantified: false` and no number.
"""

from __future__ import annotations

import ast
import math
import os
from dataclasses import asdict, dataclass
from typing import Any

from greenlint.findings import Finding
from greenlint.profiler.labels import FULL_RUN, MEASURED_STEPS, PROFILED_RUN, devices_how, is_full_run, tolerance_words
from greenlint.profiler.units import format_energy, format_number
from greenlint.rules import get_rule
from greenlint.savings import SavingsModel, has_bf16_tensor_cores, savings_model

DEFAULT_SAMPLE_INTERVAL_S = 0.005  # the profiler's stack-sampling interval (profiler/runner.py)


@dataclass
class Advice:
    rank: int
    code: str
    name: str
    message: str
    filename: str
    line: int
    quantified: bool
    estimated_savings_j: float | None
    estimated_savings_pct: float | None  # of the projected (or measured) whole-run energy
    low_j: float | None
    high_j: float | None
    confidence: str  # high / medium / low / none
    basis: str
    fix_applicability: str | None  # "safe", "unsafe" or None when greenlint has no autofix
    # the training phase this rule's fix addresses (profiler/phases.py) and that phase's share of
    # the sampled time, when the profile recorded phases: "data loading", 0.34
    phase: str | None = None
    phase_share: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunScale:
    """How the profile's measured span relates to the whole run."""

    span_energy_j: float  # energy of the span the line shares cover (steps, or the whole run)
    factor: float  # projected run energy / span energy (1 for a measured whole run)
    low_factor: float
    high_factor: float
    total_steps: int | None
    run_energy_j: float  # the denominator of estimated_savings_pct
    words: str  # "over the projected run of 4,690 steps", "over the measured run"


def _tolerance(profile: dict[str, Any], in_window: bool) -> float:
    """The devices' stated tolerance, weighted by their energy in the span."""
    pairs = [((d.get("window_energy_j") if in_window else d.get("energy_j")) or 0.0, float(d.get("tolerance", 0.5)))
             for d in profile.get("devices", [])]
    total = sum(e for e, _ in pairs)
    return sum(e * t for e, t in pairs) / total if total else 0.5


def run_scale(profile: dict[str, Any]) -> RunScale | None:
    """Per-step work scales with the number of steps (start-up energy does not): a saving measured
    over the window's steps is multiplied by total_steps / measured_steps."""
    projection = profile.get("projection") or {}
    steps = int(profile.get("steps") or 0)
    in_window = steps > 0
    span = profile.get("window_energy_j") if in_window else profile.get("energy_j")
    if not span:
        return None
    tol = _tolerance(profile, in_window)
    total_steps = projection.get("total_steps")
    run_energy = projection.get("energy_j")
    if not in_window:
        # the measured whole run (no optimizer steps, or fewer than the warm-up)
        return RunScale(span, 1.0, 1 - tol, 1 + tol, None, span, f"over the {PROFILED_RUN}")
    how = devices_how(profile.get("devices") or [], window=in_window)
    if total_steps and run_energy:
        factor = total_steps / steps
        words = (f"over the projected {FULL_RUN}: x {format_number(factor)} = {total_steps:,} total steps / {steps} "
                 f"{MEASURED_STEPS} (range: {tolerance_words(how, tol)})")
        if is_full_run(projection):
            words = (f"over the {FULL_RUN} (ran to its end, --full): x {format_number(factor)} = {total_steps:,} steps / "
                     f"{steps} {MEASURED_STEPS}")
        return RunScale(span, factor, factor * (1 - tol), factor * (1 + tol), total_steps, run_energy, words)
    words = f"over the {steps} {MEASURED_STEPS} only (total steps unknown: pass --total-steps to project)"
    return RunScale(span, 1.0, 1 - tol, 1 + tol, None, span, words)


def covered_rows(finding: Finding, tree: ast.Module | None) -> tuple[int, int]:
    """The rows whose energy the finding's fix affects: the outermost statement that starts on the
    finding's first row and contains it (a whole `for` loop for a loop finding), else its rows."""
    first, last = finding.location.row, finding.end_location.row
    if tree is None:
        return first, last
    best: tuple[int, int] | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno == first:
            end = node.end_lineno or node.lineno
            if best is None or end > best[1]:
                best = (first, end)
    if best is None:  # an expression inside a multi-line statement: the enclosing statement
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt) and not isinstance(node, (ast.For, ast.While, ast.If, ast.With, ast.Try,
                                                                     ast.FunctionDef, ast.AsyncFunctionDef,
                                                                     ast.ClassDef, ast.AsyncFor, ast.AsyncWith)):
                end = node.end_lineno or node.lineno
                if node.lineno <= first <= end and (best is None or end - node.lineno < best[1] - best[0]):
                    best = (node.lineno, end)
    return best or (first, last)


@dataclass(frozen=True)
class _LineShare:
    energy_j: float
    share: float  # of the span's stack samples
    samples: float  # samples on these lines
    samples_total: float  # samples in the span


def _line_share(profile: dict[str, Any], filename: str, rows: tuple[int, int]) -> _LineShare:
    energy = share = time_s = 0.0
    span_time = 0.0
    for line in profile.get("lines", []):
        if line.get("share"):
            span_time = max(span_time, float(line["time_s"]) / float(line["share"]))
        if _same_file(line["filename"], filename) and rows[0] <= int(line["line"]) <= rows[1]:
            energy += float(line["energy_j"])
            share += float(line.get("share", 0.0))
            time_s += float(line["time_s"])
    interval = float(profile.get("sample_interval_s") or DEFAULT_SAMPLE_INTERVAL_S)
    return _LineShare(energy, share, time_s / interval, span_time / interval)


def _same_file(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _binomial_band(share: float, samples_total: float) -> tuple[float, float]:
    """±2 standard errors of a sampled share, as multipliers of the share."""
    if share <= 0 or samples_total <= 0:
        return 1.0, 1.0
    sigma = math.sqrt(share * (1 - share) / samples_total)
    return max(share - 2 * sigma, 0.0) / share, min(share + 2 * sigma, 1.0) / share


def _repeat_fraction(model: SavingsModel, scale: RunScale, profile: dict[str, Any]) -> tuple[float, float, float, str]:
    """(point, low, high, words) of (n - 1) / n for work repeated n times over the run."""
    if model.repeats == "steps" and scale.total_steps and scale.total_steps >= 2:
        n = scale.total_steps
        f = (n - 1) / n
        return f, f, f, f"(n - 1) / n with n = {n:,} iterations (one per training step)"
    if model.repeats == "epochs":
        epochs = ((profile.get("projection") or {}).get("epochs"))
        if epochs and epochs >= 2:
            f = (epochs - 1) / epochs
            return f, f, f, f"(E - 1) / E with E = {epochs} epochs"
        return 0.5, 0.5, 1.0, "(E - 1) / E with the epoch count E unknown (at least 2: 50 % or more)"
    return 0.5, 0.5, 1.0, "(n - 1) / n with the iteration count n unknown (at least 2: 50 % or more)"


def _gpu_energy(profile: dict[str, Any]) -> tuple[float | None, list[str]]:
    in_window = bool(profile.get("steps"))
    energies = [d.get("window_energy_j") if in_window else d.get("energy_j")
                for d in profile.get("devices", []) if d.get("kind") == "gpu"]
    names = [d.get("name", "GPU") for d in profile.get("devices", []) if d.get("kind") == "gpu"]
    measured = [e for e in energies if e is not None]
    return (sum(measured) if measured else None), names


def _unquantified(finding: Finding, why: str) -> dict[str, Any]:
    return {"quantified": False, "estimated_savings_j": None, "estimated_savings_pct": None,
            "low_j": None, "high_j": None, "confidence": "none", "basis": f"unquantified: {why}"}


def _quantify(finding: Finding, profile: dict[str, Any], scale: RunScale | None,
              tree: ast.Module | None) -> dict[str, Any]:
    model = savings_model(finding.code)
    rule = get_rule(finding.code)
    scope_words = rule.saving_scope if rule is not None and rule.saving_scope else "the code it covers"
    if model is None:
        return _unquantified(finding, f"no measured or published fraction for this fix yet (it saves {scope_words})")
    if scale is None:
        return _unquantified(finding, "the profile measured no energy")
    if model.scope == "gpu":
        gpu_j, names = _gpu_energy(profile)
        if gpu_j is None:
            return _unquantified(finding, f"no GPU was measured in this run; on a GPU it saves {model.low:.0%}-"
                                          f"{model.high:.0%} of the training step's GPU energy ({model.source})")
        fraction = (model.point, model.low, model.high)
        confidence = model.confidence
        caveat = ""
        if model.needs_tensor_cores:
            cores = [has_bf16_tensor_cores(n) for n in names]
            if all(c is False for c in cores):
                return _unquantified(finding, f"{', '.join(names)} has no bf16/TF32 tensor cores (pre-Ampere): "
                                              "the measured fractions do not apply")
            if any(c is None for c in cores):
                confidence, caveat = "low", "; GPU generation not recognised (the fraction assumes Ampere or newer)"
        energy = gpu_j
        what = f"the {devices_how(d for d in profile.get('devices', []) if d.get('kind') == 'gpu')} GPU energy of the measured span ({format_energy(energy)}, nvml)"
        band = (1.0, 1.0)
        fraction_words = f"{model.point:.0%} (range {model.low:.0%}-{model.high:.0%}): {model.source}{caveat}"
    else:
        rows = covered_rows(finding, tree)
        line = _line_share(profile, finding.filename, rows)
        if line.energy_j <= 0:
            return _unquantified(finding, f"no profile samples landed on {os.path.basename(finding.filename)}:"
                                          f"{rows[0]}-{rows[1]} (the code did not run in the measured span, or too briefly)")
        energy = line.energy_j
        band = _binomial_band(line.share, line.samples_total)
        span = f"line {rows[0]}" if rows[0] == rows[1] else f"lines {rows[0]}-{rows[1]}"
        what = f"the energy attributed to {span} ({format_energy(energy)}, {line.share:.1%} of the samples)"
        if model.repeats:
            point, low, high, words = _repeat_fraction(model, scale, profile)
            fraction = (point, low, high)
            fraction_words = f"{words}; {model.source}"
        else:
            fraction = (model.point, model.low, model.high)
            fraction_words = f"{model.point:.0%} (range {model.low:.0%}-{model.high:.0%}): {model.source}"
        confidence = model.confidence if line.samples >= 30 else "medium" if model.confidence == "high" else "low"
    point = energy * fraction[0] * scale.factor
    low = energy * fraction[1] * band[0] * scale.low_factor
    high = energy * fraction[2] * band[1] * scale.high_factor
    pct = 100.0 * point / scale.run_energy_j if scale.run_energy_j else None
    basis = f"estimated: {what} x {fraction_words}; {scale.words}"
    return {"quantified": True, "estimated_savings_j": point, "estimated_savings_pct": pct,
            "low_j": min(low, point), "high_j": max(high, point), "confidence": confidence, "basis": basis}


def _parse(path: str, cache: dict[str, ast.Module | None]) -> ast.Module | None:
    if path not in cache:
        try:
            with open(path, "rb") as handle:
                cache[path] = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            cache[path] = None
    return cache[path]


def build_advice(profile: dict[str, Any], findings: list[Finding]) -> list[Advice]:
    """Every finding becomes one advice item; quantified ones first, by estimated saving."""
    scale = run_scale(profile)
    trees: dict[str, ast.Module | None] = {}
    rows = []
    for finding in findings:
        if finding.code.startswith("GL0"):
            continue  # greenlint's own problems with a file are not advice
        numbers = _quantify(finding, profile, scale, _parse(finding.filename, trees))
        rule = get_rule(finding.code)
        rows.append((finding, rule, numbers))
    rows.sort(key=lambda r: (not r[2]["quantified"], -(r[2]["estimated_savings_j"] or 0.0),
                             r[0].filename, r[0].location.row, r[0].code))
    return [
        Advice(rank=i, code=f.code, name=rule.name if rule else f.code, message=f.message, filename=f.filename,
               line=f.location.row, fix_applicability=f.fix.applicability if f.fix else None, **numbers,
               **_phase_of(f.code, profile))
        for i, (f, rule, numbers) in enumerate(rows, start=1)
    ]


def _phase_of(code: str, profile: dict[str, Any]) -> dict[str, Any]:
    """The recorded training phases that this rule's fix addresses (PHASE_RULES), largest first,
    and their summed share of the sampled time: mixed precision addresses "forward and backward"."""
    phases = sorted((p for p in profile.get("phases") or [] if isinstance(p, dict) and code in (p.get("rules") or [])),
                    key=lambda p: -float(p.get("share") or 0.0))
    if not phases:
        return {}
    names = [str(p.get("name")) for p in phases]
    words = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return {"phase": words, "phase_share": sum(float(p.get("share") or 0.0) for p in phases)}
