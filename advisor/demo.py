"""`greenlint demo`: lint, profile and advise the bundled example, on any machine, in under a minute.

The example (demo/train_demo.py, package data) runs from a copy in a fresh temporary directory:
the profiler attributes energy only to the user's own files, never to installed packages, and the
training data the example writes there (about 26 MB) is removed with the directory when the demo
ends, however it ends.

What the demo leaves behind goes to greenlint's cache directory, never into the directory the
user happens to be in (often a repository of their own): the HTML report (unless `--html` names
another place) and a copy of the example to fix and profile again. Both paths are printed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

DEMO_SCRIPT = Path(__file__).with_name("demo") / "train_demo.py"

# torch warns at import when NumPy is not installed ("Failed to initialize NumPy: No module named
# 'numpy'"): the README's quick start installs torch alone, and the example never uses NumPy, so
# the warning would only interrupt the demo's output. Silenced for the example's run only (the
# user's own scripts under `greenlint profile` keep every warning).
NUMPY_WARNING_FILTER = "ignore:Failed to initialize NumPy"


def demo_home() -> Path:
    """greenlint's cache directory for the demo: $XDG_CACHE_HOME/greenlint/demo (~/.cache by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "greenlint" / "demo"


def copy_demo(directory: Path | None = None) -> Path:
    target_dir = directory or Path(tempfile.mkdtemp(prefix="greenlint-demo-"))
    target = target_dir / "train.py"
    shutil.copyfile(DEMO_SCRIPT, target)
    return target


def _example_environment() -> dict[str, str]:
    current = os.environ.get("PYTHONWARNINGS")
    return {"PYTHONWARNINGS": f"{current},{NUMPY_WARNING_FILTER}" if current else NUMPY_WARNING_FILTER}


def run_demo(html: Path | None, steps: int, console: Console, stderr: Console) -> int:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        stderr.print("greenlint: error: the demo trains a small PyTorch model: install torch first "
                     "(pip install torch)")
        return 2
    home = demo_home()
    report = (html if html is not None else home / "greenlint-report.html").resolve()
    workdir = Path(tempfile.mkdtemp(prefix="greenlint-demo-"))
    previous_cwd = os.getcwd()
    saved_environment = {name: os.environ.get(name) for name in _example_environment()}
    try:
        os.environ.update(_example_environment())
        # Work from the copy's directory: paths print as `train.py:50`.
        os.chdir(workdir)
        code = _run(copy_demo(workdir), report, steps, console, stderr)
    finally:
        os.chdir(previous_cwd)
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(workdir, ignore_errors=True)
    if code == 0:
        _next_steps(home, console, stderr)
    return code


def _run(script: Path, report: Path, steps: int, console: Console, stderr: Console) -> int:
    from greenlint.cli_profile import write_html
    from greenlint.config import Settings
    from greenlint.profiler.report import render_text
    from greenlint.profiler.runner import ProfileOptions, run_profile
    from greenlint.profiling import advise, project_settings
    from greenlint.reporters.advice_text import render_advice_text
    from greenlint.reporters.text import render_text as render_findings
    from greenlint.runner import lint_files

    console.print("[bold]greenlint demo[/bold]: lint, profile and advise a small training script "
                  "(bundled with greenlint; it runs from a temporary copy, removed at the end)", highlight=False)
    console.rule("1. greenlint check (static: what is wasteful)")
    settings = Settings(project_root=script.parent)
    from greenlint.impact_filter import apply_threshold
    from greenlint.selection import preview_only_codes

    # as a plain `greenlint check` says it: fixes that need --unsafe-fixes are counted as hidden,
    # findings under the default min-impact and those of preview rules are counted, not shown
    preview_only = preview_only_codes(settings.selection)
    result = lint_files([script], settings, use_cache=False, jobs=1, extra_codes=preview_only)
    shown = apply_threshold(result.findings, settings, preview_only)
    render_findings(shown.findings, console, result.files_checked, unsafe=False, note=shown.note)

    console.rule("2. greenlint profile (where the energy goes; each figure says how it was obtained)")
    run = run_profile(ProfileOptions(script=str(script), module=None, args=[], steps=steps, warmup=3))
    render_text(run.profile, console, "train.py")

    console.rule("3. advice (estimated: what each fix would save over the run)")
    advised = advise(run.exit_code, run.profile, str(script), project_settings(script.parent)[0], cwd=script.parent)
    render_advice_text(advised.advice, advised.carbon, console, advised.notices)
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        stderr.print(f"greenlint: error: cannot create {report.parent}: {exc.strerror}", markup=False)
    else:
        write_html(report, advised.document(), "train.py", console, stderr)
    return run.exit_code


def _next_steps(home: Path, console: Console, stderr: Console) -> None:
    """A copy of the example to try the fixes on, beside the report (overwritten by the next demo)."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        script = copy_demo(home)
    except OSError as exc:
        stderr.print(f"greenlint: warning: cannot copy the example to {home}: {exc.strerror}", markup=False)
        return
    console.rule("next")
    console.print(f"A copy of the example to try the fixes on: {script}", highlight=False, markup=False)
    console.print(
        f"Measure it:        greenlint profile --format json --output before.json {script}\n"
        f"Apply the fixes:   greenlint check --fix --unsafe-fixes {script}\n"
        f"Measure again:     greenlint profile --format json --output after.json {script}\n"
        f"Compare:           greenlint compare before.json after.json",
        highlight=False, markup=False,
    )
