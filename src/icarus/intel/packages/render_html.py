"""The package's HTML report: one self-contained file (inline CSS and SVG map, no URL)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

from icarus.intel.packages.model import Package, to_document
from icarus.intel.packages.worldmap import country_map

__all__ = ["by_asn", "render_html"]


def _environment() -> jinja2.Environment:
    # The templates are package data: loaded through importlib.resources, never from a path.
    def load(name: str) -> str:
        return resources.files("icarus.intel.packages").joinpath("templates", name).read_text(
            "utf-8")
    return jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def by_asn(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Suspects per AS organisation (``unknown`` when none): count and highest score, most
    suspects first, then by name."""
    groups: dict[str, list[float]] = {}
    for s in document["suspects"]:
        groups.setdefault(s["jurisdiction"]["asn_name"] or "unknown", []).append(s["score"])
    rows = [{"asn_name": k, "suspects": len(v), "best": max(v)} for k, v in groups.items()]
    return sorted(rows, key=lambda r: (-r["suspects"], r["asn_name"]))


def render_html(package: Package) -> str:
    """The HTML report of ``package``: summary with the country's map (inline SVG), leads by
    AS organisation, leads, and per suspect its reasons, score components, identifiers and
    evidence timeline. The same package always gives the same text."""
    env = _environment()
    doc = to_document(package)
    css = resources.files("icarus.intel.packages").joinpath("templates", "report.css").read_text(
        "utf-8")
    # Marked safe in the template: the SVG is Icarus's own, every text in it escaped.
    svg = country_map(doc["operation"], doc["country"], doc["summary"]["suspects"])
    return env.get_template("report.html.j2").render(doc=doc, css=css, by_asn=by_asn(doc),
                                                     map_svg=svg)
