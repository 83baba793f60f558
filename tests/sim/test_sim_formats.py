"""The sighting file styles of the synthetic world: v1 JSONL, tool A CSV, tool B JSON, and noise.

The readers here are deliberately independent of the writers: they follow
``docs/formats/sightings-v1.md`` and ``docs/formats/tool-exports.md`` (the ingest issue will
build its own from the same pages) and turn every style into one canonical record.
"""

from __future__ import annotations

import base64
import csv
import io
import ipaddress
import json
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from icarus.core.errors import InvalidIdentifierError, UsageError
from icarus.identify.kinds import parse_digest
from icarus.sim.formats import (
    EVIDENCE_LEVELS,
    SIGHTING_BATCH,
    SightingFile,
    make_style,
    noise,
    text,
)
from icarus.sim.formats.noise import MALFORMED_KINDS, NoiseConfig

SCHEMA = Path(__file__).resolve().parents[2] / "src/icarus/data/schemas/sightings-v1.schema.json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOOL_A_COLUMNS = ["RecordNo", "Date", "Time", "IP", "Port", "Network", "ClientGUID", "ClientID",
                  "PeerID", "Client", "Nick", "Hash", "HashType", "FileName", "FileSize",
                  "Evidence"]
A_NETWORKS = {"eDonkey": "edonkey", "Kad": "kad", "Gnutella": "gnutella",
              "BitTorrent": "bittorrent"}
A_HASHES = {"ED2K": "ed2k", "SHA1": "sha1", "BTIH": "btih"}
A_EVIDENCE = dict(zip(("SOURCE", "BROWSE", "HANDSHAKE", "DOWNLOAD"), EVIDENCE_LEVELS,
                      strict=True))
B_PROTOS = {"ed2k": "edonkey", "kad": "kad", "gnutella": "gnutella", "bittorrent": "bittorrent"}
B_URNS = {"urn:ed2khash:": "ed2k", "urn:sha1:": "sha1", "urn:btih:": "btih"}
FIELDS = ("record_id", "observed_ms", "network", "ip", "port", "content_kind", "digest",
          "file_name", "file_size", "user_hash", "ed2k_client_id", "guid", "peer_id", "client",
          "nickname", "sensor", "evidence")


@dataclass
class Read:
    """What a reader made of a file: canonical records and rejected lines (1-based)."""

    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    rejects: list[tuple[int, str]] = field(default_factory=list)
    truncated: bool = False


def _validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _digest(kind: str, value: str) -> bytes:
    return parse_digest(kind, value).value


def _ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _hexbytes(value: str | None, size: int) -> bytes | None:
    if not value:
        return None
    raw = bytes.fromhex(value)
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes")
    return raw


def _canonical(**values: Any) -> dict[str, Any]:
    out = dict.fromkeys(FIELDS)
    out.update(values)
    return out


def read_v1(path: Path, validator: Any = None) -> Read:
    """Sighting format v1 JSON lines: schema, then the digest parser, decide."""
    validator = validator or _validator()
    body = path.read_bytes().decode("utf-8")
    out = Read(truncated=bool(body) and not body.endswith("\n"))
    lines = body.split("\n")
    lines = lines if out.truncated else lines[:-1]
    for no, line in enumerate(lines, 1):
        if out.truncated and no == len(lines):
            out.rejects.append((no, "truncated"))
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            out.rejects.append((no, "broken"))
            continue
        errors = list(validator.iter_errors(rec))
        if errors:
            out.rejects.append((no, f"schema: {errors[0].message}"))
            continue
        try:
            digest = _digest(rec["content_kind"], rec["content_id"])
        except InvalidIdentifierError:
            out.rejects.append((no, "bad hash"))
            continue
        moment = datetime.fromisoformat(rec["observed_at"].replace("Z", "+00:00"))
        out.records.append((no, _canonical(
            record_id=rec.get("record_id"), observed_ms=_ms(moment), network=rec["network"],
            ip=rec["ip"], port=rec["port"], content_kind=rec["content_kind"], digest=digest,
            file_name=rec.get("file_name"), file_size=rec.get("file_size"),
            user_hash=_hexbytes(rec.get("user_hash"), 16),
            ed2k_client_id=rec.get("ed2k_client_id"), guid=_hexbytes(rec.get("guid"), 16),
            peer_id=_hexbytes(rec.get("peer_id"), 20), client=rec.get("client"),
            nickname=rec.get("nickname"), sensor=rec["sensor"], evidence=rec["evidence"])))
    return out


def read_tool_a(path: Path) -> Read:
    """Tool A CSV; the sensor is the file's stem."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "tool A files start with a byte-order mark"
    body = raw.decode("utf-8-sig")
    out = Read(truncated=not body.endswith("\r\n"))
    rows = list(csv.reader(io.StringIO(body, newline=""), delimiter=";"))
    assert rows[0] == TOOL_A_COLUMNS
    for no, cells in enumerate(rows[1:], 2):
        if out.truncated and no == len(rows):
            out.rejects.append((no, "truncated"))
            continue
        if len(cells) != len(TOOL_A_COLUMNS):
            out.rejects.append((no, "broken"))
            continue
        c = dict(zip(TOOL_A_COLUMNS, cells, strict=True))
        try:
            if not all(c[k] for k in ("Date", "Time", "IP", "Network", "Hash", "HashType")):
                raise ValueError("missing field")
            moment = datetime.strptime(f"{c['Date']} {c['Time']}", "%d/%m/%Y %H:%M:%S")
            ip = c["IP"]
            ipaddress.ip_address(ip)
            network, kind = A_NETWORKS[c["Network"]], A_HASHES[c["HashType"]]
            evidence = A_EVIDENCE[c["Evidence"]]
        except (ValueError, KeyError) as exc:
            out.rejects.append((no, str(exc)))
            continue
        try:
            digest = _digest(kind, c["Hash"])
        except InvalidIdentifierError:
            out.rejects.append((no, "bad hash"))
            continue
        ident = _hexbytes(c["ClientGUID"], 16)
        out.records.append((no, _canonical(
            record_id=c["RecordNo"], observed_ms=_ms(moment.replace(tzinfo=UTC)),
            network=network, ip=ip, port=int(c["Port"]), content_kind=kind, digest=digest,
            file_name=c["FileName"] or None,
            file_size=int(c["FileSize"]) if c["FileSize"] else None,
            user_hash=ident if network in ("edonkey", "kad") else None,
            guid=ident if network == "gnutella" else None,
            ed2k_client_id=int(c["ClientID"]) if c["ClientID"] else None,
            peer_id=_hexbytes(c["PeerID"], 20), client=c["Client"] or None,
            nickname=c["Nick"] or None, sensor=path.stem, evidence=evidence)))
    return out


def _peer(value: Any) -> tuple[str, int]:
    if not isinstance(value, str):
        raise TypeError("peer is not text")
    host, _, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    ipaddress.ip_address(host)
    return host, int(port)


def read_tool_b(path: Path) -> Read:
    """Tool B JSON, result by result (one per line), so a truncated file still yields data."""
    body = path.read_bytes().decode("utf-8")
    out = Read(truncated=not body.endswith("\n]}\n"))
    if not out.truncated:
        assert isinstance(json.loads(body)["results"], list)  # a complete file is one document
    lines = body.split("\n")
    sensor = json.loads(lines[0] + "]}")["sensor"]
    results = lines[1:] if out.truncated else lines[1:-2]
    for no, line in enumerate(results, 2):
        if out.truncated and no == len(results) + 1:
            out.rejects.append((no, "truncated"))
            continue
        rec = json.loads(line.removesuffix(","))
        try:
            if not isinstance(rec["ts"], int | float) or isinstance(rec["ts"], bool):
                raise TypeError("ts is not a number")
            if not isinstance(rec["level"], int) or not 1 <= rec["level"] <= 4:
                raise TypeError("bad level")
            ip, port = _peer(rec["peer"])
            network = B_PROTOS[rec["proto"]]
            prefix = next(p for p in B_URNS if rec["urn"].startswith(p))
            kind = B_URNS[prefix]
            digest = _digest(kind, rec["urn"][len(prefix):])
        except (KeyError, TypeError, ValueError, StopIteration, InvalidIdentifierError) as exc:
            out.rejects.append((no, repr(exc)))
            continue
        uid = _hexbytes(rec.get("uid"), 16)
        out.records.append((no, _canonical(
            record_id=rec["id"], observed_ms=round(rec["ts"] * 1000), network=network, ip=ip,
            port=port, content_kind=kind, digest=digest, file_name=rec.get("name"),
            file_size=rec.get("size"), user_hash=uid if network in ("edonkey", "kad") else None,
            guid=uid if network == "gnutella" else None, ed2k_client_id=rec.get("cid"),
            peer_id=_hexbytes(rec.get("pid"), 20), client=rec.get("agent"),
            nickname=rec.get("nick"), sensor=sensor, evidence=EVIDENCE_LEVELS[rec["level"] - 1])))
    return out


def read_file(path: Path, validator: Any = None) -> Read:
    """Read a sighting file of any style, by its extension."""
    if path.suffix == ".jsonl":
        return read_v1(path, validator)
    if path.suffix == ".csv":
        return read_tool_a(path)
    return read_tool_b(path)


# --- a batch with every network and the awkward values -------------------------------------

NAMES = ['say "cheese".jpg', "back\\slash.avi", "a;b;c.zip", "Ünïcødé клип.mp4",
         "tab\there\x01.txt", "line\nbreak.mpg", "plain", "  spaced  .rar", "€uro 100%.doc"]


def sample_batch(n: int = 120, seed: int = 3) -> pa.Table:
    """``n`` records across the four networks, identifiers as each network carries them."""
    rng = np.random.default_rng(seed)
    network = np.array(["edonkey", "kad", "gnutella", "bittorrent"])[np.arange(n) % 4]
    kind = np.array([{"edonkey": "ed2k", "kad": "ed2k", "gnutella": "sha1",
                      "bittorrent": "btih"}[x] for x in network])
    size = np.where(kind == "ed2k", 16, 20)
    ed2k, gnut, bt = np.isin(network, ["edonkey", "kad"]), network == "gnutella", \
        network == "bittorrent"

    def maybe(values: list[Any], keep: Any, typ: pa.DataType) -> pa.Array:
        return pa.array([v if k else None for v, k in zip(values, keep, strict=True)], typ)

    ips = [f"198.51.100.{i % 250}" if i % 7 else f"2001:db8::{i:x}" for i in range(n)]
    return pa.table({
        "record_id": [f"r-{i:05d}" for i in range(n)],
        "observed_at": pa.array(1_711_929_600_000 + rng.integers(0, 10**10, n),
                                pa.timestamp("ms", tz="UTC")),
        "network": network, "ip": ips, "port": rng.integers(0, 65536, n).astype(np.int32),
        "content_kind": kind,
        "content_digest": pa.array([rng.bytes(int(s)) for s in size], pa.binary()),
        "file_name": maybe([NAMES[i % len(NAMES)] for i in range(n)],
                           np.arange(n) % 11 != 0, pa.string()),
        "file_size": maybe(rng.integers(0, 2**40, n).tolist(), np.arange(n) % 13 != 0,
                           pa.int64()),
        "user_hash": maybe([rng.bytes(16) for _ in range(n)], ed2k, pa.binary(16)),
        "ed2k_client_id": maybe(rng.integers(0, 2**32, n).tolist(), ed2k & (np.arange(n) % 3
                                                                             > 0), pa.int64()),
        "guid": maybe([rng.bytes(16) for _ in range(n)], gnut, pa.binary(16)),
        "peer_id": maybe([b"-qB4520-" + rng.bytes(12) for _ in range(n)], bt, pa.binary(20)),
        "client": maybe(["eMule 0.50a", 'odd "client"; v1'] * (n // 2), np.arange(n) % 5 != 0,
                        pa.string()),
        "nickname": maybe(["nick;name", "Ålice"] * (n // 2), ed2k & (np.arange(n) % 2 == 0),
                          pa.string()),
        "sensor": ["s-1"] * n,
        "evidence": [EVIDENCE_LEVELS[i % 4] for i in range(n)],
    }, schema=SIGHTING_BATCH)


def batch_records(batch: pa.Table) -> list[dict[str, Any]]:
    """The canonical records a faithful reader must recover from ``batch``."""
    rows = batch.to_pylist()
    for row in rows:
        row["observed_ms"] = _ms(row.pop("observed_at"))
        row["digest"] = row.pop("content_digest")
    return [_canonical(**row) for row in rows]


def write(tmp_path: Path, style_name: str, batch: pa.Table, *, cut: bool = False,
          stem: str = "s-1") -> Path:
    style = make_style(style_name)
    path = tmp_path / f"{stem}.{style.EXTENSION}"
    sink = SightingFile(path, style, stem)
    sink.write(style.lines(batch.slice(0, len(batch) // 2)))
    sink.write(style.lines(batch.slice(len(batch) // 2)))
    sink.close(cut=(lambda line: line[: len(line) // 2]) if cut else None)
    return path


# --- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["v1", "tool-a", "tool-b"])
def test_every_style_round_trips_the_batch(tmp_path: Path, style: str) -> None:
    batch = sample_batch()
    read = read_file(write(tmp_path, style, batch))
    assert not read.rejects and not read.truncated
    got = [rec for _, rec in read.records]
    want = batch_records(batch)
    if style == "tool-a":  # the tool writes whole seconds
        for rec in want:
            rec["observed_ms"] -= rec["observed_ms"] % 1000
    assert got == want


def test_v1_lines_are_what_json_dumps_writes_and_validate(tmp_path: Path) -> None:
    batch = sample_batch()
    validator = _validator()
    for line in make_style("v1").lines(batch).to_pylist():
        record = json.loads(line)
        assert json.dumps(record, ensure_ascii=False) == line
        assert not list(validator.iter_errors(record))
        assert None not in record.values()  # absent identifiers are left out, not null


def test_v1_sha1_in_hex_when_asked() -> None:
    batch = sample_batch(8)
    base32 = [json.loads(x)["content_id"] for x in make_style("v1").lines(batch).to_pylist()]
    hexa = [json.loads(x)["content_id"]
            for x in make_style("v1", sha1_base32=False).lines(batch).to_pylist()]
    digests = batch.column("content_digest").to_pylist()
    for i, kind in enumerate(batch.column("content_kind").to_pylist()):
        assert hexa[i] == digests[i].hex()
        if kind == "sha1":
            assert len(base32[i]) == 32 and _digest("sha1", base32[i]) == digests[i]


def test_styles_carry_the_same_information(tmp_path: Path) -> None:
    batch = sample_batch(200, seed=9)
    reads = {s: read_file(write(tmp_path, s, batch)) for s in ("v1", "tool-a", "tool-b")}
    for style, read in reads.items():
        for (_, a), (_, b) in zip(reads["v1"].records, read.records, strict=True):
            for key in FIELDS:
                if key == "observed_ms" and style == "tool-a":
                    assert b[key] == a[key] - a[key] % 1000
                else:
                    assert a[key] == b[key], (style, key)


def test_files_are_framed_as_documented(tmp_path: Path) -> None:
    batch = sample_batch(10)
    csv_bytes = write(tmp_path, "tool-a", batch).read_bytes()
    assert csv_bytes.startswith(("\ufeff" + ";".join(TOOL_A_COLUMNS) + "\r\n").encode())
    assert csv_bytes.endswith(b"\r\n") and csv_bytes.count(b"\r\n") >= 11
    doc = json.loads(write(tmp_path, "tool-b", batch).read_text(encoding="utf-8"))
    assert doc["sensor"] == "s-1" and doc["generator"] and len(doc["results"]) == 10
    empty = tmp_path / "empty.json"
    SightingFile(empty, make_style("tool-b"), "e").close()
    assert json.loads(empty.read_text(encoding="utf-8"))["results"] == []


@pytest.mark.parametrize("style", ["v1", "tool-a", "tool-b"])
def test_truncated_files_end_mid_record(tmp_path: Path, style: str) -> None:
    batch = sample_batch(20)
    path = write(tmp_path, style, batch, cut=True)
    read = read_file(path)
    assert read.truncated and read.rejects == [(read.rejects[0][0], "truncated")]
    assert len(read.records) == 19
    tail = path.read_bytes()
    assert not tail.endswith(b"\n") and not tail.endswith(b"]}\n")


@pytest.mark.parametrize("style", ["v1", "tool-a", "tool-b"])
@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_every_malformation_is_rejected(tmp_path: Path, style: str, kind: str) -> None:
    batch = sample_batch(40)
    writer = make_style(style)
    rng = np.random.default_rng(11)
    lines = writer.lines(batch).to_pylist()
    spoilt = pa.array([writer.corrupt(line, kind, rng) for line in lines], pa.string())
    path = tmp_path / f"bad.{writer.EXTENSION}"
    sink = SightingFile(path, writer, "bad")
    sink.write(spoilt)
    sink.close()
    read = read_file(path)
    assert not read.records, read.records[:1]
    assert len(read.rejects) == 40


def test_noise_plan_rates_and_invariants() -> None:
    cfg = NoiseConfig(duplicate_rate=0.02, malformed_rate=0.01, out_of_order_rate=0.002)
    n = 100_000
    plan = noise.plan(n, cfg, np.random.default_rng(5))
    counts = np.bincount(plan.records, minlength=n)
    assert counts.min() == 1 and counts.max() == 2  # every record present, copies at most 2
    assert plan.duplicates == int(np.sum(counts == 2)) == len(plan.records) - n

    def near(value: float, rate: float, total: int) -> bool:
        return bool(abs(value - rate * total) < 5 * np.sqrt(rate * total) + 1)

    assert near(plan.duplicates, 0.02, n)
    malformed = np.flatnonzero(plan.malformed >= 0)
    assert near(len(malformed), 0.01, n)
    assert np.all(counts[plan.records[malformed]] == 1)  # a malformed record is never copied
    assert near(plan.runs, 0.002, len(plan.records))
    descents = int(np.sum(np.diff(plan.records) < 0))
    assert 0 < descents <= plan.runs + plan.duplicates
    again = noise.plan(n, cfg, np.random.default_rng(5))
    assert np.array_equal(again.records, plan.records)
    assert np.array_equal(again.malformed, plan.malformed)
    quiet = noise.plan(1000, NoiseConfig(0.0, 0, 0.0, (3, 40), 0.0), np.random.default_rng(1))
    assert np.array_equal(quiet.records, np.arange(1000)) and np.all(quiet.malformed == -1)


def test_cut_and_bad_values() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        line = "x" * int(rng.integers(2, 50))
        cut = noise.cut(line, rng)
        assert 1 <= len(cut) < len(line) and line.startswith(cut)
        with pytest.raises(ValueError):
            ipaddress.ip_address(noise.bad_ip(rng))
        for kind, value in (("ed2k", "ab" * 16), ("sha1", "A" * 32), ("btih", "cd" * 20)):
            with pytest.raises(InvalidIdentifierError):
                parse_digest(kind, noise.bad_hash(value, rng))


def test_text_helpers_match_the_standard_library() -> None:
    rng = np.random.default_rng(4)
    ms = rng.integers(0, 4_102_444_800_000, 5000)
    want = np.datetime_as_string(ms.astype("datetime64[ms]"))
    assert text.iso_ms(ms).to_pylist() == [w + "Z" for w in want]
    assert text.date_dmy(ms[:50]).to_pylist() == [
        datetime.fromtimestamp(m / 1000, UTC).strftime("%d/%m/%Y") for m in ms[:50]]
    assert text.epoch_seconds_ms(ms[:50]).to_pylist() == [f"{m // 1000}.{m % 1000:03d}"
                                                          for m in ms[:50]]
    blobs = [rng.bytes(20) for _ in range(300)]
    arr = pa.array([*blobs, None], pa.binary(20))
    assert text.hex_text(arr, 20).to_pylist() == [b.hex() for b in blobs] + [None]
    assert text.hex_text(arr, 20, upper=True).to_pylist()[0] == blobs[0].hex().upper()
    assert text.base32_text(arr, 20).to_pylist() == [
        base64.b32encode(b).decode() for b in blobs] + [None]
    words = ["".join(rng.choice(list(string.printable + "ü;\"\\\x00\x1f"), 12)) for _ in
             range(500)] + [None]
    arr_s = pa.array(words, pa.string())
    assert text.json_string(arr_s).to_pylist() == [
        json.dumps(w, ensure_ascii=False) if w is not None else None for w in words]
    cells = text.csv_field(arr_s, ";").to_pylist()
    for word, cell in zip(words[:-1], cells[:-1], strict=True):
        assert next(csv.reader(io.StringIO(cell, newline=""), delimiter=";")) == [word] or (
            word == "" and cell == "")


def test_bad_batches_are_refused() -> None:
    batch = sample_batch(4)
    with pytest.raises(UsageError):
        make_style("tool-c")
    bad = batch.set_column(batch.schema.get_field_index("content_kind"), "content_kind",
                           pa.array(["tth"] * 4))
    with pytest.raises(UsageError):
        make_style("v1").lines(bad)
    wrong = batch.set_column(batch.schema.get_field_index("evidence"), "evidence",
                             pa.array(["rumour"] * 4))
    with pytest.raises(UsageError):
        make_style("tool-a").lines(wrong)
    with pytest.raises(UsageError):
        make_style("v1").corrupt("{}", "sideways", np.random.default_rng(0))
