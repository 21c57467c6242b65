"""`check --fix` writes: never over an edit saved meanwhile, never into a read-only file, through
symbolic links, keeping hard links, owner and group, accounting for every file on Ctrl-C, keeping
a notebook's BOM and a CR-only file's last line end, and cleaning up after a `kill -9`.

Concurrency is tested through seams (a hook between computing and writing, a hook just before the
rename), never with sleeps, so the tests are deterministic on a busy machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import GPU_TRAINING
from greenlint import fix_writing, runner, writer

# GPU_TRAINING's findings of GL301 (default set) and GL309 (a preview rule, hence --preview), both with
# unsafe fixes; FIXED_LINE is GL309's fix (the per-step copy to the GPU, hoisted above the epoch loop),
# absent from the unfixed file.
SELECT = ("--preview", "--select", "GL0,GL301,GL309")
FIXED_LINE = "\nw = weights.cuda()\n"


def _cli_fix(project, *extra):
    return project.run("check", "--no-cache", "--fix", "--unsafe-fixes", *SELECT, *extra)


def _edit_after_computing(monkeypatch, edit):
    """Run `edit()` after every fix is computed and before anything is written."""
    compute = runner.fix_files

    def computed_then_edited(*args, **kwargs):
        result = compute(*args, **kwargs)
        edit()
        return result

    monkeypatch.setattr(runner, "fix_files", computed_then_edited)


# ---- item 1: an edit saved during the run is never lost --------------------------------------


def test_a_file_edited_after_it_was_read_is_not_overwritten(project, monkeypatch):
    edited = project.write("edited.py", GPU_TRAINING)
    other = project.write("other.py", GPU_TRAINING)

    def user_saves():
        with edited.open("a") as handle:
            handle.write("print('the user added this line')\n")

    _edit_after_computing(monkeypatch, user_saves)
    code, _, err = _cli_fix(project)
    assert "print('the user added this line')" in edited.read_text()
    assert FIXED_LINE not in edited.read_text()
    assert "edited.py: changed since greenlint read it; not overwritten" in err
    assert FIXED_LINE in other.read_text()  # the other file is still fixed
    assert code == 1  # the findings of the file left alone still count


def test_an_edit_saved_just_before_the_rename_is_not_overwritten(project, monkeypatch):
    path = project.write("train.py", GPU_TRAINING)

    def user_saves_now(target):
        with open(target, "a") as handle:
            handle.write("# saved by the editor\n")

    monkeypatch.setattr(writer, "before_replace", user_saves_now)
    _, _, err = _cli_fix(project)
    assert path.read_text().endswith("# saved by the editor\n")
    assert FIXED_LINE not in path.read_text()
    assert "changed since greenlint read it" in err
    assert [p.name for p in project.root.iterdir()] == ["train.py"]  # no temporary left


# ---- item 3: read-only files, owner and group ----------------------------------------------


def test_a_read_only_file_is_skipped_with_a_message(project):
    path = project.write("train.py", GPU_TRAINING)
    os.chmod(path, 0o444)
    try:
        code, out, err = _cli_fix(project)
        assert path.read_text() == GPU_TRAINING
        assert "train.py: read-only; not written" in err
        assert code == 1 and "GL309" in out  # its findings are still reported
    finally:
        os.chmod(path, 0o644)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_owner_and_group_are_kept_when_root_fixes_another_users_file(project):
    path = project.write("train.py", GPU_TRAINING)
    os.chown(path, 4321, 8765)
    _cli_fix(project)
    assert FIXED_LINE in path.read_text()
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 8765)


# ---- item 4: symbolic and hard links ---------------------------------------------------------


def test_a_symlinked_file_is_fixed_through_the_link(project):
    target = project.write("real/train.py", GPU_TRAINING)
    link = project.root / "train.py"
    link.symlink_to(target)
    _cli_fix(project, "train.py")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert FIXED_LINE in target.read_text()


def test_hard_links_are_kept(project):
    first = project.write("train.py", GPU_TRAINING)
    second = project.root / "copy_of_train.txt"
    os.link(first, second)
    _cli_fix(project, "train.py")
    assert FIXED_LINE in first.read_text()
    assert os.path.samefile(first, second) and second.read_text() == first.read_text()
    assert sorted(p.name for p in project.root.iterdir()) == ["copy_of_train.txt", "train.py"]


def test_a_failed_in_place_write_puts_the_old_bytes_back(tmp_path, monkeypatch):
    first = tmp_path / "train.py"
    first.write_text(GPU_TRAINING)
    os.link(first, tmp_path / "link.py")
    real_open = open

    class FailingHandle:
        def __init__(self, handle):
            self.handle = handle
            self.writes = 0

        def write(self, data):
            self.writes += 1
            if self.writes == 1:
                self.handle.write(data[: len(data) // 2])  # half the new bytes land, then the disk fails
                raise OSError(28, "No space left on device")
            return self.handle.write(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

    def failing_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return FailingHandle(handle) if mode == "r+b" else handle

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(OSError):
        writer.write_fix(first, writer.content_digest(GPU_TRAINING.encode()), b"x = 1\n" * 200)
    monkeypatch.undo()
    assert first.read_text() == GPU_TRAINING
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "train.py"]


# ---- item 7: Ctrl-C during the write phase --------------------------------------------------


def test_ctrl_c_while_writing_says_what_was_written_and_what_was_not(project, monkeypatch):
    paths = [project.write(f"train_{n}.py", GPU_TRAINING) for n in range(5)]
    real_write = writer.write_fix
    calls = []

    def write_then_interrupt(path, digest, data):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_write(path, digest, data)

    monkeypatch.setattr(fix_writing, "write_fix", write_then_interrupt)
    code, _, err = _cli_fix(project)
    assert code == 130
    assert "nothing was written" not in err
    assert "interrupted; 2 of 5 fixed files written, 3 not written:" in err
    for n, path in enumerate(paths):
        assert (FIXED_LINE in path.read_text()) == (n < 2)
        assert (f"  train_{n}.py" in err) == (n >= 2)


# ---- item 18: a notebook's BOM, a CR-only file's final line end -----------------------------


def test_a_notebooks_bom_is_kept(project):
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": GPU_TRAINING.splitlines(keepends=True),
                   "outputs": [], "execution_count": None}],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = project.root / "train.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(notebook, indent=1) + "\n").encode())
    _cli_fix(project)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf{")
    assert b'"w = weights.cuda()\\n"' in data


def test_a_cr_only_file_keeps_its_final_line_end(project):
    path = project.root / "train.py"
    path.write_bytes(GPU_TRAINING.replace("\n", "\r").encode())
    _cli_fix(project)
    data = path.read_bytes()
    assert b"\rw = weights.cuda()\r" in data
    assert data.endswith(b"\r") and b"\n" not in data


# ---- item 20: temporaries left by kill -9 ----------------------------------------------------


def test_temporaries_are_removed_beside_files_that_need_no_fix(project):
    project.write("clean.py", "print('nothing to fix')\n")
    stale = project.root / f".clean.py.{writer._HOST}-{_dead_pid()}-0123abcd{writer.TEMP_SUFFIX}"
    stale.write_text("half a fix")
    _cli_fix(project)
    assert not stale.exists()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid  # reaped: no process has this id (until the system reuses it)


def test_temporaries_of_a_killed_run_are_removed_and_others_are_kept(project):
    path = project.write("train.py", GPU_TRAINING)
    host = writer._HOST
    stale = project.root / f".train.py.{host}-{_dead_pid()}-0123abcd{writer.TEMP_SUFFIX}"
    live = project.root / f".train.py.{host}-{os.getppid()}-0123abcd{writer.TEMP_SUFFIX}"
    other_host = project.root / f".train.py.{'0' * 8 if host != '0' * 8 else '1' * 8}-{_dead_pid()}-0123abcd{writer.TEMP_SUFFIX}"
    users = project.root / ".notes.greenlint-tmp"
    for leftover in (stale, live, other_host, users):
        leftover.write_text("half a fix")
    _, _, err = _cli_fix(project)
    assert FIXED_LINE in path.read_text()
    assert not stale.exists()
    assert live.exists() and other_host.exists() and users.exists()
    assert "removed 1 temporary file left by an interrupted greenlint run" in err


def test_kill_9_during_the_write_phase_leaves_only_what_the_next_run_cleans_up(tmp_path):
    """A real SIGKILL at the seam between staging and renaming: the original is intact, and the
    temporary it leaves is removed by the next --fix."""
    path = tmp_path / "train.py"
    path.write_text(GPU_TRAINING)
    script = (
        "import os, signal, sys\n"
        "from greenlint import writer\n"
        "writer.before_replace = lambda target: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from greenlint.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["check", "--no-cache", "--isolated", "--fix", "--unsafe-fixes", *SELECT, "train.py"]
    killed = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, timeout=120, capture_output=True, check=False)
    assert killed.returncode == -9
    assert path.read_text() == GPU_TRAINING
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(writer.TEMP_SUFFIX)]
    assert len(leftovers) == 1
    again = subprocess.run([sys.executable, "-m", "greenlint", *args], cwd=tmp_path, timeout=120, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert FIXED_LINE in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
