"""Inline SVG charts, so the report is one file that works offline (no JS libraries)."""
from __future__ import annotations

from html import escape


def line_chart(series: dict[str, list[tuple[str, float | None]]], targets: list[tuple[str, float, str]],
               width: int = 720, height: int = 260, ymax: float = 1.0) -> str:
    """Lines of share values (0..ymax) by month, with dashed horizontal target lines.

    ``series``: name -> [(period, value)]; ``targets``: [(label, value, colour)]."""
    periods = sorted({p for pts in series.values() for p, _ in pts})
    if not periods:
        return '<svg class="chart" role="img" aria-label="无数据" width="10" height="10"></svg>'
    left, right, top, bottom = 48, 16, 16, 36
    w, h = width - left - right, height - top - bottom
    x = {p: left + (w * i / max(len(periods) - 1, 1)) for i, p in enumerate(periods)}

    def y(v: float) -> float:
        return top + h * (1 - min(max(v, 0.0), ymax) / ymax)

    parts = [f'<svg class="chart" role="img" aria-label="覆盖率趋势" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        yy = y(frac * ymax)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{yy + 4:.1f}" font-size="11" text-anchor="end">{frac * ymax:.0%}</text>')
    step = max(1, len(periods) // 8)
    for i, p in enumerate(periods):
        if i % step == 0 or i == len(periods) - 1:
            parts.append(f'<text x="{x[p]:.1f}" y="{height - 12}" font-size="11" text-anchor="middle">{escape(p)}</text>')
    for label, value, colour in targets:
        yy = y(value)
        parts.append(f'<line class="target" x1="{left}" x2="{left + w}" y1="{yy:.1f}" y2="{yy:.1f}" '
                     f'stroke="{colour}" stroke-dasharray="6 4"/>'
                     f'<text x="{left + w}" y="{yy - 4:.1f}" font-size="11" text-anchor="end" fill="{colour}">{escape(label)}</text>')
    palette = ["#1f6fb2", "#d9822b", "#2a9d55", "#8e44ad", "#16a085", "#7f8c8d"]
    colours = [palette[i % len(palette)] for i in range(len(series))]
    for (name, pts), colour in zip(series.items(), colours):
        pts = [(p, v) for p, v in sorted(pts) if v is not None]
        if not pts:
            continue
        path = " ".join(f"{'M' if i == 0 else 'L'}{x[p]:.1f},{y(v):.1f}" for i, (p, v) in enumerate(pts))
        parts.append(f'<path class="series" d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x[p]:.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>{escape(name)} {escape(p)}: {v:.1%}</title></circle>'
                  for p, v in pts]
    legend_x = left
    for (name, _), colour in zip(series.items(), colours):
        parts.append(f'<rect x="{legend_x}" y="2" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="11" font-size="11">{escape(name)}</text>')
        legend_x += 16 + 13 * len(name)
    parts.append("</svg>")
    return "".join(parts)
