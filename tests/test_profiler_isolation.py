"""`greenlint profile` must not run the user's files in place of its own modules (issue 17, item 6).

The child's sys.path is what `python SCRIPT` (or `python -m MODULE`) gives: the script's folder first,
not the working directory; greenlint's own modules are imported before any user path (working
directory, PYTHONPATH) is on sys.path, so a json.py or signal.py there is never executed by greenlint.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TIMEOUT = 180  # a hang guard only: nothing here depends on how long a run takes

# Modules greenlint's child imports before the script runs (the list and a few more).
SHADOWS = ("json", "signal", "traceback", "tempfile", "sysconfig", "greenlint", "runpy", "threading", "argparse")

SHOW = """
import os, sys
import helper
print("SHOW " + __import__("json").dumps({"path": sys.path, "cwd": os.getcwd(), "helper": helper.VALUE}))
"""


def _plant(folder: Path, marker: Path) -> None:
    """Files named like the modules above that record being executed, then fail loudly."""
    for name in SHADOWS:
        (folder / f"{name}.py").write_text(
            f"open({str(marker)!r}, 'a').write({name!r} + ' from ' + __file__ + '\\n')\n"
            f"raise SystemExit('user file {name}.py was executed')\n", encoding="utf-8")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra)
    return env


def _profile(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, dict | None]:
    """greenlint profile as the installed `greenlint` command runs it (its sys.path[0] is its own bin
    folder, never the working directory), and with PYTHONPATH's folders kept off its own sys.path
    (though not out of the environment the child inherits): only the child's start-up is under test."""
    out = cwd.parent / "profile-out.json"
    code = ("import os, sys; del sys.path[0]; extra = os.environ.get('PYTHONPATH', '').split(os.pathsep); "
            "sys.path[:] = [p for p in sys.path if p not in extra]; "
            "from greenlint.cli import main; sys.argv[0] = 'greenlint'; sys.exit(main())")
    cmd = [sys.executable, "-c", code, "profile", "--no-html", "--no-advice", "--format", "json",
           "--output", str(out), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env or _env(), check=False)
    shown = None
    for line in proc.stdout.splitlines():
        if line.startswith("SHOW "):
            shown = json.loads(line[5:])
    return proc, shown


def _python_path_rest(cwd: Path, env: dict[str, str]) -> list[str]:
    """sys.path after its first entry, as plain Python builds it in this environment."""
    code = "import sys; print(repr(sys.path[1:]))"  # no import: the planted files stay unrun
    proc = subprocess.run([sys.executable, "-c", code],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=TIMEOUT, check=True)
    return ast.literal_eval(proc.stdout.strip())


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    work = tmp_path / "work"  # the working directory, full of stdlib-named files
    proj = tmp_path / "proj"  # the script's folder
    work.mkdir()
    proj.mkdir()
    marker = tmp_path / "executed.txt"
    _plant(work, marker)
    (proj / "helper.py").write_text("VALUE = 7\n", encoding="utf-8")
    (proj / "train.py").write_text(textwrap.dedent(SHOW).lstrip(), encoding="utf-8")
    return work, proj, marker


def test_files_in_the_working_directory_never_run_and_the_path_is_pythons(layout):
    work, proj, marker = layout
    proc, shown = _profile(work, str(proj / "train.py"))
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 0, proc.stderr
    assert shown is not None, proc.stdout
    assert shown["helper"] == 7 and shown["cwd"] == str(work)
    # exactly `python proj/train.py`: the script's folder, then what Python adds; no working directory
    assert shown["path"] == [str(proj), *_python_path_rest(proj, _env())]
    assert str(work) not in shown["path"] and "" not in shown["path"]


def test_pythonpath_entries_keep_their_place_but_greenlint_does_not_import_from_them(layout, tmp_path):
    work, proj, marker = layout
    extra = tmp_path / "extra"
    extra.mkdir()
    _plant(extra, marker)
    env = _env(PYTHONPATH=str(extra))
    proc, shown = _profile(work, str(proj / "train.py"), env=env)
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 0, proc.stderr
    assert shown["path"] == [str(proj), *_python_path_rest(proj, env)] and shown["path"][1] == str(extra)


def test_a_script_in_the_working_directory_has_it_first_and_greenlint_still_loads_its_own(layout):
    work, proj, marker = layout
    for name in ("train.py", "helper.py"):
        (work / name).write_text((proj / name).read_text(encoding="utf-8"), encoding="utf-8")
    proc, shown = _profile(work, "train.py")
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 0, proc.stderr
    assert shown["path"] == [str(work), *_python_path_rest(work, _env())]


def test_module_form_gets_the_working_directory_first_as_python_m_does(layout):
    work, _, marker = layout
    (work / "mymod.py").write_text(textwrap.dedent(SHOW).lstrip().replace("import helper\n", "helper = type('h', (), {'VALUE': 7})\n"),
                                   encoding="utf-8")
    proc, shown = _profile(work, "-m", "mymod")
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 0, proc.stderr
    assert shown["path"] == [str(work), *_python_path_rest(work, _env())]


def test_torchrun_ranks_and_launcher_do_not_run_files_from_the_working_directory(layout):
    work, proj, marker = layout
    proc, shown = _profile(work, "--nproc-per-node", "1", str(proj / "train.py"))
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 0, proc.stderr
    assert shown is not None and shown["path"][0] == str(proj) and str(work) not in shown["path"]
