"""`greenlint profile`, the whole job: run the script under measurement, lint the code that ran,
turn the findings into ranked advice, and express the run in kWh and CO2e.

The profile comes from greenlint.profiler (measurement only); the advice and carbon figures are
this package's (savings.py, advice.py, carbon.py). The JSON document is
``{"profile": {...}, "advice": [...], "carbon": {...}}`` (DESIGN.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from greenlint.advice import Advice, build_advice
from greenlint.carbon import Carbon, carbon_of
from greenlint.config import ConfigError, Overrides, Settings, load_settings
from greenlint.findings import Finding


@dataclass
class AdvisedProfile:
    exit_code: int
    profile: Any  # greenlint.profiler.profile.Profile
    advice: list[Advice]
    carbon: Carbon | None
    linted: list[str]  # the files whose findings became advice (empty with --no-advice)
    notices: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"profile": self.profile.to_json(), "advice": [a.to_json() for a in self.advice]}
        if self.carbon is not None:
            doc["carbon"] = self.carbon.to_json()
        doc["advice_notices"] = list(self.notices)
        return doc


def files_that_ran(script: str | None, profile_json: dict[str, Any], cwd: Path) -> list[Path]:
    """The script, every user file the sampler saw, and the local modules it imported, that still exist."""
    seen: list[Path] = []
    candidates = (([script] if script else []) + [line["filename"] for line in profile_json.get("lines", [])]
                  + list(profile_json.get("user_modules") or []))
    for name in candidates:
        path = Path(name)
        path = path if path.is_absolute() else (cwd / path)
        if path.suffix == ".py" and path.is_file() and path.resolve() not in {p.resolve() for p in seen}:
            seen.append(path)
    return seen


def project_settings(cwd: Path) -> tuple[Settings, list[str]]:
    """The project's configuration; a broken one is reported and replaced by the defaults, so that
    a finished (and costly) measurement is never thrown away for it."""
    try:
        return load_settings(None, False, Overrides(), cwd=cwd), []
    except ConfigError as exc:
        return Settings(project_root=cwd.resolve()), [f"configuration ignored ({exc})"]


def measurable_preview_codes(settings: Settings) -> frozenset[str]:
    """Preview rules that advice may still report: those whose saving the profile can quantify.

    A rule leaves the linter's default set when, statically, it cannot tell a run where its fix
    pays from one where it does not (GL101: mixed precision is worth a lot on a large model on a
    tensor-core GPU, nothing on a small launch-bound one). The profile has measured the run, and
    advice ranks by that measurement, so such a finding is kept as advice when its saving is
    quantified from the measured energy and dropped otherwise (`keep_measurable`). Rules the user
    ignores stay ignored; with preview on, this adds nothing."""
    from greenlint.savings import savings_model

    from greenlint.selection import preview_only_codes

    return frozenset(code for code in preview_only_codes(settings.selection) if savings_model(code) is not None)


def keep_measurable(advice: list[Advice], preview_only: frozenset[str],
                    long_run: LongRunFindings | None = None) -> list[Advice]:
    """Drop the unquantified advice of preview-only rules and renumber the ranks; in a file that
    matches `long-runs`, a run-length rule's advice is kept as a default rule's would be."""
    long_run = long_run or LongRunFindings()
    kept = [a for a in advice if a.quantified or a.code not in preview_only or long_run.reports(a.code, a.filename)]
    return [replace(a, rank=i) for i, a in enumerate(kept, start=1)]


@dataclass(frozen=True)
class LongRunFindings:
    """The run-length rules (long_runs.py) and the files matching `long-runs` where they report."""

    codes: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()  # display paths, as findings and advice carry them

    def reports(self, code: str, filename: str) -> bool:
        return code in self.codes and filename in self.files


def lint_for_advice(files: list[Path], settings: Settings,
                    preview_only: frozenset[str] = frozenset()) -> tuple[list[Finding], list[str], LongRunFindings]:
    """Findings of every enabled rule in the files that ran, with the project's configuration,
    plus those of the preview rules in `preview_only` (`measurable_preview_codes`; the caller
    keeps only their quantified advice), plus the run-length rules in the files matching
    `long-runs`. The other preview rules stay off."""
    from greenlint.long_runs import run_length_codes
    from greenlint.runner import lint_files

    notices: list[str] = []
    # the runner adds the run-length rules to the files matching long-runs by itself
    result = lint_files(files, settings, use_cache=False, jobs=1, extra_codes=preview_only)
    long_codes = run_length_codes(settings.selection) if settings.long_runs else frozenset()
    long_run = LongRunFindings(long_codes, result.long_run_files)
    for path, reason in result.unreadable:
        notices.append(f"{path}: cannot read for linting: {reason}")
    # Findings carry display paths relative to the working directory; advice matches them to the
    # profile's absolute paths.
    for f in result.findings:
        if f.code in ("GL001", "GL002", "GL003"):
            notices.append(f"{f.filename}: not linted for advice ({f.code}: {f.message})")
        elif f.code == "GL000":
            notices.append(f"{f.filename}: {f.message}")
    findings = [f for f in result.findings if not f.code.startswith("GL0")]
    return findings, notices, long_run


def carbon_for(profile_json: dict[str, Any], grid_g_per_kwh: float | None, pue: float) -> Carbon | None:
    """The carbon of the full training run when it is known (projected, or run to its end with
    --full), else of the profiled run; its energy keeps the label of how it was obtained."""
    from greenlint.profiler.labels import FULL_RUN, PROFILED_RUN, devices_how, projection_how, tolerance_words

    projection = profile_json.get("projection") or {}
    energy_how = devices_how(profile_json.get("devices") or [])
    if projection.get("energy_j"):
        how = f"{projection_how(projection, energy_how)} {FULL_RUN}"
        return carbon_of(projection["energy_j"], projection.get("low_j"), projection.get("high_j"), how,
                         grid_g_per_kwh, pue)
    energy = profile_json.get("energy_j")
    if energy:
        tol = max((d.get("tolerance", 0.0) for d in profile_json.get("devices", [])), default=0.0)
        what = f"{energy_how} {PROFILED_RUN} (the part of the run that was profiled; range: {tolerance_words(energy_how, tol)})"
        return carbon_of(energy, energy * (1 - tol), energy * (1 + tol), what, grid_g_per_kwh, pue)
    return None


def advise(exit_code: int, profile: Any, script: str | None, settings: Settings | None = None,
           grid_g_per_kwh: float | None = None, pue: float | None = None, cwd: Path | None = None,
           lint: bool = True) -> AdvisedProfile:
    """`grid_g_per_kwh` and `pue` given here (the command line) win over the configuration's."""
    cwd = cwd or Path.cwd()
    notices: list[str] = []
    if settings is None:
        settings, notices = project_settings(cwd)
    grid_g_per_kwh = grid_g_per_kwh if grid_g_per_kwh is not None else settings.grid_intensity
    pue = pue if pue is not None else settings.pue
    profile_json = profile.to_json()
    findings: list[Finding] = []
    long_run = LongRunFindings()
    preview_only = measurable_preview_codes(settings)
    files = files_that_ran(script, profile_json, cwd)
    if lint:
        try:
            findings, lint_notices, long_run = lint_for_advice(files, settings, preview_only)
            notices += lint_notices
        except Exception as exc:  # noqa: BLE001 - the measured profile must survive a linter failure
            notices.append(f"linting for advice failed ({type(exc).__name__}: {exc}); no advice")
    advice = keep_measurable(build_advice(profile_json, findings), preview_only, long_run)
    carbon = carbon_for(profile_json, grid_g_per_kwh, pue)
    linted = [os.path.relpath(p, cwd) for p in files] if lint else []
    return AdvisedProfile(exit_code, profile, advice, carbon, linted, notices)
