"""`greenlint demo`: lint, profile and advise the bundled example, on any machine, in under a minute.

The example (demo/train_demo.py, package data) is copied to a fresh temporary directory first:
the profiler attributes energy only to the user's own files, never to installed packages, and the
user gets a copy they can fix and profile again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from greenlint.profiling import advise, project_settings

DEMO_SCRIPT = Path(__file__).with_name("demo") / "train_demo.py"


def copy_demo(directory: Path | None = None) -> Path:
    target_dir = directory or Path(tempfile.mkdtemp(prefix="greenlint-demo-"))
    target = target_dir / "train.py"
    shutil.copyfile(DEMO_SCRIPT, target)
    return target


def run_demo(html: Path, steps: int, console: Console, stderr: Console) -> int:
    from greenlint.cli import _write_html
    from greenlint.config import Settings
    from greenlint.profiler.report import render_text
    from greenlint.profiler.runner import ProfileOptions, run_profile
    from greenlint.reporters import render_text as render_findings
    from greenlint.reporters.advice_text import render_advice_text
    from greenlint.runner import lint_files

    import importlib.util

    if importlib.util.find_spec("torch") is None:
        stderr.print("greenlint: error: the demo trains a small PyTorch model: install torch first "
                     "(pip install torch)")
        return 2
    html = html.resolve()
    script = copy_demo()
    # Work from the copy's directory: paths print as `train.py:50`, and the user's directory only
    # receives the HTML report.
    os.chdir(script.parent)
    console.print(f"[bold]greenlint demo[/bold]: the example is {script}", highlight=False, soft_wrap=True)
    console.rule("1. greenlint check (static: what is wasteful)")
    settings = Settings(project_root=script.parent)
    result = lint_files([script], settings, use_cache=False, jobs=1)
    render_findings(result.findings, console, result.files_checked, unsafe=True)

    console.rule("2. greenlint profile (where the energy goes; each figure says how it was obtained)")
    run = run_profile(ProfileOptions(script=str(script), module=None, args=[], steps=steps, warmup=3))
    render_text(run.profile, console, str(script))

    console.rule("3. advice (estimated: what each fix would save over the run)")
    advised = advise(run.exit_code, run.profile, str(script), project_settings(script.parent)[0], cwd=script.parent)
    render_advice_text(advised.advice, advised.carbon, console, advised.notices)
    _write_html(html, advised.document(), "train.py", console, stderr)
    console.rule("next")
    console.print(
        f"Apply the fixes:  greenlint check --fix --unsafe-fixes {script}\n"
        f"Measure again:    greenlint profile --format json --output after.json {script}\n"
        f"(and the same before the fix into before.json), then: greenlint compare before.json after.json",
        highlight=False, soft_wrap=True,
    )
    return run.exit_code
