"""Maps for the package reports: inline SVG drawn from the country outlines of pygal_maps_world.

The outlines are ``worldmap.svg`` of the ``pygal_maps_world`` package (LGPL-3.0-or-later):
one ``<g class="<cc> country ...">`` of paths per country, ``cc`` the ISO 3166-1 alpha-2 code
in lower case, 184 countries and territories. Nothing is fetched: the file is read from the
installed package. The SVG written here uses only what fpdf2's SVG support draws (paths,
rectangles, circles, text, ``translate``/``scale`` transforms; no clip path, no nested
``<svg>``, no link), so that the HTML (inline) and the PDF show the same map.

:func:`country_map` is a package's map: a regional view around its country, the country
highlighted, its suspect count in the legend, and no figure about any other country.
:func:`overview_map` shades every country by its suspect count, for a coordinator who holds
all countries' leads (never for a country's package). A code with no outline in the map data
(e.g. ``XK``, or a malformed value) is not an error: the map is drawn without highlight and
says so in its legend.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from importlib import metadata, resources

__all__ = ["BANDS", "HIGHLIGHT", "SHADES", "attribution", "country_map", "known_countries",
           "overview_map"]

WIDTH, HEIGHT = 1000, 600
"""The SVG's size in user units (the HTML scales it; the PDF places it at a chosen width)."""
_TOP, _BOTTOM = 46, 536
"""The map area lies between these y; the title is above it, the legend below."""
HIGHLIGHT = "#c0392b"
"""Fill of the package's country."""
LAND, SEA, BORDER, INK, GREY = "#eeede6", "#dde8f0", "#9a9a9a", "#111111", "#555555"
BANDS: tuple[tuple[int, int | None], ...] = (
    (1, 9), (10, 49), (50, 249), (250, 999), (1000, None))
"""The overview's classes of suspects per country (inclusive; ``None``: no upper bound)."""
SHADES = ("#fcd5c5", "#f5a183", "#e4664a", "#c0392b", "#7a1c10")
"""The overview's fill for each of :data:`BANDS`, lightest first."""
_MARGIN = 0.35
"""A country view extends the country's extent by this fraction on every side."""
_MIN_VIEW = 200.0
"""Narrowest view, in map units (the world is 2475 wide): small countries show their region."""
_NEAR = 0.6
"""A country's outlying paths count in its extent when their centre lies within this fraction
of its largest path's size from it (nearby islands and Alaska yes, overseas territories no)."""
_MARK_PX = 14.0
"""A country drawn smaller than this (px) also gets a ring, so that it can be seen."""
_CURVE_STEPS = 4
_NUMBER = r"[-+]?(?:\d*\.\d+|\d+\.?)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"[MmLlHhVvCcSsZz]|{_NUMBER}")
_ARGS = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "z": 0}
_CODE = re.compile(r"^[A-Z]{2}$")

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True, slots=True)
class _Path:
    d: str
    box: Box
    """Bounding box of the path's points and control points (it contains the path)."""
    area: float
    """Area enclosed by its points and control points (near the path's own area)."""


@dataclass(frozen=True, slots=True)
class _Atlas:
    width: float
    height: float
    countries: dict[str, tuple[_Path, ...]]
    version: str


def attribution(atlas: _Atlas | None = None) -> str:
    """The map data's provenance and licence, as printed under every map."""
    version = (atlas or _atlas()).version
    return (f"Outlines: worldmap.svg of pygal_maps_world {version} (Kozea), LGPL-3.0-or-later."
            " Borders are illustrative and imply no position on any territory.")


def known_countries() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes (upper case) that have an outline in the map data."""
    return frozenset(cc.upper() for cc in _atlas().countries)


def country_map(operation: str, country: str, suspects: int) -> str:
    """A package's map: the region around ``country`` with that country highlighted and its
    ``suspects`` count in the legend. A code with no outline gives the world without
    highlight, its legend saying so."""
    atlas = _atlas()
    paths = atlas.countries.get(country.lower()) if _CODE.match(country) else None
    noun = "suspect" if suspects == 1 else "suspects"
    title = f"Operation {operation}: suspects located in {country}"
    if not paths:
        return _svg(atlas, _world(atlas), {}, title, [
            (None, f"{country}: {suspects:,} {noun} in this package; {country} has no outline "
                   "in the map data, so nothing is highlighted")])
    view = _view(_extent(paths), atlas)
    legend = [(HIGHLIGHT, f"{country}: {suspects:,} {noun} in this package "
                          "(location by the address's country)")]
    return _svg(atlas, view, {country.lower(): HIGHLIGHT}, title, legend,
                mark=_extent(paths))


def overview_map(operation: str, counts: Mapping[str, int]) -> str:
    """Every country shaded by its suspect count (``counts``: ISO alpha-2 code → suspects)
    in the classes of :data:`BANDS`; codes without an outline are listed in the legend."""
    atlas = _atlas()
    fills: dict[str, str] = {}
    missing: list[str] = []
    for cc, n in sorted(counts.items()):
        if n <= 0:
            continue
        if _CODE.match(cc) and cc.lower() in atlas.countries:
            fills[cc.lower()] = SHADES[_band(n)]
        else:
            missing.append(f"{cc} {n:,}")
    legend: list[tuple[str | None, str]] = [
        (shade, f"{lo:,}+" if hi is None else f"{lo:,}-{hi:,}")
        for shade, (lo, hi) in zip(SHADES, BANDS, strict=True)]
    if missing:
        legend.append((None, "not drawn (no outline): " + ", ".join(missing)))
    return _svg(atlas, _world(atlas), fills, f"Operation {operation}: suspects per country",
                legend, columns=True)


def _band(n: int) -> int:
    return next(i for i, (lo, hi) in enumerate(BANDS) if n >= lo and (hi is None or n <= hi))


# --- the map data ----------------------------------------------------------------------------

@functools.cache
def _atlas() -> _Atlas:
    source = resources.files("pygal_maps_world").joinpath("worldmap.svg")
    root = ET.fromstring(source.read_bytes())  # noqa: S314 - the installed package's own file
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    countries: dict[str, tuple[_Path, ...]] = {}
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        classes = group.attrib.get("class", "").split()
        if "country" not in classes:
            continue
        paths = []
        for element in group.iter("{http://www.w3.org/2000/svg}path"):
            d = element.attrib["d"]
            rings = list(_rings(d, flat=False))
            paths.append(_Path(d, _box([p for r in rings for p in r]), sum(map(_area, rings))))
        countries[classes[0]] = tuple(paths)
    return _Atlas(width, height, countries, metadata.version("pygal_maps_world"))


def _rings(d: str, *, flat: bool = True) -> Iterator[tuple[Point, ...]]:
    """The subpaths of path data ``d`` as polygons, cubic curves flattened (M, L, H, V, C, S,
    Z, absolute or relative: what worldmap.svg uses); with ``flat`` false, a curve gives its
    control points and end point instead (cheaper, and enough for a bounding box)."""
    tokens = _TOKEN.findall(d)
    if not tokens or _TOKEN.sub("", d).strip(" ,\t\r\n"):
        raise ValueError(f"path data not understood: {d[:40]!r}")
    x = y = 0.0
    start: Point = (0.0, 0.0)
    ring: list[Point] = []
    control: Point | None = None
    i, command = 0, ""
    while i < len(tokens):
        if tokens[i].isalpha():
            command, i = tokens[i], i + 1
            if command in "Zz":
                if len(ring) > 2:
                    yield tuple(ring)
                ring, (x, y), control = [], start, None
                continue
        elif not command:
            raise ValueError(f"path data does not start with a command: {d[:40]!r}")
        n = _ARGS[command.lower()]
        a = [float(t) for t in tokens[i:i + n]]
        i += n
        rel = command.islower()
        ox, oy = (x, y) if rel else (0.0, 0.0)
        op = command.lower()
        if op == "m":
            if len(ring) > 2:
                yield tuple(ring)
            x, y = ox + a[0], oy + a[1]
            start, ring, control = (x, y), [(x, y)], None
            command = "l" if rel else "L"  # further pairs are implicit line-tos
            continue
        if op in "lhv":
            x = ox + a[0] if op in "lh" else x
            y = (oy + a[1]) if op == "l" else (oy + a[0] if op == "v" else y)
            ring.append((x, y))
            control = None
            continue
        if op == "c":
            c1, c2, end = (ox + a[0], oy + a[1]), (ox + a[2], oy + a[3]), (ox + a[4], oy + a[5])
        else:  # s: the first control point mirrors the last one
            c1 = (2 * x - control[0], 2 * y - control[1]) if control else (x, y)
            c2, end = (ox + a[0], oy + a[1]), (ox + a[2], oy + a[3])
        ring.extend(_cubic((x, y), c1, c2, end) if flat else (c1, c2, end))
        (x, y), control = end, c2
    if len(ring) > 2:
        yield tuple(ring)


def _cubic(p0: Point, c1: Point, c2: Point, p3: Point) -> list[Point]:
    out = []
    for k in range(1, _CURVE_STEPS + 1):
        t = k / _CURVE_STEPS
        u = 1 - t
        out.append((u**3 * p0[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t**3 * p3[0],
                    u**3 * p0[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t**3 * p3[1]))
    return out


def _area(ring: Sequence[Point]) -> float:
    """Shoelace formula: the area of polygon ``ring``."""
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                   in zip(ring, [*ring[1:], ring[0]], strict=True))) / 2


def _box(points: Sequence[Point]) -> Box:
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


# --- views and clipping ----------------------------------------------------------------------

def _world(atlas: _Atlas) -> Box:
    return _fit((0.0, 0.0, atlas.width, atlas.height), atlas)


def _extent(paths: tuple[_Path, ...]) -> Box:
    """The country's extent: its largest path (by area: a chain of small islands has a wide
    box) and the paths near it."""
    main = max(paths, key=lambda p: p.area)
    x0, y0, x1, y1 = main.box
    w, h = x1 - x0, y1 - y0
    near = [p for p in paths
            if x0 - _NEAR * w <= (p.box[0] + p.box[2]) / 2 <= x1 + _NEAR * w
            and y0 - _NEAR * h <= (p.box[1] + p.box[3]) / 2 <= y1 + _NEAR * h]
    return (min(p.box[0] for p in near), min(p.box[1] for p in near),
            max(p.box[2] for p in near), max(p.box[3] for p in near))


def _view(extent: Box, atlas: _Atlas) -> Box:
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) * (1 + 2 * _MARGIN), (y1 - y0) * (1 + 2 * _MARGIN)
    w = max(w, _MIN_VIEW)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return _fit((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), atlas)


def _fit(box: Box, atlas: _Atlas) -> Box:
    """``box`` grown to the map area's aspect ratio around its centre, then moved inside the
    world where it fits."""
    aspect = WIDTH / (_BOTTOM - _TOP)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    w, h = max(w, h * aspect), max(h, w / aspect)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if w <= atlas.width:
        cx = min(max(cx, w / 2), atlas.width - w / 2)
    if h <= atlas.height:
        cy = min(max(cy, h / 2), atlas.height - h / 2)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _clip(ring: tuple[Point, ...], box: Box) -> list[Point]:
    """Sutherland-Hodgman: ``ring`` clipped to ``box`` (a polygon, for filling)."""
    points = list(ring)
    for axis, bound, keep_above in ((0, box[0], True), (0, box[2], False),
                                    (1, box[1], True), (1, box[3], False)):
        if not points:
            break
        out: list[Point] = []
        for k, cur in enumerate(points):
            prev = points[k - 1]
            cur_in = cur[axis] >= bound if keep_above else cur[axis] <= bound
            prev_in = prev[axis] >= bound if keep_above else prev[axis] <= bound
            if cur_in != prev_in:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                cross = (prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1]))
                out.append(cross)
            if cur_in:
                out.append(cur)
        points = out
    return points


def _path_data(path: _Path, view: Box) -> str | None:
    """``path``'s data within ``view``: as it is when inside, clipped when it crosses the
    edge, ``None`` when outside (fpdf2 clips nothing, so nothing may reach past the map)."""
    b = path.box
    if b[0] >= view[0] and b[1] >= view[1] and b[2] <= view[2] and b[3] <= view[3]:
        return path.d
    if b[2] < view[0] or b[0] > view[2] or b[3] < view[1] or b[1] > view[3]:
        return None
    parts = []
    for ring in _rings(path.d):
        clipped = _clip(ring, view)
        if len(clipped) > 2:
            parts.append("M" + " ".join(f"{_num(x)} {_num(y)}" for x, y in clipped) + "Z")
    return "".join(parts) or None


# --- the SVG ---------------------------------------------------------------------------------

def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _svg(atlas: _Atlas, view: Box, fills: Mapping[str, str], title: str,
         legend: Sequence[tuple[str | None, str]], *, mark: Box | None = None,
         columns: bool = False) -> str:
    scale = WIDTH / (view[2] - view[0])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" '
           f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}" class="icarus-map">',
           f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
           f'<rect x="0" y="{_TOP}" width="{WIDTH}" height="{_BOTTOM - _TOP}" fill="{SEA}"/>',
           f'<g transform="translate({_num(-view[0] * scale)} {_num(_TOP - view[1] * scale)}) '
           f'scale({scale:.6g})" stroke="{BORDER}" stroke-width="{0.6 / scale:.4g}" '
           'stroke-linejoin="round">']
    for cc in sorted(atlas.countries, key=lambda c: (c in fills, c)):  # highlighted on top
        data = [d for p in atlas.countries[cc] if (d := _path_data(p, view)) is not None]
        if data:
            fill = fills.get(cc, LAND)
            out.append(f'<g id="map-{cc}" class="country" fill="{fill}">'
                       + "".join(f'<path d="{d}"/>' for d in data) + "</g>")
    out.append("</g>")
    if mark is not None:
        cx, cy = (mark[0] + mark[2]) / 2, (mark[1] + mark[3]) / 2
        if max(mark[2] - mark[0], mark[3] - mark[1]) * scale < _MARK_PX:
            out.append(f'<circle cx="{_num((cx - view[0]) * scale)}" '
                       f'cy="{_num(_TOP + (cy - view[1]) * scale)}" r="{_MARK_PX}" '
                       f'fill="none" stroke="{HIGHLIGHT}" stroke-width="2.5"/>')
    out.append(f'<rect x="0.5" y="{_TOP}" width="{WIDTH - 1}" height="{_BOTTOM - _TOP}" '
               f'fill="none" stroke="{GREY}" stroke-width="1"/>')
    out.append(_text(8, 30, title, 20, bold=True))
    x, y = 8.0, _BOTTOM + 20
    for swatch, label in legend:
        if swatch is None:  # a note: on a line of its own
            y += 17 if x > 8 else 0
            out.append(_text(8, y, label, 13))
            x, y = 8.0, y + 17
            continue
        out.append(f'<rect x="{_num(x)}" y="{_num(y - 11)}" width="18" height="13" '
                   f'fill="{swatch}" stroke="{BORDER}" stroke-width="0.8"/>')
        out.append(_text(x + 24, y, label, 13))
        if columns:  # side by side (about 7 units per character at this size)
            x += 24 + 7.5 * len(label) + 18
        else:
            y += 17
    out.append(_text(8, HEIGHT - 8, attribution(atlas), 10, fill=GREY))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _text(x: float, y: float, text: str, size: int, *, bold: bool = False,
          fill: str = INK) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-family="Helvetica" font-size="{size}"'
            f'{weight} fill="{fill}">{escape(text)}</text>')
