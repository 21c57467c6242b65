"""The HTML profile report: sections, escaping, ordering, offline-only, and a real headless browser.

The advice and carbon blocks are made up here in the shape the savings model will produce; the
browser test renders a report from a real CPU profile run.
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from greenlint.profiler.profile import compute_profile
from greenlint.reporters import html as html_report
from greenlint.reporters.html import load_sources, render_html, write_html_report
from greenlint.reporters.html_advice import order_advice
from greenlint.reporters.html_charts import clip_points

SCRIPT = "/work/proj/train.py"
SOURCE = textwrap.dedent("""
    import torch

    model = torch.nn.Linear(16, 1)
    for step in range(100):
        x = torch.load("data.pt")
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
""").lstrip("\n")


def _advice_item(rank, code, line, quantified=True, saving=100.0, filename="train.py"):
    return {
        "rank": rank, "code": code, "name": f"rule-{code.lower()}", "message": f"message of {code}",
        "filename": filename, "line": line, "quantified": quantified,
        "estimated_savings_j": saving if quantified else None, "estimated_savings_pct": 30.0 if quantified else None,
        "low_j": saving * 0.8 if quantified else None, "high_j": saving * 1.2 if quantified else None,
        "confidence": "medium", "basis": f"basis of {code}",
    }


def _document():
    profile = {
        "outcome": "stopped", "exit_code": 0, "steps": 4, "steps_seen": 6, "warmup_steps": 2, "energy_j": 500.0,
        "energy_how": "estimated", "duration_s": 8.0, "window_energy_j": 60.0, "window_time_s": 2.0,
        "j_per_step": 15.0, "j_per_step_p10": 10.0, "j_per_step_p90": 20.0, "step_time_s": 0.5,
        "devices": [{"kind": "cpu", "name": "process CPU time", "method": "estimate", "energy_j": 500.0,
                     "window_energy_j": 60.0, "tolerance": 0.5, "basis": "estimated: CPU seconds x 12 W",
                     "timeline": [[0.0, 60.0], [1.0, 62.0], [4.0, 30.0], [8.0, 30.0]],
                     "timeline_basis": "estimated: average power between the estimate readings"}],
        "lines": [{"filename": SCRIPT, "line": 5, "energy_j": 45.0, "time_s": 1.5, "share": 0.75},
                  {"filename": SCRIPT, "line": 6, "energy_j": 15.0, "time_s": 0.5, "share": 0.25},
                  {"filename": "/work/proj/gone.py", "line": 3, "energy_j": 1.0, "time_s": 0.01, "share": 0.01}],
        "lines_basis": "estimated: the CPU energy of the measured steps split by samples",
        "projection": {"total_steps": 1000, "energy_j": 15400.0, "low_j": 5000.0, "high_j": 31000.0,
                       "time_s": 500.0, "basis": "projected: start-up + mean J/step x remaining steps"},
        "notices": ["RAPL not available; CPU energy is an estimate from CPU time"],
        "step_energy_j": [10.0, 20.0, 10.0, 20.0], "step_bounds_s": [4.0, 4.5, 5.0, 5.5, 6.0], "step_group": 1,
    }
    advice = [_advice_item(2, "GL101", 6, quantified=False), _advice_item(1, "GL301", 5, saving=40.0),
              _advice_item(3, "GL402", 7, saving=5.0)]
    carbon = {"energy_kwh": 15400.0 / 3.6e6, "low_kwh": 5000.0 / 3.6e6, "high_kwh": 31000.0 / 3.6e6,
              "grid_g_per_kwh": 475.0, "grid_source": "world average (stated default)", "pue": 1.0,
              "co2e_g": 2.03, "low_g": 0.66, "high_g": 4.09, "basis": "projected: full-run energy x grid x PUE"}
    return {"profile": profile, "advice": advice, "carbon": carbon}


class _Tags(HTMLParser):
    """Every start tag with its attributes (script and style bodies are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


ALLOWED_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "main", "header", "h1", "h2", "h3", "dl", "div",
    "dt", "dd", "strong", "br", "small", "span", "nav", "a", "section", "table", "thead", "tbody", "tr", "th",
    "td", "code", "p", "figure", "figcaption", "svg", "line", "text", "rect", "path", "defs", "lineargradient",
    "stop", "ul", "li", "footer", "script", "label", "input",
}


def _assert_offline(page: str) -> None:
    for tag, attrs in _tags(page):
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#") or href == "data:,", (tag, href)
    assert "@import" not in page
    assert not re.search(r"url\((?!#)", page)


# ------------------------------------------------------------------------------------ unit tests


def test_every_section_is_there_with_plots_and_labels():
    page = render_html(_document(), {SCRIPT: SOURCE}, script="train.py")
    for anchor in ("devices", "timeline", "steps", "projection", "carbon", "advice", "lines", "sources", "notices"):
        assert f'<section id="{anchor}">' in page, anchor
    assert "<title>greenlint profile: train.py</title>" in page
    assert page.count('<svg class="chart timeline"') == 1 and page.count('<svg class="chart steps"') == 1
    assert page.count('<rect class="bar"') == 4 and '<svg class="chart range"' in page
    assert page.count('<svg class="saving"') == 2  # the two quantified items
    # How each number was obtained, as in the text report.
    for how in ("measured", "estimated", "projected", "unquantified"):
        assert f'class="how how-{how}">{how}<' in page, how
    assert "475 gCO2e/kWh" in page and "2.03 g" in page
    # engineering units, 3 significant digits: joules in J/kJ, kWh figures in Wh below 1 kWh
    assert "stopped after the measured steps" in page and "15.4 kJ" in page and "4.28 Wh" in page


def test_first_screen_answers_how_much_where_and_what_to_fix_first():
    document = _document()
    document["advice"][1]["fix_applicability"] = "unsafe"
    document["profile"]["phases"] = [
        {"name": "data loading", "energy_j": 20.0, "time_s": 0.7, "share": 0.34, "rules": ["GL301"]},
        {"name": "forward", "energy_j": 40.0, "time_s": 1.3, "share": 0.66, "rules": ["GL101"]}]
    page = render_html(document, {SCRIPT: SOURCE}, script="train.py")
    summary, advice, devices = (page.index(f'id="{a}"') for a in ("summary", "advice", "devices"))
    assert summary < advice < devices  # what to fix comes before how it was measured
    first = page[summary:advice]
    assert "How much energy" in first and "How sure:" in first and "15.4 kJ" in first  # the projected full run
    assert "Where it goes" in first and "data loading" in first and "34 %" in first
    assert "Fix first" in first and "40 J" in first and "32 J - 48 J" in first and "medium" in first
    # the exact command, unbroken, and the path as the terminal shows it (the script was named train.py)
    assert re.sub(r"<[^>]+>", "", first).count("greenlint check --select GL301 --fix --unsafe-fixes train.py") == 1
    assert "greenlint rule GL101" in re.sub(r"<[^>]+>", "", first)
    assert "train.py:5" in first and "/work/proj/train.py" not in re.sub(r"<[^>]+>", "", page)
    # an unquantified item's confidence says that no number was computed, not that the finding is doubtful
    assert "saving not quantified" in first and ">none<" not in page
    assert 'id="phases"' in page and '<a href="#advice-' in page[page.index('id="phases"'):]


def test_no_number_in_scientific_notation():
    document = _document()
    p = document["profile"]
    # numbers that %.3g prints as 1.91e-05, 1.2e+03 and -8.95e+04
    p["energy_j"], p["j_per_step"], p["window_energy_j"] = 1.2e3, 1.91e-05, 1234567.0
    p["projection"].update(energy_j=68.76, low_j=1e-9, high_j=8.95e9)
    document["advice"][1].update(estimated_savings_j=-89.5, low_j=-8.95e4, high_j=1e-7, estimated_savings_pct=1.5e-4)
    document["carbon"].update(energy_kwh=1.91e-05, low_kwh=1e-9, high_kwh=3.0e4, co2e_g=1.5e-6, grid_g_per_kwh=1.2e6)
    page = render_html(document, {SCRIPT: SOURCE}, script="train.py")
    visible = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    found = re.findall(r"(?<![\w#])\d+(?:\.\d+)?[eE][-+]?\d+\b", visible)
    assert found == []
    assert "1.2 kJ" in page and "19.1 µJ" in page and "19.1 mWh" in page


def test_heat_map_keeps_the_hottest_lines_readable():
    page = render_html(_document(), {SCRIPT: SOURCE}, script="train.py")
    alphas = [float(a) for a in re.findall(r"background:rgba\(214,69,35,([\d.]+)\)", page)]
    assert alphas and max(alphas) <= 0.5  # dark text on at most a half-opaque light red


def test_carbon_absent_omits_its_section():
    doc = _document()
    del doc["carbon"]
    page = render_html(doc, {SCRIPT: SOURCE})
    assert 'id="carbon"' not in page and "CO2e</dt>" not in page


def test_unquantified_advice_comes_after_the_quantified_ranked_items():
    doc = _document()
    assert [a["code"] for a in order_advice(doc["advice"])] == ["GL301", "GL402", "GL101"]
    page = render_html(doc, {SCRIPT: SOURCE})
    advice = page[page.index('<section id="advice">'):page.index('<section id="lines">')]
    rows = re.findall(r'<tr id="advice-(\d+)"( class="unquantified")?>.*?<code>(GL\d+)</code>', advice)
    assert [(k, code, bool(unq)) for k, unq, code in rows] == [
        ("0", "GL301", False), ("1", "GL402", False), ("2", "GL101", True)]
    assert "32 J - 48 J" in advice  # low-high range of the quantified GL301 item


def test_heat_map_shades_by_energy_and_links_advice_both_ways():
    page = render_html(_document(), {SCRIPT: SOURCE})
    shade = dict(re.findall(r'<tr id="f0-L(\d+)"[^>]*style="background:rgba\(214,69,35,([0-9.]+)\)"', page))
    assert set(shade) == {"5", "6"} and float(shade["5"]) > float(shade["6"])
    assert '<tr id="f0-L1">' in page or '<tr id="f0-L1" class="cold">' in page  # no samples: no shade
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    hrefs = set(re.findall(r'href="#([^"]+)"', page))
    assert hrefs <= ids, hrefs - ids  # every internal link lands somewhere
    assert 'href="#f0-L5">train.py:5</a>' in page  # advice (relative name) -> profiled file (absolute)
    assert '<a class="mark" href="#advice-0"' in page  # source line -> its advice row
    assert "/work/proj/gone.py" in page and "Source not available" in page
    assert ">45 J <small>75.0 %</small>" in page  # the gutter


def test_hostile_names_sources_and_messages_cannot_inject_markup():
    evil_file = '/tmp/<script>alert("f")</script>/tr"ain.py'
    evil_source = 'x = "</td></tr></table><script>alert(2)</script><!--"\nonload = 1\n\x00\x1b[31m\n'
    doc = _document()
    prof = doc["profile"]
    prof["lines"][0]["filename"] = evil_file
    prof["devices"][0]["name"] = '"><svg onload=alert(4)>'
    prof["devices"][0]["timeline_basis"] = "<style>body{display:none}</style>"
    prof["notices"].append("</li><iframe src='http://evil.example/'></iframe>")
    prof["outcome"] = "<b>odd</b>"
    prof["step_energy_j"] = [10.0, "<b>", 10.0, 20.0]
    doc["advice"][1].update(filename=evil_file, line=1, message='<img src=x onerror="alert(3)">', name="<i>n</i>",
                            basis="'><a href='https://evil.example/'>x</a>", code="GL301<script>")
    doc["carbon"]["grid_source"] = '<link rel="stylesheet" href="https://evil.example/x.css">'
    page = render_html(doc, {evil_file: evil_source}, script='<script>alert("t")</script>')
    tags = _tags(page)
    assert {tag for tag, _ in tags} <= ALLOWED_TAGS, {tag for tag, _ in tags} - ALLOWED_TAGS
    assert [tag for tag, _ in tags].count("script") == 1  # ours, at the end
    assert [tag for tag, _ in tags].count("style") == 1
    for tag, attrs in tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    _assert_offline(page)
    assert "&lt;script&gt;alert(&quot;f&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(3)&quot;&gt;" in page
    assert "\x00" not in page and "\x1b" not in page


def test_no_network_references_at_all():
    page = render_html(_document(), {SCRIPT: SOURCE})
    _assert_offline(page)
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_output_is_deterministic_and_survives_an_empty_profile():
    doc = _document()
    assert render_html(doc, {SCRIPT: SOURCE}) == render_html(copy.deepcopy(doc), {SCRIPT: SOURCE})
    empty = {"profile": compute_profile(None).to_json(), "advice": []}
    page = render_html(empty, {})
    assert "no result from the script" in page and "No measured steps" in page and "No advice" in page
    _assert_offline(page)


def test_grouped_steps_and_dense_boundaries():
    doc = _document()
    prof = doc["profile"]
    prof["steps"] = 9000
    prof["step_group"] = 5
    prof["step_energy_j"] = [10.0 + k % 3 for k in range(1800)]
    prof["step_bounds_s"] = [4.0 + k * 0.01 for k in range(1801)]
    page = render_html(doc, {SCRIPT: SOURCE})
    assert page.count('<rect class="bar"') == 1800 and "steps 1-5 (mean)" in page
    assert "mean of 5 consecutive steps" in page and "too dense to draw" in page
    assert '<path class="bounds"' not in page


def test_short_measured_window_gets_a_zoomed_timeline():
    doc = _document()
    doc["profile"]["duration_s"] = 100.0
    doc["profile"]["devices"][0]["timeline"].append([100.0, 30.0])
    page = render_html(doc, {SCRIPT: SOURCE})
    assert page.count('<svg class="chart timeline"') == 2 and "Zoom on the measured steps" in page
    assert clip_points([(0.0, 1.0), (5.0, 2.0), (9.0, 3.0)], 4.0, 6.0) == [(4.0, 1.0), (5.0, 2.0), (6.0, 2.0)]


def test_write_is_atomic_and_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    write_html_report(target, _document(), {SCRIPT: SOURCE})
    first = target.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and os.listdir(tmp_path) == ["report.html"]

    def broken(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(html_report, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_html_report(target, _document(), {})
    assert target.read_text(encoding="utf-8") == first and os.listdir(tmp_path) == ["report.html"]


def test_load_sources_reads_what_exists_and_replaces_bad_bytes(tmp_path):
    good = tmp_path / "good.py"
    good.write_bytes(b"x = '\xff'\n")
    other = tmp_path / "other.py"
    other.write_text("y = 1\n", encoding="utf-8")
    profile = {"lines": [{"filename": str(good), "line": 1}, {"filename": str(tmp_path / "missing.py"), "line": 1},
                         {"filename": str(good), "line": 2}]}
    sources = load_sources(profile, also=[str(other)])
    assert sources == {str(good): "x = '\ufffd'\n", str(other): "y = 1\n"}


# ------------------------------------------------------------------------------------ real browser

BROWSER_TIMEOUT = 240  # seconds per browser run: the machine is slow and shared
PROFILE_TIMEOUT = 180

TRAIN = """
import os, tempfile, torch
torch.set_num_threads(1)
path = os.path.join(tempfile.mkdtemp(), "data.pt")
torch.save(torch.randn(50000, 16), path)
model = torch.nn.Linear(16, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(100000):
    x = torch.load(path)
    loss = model(x[:64]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

# Injected into a copy of the report: records every error, console.error and CSP violation, and
# writes them into the DOM on load, where --dump-dom can read them.
ERROR_CAPTURE = """<script>
window.__glErrors = [];
window.addEventListener("error", function (e) {
  window.__glErrors.push("error: " + (e.message || (e.target && e.target.outerHTML) || e.type));
}, true);
window.addEventListener("securitypolicyviolation", function (e) {
  window.__glErrors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
});
(function () {
  var original = console.error;
  console.error = function () {
    window.__glErrors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  var pre = document.createElement("pre");
  pre.id = "gl-errors";
  pre.textContent = JSON.stringify(window.__glErrors);
  document.body.appendChild(pre);
  // where the first screen's parts end, in CSS pixels from the top of the page
  var layout = {};
  ["summary", "advice", "devices"].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { layout[id] = el.getBoundingClientRect().top + window.scrollY; }
  });
  var fix = document.querySelector(".fix-first");
  if (fix) { layout.fix_first_bottom = fix.getBoundingClientRect().bottom + window.scrollY; }
  layout.viewport = [window.innerWidth, window.innerHeight];
  var out = document.createElement("pre");
  out.id = "gl-layout";
  out.textContent = JSON.stringify(layout);
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browser(chrome: str, tmp_path: Path, *args: str, size: str = "1280,800") -> subprocess.CompletedProcess:
    cmd = [chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-extensions", "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'chrome'}",
           f"--window-size={size}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, cwd=tmp_path)


def _console_lines(stderr: str) -> list[str]:
    # Chromium logs every page console message to stderr as "...:CONSOLE(...)]" or "...:CONSOLE:N]".
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_real_profile_report_loads_in_headless_chromium(tmp_path):
    chrome = _chromium()
    if chrome is None:
        pytest.skip("chromium not installed: apt-get install -y chromium")
    script = tmp_path / "train.py"
    script.write_text(TRAIN.lstrip("\n"), encoding="utf-8")
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--steps", "15", "--warmup", "2",
                           "--total-steps", "500", "--format", "json", "--output", str(out), str(script)],
                          capture_output=True, text=True, timeout=PROFILE_TIMEOUT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    prof = document["profile"]
    assert len(prof["step_energy_j"]) == 15 and len(prof["step_bounds_s"]) == 16
    assert len(prof["devices"][0]["timeline"]) >= 2
    # The savings model is built elsewhere: made-up advice and carbon in its shape.
    document["advice"] = [_advice_item(1, "GL301", 8, saving=prof["j_per_step"] or 1.0, filename="train.py"),
                          _advice_item(2, "GL402", 11, quantified=False, filename="train.py")]
    kwh = prof["projection"]["energy_j"] / 3.6e6
    document["carbon"] = {"energy_kwh": kwh, "low_kwh": kwh / 2, "high_kwh": kwh * 2, "grid_g_per_kwh": 475.0,
                          "grid_source": "test figure", "pue": 1.0, "co2e_g": kwh * 475, "low_g": kwh * 237.5,
                          "high_g": kwh * 950, "basis": "projected: made up for this test"}
    sources = load_sources(prof, also=[str(script)])
    assert str(script) in sources
    report = tmp_path / "report.html"
    write_html_report(report, document, sources, script="train.py")
    page = report.read_text(encoding="utf-8")
    _assert_offline(page)
    assert "torch.load(path)" in page and 'href="#f0-L8"' in page

    png = tmp_path / "report.png"
    shot = _browser(chrome, tmp_path, f"--screenshot={png}", report.as_uri())
    assert shot.returncode == 0, shot.stderr[-3000:]
    assert _console_lines(shot.stderr) == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 800)  # the first screen
    assert len(data) > 20_000, len(data)  # a blank page of this size compresses to a few kB
    if os.environ.get("GREENLINT_KEEP_SCREENSHOT"):  # to look at it: GREENLINT_KEEP_SCREENSHOT=shot.png pytest ...
        shutil.copyfile(png, os.environ["GREENLINT_KEEP_SCREENSHOT"])

    checked = tmp_path / "report_checked.html"
    checked.write_text(page.replace("<head>", "<head>" + ERROR_CAPTURE, 1), encoding="utf-8")
    dump = _browser(chrome, tmp_path, "--dump-dom", checked.as_uri())
    assert dump.returncode == 0, dump.stderr[-3000:]
    assert _console_lines(dump.stderr) == []
    found = re.search(r'<pre id="gl-errors">(.*?)</pre>', dump.stdout, re.S)
    assert found, dump.stdout[-2000:]
    assert json.loads(html.unescape(found.group(1))) == []
    layout = json.loads(html.unescape(re.search(r'<pre id="gl-layout">(.*?)</pre>', dump.stdout, re.S).group(1)))
    # the first screen (1280x800) holds the energy, where it goes and the whole "fix first" card
    assert layout["viewport"][0] == 1280 and layout["fix_first_bottom"] <= 800, layout
    assert layout["summary"] < layout["advice"] < layout["devices"], layout
    assert re.search(r'<html lang="en" class="[^"]*\bjs\b', dump.stdout)  # the report's own script ran


def test_ranks_of_a_torchrun_profile_get_their_own_table():
    document = _document()
    assert 'id="ranks"' not in render_html(document, {})
    document["profile"]["ranks"] = [
        {"rank": 0, "local_rank": 0, "node": "node-<a>", "steps": 20, "energy_j": 12.5,
         "devices": ["rank 0: process CPU time"], "outcome": "stopped"},
        {"rank": 1, "local_rank": 1, "node": "node-<a>", "steps": 20, "energy_j": 11.0,
         "devices": ["rank 1: process CPU time"], "outcome": "stopped"},
    ]
    page = render_html(document, {})
    assert 'id="ranks"' in page and "rank 1: process CPU time" in page and "node-&lt;a&gt;" in page


def test_top_lines_show_the_gpu_split_when_a_gpu_was_traced():
    document = _document()
    assert "gpu kernels" not in render_html(document, {})
    line = dict(document["profile"]["lines"][0], cpu_j=1.0, gpu_active_j=5.0, gpu_idle_j=0.5, energy_j=6.5)
    document["profile"]["lines"] = [line]
    page = render_html(document, {})
    assert "<th>gpu kernels</th>" in page and "<th>gpu idle</th>" in page
