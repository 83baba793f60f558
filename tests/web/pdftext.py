"""Reading back what fpdf2 wrote: the page count and the strings its content streams show."""

from __future__ import annotations

import re
import zlib


def pdf_strings(data: bytes) -> list[str]:
    """Every ``(text) Tj`` string of the PDF's (deflated) content streams, in order. Also
    checks the file's frame: header, cross-reference offset and end marker."""
    assert data.startswith(b"%PDF-1."), data[:10]
    assert data.rstrip().endswith(b"%%EOF")
    offset = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[offset:offset + 4] == b"xref", "startxref does not point at the xref table"
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for text in re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", content):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return shown


def pages(data: bytes) -> int:
    """How many pages the PDF has."""
    return len(re.findall(rb"/Type\s*/Page\b", data))
