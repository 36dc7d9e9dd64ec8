"""An evaluation's precision-recall curves as a standalone SVG file (its styles inside, every
text escaped): recall on x, precision on y, one line per policy, the target precision
dashed."""

from __future__ import annotations

from xml.sax.saxutils import escape

from domain.datasets.evaluate import Evaluation

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 520, 360, 56, 150, 20, 44
COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#555555")
STYLE = ("text{font:12px sans-serif;fill:#222}.grid{stroke:#ddd}.axis{stroke:#444}"
         ".target{stroke:#888;stroke-dasharray:5 4}path{fill:none;stroke-width:2}")


def pr_chart(ev: Evaluation) -> str:
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(r: float) -> float:
        return LEFT + w * r

    def y(p: float) -> float:
        return TOP + h * (1 - p)

    parts = [f"<style>{STYLE}</style>"]
    for step in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line class="grid" x1="{x(0)}" x2="{x(1)}" y1="{y(step):.1f}" '
                     f'y2="{y(step):.1f}"/><text x="{LEFT - 6}" y="{y(step) + 4:.1f}" '
                     f'text-anchor="end">{step:g}</text><text x="{x(step):.1f}" '
                     f'y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{step:g}</text>')
    parts.append(f'<text x="{LEFT + w / 2}" y="{HEIGHT - 8}" text-anchor="middle">recall</text>'
                 f'<text x="14" y="{TOP + h / 2}" text-anchor="middle" transform="rotate(-90 '
                 f'14 {TOP + h / 2})">precision</text>')
    for i, p in enumerate(ev.policies):
        colour = COLOURS[i % len(COLOURS)]
        points = sorted(p.curve)
        if points:
            d = " ".join(f'{"L" if j else "M"}{x(r):.1f} {y(q):.1f}'
                         for j, (r, q) in enumerate(points))
            parts.append(f'<path d="{d}" style="stroke:{colour}"><title>{escape(p.policy)}'
                         f'</title></path>')
        auc = "—" if p.pr_auc is None else f"{p.pr_auc:.2f}"
        parts.append(f'<text x="{WIDTH - RIGHT + 10}" y="{TOP + 14 + 18 * i}" '
                     f'style="fill:{colour}">{escape(p.policy[:18])} (AUC {auc})</text>')
    if ev.policies:
        target = ev.policies[0].target_precision
        parts.append(f'<line class="target" x1="{x(0)}" x2="{x(1)}" y1="{y(target):.1f}" '
                     f'y2="{y(target):.1f}"/><text x="{x(1) - 4}" y="{y(target) - 5:.1f}" '
                     f'text-anchor="end">precision {target:g}</text>')
    parts.append(f'<line class="axis" x1="{x(0)}" x2="{x(1)}" y1="{y(0)}" y2="{y(0)}"/>'
                 f'<line class="axis" x1="{x(0)}" x2="{x(0)}" y1="{y(0)}" y2="{y(1)}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}"><title>Precision against recall per policy'
            f'</title>{"".join(parts)}</svg>\n')
