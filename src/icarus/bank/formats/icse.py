"""INTERPOL ICSE hash export: semicolon-separated text with a fixed header.

Header (compared without case, quotes or extra whitespace; a BOM is skipped)::

    MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;
    Series name;Number of submissions;File Available;Media Type;Baseline

Rules:

* A row needs a valid MD5 or SHA1: Icarus cannot compute PhotoDNA, so a row with PhotoDNA alone
  could never match and is rejected. An invalid value beside a valid one is dropped with a warning.
* Flag columns (true/false, yes/no, 1/0, Y/N; empty = false): Is distributed, Victim identified,
  Offender identified, File Available (flag ``file-available``), Baseline (flag ``baseline``:
  INTERPOL's list of the worst known material; the ``icse`` scheme grades it HIGH).
* ``Image ID`` is the record's source id; Number of submissions and Media Type are not kept.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from icarus.bank.formats.base import (
    iter_lines,
    normalise_header,
    parse_bool,
    require_sniff,
    significant_lines,
    try_hash,
)
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Flag, SetKind
from icarus.domain.digests import Digest

HEADER = (
    "MD5", "SHA1", "PhotoDNA", "Image ID", "Is distributed", "Victim identified",
    "Offender identified", "Series name", "Number of submissions", "File Available",
    "Media Type", "Baseline",
)
_NORMALISED = [normalise_header(name) for name in HEADER]

FILE_AVAILABLE = "file-available"
"""Flag for ICSE's "File Available" column (INTERPOL holds a copy of the file)."""

FLAG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Is distributed", Flag.DISTRIBUTED.value),
    ("Victim identified", Flag.VICTIM_IDENTIFIED.value),
    ("Offender identified", Flag.OFFENDER_IDENTIFIED.value),
    ("File Available", FILE_AVAILABLE),
    ("Baseline", Flag.BASELINE.value),
)
_INDEX = {name: i for i, name in enumerate(HEADER)}


def _is_header(line: str) -> bool:
    return [normalise_header(c) for c in line.split(";")] == _NORMALISED


class IcseFormat:
    """INTERPOL ICSE (International Child Sexual Exploitation database) hash export."""

    NAME = "icse"
    DESCRIPTION = "INTERPOL ICSE hash export (semicolon CSV)"
    DEFAULT_SCHEME = "icse"
    DEFAULT_KIND = SetKind.ALERT

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the first line of ``head`` is the ICSE header."""
        lines = significant_lines(head, limit=1)
        return bool(lines) and _is_header(lines[0])

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the rows of an ICSE export (see the module doc)."""
        require_sniff(self, path)
        rows = csv.reader((text for _, text in iter_lines(path)), delimiter=";")
        header_seen = False
        for row in rows:
            if not header_seen:
                # sniff checked that the header is the first line that is not blank or a comment
                header_seen = _is_header(";".join(row))
                continue
            if not any(cell.strip() for cell in row):
                continue
            record = _record(row, f"line {rows.line_num}", sink)
            if record is not None:
                yield record


def _record(row: list[str], where: str, sink: RecordSink) -> BankRecord | None:
    raw = ";".join(row)
    if len(row) != len(HEADER):
        sink.reject(where, f"expected {len(HEADER)} columns, found {len(row)}", raw)
        return None
    digests: list[Digest] = []
    for column, kind in (("MD5", "md5"), ("SHA1", "sha1"), ("PhotoDNA", "photodna")):
        found = try_hash(kind, row[_INDEX[column]])
        if isinstance(found, Digest):
            digests.append(found)
        elif found is not None:
            sink.warn(where, f"{column} dropped: {found}")
    if not any(d.kind in ("md5", "sha1") for d in digests):
        sink.reject(where, "no valid MD5 or SHA1", raw)
        return None
    flags: list[str] = []
    for column, flag in FLAG_COLUMNS:
        cell = row[_INDEX[column]]
        truth = parse_bool(cell)
        if truth is None:
            sink.warn(where, f"{column} {cell!r} is not a boolean: ignored")
        elif truth:
            flags.append(flag)
    return BankRecord(
        digests=tuple(digests),
        flags=frozenset(flags),
        series=row[_INDEX["Series name"]].strip() or None,
        source_id=row[_INDEX["Image ID"]].strip() or None,
    )


FORMAT = IcseFormat()
