"""A network drawn as a graph (server-side SVG, no script).

Nodes: the member leads the viewer may see (at most ``GRAPH_LEADS``, highest score first),
each labelled by its lead number, on an inner circle; and one node per country for the other
members (those the viewer may not see one by one, or that are not leads), labelled with the
country and the count, on an outer ring. Colour: the country. Edges join two leads whose
evidence holds a common file; the wider, the more files they co-share. Nothing else is
drawn, so an agency's view holds no other agency's lead, subject id or evidence.
"""

from __future__ import annotations

import math
from collections import Counter
from xml.sax.saxutils import escape

from icarus.coord.networks import GRAPH_LEADS, NetworkDetail

__all__ = ["PALETTE", "country_colours", "network_svg"]

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2",
           "#ff9da6", "#9d755d", "#bab0ac", "#1f77b4", "#2ca02c")
UNKNOWN = "#cccccc"
SIZE = 640


def country_colours(detail: NetworkDetail) -> dict[str, str]:
    """Country -> colour: the palette in order of member counts (the rest grey)."""
    order = [c for c, _ in detail.members_by_country if c]
    return {c: PALETTE[i] if i < len(PALETTE) else UNKNOWN for i, c in enumerate(order)}


def _text(x: float, y: float, text: str, size: int = 10, anchor: str = "middle") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="sans-serif" font-size="{size}" '
            f'text-anchor="{anchor}" fill="#222">{escape(text)}</text>')


def network_svg(detail: NetworkDetail) -> str:
    """The graph of ``detail`` (already scoped to the viewer) as an SVG document."""
    colours = country_colours(detail)
    shown = detail.leads[:GRAPH_LEADS]
    drawn = Counter(x.country for x in shown)
    others = [(c, n - drawn.get(c, 0)) for c, n in detail.members_by_country]
    others = [(c, n) for c, n in others if n > 0]
    cx = cy = SIZE / 2
    height = SIZE + 40 + 18 * ((len(colours) + 5) // 6)
    title = (f"Network {detail.summary.label}: {detail.summary.size} members, "
             f"{len(shown)} leads drawn")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{height}" '
             f'viewBox="0 0 {SIZE} {height}" role="img"><title>{escape(title)}</title>',
             f'<rect width="{SIZE}" height="{height}" fill="#ffffff"/>']
    inner = SIZE * 0.30
    pos = {}
    for i, lead in enumerate(shown):
        angle = 2 * math.pi * i / max(1, len(shown)) - math.pi / 2
        pos[lead.lead_id] = (cx + inner * math.cos(angle), cy + inner * math.sin(angle))
    peak = max([1] + [n for _a, _b, n in detail.edges])
    for a, b, n in detail.edges:
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            width = 0.6 + 3.4 * n / peak
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                         f'stroke="#777" stroke-opacity="0.6" stroke-width="{width:.2f}">'
                         f'<title>{n} co-shared file(s)</title></line>')
    outer = SIZE * 0.44
    peak_members = max([1] + [n for _c, n in others])
    for i, (country, n) in enumerate(others):
        angle = 2 * math.pi * (i + 0.5) / len(others) - math.pi / 2
        x, y = cx + outer * math.cos(angle), cy + outer * math.sin(angle)
        r = 8 + 14 * math.sqrt(n / peak_members)
        name = country or "unknown"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" '
                     f'fill="{colours.get(country, UNKNOWN)}" fill-opacity="0.45" '
                     f'stroke="#555"><title>{escape(name)}: {n} other member(s)</title>'
                     '</circle>')
        parts.append(_text(x, y + 4, f"{name} {n}"))
    for lead in shown:
        x, y = pos[lead.lead_id]
        parts.append(f'<a href="/leads/{lead.lead_id}"><circle cx="{x:.1f}" cy="{y:.1f}" '
                     f'r="9" fill="{colours.get(lead.country, UNKNOWN)}" stroke="#222">'
                     f'<title>lead {lead.lead_id} ({escape(lead.country)}), score '
                     f'{lead.score:.1f}, {escape(lead.state)}</title></circle></a>')
        parts.append(_text(x, y - 12, f"#{lead.lead_id}", size=9))
    if not shown and not others:
        parts.append(_text(cx, cy, "No member to draw."))
    y0 = SIZE + 10
    for i, (country, colour) in enumerate(colours.items()):
        x, y = 20 + (i % 6) * 100, y0 + 18 * (i // 6)
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 16, y + 10, country, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)
