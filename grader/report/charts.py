"""Small SVG charts rendered in Python: no plotting library, no script, no network, and the
same numbers always give the same bytes. Every text that enters the SVG is escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from grader.report.common import format_number
from grader.report.page import esc

BAR_COLOR = "#0969da"
AXIS_COLOR = "#59636e"
GRID_COLOR = "#d1d9e0"
_STEPS = (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        return f"{format_number(self.low)}–{format_number(self.high)}"


def nice_step(max_value: float, *, max_bins: int = 10) -> float:
    """The smallest round bin width that covers [0, max_value] in at most `max_bins` bins."""
    if max_value <= 0:
        return 1.0
    for step in _STEPS:
        if math.ceil(max_value / step - 1e-9) <= max_bins:
            return float(step)
    return float(math.ceil(max_value / max_bins))


def histogram(values: Sequence[float], max_value: float, *, max_bins: int = 10) -> list[Bin]:
    """Counts of `values` in equal bins over [0, max_value]; each bin holds [low, high), the last
    one also its upper edge, so a full score is counted in the top bin."""
    step = nice_step(max_value, max_bins=max_bins)
    n_bins = max(1, math.ceil(max_value / step - 1e-9))
    counts = [0] * n_bins
    for value in values:
        index = min(n_bins - 1, max(0, math.floor(value / step + 1e-9)))
        counts[index] += 1
    return [
        Bin(low=i * step, high=min((i + 1) * step, max_value), count=c)
        for i, c in enumerate(counts)
    ]


def _tick_step(y_max: float) -> float:
    for step in _STEPS:
        if y_max / step <= 5:
            return float(step)
    return float(math.ceil(y_max / 5))


def _f(value: float) -> str:
    return f"{value:.1f}"


def bar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    chart_id: str,
    title: str,
    x_title: str,
    y_title: str,
    value_labels: Sequence[str] | None = None,
    y_max: float | None = None,
    integer_ticks: bool = True,
    width: int = 520,
    height: int = 250,
    color: str = BAR_COLOR,
) -> str:
    """A vertical bar chart as an inline <svg> with a <title> and a text label on every bar."""
    left, right, top, bottom = 46, 12, 40, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([*values, 0.0])
    y_max = y_max if y_max is not None else max(1.0, top_value)
    step = _tick_step(y_max)
    if integer_ticks:
        step = max(1.0, math.ceil(step))
    y_max = max(y_max, step * math.ceil(y_max / step - 1e-9))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{esc(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{esc(chart_id)}-title">',
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>',
        f'<text x="{left}" y="18" font-size="14" font-weight="600" fill="#1f2328">'
        f"{esc(title)}</text>",
    ]
    ticks = round(y_max / step)
    for i in range(ticks + 1):
        value = i * step
        y = top + plot_h - plot_h * value / y_max
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_f(y)}" y2="{_f(y)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{_f(y + 4)}" font-size="11" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{esc(format_number(value))}</text>'
        )
    n = max(1, len(values))
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.8)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        bar_h = plot_h * value / y_max if y_max else 0.0
        y = top + plot_h - bar_h
        shown = value_labels[i] if value_labels is not None else format_number(value)
        out.append(
            f'<rect class="bar" x="{_f(x)}" y="{_f(y)}" width="{_f(bar_w)}" height="{_f(bar_h)}" '
            f'fill="{esc(color)}"><title>{esc(label)}: {esc(shown)}</title></rect>'
        )
        if value > 0:
            out.append(
                f'<text x="{_f(x + bar_w / 2)}" y="{_f(y - 4)}" font-size="11" '
                f'text-anchor="middle" fill="#1f2328">{esc(shown)}</text>'
            )
        out.append(
            f'<text x="{_f(left + i * slot + slot / 2)}" y="{top + plot_h + 15}" font-size="11" '
            f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(label)}</text>'
        )
    out.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    out.append(
        f'<text x="{_f(left + plot_w / 2)}" y="{height - 8}" font-size="12" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(x_title)}</text>'
    )
    out.append(
        f'<text transform="translate(12 {_f(top + plot_h / 2)}) rotate(-90)" font-size="12" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(y_title)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


def histogram_svg(
    values: Sequence[float],
    max_value: float,
    *,
    chart_id: str,
    title: str,
    x_title: str = "score",
    width: int = 520,
    height: int = 250,
    max_bins: int = 10,
) -> str:
    """A score distribution: how many students scored in each band of [0, max_value]."""
    bins = histogram(values, max_value, max_bins=max_bins)
    return bar_chart_svg(
        [b.label for b in bins],
        [float(b.count) for b in bins],
        chart_id=chart_id,
        title=title,
        x_title=x_title,
        y_title="students",
        width=width,
        height=height,
    )
