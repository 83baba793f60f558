"""The styles in which the synthetic world's sensors write their sightings.

One module per style: :mod:`~icarus.sim.formats.v1` (the Icarus sighting format v1, JSON lines,
``docs/formats/sightings-v1.md``), :mod:`~icarus.sim.formats.tool_a_csv` and
:mod:`~icarus.sim.formats.tool_b_json` (two third-party export styles,
``docs/formats/tool-exports.md``). Every style turns the same :data:`SIGHTING_BATCH` table into
lines, so the three carry the same information; :mod:`~icarus.sim.formats.noise` then spoils a
few lines the way real sensor files are spoiled, and :class:`~icarus.sim.formats.base.SightingFile`
writes them.
"""

from __future__ import annotations

from icarus.core.errors import UsageError
from icarus.sim.formats.base import (
    EVIDENCE_LEVELS,
    SIGHTING_BATCH,
    SightingFile,
    Style,
)
from icarus.sim.formats.tool_a_csv import ToolAStyle
from icarus.sim.formats.tool_b_json import ToolBStyle
from icarus.sim.formats.v1 import V1Style

STYLE_NAMES = ("v1", "tool-a", "tool-b")
"""The style names a sensor may write, in the order of :func:`make_style`'s choices."""


def make_style(name: str, *, sha1_base32: bool = True) -> Style:
    """The writer of style ``name`` (``v1``, ``tool-a`` or ``tool-b``).

    ``sha1_base32`` only matters to ``v1``: whether Gnutella SHA-1 ids are written in the
    ``urn:sha1`` base32 form (true) or as lower-case hex.
    """
    if name == "v1":
        return V1Style(sha1_base32=sha1_base32)
    if name == "tool-a":
        return ToolAStyle()
    if name == "tool-b":
        return ToolBStyle()
    raise UsageError(f"unknown sighting style {name!r}; choose one of: {', '.join(STYLE_NAMES)}")


__all__ = [
    "EVIDENCE_LEVELS",
    "SIGHTING_BATCH",
    "STYLE_NAMES",
    "SightingFile",
    "Style",
    "ToolAStyle",
    "ToolBStyle",
    "V1Style",
    "make_style",
]
