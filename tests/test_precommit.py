"""The pre-commit hooks in `.pre-commit-hooks.yaml`, run by the real `pre-commit try-repo`.

`try-repo` clones the hook repository at a commit and pip-installs greenlint into a fresh
environment (from the package index, as a user's pre-commit would). Its shadow commit of a dirty
checkout takes only staged and modified *tracked* files, so a new, uncommitted hook file or module
would be missed: the test therefore snapshots the working tree (tracked and untracked, not ignored)
into a temporary repository, commits it there, and points `try-repo` at that.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]')")
import yaml  # noqa: E402  (a dependency of pre-commit)

REPO_ROOT = Path(__file__).resolve().parents[1]
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed; pre-commit needs it")

# The same file loaded again on every epoch: GL301, a default-set rule with an unsafe fix.
BAD = """import torch

model = torch.nn.Linear(4096, 4096).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    data = torch.load("train.pt")
    for x, y in data:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
"""
CLEAN = 'print("nothing to see")\n'
_IGNORED_DIRS = {".git", ".venv", "venv", ".greenlint_cache", "__pycache__", ".pytest_cache", "build", "dist"}


def _env(home: Path) -> dict[str, str]:
    # No GIT_* from an outer git hook may leak in (GIT_DIR, GIT_INDEX_FILE ...).
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PRE_COMMIT_HOME=str(home / "pre-commit-home"),
        GIT_AUTHOR_NAME="greenlint tests",
        GIT_AUTHOR_EMAIL="tests@greenlint.invalid",
        GIT_COMMITTER_NAME="greenlint tests",
        GIT_COMMITTER_EMAIL="tests@greenlint.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
    )
    return env


def _git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run([GIT, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _project_files() -> list[str]:
    """The working tree as a fresh clone plus uncommitted work would have it."""
    if (REPO_ROOT / ".git").exists():
        out = subprocess.run(
            [GIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT, check=True, capture_output=True, text=True,
        ).stdout
        return [name for name in out.split("\0") if name and (REPO_ROOT / name).is_file()]
    files = []
    for dirpath, dirnames, filenames in os.walk(REPO_ROOT):
        dirnames[:] = [d for d in dirnames if d not in _IGNORED_DIRS and not d.endswith(".egg-info")]
        files += [os.path.relpath(os.path.join(dirpath, f), REPO_ROOT) for f in filenames]
    return files


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("precommit")
    env = _env(base)
    snapshot = base / "greenlint-repo"
    for name in _project_files():
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    _git("init", "-q", cwd=snapshot, env=env)
    _git("add", "-A", cwd=snapshot, env=env)
    _git("-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "snapshot", cwd=snapshot, env=env)
    return snapshot, base


def _try_repo(hook_repo: tuple[Path, Path], content: str, name: str) -> tuple[int, str]:
    snapshot, base = hook_repo
    work = base / f"work-{name}"
    work.mkdir()
    env = _env(base)
    _git("init", "-q", cwd=work, env=env)
    (work / f"{name}.py").write_text(content, encoding="utf-8")
    # No hook id: both hooks run, from one environment that try-repo builds once per call.
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(snapshot), "--files", f"{name}.py", "--color", "never"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _status(output: str, hook_name: str) -> str:
    match = re.search(rf"^{re.escape(hook_name)}\.+(Passed|Failed)$", output, re.MULTILINE)
    assert match, f"no result line for {hook_name!r} in:\n{output}"
    return match.group(1)


def test_hook_manifest_declares_both_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"greenlint", "greenlint-fix"}
    assert hooks["greenlint"]["entry"] == "greenlint check --force-exclude"
    assert hooks["greenlint-fix"]["entry"] == "greenlint check --force-exclude --fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["require_serial"] is False


def test_hooks_fail_on_a_per_epoch_reload(hook_repo: tuple[Path, Path]) -> None:
    code, output = _try_repo(hook_repo, BAD, "bad")
    assert code != 0, output
    assert "bad.py:6:12: GL301" in output, output
    assert _status(output, "greenlint") == "Failed"
    assert _status(output, "greenlint (fix)") == "Failed"  # GL301's fix is unsafe: --fix leaves it


def test_hooks_pass_on_a_clean_file(hook_repo: tuple[Path, Path]) -> None:
    code, output = _try_repo(hook_repo, CLEAN, "clean")
    assert code == 0, output
    assert _status(output, "greenlint") == "Passed"
    assert _status(output, "greenlint (fix)") == "Passed"
