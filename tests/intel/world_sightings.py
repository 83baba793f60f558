"""Test helper: a synthetic world's sensor files as a SIGHTINGS table (a stand-in for ingest).

Reads the three styles the world writes (v1 JSONL, tool A CSV, tool B JSON) leniently: a record
that does not parse is skipped (ingest quarantines it), exact duplicates are kept once.
Category, severity and match set are placeholders: resolution does not read them.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from icarus.sensors.schema import SIGHTINGS

_NET = {"ed2k": "edonkey", "kad": "kad", "gnutella": "gnutella", "bittorrent": "bittorrent",
        "edonkey": "edonkey"}
_EVIDENCE_A = {"SOURCE": "advertised", "BROWSE": "browsed", "HANDSHAKE": "handshake",
               "DOWNLOAD": "download-verified"}
_EVIDENCE_B = {1: "advertised", 2: "browsed", 3: "handshake", 4: "download-verified"}


def _row(digest: str, line: int, rec: dict[str, Any]) -> dict[str, Any]:
    ident = rec.pop("_ident", None)
    if ident:
        rec["user_hash" if rec["network"] in ("edonkey", "kad") else "guid"] = ident
    for key in ("user_hash", "guid", "peer_id"):
        value = rec.get(key)
        rec[key] = bytes.fromhex(value) if value else None
    port = int(rec["port"])
    if not 0 <= port <= 65535 or rec["ip"].count(".") != 3:
        raise ValueError("bad address")
    return {
        "sighting_id": hashlib.sha256(f"{digest}:{line}".encode()).digest()[:16],
        "observed_at": rec["observed_at"], "network": rec["network"], "ip": rec["ip"],
        "port": port, "content_kind": "md5", "content_id": b"\0" * 16,
        "file_name": None, "file_size": None, "user_hash": rec["user_hash"],
        "ed2k_client_id": int(rec["ed2k_client_id"]) if rec.get("ed2k_client_id") else None,
        "guid": rec["guid"], "peer_id": rec["peer_id"], "client": rec.get("client"),
        "nickname": rec.get("nickname"), "sensor": rec["sensor"],
        "record_id": str(rec["record_id"]), "evidence": "advertised", "category": "csam",
        "severity": 2, "match_set": "known", "source_sha256": digest, "source_line": line,
    }


def _parse(style: str, header: list[str], sensor: str, raw: str) -> dict[str, Any]:
    """One record of a file of ``style`` (raises ValueError/KeyError/TypeError if malformed)."""
    if style == ".jsonl":
        r: dict[str, Any] = json.loads(raw)
        r["observed_at"] = datetime.fromisoformat(r["observed_at"])
        return r
    if style == ".csv":
        c = dict(zip(header, next(csv.reader([raw], delimiter=";")), strict=True))
        when = datetime.strptime(f"{c['Date']} {c['Time']}", "%d/%m/%Y %H:%M:%S")
        return {"record_id": c["RecordNo"], "observed_at": when.replace(tzinfo=UTC),
                "network": _NET[c["Network"].lower()], "ip": c["IP"], "port": c["Port"],
                "_ident": c["ClientGUID"], "ed2k_client_id": c["ClientID"],
                "peer_id": c["PeerID"], "client": c["Client"] or None,
                "nickname": c["Nick"] or None, "sensor": sensor,
                "evidence": _EVIDENCE_A[c["Evidence"]]}
    b = json.loads(raw.rstrip(",").removesuffix("]}"))
    ip, _, port = b["peer"].rpartition(":")
    return {"record_id": b["id"], "observed_at": datetime.fromtimestamp(b["ts"], UTC),
            "network": _NET[b["proto"]], "ip": ip, "port": port, "_ident": b.get("uid"),
            "ed2k_client_id": b.get("cid"), "peer_id": b.get("pid"), "client": b.get("agent"),
            "nickname": b.get("nick"), "sensor": sensor, "evidence": _EVIDENCE_B[b["level"]]}


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Well-formed records of ``path`` with their 1-based line; the rest are skipped."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header: list[str] = []
    sensor = path.stem
    first = 1
    if path.suffix == ".csv":
        header = lines[0].split(";")
    elif path.suffix == ".json":
        sensor = json.loads(lines[0] + "]}")["sensor"]
    if path.suffix != ".jsonl":
        first = 2
    out: list[tuple[int, dict[str, Any]]] = []
    for line, raw in enumerate(lines[first - 1:], first):
        try:
            out.append((line, _parse(path.suffix, header, sensor, raw)))
        except (ValueError, KeyError, TypeError, StopIteration):
            continue
    return out


def world_sightings(world: Path) -> pa.Table:
    """Every well-formed record of ``world/sightings/*`` as one SIGHTINGS table."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for path in sorted((world / "sightings").iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for line, rec in _records(path):
            try:
                row = _row(digest, line, dict(rec))
            except (KeyError, ValueError, TypeError):
                continue
            if (row["sensor"], row["record_id"]) not in seen:
                seen.add((row["sensor"], row["record_id"]))
                rows.append(row)
    return pa.Table.from_pylist(rows, schema=SIGHTINGS)
