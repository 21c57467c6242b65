"""Writing the HTML report safely and its Content-Security-Policy (issue 17, item 5).

The temporary file must not have a name another user can predict and plant a symlink at; the page
must run only its own inline script (by hash), not any script that found its way in.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from greenlint.reporters.html import render_html, write_html_report

SCRIPT = "/work/proj/train.py"
SOURCE = "import torch\nx = torch.load('data.pt')\n"
BROWSER_TIMEOUT = 240  # a hang guard for a slow, shared machine


def _document() -> dict:
    """A small profile document: the write and the policy do not depend on what the page shows."""
    profile = {"outcome": "completed", "exit_code": 0, "steps": 0, "steps_seen": 0, "energy_j": 1.0,
               "lines": [{"filename": SCRIPT, "line": 2, "energy_j": 1.0, "time_s": 0.1, "share": 1.0}]}
    return {"profile": profile, "advice": [], "carbon": None}


def _browser(chrome: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-extensions", f"--user-data-dir={tmp_path / 'chrome'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, cwd=tmp_path, check=False)


def _csp(page: str) -> dict[str, list[str]]:
    found = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert found, page[:500]
    policy: dict[str, list[str]] = {}
    for directive in found.group(1).split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def test_a_symlink_planted_at_the_old_temporary_name_is_never_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    # the name the report's temporary file used to have: predictable from the target and the pid
    planted = shared / f".report.html.{os.getpid()}.tmp"
    planted.symlink_to(victim)
    target = shared / "report.html"
    write_html_report(target, _document(), {SCRIPT: SOURCE})
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not target.is_symlink() and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert planted.is_symlink() and sorted(p.name for p in shared.iterdir()) == [planted.name, "report.html"]


def test_a_symlink_at_the_target_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    target = tmp_path / "report.html"
    target.symlink_to(victim)
    write_html_report(target, _document(), {SCRIPT: SOURCE})
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not target.is_symlink() and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_report_keeps_the_replaced_files_mode_and_a_new_one_gets_the_umask_default(tmp_path):
    target = tmp_path / "report.html"
    old = os.umask(0o027)
    try:
        write_html_report(target, _document(), {SCRIPT: SOURCE})
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        target.chmod(0o604)
        write_html_report(target, _document(), {SCRIPT: SOURCE})
        assert stat.S_IMODE(target.stat().st_mode) == 0o604
    finally:
        os.umask(old)
    assert os.listdir(tmp_path) == ["report.html"]


def test_the_policy_allows_exactly_the_pages_own_inline_script_and_style():
    page = render_html(_document(), {SCRIPT: SOURCE})
    policy = _csp(page)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert scripts and styles
    # every inline block the page has is allowed by its hash, and nothing else is
    assert sorted(policy["script-src"]) == sorted({_sha256(s) for s in scripts})
    assert sorted(policy["style-src"]) == sorted({_sha256(s) for s in styles})
    assert "'unsafe-inline'" not in policy["script-src"] + policy["style-src"]
    assert not re.search(r"<script\b[^>]*\bsrc=|\son[a-z]+=", page)  # no external or event-handler script
    assert policy["default-src"] == ["'none'"] and policy["style-src-attr"] == ["'unsafe-inline'"]


def test_headless_chromium_runs_the_reports_script_and_blocks_an_injected_one(tmp_path):
    chrome = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if chrome is None:
        pytest.skip("chromium not installed: apt-get install -y chromium")
    page = render_html(_document(), {SCRIPT: SOURCE})
    injected = '<script>document.documentElement.className += " injected";</script>'
    report = tmp_path / "report.html"
    report.write_text(page.replace("<main>", "<main>" + injected, 1), encoding="utf-8")
    dump = _browser(chrome, tmp_path, "--dump-dom", report.as_uri())
    assert dump.returncode == 0, dump.stderr[-3000:]
    html_tag = re.search(r"<html[^>]*>", dump.stdout)
    assert html_tag, dump.stdout[:2000]
    assert re.search(r'class="[^"]*\bjs\b', html_tag.group(0)), html_tag.group(0)  # the report's own script ran
    assert "injected" not in html_tag.group(0)  # the planted one was refused by the policy


def test_no_temporary_file_is_left_when_rendering_fails(tmp_path, monkeypatch):
    from greenlint.reporters import html as html_report

    def broken(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(html_report, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_html_report(tmp_path / "report.html", _document(), {})
    assert os.listdir(tmp_path) == []


