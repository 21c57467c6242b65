"""The HTML report's inline stylesheet and its optional script, as text: html.py writes them into
the page and lists their hashes in the Content-Security-Policy."""

from __future__ import annotations


_CSS = """
:root{color-scheme:light;--fg:#1d1f21;--muted:#5b6168;--line:#d9dde2;--bg:#fff}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px}
header h1{font-size:1.5rem;margin:0 0 12px;overflow-wrap:anywhere}
section{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:16px 20px;margin:16px 0}
h2{font-size:1.15rem;margin:0 0 10px}
h3{font-size:.95rem;margin:18px 0 6px;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace}
figure{margin:8px 0 18px}
figcaption{margin-bottom:4px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px;margin:0}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.card dt{font-size:.78rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card dd{margin:4px 0 0}
nav{margin-top:10px}nav a{margin-right:14px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
td.num{text-align:right;white-space:nowrap}
table.kv th{width:14em}
.basis,.legend-text{color:var(--muted);font-size:.85rem}
.how{display:inline-block;font-size:.72rem;line-height:1.4;padding:0 6px;border-radius:9px;border:1px solid;white-space:nowrap}
.how-measured{color:#1f6f43;border-color:#1f6f43;background:#e8f5ee}
.how-estimated{color:#8a5a00;border-color:#c08a1e;background:#fdf3dc}
.how-projected{color:#1d4f91;border-color:#1d4f91;background:#e6eefa}
.how-unquantified,.how-other{color:#555;border-color:#999;background:#f0f0f0}
.conf{font-weight:600}.conf-high{color:#1f6f43}.conf-medium{color:#8a5a00}.conf-low{color:#a03030}.conf-other{color:#555}
tr.unquantified td{color:#555}
svg.chart{width:100%;height:auto;display:block}
svg text{font:11px system-ui,sans-serif;fill:#444}
svg .axis-label{font-size:12px;fill:#333}
svg .row-label{font-size:12px;fill:#222}
svg .grid{stroke:#e6e8eb}
svg .axis,svg .tickmark{stroke:#888}
svg .power{fill:none;stroke:#c2410c;stroke-width:1.5}
svg .window{fill:#1d4f91;fill-opacity:.07}
svg .bounds{stroke:#1d4f91;stroke-opacity:.35;stroke-width:.6;fill:none}
svg .bar,svg .saving-bar{fill:#2f7d5b}
svg .ref{stroke-width:1.4;stroke-dasharray:5 3}
svg .ref.mean{stroke:#111}svg .ref.p10{stroke:#1d4f91}svg .ref.p90{stroke:#b91c1c}
.key{display:inline-block;width:16px;height:3px;margin:0 4px 3px 12px;vertical-align:middle}
.key.mean{background:#111}.key.p10{background:#1d4f91}.key.p90{background:#b91c1c}
svg .span{fill:#1d4f91;fill-opacity:.25}
svg .point{stroke:#111;stroke-width:2.5}
svg.saving{display:inline-block;vertical-align:middle}
svg .whisker{stroke:#111;stroke-width:1.2;fill:none}
svg .cursor{stroke:#111;stroke-width:.8;visibility:hidden}
svg .readout{font-weight:600;fill:#111}
table.src{font:12.5px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;border:1px solid var(--line)}
table.src td{border:0;padding:0 6px}
table.src td.ln{text-align:right;color:#888;width:1%;white-space:nowrap;border-left:3px solid transparent}
table.src td.ln a{color:inherit;text-decoration:none}
table.src td.energy{text-align:right;white-space:nowrap;width:1%;font-size:11px;color:#111}
table.src td.marks{width:1%;white-space:nowrap}
table.src td.code{white-space:pre-wrap;overflow-wrap:anywhere;tab-size:4}
table.src tr.advised td.ln{border-left-color:#1d4f91}
section.source{border:0;padding:0;margin:8px 0 20px}
a.mark{display:inline-block;font-size:10.5px;padding:0 4px;border-radius:3px;background:#1d4f91;color:#fff;text-decoration:none;margin-right:2px}
tr:target{outline:2px solid #1d4f91}
footer{color:var(--muted);font-size:.8rem;margin:20px 0}
header .outcome{margin:0 0 4px;color:var(--muted)}
section.summary{background:none;border:0;padding:0;margin:8px 0}
.glance{display:grid;grid-template-columns:1fr 1.3fr;gap:12px;margin-bottom:12px}
.glance-card,.fix-first{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:12px 16px}
.glance-card h2,.fix-first h2{font-size:1rem;margin:0 0 6px}
.glance-card p{margin:4px 0}
.big{font-size:1.7rem;font-weight:650;line-height:1.2}
.sure{font-size:.88rem}
table.where td,table.where th{border:0;padding:2px 6px;font-size:.86rem}
table.where th{color:var(--muted);font-weight:500;padding-top:6px}
td.where-bar{width:30%}
td.where-bar span{display:block;height:10px;background:#c2410c;border-radius:2px;min-width:1px}
table.fix td{font-size:.88rem}
code.cmd{font-size:.82rem;background:#f0f2f4;padding:1px 4px;border-radius:3px}
code.cmd .tok{white-space:nowrap}
.js-only{display:none}.js .js-only{display:inline-block;margin:6px 0}
.hot-only tr.cold{display:none}
@page{margin:12mm}
@media print{
body{background:#fff;font-size:10pt}
main{max-width:none;padding:0}
section{border:0;padding:0;margin:12pt 0}
figure,.card,tr{break-inside:avoid}
h2,h3{break-after:avoid}
.no-print,.js-only,svg .cursor,svg .readout{display:none!important}
.hot-only tr.cold{display:table-row}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:inherit;text-decoration:none}
}
"""

# Optional: a cursor readout on the timelines and the "hot lines only" switch. The page says
# everything without it.
_JS = """
(function () {
  document.documentElement.className += " js";
  var toggle = document.getElementById("hot-only");
  var sources = document.getElementById("sources");
  if (toggle && sources) {
    toggle.addEventListener("change", function () {
      sources.classList.toggle("hot-only", toggle.checked);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg.timeline"), function (svg) {
    var points = (svg.getAttribute("data-points") || "").split(" ").filter(Boolean).map(function (p) {
      var pair = p.split(",");
      return [parseFloat(pair[0]), parseFloat(pair[1])];
    });
    var map = (svg.getAttribute("data-map") || "").split(",").map(parseFloat);
    var cursor = svg.querySelector(".cursor");
    var readout = svg.querySelector(".readout");
    if (!points.length || map.length !== 4 || !cursor || !readout) {
      return;
    }
    function hide() {
      cursor.style.visibility = "hidden";
      readout.textContent = "";
    }
    svg.addEventListener("mousemove", function (event) {
      var ctm = svg.getScreenCTM();
      if (!ctm) {
        return;
      }
      var at = svg.createSVGPoint();
      at.x = event.clientX;
      at.y = event.clientY;
      var x = at.matrixTransform(ctm.inverse()).x;
      if (x < map[2] || x > map[3]) {
        hide();
        return;
      }
      var t = map[0] + (x - map[2]) / (map[3] - map[2]) * (map[1] - map[0]);
      var lo = 0, hi = points.length - 1;
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (points[mid][0] <= t) { lo = mid; } else { hi = mid - 1; }
      }
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.style.visibility = "visible";
      readout.textContent = t.toFixed(2) + " s: " + String(Number(points[lo][1].toPrecision(3))) + " W";
    });
    svg.addEventListener("mouseleave", hide);
  });
})();
"""
