"""NIST NSRL RDS 2.x text: ``NSRLFile.txt``, with product names from ``NSRLProd.txt`` beside it.

``NSRLFile.txt`` is CSV with quoted fields and CRLF line ends, header::

    "SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"

* ``SpecialCode``: ``""`` normal, ``M`` malicious (flag ``nsrl-malicious``), ``S`` special
  (flag ``nsrl-special``); another value is kept out of the flags with a warning.
* ``FileName`` is in whatever encoding the vendor used: decoded as UTF-8, else Latin-1
  (:func:`~icarus.bank.formats.base.decode_text`).
* Both hashes must be valid, else the row is rejected (the NSRL is machine-written: a bad hash
  means a damaged row). CRC32 is not kept.
* When an ``NSRLProd.txt`` (any case) sits in the same folder, its ProductName and
  ApplicationType are loaded once (products are few: a dict) and each record gets ``product`` and
  the software flags of :func:`icarus.bank.software.flags_for_product` (eMule -> ``p2p``...).
  ``source_id`` is the ProductCode.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from icarus.bank.formats.base import (
    iter_lines,
    normalise_header,
    parse_hash,
    parse_size,
    require_sniff,
    significant_lines,
)
from icarus.bank.software import flags_for_product
from icarus.core.errors import InvalidIdentifierError
from icarus.core.sinks import CollectingSink, RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Flag, SetKind

HEADER = ("SHA-1", "MD5", "CRC32", "FileName", "FileSize", "ProductCode", "OpSystemCode",
          "SpecialCode")
PRODUCT_HEADER = ("ProductCode", "ProductName", "ProductVersion", "OpSystemCode", "MfgCode",
                  "Language", "ApplicationType")
SPECIAL_FLAGS = {"": None, "M": Flag.NSRL_MALICIOUS.value, "S": Flag.NSRL_SPECIAL.value}


Products = dict[str, tuple[str, frozenset[str]]]
"""ProductCode -> (product name, software flags)."""


def _cells_match(cells: list[str], expected: tuple[str, ...]) -> bool:
    return [normalise_header(c) for c in cells] == [normalise_header(c) for c in expected]


def _header_matches(line: str, expected: tuple[str, ...]) -> bool:
    try:
        return _cells_match(next(csv.reader([line]), []), expected)
    except csv.Error:
        return False


def load_products(path: Path, sink: RecordSink | None = None) -> Products:
    """ProductCode -> (ProductName, software flags) from an ``NSRLProd.txt``.

    A code listed several times (one row per OS or language) keeps its first name. Malformed
    rows go to ``sink`` (a throw-away one if none is given).
    """
    out: Products = {}
    sink = sink if sink is not None else CollectingSink(str(path))
    rows = csv.reader(text for _, text in iter_lines(path))
    for row in rows:
        if rows.line_num == 1 and _cells_match(row, PRODUCT_HEADER):
            continue
        if len(row) != len(PRODUCT_HEADER):
            sink.reject(f"line {rows.line_num} of {path.name}",
                        f"expected {len(PRODUCT_HEADER)} columns, found {len(row)}", ",".join(row))
            continue
        code, name, app_type = row[0].strip(), row[1].strip(), row[6].strip()
        if code and code not in out:
            out[code] = (name, flags_for_product(name or None, app_type or None))
    return out


def find_products_file(path: Path) -> Path | None:
    """The ``NSRLProd.txt`` (any letter case) in the folder of ``path``, if there is one."""
    try:
        for sibling in path.parent.iterdir():
            if sibling.name.lower() == "nsrlprod.txt" and sibling.is_file():
                return sibling
    except OSError:
        return None
    return None


class NsrlRds2Format:
    """NIST NSRL RDS 2.x ``NSRLFile.txt``."""

    NAME = "nsrl-rds2"
    DESCRIPTION = "NIST NSRL RDS 2.x NSRLFile.txt"
    DEFAULT_SCHEME = "nsrl"
    DEFAULT_KIND = SetKind.KNOWN

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the first line of ``head`` is the NSRLFile.txt header."""
        lines = significant_lines(head, limit=1)
        return bool(lines) and _header_matches(lines[0], HEADER)

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the rows of an NSRLFile.txt (see the module doc)."""
        require_sniff(self, path)
        products_file = find_products_file(path)
        products = load_products(products_file, sink) if products_file else {}
        rows = csv.reader(text for _, text in iter_lines(path))
        header_seen = False
        for row in rows:
            if not header_seen:
                # sniff checked that the header is the first line that is not blank or a comment
                header_seen = _cells_match(row, HEADER)
                continue
            if not row:
                continue
            record = _record(row, f"line {rows.line_num}", products, sink)
            if record is not None:
                yield record


def _record(row: list[str], where: str, products: Products, sink: RecordSink) -> BankRecord | None:
    if len(row) != len(HEADER):
        sink.reject(where, f"expected {len(HEADER)} columns, found {len(row)}", ",".join(row))
        return None
    sha1, md5, _crc, name, size_text, code, _os, special = row
    try:
        digests = (parse_hash("sha1", sha1), parse_hash("md5", md5))
        size = parse_size(size_text)
    except (InvalidIdentifierError, ValueError) as exc:
        sink.reject(where, str(exc), ",".join(row))
        return None
    flags: set[str] = set()
    special = special.strip().upper()
    if special not in SPECIAL_FLAGS:
        sink.warn(where, f"unknown SpecialCode {special!r}: ignored")
    elif special_flag := SPECIAL_FLAGS[special]:
        flags.add(special_flag)
    code = code.strip()
    product = products.get(code)
    if product is not None:
        flags.update(product[1])
    return BankRecord(
        digests=digests,
        source_category=None,
        size=size,
        name=name or None,
        flags=frozenset(flags),
        source_id=code or None,
        product=product[0] if product else None,
    )


FORMAT = NsrlRds2Format()
