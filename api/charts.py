"""Charts drawn on the server as inline SVG (no script, nothing from elsewhere: the CSP holds):
one figure per week on a line, its target as a dashed line with its label. Every text is
escaped; each chart is an image with a title and a description that say what it shows (the
page gives the same numbers in a table)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 460, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 18, 40  # room for the y labels, the x labels
INSET = 20  # the first and last weeks' labels stay inside
MAX_X_LABELS = 8


def figure(value: float | None, percent: bool) -> str:
    """A figure as a person reads it: 87 % for a share, 12.5 for a rate; — for none."""
    if value is None:
        return "—"
    return f"{value * 100:.0f} %" if percent else f"{value:.1f}"


def nice_top(value: float) -> float:
    """The y axis's top for a rate: four steps of 1, 2, 2.5 or 5 times a power of ten, at or
    above `value` (so the grid's lines fall on round figures)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value / 4))
    return 4 * next(m * power for m in (1, 2, 2.5, 5, 10) if 4 * m * power >= value)


def tick(value: float, percent: bool) -> str:
    return f"{value * 100:.0f} %" if percent else f"{value:g}"


def line_chart(chart_id: str, title: str, points: Sequence[tuple[date, float | None]],
               target: float | None = None, percent: bool = False) -> Markup:
    """An SVG line chart of `points` (a week's Monday and its figure, None: no figure that
    week), weeks on the x axis, `target` as a dashed line. `percent`: the figures are shares
    (0..1) shown as percentages."""
    values = [v for _, v in points if v is not None]
    top = 1.0 if percent else nice_top(max([*values, target or 0.0]) * 1.1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        inner = plot_w - 2 * INSET
        return LEFT + INSET + (inner * i / (len(points) - 1) if len(points) > 1 else inner / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(max(v / top, 0.0), 1.0))

    parts = []
    for step in (0, 0.25, 0.5, 0.75, 1):  # the grid and the y labels
        at = y(step * top)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" '
                     f'y2="{at:.1f}"/><text class="tick" x="{LEFT - 6}" y="{at + 4:.1f}" '
                     f'text-anchor="end">{escape(tick(step * top, percent))}</text>')
    every = max(1, math.ceil(len(points) / MAX_X_LABELS))
    for i, (week, _) in enumerate(points):  # the weeks
        if i % every == 0:
            parts.append(f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(week.strftime("%d %b"))}</text>')
    parts.append(f'<text class="axis-name" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" '
                 f'text-anchor="middle">week starting</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" '
                 f'y2="{y(0):.1f}"/>')
    if target is not None:
        at = y(target)
        parts.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" '
                     f'y2="{at:.1f}"/><text class="target-label" x="{WIDTH - RIGHT}" '
                     f'y="{at - 5:.1f}" text-anchor="end">target '
                     f'{escape(figure(target, percent))}</text>')
    path, pen_down = [], False
    for i, (_, v) in enumerate(points):  # a gap where a week has no figure
        if v is None:
            pen_down = False
            continue
        path.append(f'{"L" if pen_down else "M"}{x(i):.1f} {y(v):.1f}')
        pen_down = True
    if path:
        parts.append(f'<path class="line" d="{" ".join(path)}"/>')
    for i, (week, v) in enumerate(points):
        if v is not None:
            parts.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5">'
                         f'<title>{escape(f"week of {week:%Y-%m-%d}: {figure(v, percent)}")}'
                         f'</title></circle>')
    if not values:
        parts.append(f'<text class="empty" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}"'
                     f' text-anchor="middle">no figures in this period</text>')
    cid = escape(chart_id)
    return Markup(
        f'<svg class="chart" id="{cid}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(describe(points, target, percent))}</desc>'
        f'{"".join(parts)}</svg>')


def describe(points: Sequence[tuple[date, float | None]], target: float | None,
             percent: bool) -> str:
    """What a chart shows, in words: its weeks, its latest figure, its target."""
    if not points:
        return "No weeks in this period."
    known = [(w, v) for w, v in points if v is not None]
    said = [f"Per week, {len(points)} week{'s' if len(points) != 1 else ''} from "
            f"{points[0][0]:%Y-%m-%d} to {points[-1][0]:%Y-%m-%d}."]
    if known:
        week, latest = known[-1]
        said.append(f"Latest (week of {week:%Y-%m-%d}): {figure(latest, percent)}; "
                    f"lowest {figure(min(v for _, v in known), percent)}, highest "
                    f"{figure(max(v for _, v in known), percent)}.")
    else:
        said.append("No figures.")
    said.append(f"Target {figure(target, percent)} (dashed line)." if target is not None
                else "No target.")
    return " ".join(said)
