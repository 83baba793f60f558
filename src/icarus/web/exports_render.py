"""Rendering the exports and the charts: CSV, PDF (fpdf2, core fonts) and server-drawn SVG.

Pure functions of the use cases' views: what they hold is already scoped to the user. No
script, no inline style, no external reference: the pages' Content-Security-Policy forbids
them, and the SVGs are served as images.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from fpdf import FPDF
from fpdf.fonts import FontFace

from icarus.coord.dashboard import DashboardView
from icarus.coord.exports import LeadRow, WeekCounts
from icarus.intel.packages.render_pdf import pdf_text

__all__ = ["LEAD_COLUMNS", "dashboard_csv", "dashboard_pdf", "leads_csv", "leads_pdf",
           "timeline_svg"]

LEAD_COLUMNS = ("lead_id", "operation", "agency", "country", "subject_id", "rank", "score",
                "state", "state_date", "alerts", "first_seen", "last_seen")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_HEAD = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
STATE_COLOURS = {"identified": "#4c78a8", "searched": "#f58518", "arrested": "#e45756"}


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def leads_csv(rows: Sequence[LeadRow]) -> bytes:
    """The leads, one row each, with a header (UTF-8, RFC 4180)."""
    return _csv([LEAD_COLUMNS, *(
        (r.id, r.operation, r.agency, r.country, r.subject_id, r.rank, f"{r.score:.6g}",
         r.state, r.occurred_on.isoformat() if r.occurred_on else "", r.alerts, r.first_seen,
         r.last_seen) for r in rows)])


def dashboard_csv(d: DashboardView, timeline: Sequence[WeekCounts]) -> bytes:
    """The dashboard as one table: ``section, key, leads, identified, arrested, reached,
    now, searched`` rows for the totals, the funnel, the countries and the timeline."""
    rows: list[Sequence[Any]] = [("section", "key", "leads", "identified", "searched",
                                  "arrested", "reached", "now")]
    rows.append(("total", d.operation or "all operations", d.leads, d.identified, "",
                 d.arrested, "", ""))
    rows += [("funnel", st, "", "", "", "", n, d.current[st]) for st, n in d.reached.items()]
    rows += [("country", c.country, c.leads, c.identified, "", c.arrested, "", "")
             for c in d.countries]
    rows += [("week", w.week.isoformat(), "", w.identified, w.searched, w.arrested, "", "")
             for w in timeline]
    return _csv(rows)


# -- PDF

def _pdf(title: str, user: str, created: datetime | None = None) -> FPDF:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_creation_date(created or datetime.now(UTC))
    pdf.set_title(pdf_text(title))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    _heading(pdf, "RESTRICTED: law-enforcement data. Exported by "
             f"{user} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", 9)
    _heading(pdf, title, 16)
    return pdf


def _heading(pdf: FPDF, text: str, size: float = 13) -> None:
    pdf.set_font("Helvetica", style="B", size=size)
    pdf.multi_cell(0, size * 0.5, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _table(pdf: FPDF, header: Sequence[str], rows: Sequence[Sequence[Any]],
           widths: Sequence[int]) -> None:
    pdf.set_font("Helvetica", size=8)
    with pdf.table(col_widths=tuple(widths), text_align="LEFT", headings_style=_HEAD,
                   line_height=4, width=sum(widths), align="LEFT") as table:
        for row in (header, *rows):
            cells = table.row()
            for value in row:
                cells.cell(pdf_text("" if value is None else str(value)))
    pdf.ln(3)


def dashboard_pdf(d: DashboardView, timeline: Sequence[WeekCounts], user: str) -> bytes:
    """The dashboard: figures, funnel, countries and the timeline by week."""
    pdf = _pdf(f"Dashboard: {d.operation or 'all operations'}", user)
    _table(pdf, ("leads", "identified", "arrested", "countries with arrests"),
           [(d.leads, d.identified, d.arrested, ", ".join(d.countries_with_arrests) or "-")],
           (30, 30, 30, 120))
    _heading(pdf, "Outcome funnel", 12)
    _table(pdf, ("state", "ever reached", "now"),
           [(st.replace("_", " "), n, d.current[st]) for st, n in d.reached.items()],
           (60, 30, 30))
    _heading(pdf, "By country", 12)
    _table(pdf, ("country", "leads", "identified", "arrested"),
           [(c.country, c.leads, c.identified, c.arrested) for c in d.countries]
           or [("-", 0, 0, 0)], (30, 30, 30, 30))
    _heading(pdf, "Timeline (leads first reaching each state, by week)", 12)
    _table(pdf, ("week of", "identified", "searched", "arrested"),
           [(w.week.isoformat(), w.identified, w.searched, w.arrested) for w in timeline]
           or [("-", 0, 0, 0)], (30, 30, 30, 30))
    return bytes(pdf.output())


def leads_pdf(rows: Sequence[LeadRow], filters: dict[str, Any], user: str) -> bytes:
    """The leads list: the filters, then one row per lead."""
    pdf = _pdf("Leads", user)
    shown = ", ".join(f"{k} {v}" for k, v in filters.items() if v not in (None, "")) or "none"
    _heading(pdf, f"{len(rows)} leads. Filters: {shown}.", 10)
    _table(pdf, ("lead", "operation", "agency", "country", "subject", "rank", "score", "state",
                 "date", "alerts", "first seen", "last seen"),
           [(r.id, r.operation, r.agency, r.country, r.subject_id, r.rank, f"{r.score:.3f}",
             r.state.replace("_", " "), r.occurred_on.isoformat() if r.occurred_on else "",
             r.alerts, r.first_seen[:19], r.last_seen[:19]) for r in rows]
           or [("-",) * 12], (14, 22, 26, 14, 52, 10, 14, 24, 18, 11, 31, 31))
    return bytes(pdf.output())


# -- SVG

def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start",
          fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="sans-serif" font-size="{size}" '
            f'text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>')


def timeline_svg(weeks: Sequence[WeekCounts], title: str) -> str:
    """Grouped bars per week: identified, searched, arrested (leads first reaching each)."""
    left, top, height, group = 44, 40, 180, 42
    width = max(480, left + 20 + group * len(weeks))
    peak = max([1] + [max(w.identified, w.searched, w.arrested) for w in weeks])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{top + height + 50}" viewBox="0 0 {width} {top + height + 50}" '
             f'role="img"><title>{escape(title)}</title>',
             f'<rect width="{width}" height="{top + height + 50}" fill="#ffffff"/>',
             _text(left, 16, title, size=13)]
    x = left + 150
    for state, colour in STATE_COLOURS.items():
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, 33, state))
        x += 90
    base = top + height
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" '
                 'stroke="#888"/>')
    for tick in sorted({0, peak // 2, peak}):
        y = base - height * tick / peak
        parts.append(_text(left - 6, y + 4, str(tick), size=10, anchor="end"))
    if not weeks:
        parts.append(_text(left + 10, base - height / 2, "No lead has reached identified, "
                           "searched or arrested yet."))
    step = max(1, len(weeks) // 12)
    for i, w in enumerate(weeks):
        x0 = left + 8 + i * group
        for j, (state, colour) in enumerate(STATE_COLOURS.items()):
            n = getattr(w, state)
            h = height * n / peak
            parts.append(f'<rect x="{x0 + j * 11}" y="{base - h:.1f}" width="10" '
                         f'height="{h:.1f}" fill="{colour}"><title>{w.week.isoformat()}: '
                         f'{n} {state}</title></rect>')
        if i % step == 0:
            parts.append(_text(x0 + 16, base + 14, w.week.strftime("%d %b"), size=9,
                               anchor="middle"))
            parts.append(_text(x0 + 16, base + 26, w.week.strftime("%Y"), size=9,
                               anchor="middle", fill="#666"))
    parts.append("</svg>")
    return "".join(parts)
