"""Writing bank entries out: VICS 2.0 hash sets, CSV, md5sum.

Every writer streams: one entry is formatted and written at a time, whatever the set's size. It
returns the number of entries written; entries it cannot write (no MD5 for VICS and md5sum) are
skipped and reported to ``sink`` as rejects (position ``entry N``), if one is given.

* VICS 2.0 (:func:`write_vics`): a ``Default/$metadata#Media`` hash set. Category is the
  Project VIC US integer (:func:`icarus.bank.schemes.vics_us_code`), omitted when uncategorised;
  MD5 and SHA1 upper-case; flags as the strings ``"true"``/``"false"``; SHA-256, ed2k and PDQ
  as ``AlternativeHashes``; the name as ``MediaFiles[0].FileName``. MediaID counts from 1 in the
  file. The set's name is an OData instance annotation ``@icarus.set``, which VICS readers skip.
  Severity has no VICS field: a UK grade or INTERPOL Baseline is not carried (use CSV for that).
* CSV (:func:`write_csv`): header :data:`CSV_HEADER`; hashes lower-case hex, severity by name
  (none, low, medium, high), flags sorted and joined with ``|``; empty cells for absent values.
* md5sum (:func:`write_md5sum`): ``<md5>  <name>`` (``-`` when there is no name), names with a
  backslash, newline or carriage return escaped as GNU coreutils does.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from icarus.bank.formats.vics_media import FLAG_FIELDS
from icarus.bank.schemes import vics_us_code
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Category, Severity
from icarus.identify.kinds import format_digest

VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
)
ALTERNATIVE_NAMES = {"sha256": "SHA256", "ed2k": "ED2K", "pdq": "PDQ", "tth": "TTH", "vpdq": "vPDQ",
                     "btih": "BTIH", "btih-v2": "BTIH2"}
"""Digest kinds written as VICS ``AlternativeHashes``, with their ``HashName``."""

CSV_HEADER = ("md5", "sha1", "sha256", "ed2k", "pdq", "size", "name", "category", "severity",
              "source_category", "flags", "series", "source_id", "product")


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One bank entry to write: the record as imported and what the set's scheme made of it."""

    record: BankRecord
    category: Category
    severity: Severity


def write_vics(rows: Iterable[ExportRow], fh: IO[str], *, set_name: str,
               sink: RecordSink | None = None) -> int:
    """Write ``rows`` as a VICS 2.0 hash set; returns the number of Media written."""
    fh.write("{\n")
    fh.write(f'"@odata.context": {json.dumps(VICS_CONTEXT)},\n')
    fh.write(f'"@icarus.set": {json.dumps(set_name, ensure_ascii=False)},\n')
    fh.write('"value": [\n')
    written = 0
    for index, row in enumerate(rows, start=1):
        media = vics_media(row, written + 1)
        if media is None:
            _skip(sink, index, "no MD5: a VICS Media needs one")
            continue
        if written:
            fh.write(",\n")
        fh.write(json.dumps(media, ensure_ascii=False))
        written += 1
    fh.write("\n]\n}\n")
    return written


def vics_media(row: ExportRow, media_id: int) -> dict[str, Any] | None:
    """The VICS Media object of ``row`` (``None`` if it has no MD5)."""
    record = row.record
    md5 = record.digest("md5")
    if md5 is None:
        return None
    media: dict[str, Any] = {"MediaID": media_id}
    code = vics_us_code(row.category)
    if code is not None:
        media["Category"] = code
    media["MD5"] = md5.hex().upper()
    sha1 = record.digest("sha1")
    if sha1 is not None:
        media["SHA1"] = sha1.hex().upper()
    if record.size is not None:
        media["MediaSize"] = record.size
    for digest in record.digests:
        if digest.kind == "photodna":
            media["PhotoDNA"] = format_digest(digest)
            break
    for field, flag in FLAG_FIELDS:
        media[field] = "true" if flag in record.flags else "false"
    if record.series:
        media["Series"] = record.series
    alternatives = [
        {"HashName": ALTERNATIVE_NAMES[d.kind], "HashValue": format_digest(d), "MD5": media["MD5"]}
        for d in record.digests if d.kind in ALTERNATIVE_NAMES
    ]
    if alternatives:
        media["AlternativeHashes"] = alternatives
    if record.name:
        media["MediaFiles"] = [{"MD5": media["MD5"], "FileName": record.name}]
    return media


def write_csv(rows: Iterable[ExportRow], fh: IO[str]) -> int:
    """Write ``rows`` as CSV with the header :data:`CSV_HEADER`; returns the rows written."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    written = 0
    for row in rows:
        record = row.record
        hashes = [_hex(record, kind) for kind in ("md5", "sha1", "sha256", "ed2k", "pdq")]
        writer.writerow([
            *hashes,
            "" if record.size is None else record.size,
            record.name or "",
            row.category.value,
            row.severity.name.lower(),
            record.source_category or "",
            "|".join(sorted(record.flags)),
            record.series or "",
            record.source_id or "",
            record.product or "",
        ])
        written += 1
    return written


def write_md5sum(rows: Iterable[ExportRow], fh: IO[str], *, sink: RecordSink | None = None) -> int:
    """Write the MD5 of each row as md5sum lines; returns the lines written."""
    written = 0
    for index, row in enumerate(rows, start=1):
        md5 = row.record.digest("md5")
        if md5 is None:
            _skip(sink, index, "no MD5")
            continue
        fh.write(md5sum_line(md5.hex(), row.record.name or "-"))
        written += 1
    return written


def md5sum_line(hex_digest: str, name: str) -> str:
    """One md5sum line, escaped as GNU coreutils does when the name needs it."""
    if any(c in name for c in "\\\n\r"):
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{hex_digest}  {escaped}\n"
    return f"{hex_digest}  {name}\n"


def _hex(record: BankRecord, kind: str) -> str:
    value = record.digest(kind)
    return "" if value is None else value.hex()


def _skip(sink: RecordSink | None, index: int, reason: str) -> None:
    if sink is not None:
        sink.reject(f"entry {index}", reason)
