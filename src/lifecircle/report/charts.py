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


# Colours for "required categories present": from none (red) to all (green).
_RAMP = ["#c0392b", "#e67e22", "#f1c40f", "#a3cb38", "#2a9d55"]


_MARKER = "#8e44ad"  # candidate sites: a colour not on the ramp


def _diamond(x: float, y: float, r: float) -> str:
    return f"M{x:.1f},{y - r:.1f} L{x + r:.1f},{y:.1f} L{x:.1f},{y + r:.1f} L{x - r:.1f},{y:.1f} Z"


def _ramp(present: int, required: int) -> str:
    if required <= 0:
        return _RAMP[-1]
    if present >= required:
        return _RAMP[-1]
    return _RAMP[min(int(len(_RAMP[:-1]) * present / required), len(_RAMP) - 2)]


def community_map(points: list[dict], required: int, width: int = 720, height: int = 480,
                  markers: list[dict] | None = None) -> str:
    """Communities as dots at their lng/lat (WGS-84), coloured by how many of the
    ``required`` basic categories they have within walking reach; members of a circle
    are outlined. No tiles, no scripts: an inline SVG that works offline.

    ``points``: dicts with code, name, lng, lat, present (int), in_circle (bool),
    circles (str, may be empty), population (int). ``markers`` (补什么 candidate sites):
    dicts with lng, lat, label (short text drawn beside the marker) and title (hover
    text); drawn as diamonds above the dots, and the map's extent includes them."""
    markers = markers or []
    if not points:
        return '<svg class="map" role="img" aria-label="无数据" width="10" height="10"></svg>'
    import math

    lngs = [p["lng"] for p in points] + [m["lng"] for m in markers]
    lats = [p["lat"] for p in points] + [m["lat"] for m in markers]
    lat0 = (min(lats) + max(lats)) / 2
    kx = math.cos(math.radians(lat0))
    span_x = max((max(lngs) - min(lngs)) * kx, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    pad, legend_h = 16, 40
    w, h = width - 2 * pad, height - 2 * pad - legend_h
    scale = min(w / span_x, h / span_y)
    off_x = pad + (w - span_x * scale) / 2
    off_y = pad + legend_h + (h - span_y * scale) / 2
    r = max(2.0, min(7.0, 600 / math.sqrt(len(points)) / 4))

    def xy(lng: float, lat: float) -> tuple[float, float]:
        return off_x + (lng - min(lngs)) * kx * scale, off_y + (max(lats) - lat) * scale

    parts = [f'<svg class="map" id="community-map" role="img" aria-label="社区业态覆盖地图" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fbfcfd" stroke="#ddd"/>']
    # legend: one swatch per count of categories present
    steps = list(range(required + 1)) if required <= 6 else sorted({0, required // 4, required // 2,
                                                                     3 * required // 4, required - 1, required})
    lx = pad
    parts.append(f'<text x="{lx}" y="14" font-size="11">具备的基本保障类业态数（共{required}类）：</text>')
    lx_sw = pad
    for n in steps:
        parts.append(f'<circle cx="{lx_sw + 6}" cy="28" r="5" fill="{_ramp(n, required)}"/>'
                     f'<text x="{lx_sw + 14}" y="32" font-size="11">{n}</text>')
        lx_sw += 34
    parts.append(f'<circle cx="{lx_sw + 14}" cy="28" r="5" fill="#fff" stroke="#222" stroke-width="1.5"/>'
                 f'<text x="{lx_sw + 22}" y="32" font-size="11">黑框：已划入生活圈的社区</text>')
    if markers:
        lx_m = lx_sw + 170
        parts.append(f'<path d="{_diamond(lx_m + 6, 28, 6)}" fill="{_MARKER}" stroke="#222" stroke-width="1"/>'
                     f'<text x="{lx_m + 16}" y="32" font-size="11">补什么候选点位</text>')
    for p in sorted(points, key=lambda p: (p["in_circle"], p["code"])):
        x, y = xy(p["lng"], p["lat"])
        stroke = ' stroke="#222" stroke-width="1.5"' if p["in_circle"] else ' stroke="#fff" stroke-width="0.5"'
        title = (f'{p["name"]}（{p["code"]}）：{p["present"]}/{required} 类基本业态，人口 {p["population"]:,}'
                 + (f'；生活圈 {p["circles"]}' if p["circles"] else ""))
        parts.append(f'<circle class="community" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{_ramp(p["present"], required)}"'
                     f'{stroke}><title>{escape(title)}</title></circle>')
    for m in markers:
        x, y = xy(m["lng"], m["lat"])
        # the label goes left of markers near the right edge, so it is not cut off
        tx, anchor = (x - r - 4, "end") if x > width - 80 else (x + r + 4, "start")
        parts.append(f'<g class="candidate"><path d="{_diamond(x, y, r + 2)}" fill="{_MARKER}" stroke="#222" '
                     f'stroke-width="1"/><text x="{tx:.1f}" y="{y + 4:.1f}" font-size="10" text-anchor="{anchor}">'
                     f'{escape(str(m["label"]))}</text><title>{escape(str(m["title"]))}</title></g>')
    parts.append("</svg>")
    return "".join(parts)
