"""Inline SVG plots for the HTML profile report: power timeline, energy per step, ranges.

Plain strings, no plotting library and nothing fetched: the report must work offline. Every text
that comes from outside (device names, labels) goes through html.escape; coordinates are numbers we
computed. Hover details use SVG <title> elements (native tooltips, no script); the timeline also
carries its points in a data attribute for the report's optional cursor readout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from greenlint.profiler.units import format_number

WIDTH = 900  # viewBox units; the SVG scales to the page width
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 14, 40
MAX_BOUNDARY_LINES = 400  # beyond this the step boundaries are a solid smear: shade the window only


def _g(value: float) -> str:
    """A coordinate: short, deterministic."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round-numbered ticks covering [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else [0.0]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def tick_label(value: float) -> str:
    """An axis tick: plain digits, never scientific notation (units.format_number)."""
    return format_number(value, 6) if value else "0"


def energy_unit(max_j: float) -> tuple[float, str]:
    """(joules per unit, unit) for an energy axis, so that its ticks are round in the unit shown:
    the engineering units of units.format_energy."""
    for size, unit in ((1e9, "GJ"), (1e6, "MJ"), (1e3, "kJ"), (1.0, "J")):
        if max_j >= size:
            return size, unit
    return 1e-3, "mJ"


@dataclass
class Frame:
    """Maps data coordinates to the SVG's viewBox."""

    x0: float
    x1: float
    y0: float
    y1: float
    height: int = 240

    @property
    def left(self) -> float:
        return MARGIN_LEFT

    @property
    def right(self) -> float:
        return WIDTH - MARGIN_RIGHT

    @property
    def top(self) -> float:
        return MARGIN_TOP

    @property
    def bottom(self) -> float:
        return self.height - MARGIN_BOTTOM

    def x(self, value: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.left + (value - self.x0) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.bottom - (value - self.y0) / span * (self.bottom - self.top)


def _axes(frame: Frame, x_label: str, y_label: str, x_ticks: list[float] | None = None) -> str:
    parts = []
    for tick in nice_ticks(frame.y0, frame.y1):
        y = _g(frame.y(tick))
        parts.append(f'<line class="grid" x1="{_g(frame.left)}" x2="{_g(frame.right)}" y1="{y}" y2="{y}"/>')
        parts.append(f'<text class="tick" x="{_g(frame.left - 6)}" y="{y}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(tick_label(tick))}</text>')
    for tick in nice_ticks(frame.x0, frame.x1, 8) if x_ticks is None else x_ticks:
        x = _g(frame.x(tick))
        parts.append(f'<line class="tickmark" x1="{x}" x2="{x}" y1="{_g(frame.bottom)}" y2="{_g(frame.bottom + 4)}"/>')
        parts.append(f'<text class="tick" x="{x}" y="{_g(frame.bottom + 16)}" text-anchor="middle">'
                     f"{escape(tick_label(tick))}</text>")
    parts.append(f'<line class="axis" x1="{_g(frame.left)}" x2="{_g(frame.right)}" '
                 f'y1="{_g(frame.bottom)}" y2="{_g(frame.bottom)}"/>')
    parts.append(f'<line class="axis" x1="{_g(frame.left)}" x2="{_g(frame.left)}" '
                 f'y1="{_g(frame.top)}" y2="{_g(frame.bottom)}"/>')
    parts.append(f'<text class="axis-label" x="{_g((frame.left + frame.right) / 2)}" y="{_g(frame.height - 4)}" '
                 f'text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text class="axis-label" x="12" y="{_g((frame.top + frame.bottom) / 2)}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {_g((frame.top + frame.bottom) / 2)})">{escape(y_label)}</text>')
    return "".join(parts)


def clip_points(points: list[tuple[float, float]], a: float, b: float) -> list[tuple[float, float]]:
    """The part of a hold-until-next timeline inside [a, b], with the level in force at a and b."""
    inside = [(t, w) for t, w in points if a <= t <= b]
    before = [(t, w) for t, w in points if t < a]
    if before:
        inside.insert(0, (a, before[-1][1]))
    if inside and any(t > b for t, _ in points):
        inside.append((b, inside[-1][1]))
    return inside


def timeline_svg(points: list[tuple[float, float]], x_min: float, x_max: float, bounds: list[float],
                 label: str) -> str:
    """Power over time as a step line (each point holds until the next), with the measured window
    shaded and the step boundaries drawn (when there are few enough to tell apart)."""
    w_max = max((w for _, w in points), default=0.0)
    frame = Frame(x_min, max(x_max, points[-1][0] if points else x_min) if x_max > x_min else x_min + 1.0,
                  0.0, (w_max * 1.1) or 1.0)
    parts = [f'<svg class="chart timeline" viewBox="0 0 {WIDTH} {frame.height}" role="img" '
             f'aria-label="{escape(label)}" data-map="{_g(frame.x0)},{_g(frame.x1)},{_g(frame.left)},{_g(frame.right)}" '
             f'data-points="{" ".join(f"{_g(t)},{w:.4g}" for t, w in points)}">',
             f"<title>{escape(label)}</title>"]
    if len(bounds) >= 2:
        a, b = frame.x(max(bounds[0], frame.x0)), frame.x(min(bounds[-1], frame.x1))
        parts.append(f'<rect class="window" x="{_g(a)}" y="{_g(frame.top)}" width="{_g(max(b - a, 0.5))}" '
                     f'height="{_g(frame.bottom - frame.top)}"><title>measured steps: '
                     f'{_g(bounds[0])} s to {_g(bounds[-1])} s</title></rect>')
        if len(bounds) <= MAX_BOUNDARY_LINES:
            d = "".join(f"M{_g(frame.x(t))} {_g(frame.top)}V{_g(frame.bottom)}" for t in bounds
                        if frame.x0 <= t <= frame.x1)
            parts.append(f'<path class="bounds" d="{d}"/>')
    parts.append(_axes(frame, "seconds since the script started", "watts"))
    if points:
        d = [f"M{_g(frame.x(points[0][0]))} {_g(frame.y(points[0][1]))}"]
        for t, w in points[1:]:  # hold the previous level until t, then step to w
            d.append(f"H{_g(frame.x(t))}V{_g(frame.y(w))}")
        parts.append(f'<path class="power" d="{"".join(d)}"/>')
    parts.append(f'<line class="cursor" x1="0" x2="0" y1="{_g(frame.top)}" y2="{_g(frame.bottom)}"/>'
                 f'<text class="readout" x="{_g(frame.right - 4)}" y="{_g(frame.top + 12)}" text-anchor="end"></text>')
    parts.append("</svg>")
    return "".join(parts)


def step_bars_svg(energies: list[float], group: int, steps: int, lines: list[tuple[str, str, float]],
                  label: str, fmt) -> str:
    """One bar per measured step (or per group of steps), with horizontal reference lines
    (mean, 10th and 90th percentile)."""
    top = max([*energies, *(v for _, _, v in lines)], default=0.0)
    per, unit = energy_unit(top)
    frame = Frame(0.0, float(len(energies)) or 1.0, 0.0, (top / per * 1.1) or 1.0)
    width = (frame.right - frame.left) / max(len(energies), 1)
    gap = width * 0.15 if width > 3 else 0.0
    parts = [f'<svg class="chart steps" viewBox="0 0 {WIDTH} {frame.height}" role="img" aria-label="{escape(label)}">',
             f"<title>{escape(label)}</title>"]
    # x ticks in step numbers (1-based), placed at the middle of their bar
    ticks = [t for t in nice_ticks(1, steps, 8) if 1 <= t <= steps and float(t).is_integer()] or [1]
    tick_parts = []
    for tick in ticks:
        x = _g(frame.x((tick - 1) / group + 0.5 / group))
        tick_parts.append(f'<line class="tickmark" x1="{x}" x2="{x}" y1="{_g(frame.bottom)}" y2="{_g(frame.bottom + 4)}"/>'
                          f'<text class="tick" x="{x}" y="{_g(frame.bottom + 16)}" text-anchor="middle">{int(tick)}</text>')
    parts.append(_axes(frame, "measured step", f"{unit} per step", x_ticks=[]))
    parts.append("".join(tick_parts))
    for k, energy in enumerate(energies):
        first = k * group + 1
        last = min((k + 1) * group, steps)
        which = f"step {first}" if first == last else f"steps {first}-{last} (mean)"
        x = frame.x(k) + gap / 2
        y = frame.y(energy / per)
        parts.append(f'<rect class="bar" x="{_g(x)}" y="{_g(y)}" width="{_g(max(width - gap, 0.3))}" '
                     f'height="{_g(max(frame.bottom - y, 0))}"><title>{escape(which)}: {escape(fmt(energy))}</title></rect>')
    for css, name, value in lines:
        y = _g(frame.y(value / per))
        parts.append(f'<line class="ref {escape(css)}" x1="{_g(frame.left)}" x2="{_g(frame.right)}" y1="{y}" y2="{y}">'
                     f"<title>{escape(name)}: {escape(fmt(value))}</title></line>")
    parts.append("</svg>")
    return "".join(parts)


def range_svg(rows: list[tuple[str, float | None, float | None, float | None]], fmt, label: str) -> str:
    """Horizontal ranges (low to high) with a point, one row each, on a shared axis from zero."""
    top = max((v for _, lo, pt, hi in rows for v in (lo, pt, hi) if v is not None), default=0.0)
    row_h = 30
    height = MARGIN_TOP + row_h * len(rows) + MARGIN_BOTTOM
    per, unit = energy_unit(top)
    x_max = (top * 1.05) or 1.0
    left, right = 180, WIDTH - MARGIN_RIGHT  # room on the left for the row names
    scale = lambda v: left + v / x_max * (right - left)  # noqa: E731
    parts = [f'<svg class="chart range" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}">',
             f"<title>{escape(label)}</title>"]
    for tick_in_unit in nice_ticks(0.0, x_max / per, 6):
        tick = tick_in_unit * per
        x = _g(scale(tick))
        parts.append(f'<line class="grid" x1="{x}" x2="{x}" y1="{MARGIN_TOP}" y2="{height - MARGIN_BOTTOM}"/>'
                     f'<text class="tick" x="{x}" y="{height - MARGIN_BOTTOM + 16}" text-anchor="middle">'
                     f"{escape(f'{tick_label(tick_in_unit)} {unit}' if tick else '0')}</text>")
    for k, (name, lo, pt, hi) in enumerate(rows):
        y = MARGIN_TOP + row_h * k + row_h / 2
        parts.append(f'<text class="row-label" x="{left - 8}" y="{_g(y)}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(name)}</text>')
        if lo is not None and hi is not None:
            parts.append(f'<rect class="span" x="{_g(scale(lo))}" y="{_g(y - 7)}" width="{_g(max(scale(hi) - scale(lo), 1))}" '
                         f'height="14"><title>{escape(name)}: {escape(fmt(lo))} to {escape(fmt(hi))}</title></rect>')
        if pt is not None:
            parts.append(f'<line class="point" x1="{_g(scale(pt))}" x2="{_g(scale(pt))}" y1="{_g(y - 11)}" y2="{_g(y + 11)}">'
                         f"<title>{escape(name)}: {escape(fmt(pt))}</title></line>")
    parts.append("</svg>")
    return "".join(parts)


def saving_svg(point: float, low: float | None, high: float | None, scale_max: float, label: str) -> str:
    """A small bar for one advice item's estimated saving, with its low-high range as a whisker."""
    w, h = 160, 16
    scale_max = scale_max or 1.0
    sx = lambda v: 2 + max(min(v / scale_max, 1.0), 0.0) * (w - 4)  # noqa: E731
    parts = [f'<svg class="saving" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{escape(label)}">',
             f"<title>{escape(label)}</title>",
             f'<rect class="saving-bar" x="2" y="4" width="{_g(max(sx(point) - 2, 0.5))}" height="8"/>']
    if low is not None and high is not None:
        a, b = _g(sx(low)), _g(sx(high))
        parts.append(f'<path class="whisker" d="M{a} 8H{b}M{a} 3V13M{b} 3V13"/>')
    parts.append("</svg>")
    return "".join(parts)


def heat_legend_svg(max_label: str) -> str:
    """The heat map's scale: no shade (no samples) to the hottest line's shade."""
    return ('<svg class="legend" viewBox="0 0 260 24" width="260" height="24" role="img" aria-label="heat scale">'
            '<defs><linearGradient id="heat-scale"><stop offset="0" stop-color="rgb(214,69,35)" stop-opacity="0.06"/>'
            '<stop offset="1" stop-color="rgb(214,69,35)" stop-opacity="0.5"/></linearGradient></defs>'
            '<rect x="40" y="2" width="140" height="12" fill="url(#heat-scale)" stroke="#999" stroke-width="0.5"/>'
            '<text class="tick" x="36" y="12" text-anchor="end">0</text>'
            f'<text class="tick" x="184" y="12">{escape(max_label)}</text></svg>')
