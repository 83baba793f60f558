"""The package's PDF report (fpdf2: pure Python, core fonts only, the map as vector drawing).

The content is the HTML report's: summary with the country's map (the same SVG, drawn by
fpdf2's SVG support), leads by AS organisation, leads, and per suspect its reasons,
components, identifiers and evidence timeline. Core PDF fonts cover Latin-1
only: any other character is written as ``<U+XXXX>`` so that nothing is silently lost.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from icarus.intel.packages.model import Package, to_document
from icarus.intel.packages.render_html import by_asn
from icarus.intel.packages.worldmap import HEIGHT, WIDTH, country_map

__all__ = ["pdf_text", "render_pdf"]

_HEAD = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
_MONO, _MONO_LINE = 6.5, 2.9
_MONO_CHARS = 190  # Courier is 0.6 em wide: 190 x 6.5 pt x 0.6 fits 277 mm of landscape A4
_MAP_LEFT, _MAP_WIDTH = 127, 150  # mm from the left margin: beside the summary tables


def pdf_text(text: str) -> str:
    """``text`` with every character outside Latin-1 written as ``<U+XXXX>``."""
    return "".join(c if ord(c) < 256 else f"<U+{ord(c):04X}>" for c in text)


def _table(pdf: FPDF, header: Sequence[str], rows: Sequence[Sequence[Any]],
           widths: Sequence[int] | None = None, size: float = 8) -> None:
    pdf.set_font("Helvetica", size=size)
    with pdf.table(col_widths=tuple(widths) if widths else None, text_align="LEFT",
                   headings_style=_HEAD, line_height=size * 0.5,
                   width=sum(widths) if widths else None, align="LEFT") as table:
        for row in (header, *rows):
            cells = table.row()
            for value in row:
                cells.cell(pdf_text("-" if value is None else str(value)))
    pdf.ln(3)


def _heading(pdf: FPDF, text: str, size: float = 13) -> None:
    pdf.set_font("Helvetica", style="B", size=size)
    pdf.multi_cell(0, size * 0.5, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def render_pdf(package: Package, created: datetime) -> bytes:
    """The PDF report of ``package``; ``created`` is its creation date, so the same package
    and date always give the same bytes."""
    doc = to_document(package)
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(pdf_text(f"Icarus package {doc['operation']} / {doc['country']}"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    _heading(pdf, "RESTRICTED: law-enforcement intelligence for "
             f"{doc['country']} only. Not evidence until verified.", 9)
    _heading(pdf, f"Operation {doc['operation']}: intelligence package for {doc['country']}",
             16)
    _table(pdf, ("field", "value"), [
        ("country", doc["country"]), ("generated at (UTC)", doc["generated_at"]),
        ("analysis time (UTC)", doc["analysis_time"]), ("producer", doc["producer"])],
        (50, 120))
    _summary(pdf, doc)
    _leads(pdf, doc)
    for s in doc["suspects"]:
        _suspect(pdf, s)
    return bytes(pdf.output())


def _summary(pdf: FPDF, doc: dict[str, Any]) -> None:
    summary = doc["summary"]
    _heading(pdf, "Summary")
    page, top = pdf.page, pdf.get_y()
    height = _MAP_WIDTH * HEIGHT / WIDTH
    if pdf.will_page_break(height):
        pdf.add_page()
        page, top = pdf.page, pdf.get_y()
    svg = country_map(doc["operation"], doc["country"], summary["suspects"])
    pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin + _MAP_LEFT, y=top,
              w=_MAP_WIDTH, h=height)
    pdf.set_y(top)
    _table(pdf, ("suspects", "sightings", "distinct content hashes"),
           [(summary["suspects"], summary["sightings"], summary["files"])], (40, 40, 40))
    for title, key, unit in (("category", "categories", "files"),
                             ("network", "networks", "sightings"),
                             ("evidence level", "evidence", "sightings")):
        _table(pdf, (title, unit), list(summary[key].items()), (50, 30))
    if pdf.page == page:  # below the map, whichever is longer
        pdf.set_y(max(pdf.get_y(), top + height + 3))
    _heading(pdf, "Leads by AS organisation")
    _table(pdf, ("AS organisation", "suspects", "highest score"),
           [(r["asn_name"], r["suspects"], f"{r['best']:.1f}") for r in by_asn(doc)],
           (90, 30, 30))


def _leads(pdf: FPDF, doc: dict[str, Any]) -> None:
    _heading(pdf, "Leads")
    _table(pdf, ("#", "subject", "score", "AS organisation", "first seen", "last seen", "files",
                 "best evidence"),
           [(s["rank"], s["subject_id"], f"{s['score']:.1f}", s["jurisdiction"]["asn_name"],
             s["first_seen"], s["last_seen"], s["n_files"], s["best_evidence"])
            for s in doc["suspects"]], (10, 60, 15, 50, 40, 40, 15, 30))


def _suspect(pdf: FPDF, s: dict[str, Any]) -> None:
    pdf.add_page()
    _heading(pdf, f"#{s['rank']} {s['subject_id']}: score {s['score']:.1f}")
    _heading(pdf, "Why this score", 11)
    _table(pdf, ("reason",), [(r,) for r in s["reasons"]], (200,))
    _table(pdf, tuple(s["components"]), [[f"{v:.3f}" for v in s["components"].values()]],
           [28] * len(s["components"]))
    _heading(pdf, "Jurisdiction and identifiers", 11)
    _table(pdf, ("field", "value"), [
        ("country", s["jurisdiction"]["country"]),
        ("AS organisation", s["jurisdiction"]["asn_name"]),
        ("identifiers", ", ".join(s["identifiers"]) or None)], (50, 150))
    _heading(pdf, f"Evidence timeline ({len(s['timeline'])} sightings, UTC)", 11)
    _timeline(pdf, s["timeline"])


def _timeline(pdf: FPDF, events: list[dict[str, Any]]) -> None:
    """Two monospace lines per sighting (what, then which file): fpdf2's tables cost about a
    millisecond per cell, too slow for thousands of sightings."""
    pdf.set_font("Courier", size=_MONO)
    pdf.set_fill_color(240, 240, 240)
    for n, e in enumerate(events):
        client = (e["client"] or "-") + (f" ({e['nickname']})" if e["nickname"] else "")
        size = f" ({e['file_size']} bytes)" if e["file_size"] is not None else ""
        first = (f"{e['observed_at']}  {e['ip']}:{e['port']}  {e['network']}  "
                 f"{e['evidence']}  {e['category']} (severity {e['severity']})  "
                 f"sensor {e['sensor']} record {e['record_id'] or '-'}")
        second = (f"    file {e['file_name'] or '-'}{size}  {e['content']}  client {client}"
                  + "".join(f"  {i}" for i in e["identifiers"]))
        lines = [piece for text in (first, second)
                 for piece in textwrap.wrap(pdf_text(text), _MONO_CHARS,
                                            subsequent_indent="    ", break_on_hyphens=False)]
        if pdf.will_page_break(_MONO_LINE * len(lines)):
            pdf.add_page()
            pdf.set_font("Courier", size=_MONO)
        for line in lines:
            pdf.cell(0, _MONO_LINE, line, fill=n % 2 == 0, new_x="LMARGIN", new_y="NEXT")
