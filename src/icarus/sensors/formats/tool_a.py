"""Tool A exports: semicolon CSV with a BOM and CRLF, one sensor per file (its file name)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from icarus.core.sinks import RecordSink
from icarus.sensors.formats.base import (
    RecordError,
    SightingRecord,
    build_record,
    first_line,
    require_format,
)

HEADER = ("RecordNo;Date;Time;IP;Port;Network;ClientGUID;ClientID;PeerID;Client;Nick;Hash;"
          "HashType;FileName;FileSize;Evidence")
_COLUMNS = HEADER.split(";")
_NETWORKS = {"eDonkey": "edonkey", "Kad": "kad", "Gnutella": "gnutella",
             "BitTorrent": "bittorrent"}
_KINDS = {"ED2K": ("ed2k", 32), "SHA1": ("sha1", 40), "BTIH": ("btih", 40)}
_EVIDENCE = {"SOURCE": "advertised", "BROWSE": "browsed", "HANDSHAKE": "handshake",
             "DOWNLOAD": "download-verified"}
_REQUIRED = ("RecordNo", "Date", "Time", "IP", "Port", "Network", "Hash", "HashType", "Evidence")


def _upper_hex(name: str, value: str, digits: int) -> str:
    if len(value) != digits or value.upper() != value:
        raise RecordError(f"{name}: expected {digits} upper-case hex digits, got {value!r}")
    return value.lower()


def convert(cells: list[str], sensor: str) -> SightingRecord:
    """One tool A row (16 cells) as a validated record."""
    if len(cells) != len(_COLUMNS):
        raise RecordError(f"{len(cells)} cells, expected {len(_COLUMNS)}")
    c = dict(zip(_COLUMNS, cells, strict=True))
    missing = [n for n in _REQUIRED if not c[n]]
    if missing:
        raise RecordError(f"missing required cell(s): {', '.join(missing)}")
    if not c["RecordNo"].isdigit():
        raise RecordError(f"RecordNo: not a decimal number: {c['RecordNo']!r}")
    try:
        when = datetime.strptime(f"{c['Date']} {c['Time']}", "%d/%m/%Y %H:%M:%S")
    except ValueError:
        raise RecordError(f"Date/Time: expected DD/MM/YYYY and HH:MM:SS, got "
                          f"{c['Date']!r} {c['Time']!r}") from None
    network = _NETWORKS.get(c["Network"])
    if network is None:
        raise RecordError(f"Network: expected one of {sorted(_NETWORKS)}, got {c['Network']!r}")
    kind = _KINDS.get(c["HashType"])
    if kind is None:
        raise RecordError(f"HashType: expected one of {sorted(_KINDS)}, got {c['HashType']!r}")
    evidence = _EVIDENCE.get(c["Evidence"])
    if evidence is None:
        raise RecordError(f"Evidence: expected one of {sorted(_EVIDENCE)}, "
                          f"got {c['Evidence']!r}")
    guid = _upper_hex("ClientGUID", c["ClientGUID"], 32) if c["ClientGUID"] else None
    fields = {
        "record_id": c["RecordNo"], "observed_at": when.replace(tzinfo=UTC),
        "network": network, "ip": c["IP"], "port": c["Port"],
        "content_kind": kind[0], "content_id": _upper_hex("Hash", c["Hash"], kind[1]),
        "file_name": c["FileName"], "file_size": c["FileSize"],
        "user_hash": guid if network in ("edonkey", "kad") else None,
        "guid": guid if network == "gnutella" else None,
        "ed2k_client_id": c["ClientID"],
        "peer_id": _upper_hex("PeerID", c["PeerID"], 40) if c["PeerID"] else None,
        "client": c["Client"], "nickname": c["Nick"], "sensor": sensor, "evidence": evidence,
    }
    if guid is not None and network == "bittorrent":
        raise RecordError("ClientGUID: BitTorrent records carry no client GUID")
    return build_record(fields)


class ToolACsv:
    """Tool A: ``RecordNo;Date;Time;...`` with the exact documented header."""

    NAME: ClassVar[str] = "tool-a-csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        """The exact tool A header on the first line."""
        return first_line(head) == HEADER

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Rows after the header; the sensor is the file name without ``.csv``."""
        require_format(self, path)
        sensor = path.stem
        with path.open("r", encoding="utf-8-sig", newline="", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=";")
            next(reader)
            for row in reader:
                if not row:
                    continue
                no = reader.line_num
                try:
                    record = convert(row, sensor)
                except RecordError as exc:
                    sink.reject(f"line {no}", str(exc), ";".join(row))
                    continue
                yield no, record
