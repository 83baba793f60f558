"""A columnar fast path for v1 JSON lines: pyarrow parses a chunk, vectorised checks vet it.

The fast path only ever *accepts*: a chunk pyarrow cannot parse strictly (any JSON error, a
value of another type, an unknown or repeated field, a line holding two objects), and any row a
check does not clear, goes through the per-line validator (``slow``), so every reject keeps
its exact reason and line. A row the fast path accepts is built by the same functions
(:func:`digest_bytes`, :func:`canonical_ip`) from the same values the per-line path would see.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from icarus.core.errors import InvalidIdentifierError
from icarus.sensors.formats.base import (
    CONTENT_KINDS,
    EVIDENCE,
    NETWORKS,
    STR_LIMITS,
    SightingRecord,
    canonical_ip,
    digest_bytes,
)

CHUNK_LINES = 8192
"""Lines parsed per pyarrow call. A chunk that fails is halved until the halves parse or are
at most 16 lines (those go the slow way): a bad line costs a few re-parses, not a slow chunk."""
_SUSPECT = re.compile(rb"[\x00-\x09\x0b-\x1f]")
_INT = ("v", "port", "file_size", "ed2k_client_id")
_SCHEMA = pa.schema([(name, pa.int64() if name in _INT else pa.string()) for name in (
    "v", "record_id", "observed_at", "network", "ip", "port", "content_kind", "content_id",
    "file_name", "file_size", "user_hash", "ed2k_client_id", "guid", "peer_id", "client",
    "nickname", "sensor", "evidence")])
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="error")
_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RECORD_ORDER = [n for n in SightingRecord.__slots__ if n != "observed_at"]
_HEX_IDS = {"user_hash": 32, "guid": 32, "peer_id": 40}
_TEXTS = ("record_id", "file_name", "client", "nickname")

# pyarrow.compute converts a Python operand on every call, trying (and failing) an import of
# dateutil each time; prebuilt scalars avoid that cost on every chunk.
_TRUE, _FALSE, _EMPTY = pa.scalar(True), pa.scalar(False), pa.scalar("")
_I0, _I1, _USEC = pa.scalar(0, pa.int64()), pa.scalar(1, pa.int64()), pa.scalar(10**6, pa.int64())
_PORT_MAX, _U32_MAX = pa.scalar(65535, pa.int64()), pa.scalar(2**32 - 1, pa.int64())
_Z32 = pa.scalar(0, pa.int32())
_LIMITS = {name: pa.scalar(limit, pa.int32()) for name, limit in STR_LIMITS.items()}
_EPOCH_TEXT, _YEAR0 = pa.scalar("1970-01-01T00:00:00Z"), pa.scalar("0000")

Slow = Callable[[int, bytes], SightingRecord | None]


def read_lines(numbered: list[tuple[int, bytes]],
               slow: Slow) -> Iterator[tuple[int, SightingRecord]]:
    """``(line, record)`` for the non-blank ``numbered`` lines, in order; rejects via ``slow``."""
    pending: list[tuple[int, bytes]] = []
    for no, raw in numbered:
        # A line pyarrow would refuse (a control character, a cut object) would fail its whole
        # chunk: it goes the slow way at once, in its place.
        if _SUSPECT.search(raw) is None and raw.rstrip().endswith(b"}"):
            pending.append((no, raw))
            if len(pending) < CHUNK_LINES:
                continue
        else:
            yield from _chunk(pending, slow)
            pending = []
            if (rec := slow(no, raw)) is not None:
                yield no, rec
            continue
        yield from _chunk(pending, slow)
        pending = []
    yield from _chunk(pending, slow)


def _chunk(chunk: list[tuple[int, bytes]], slow: Slow) -> Iterator[tuple[int, SightingRecord]]:
    if not chunk:
        return
    table = _parse(chunk)
    if table is not None:
        yield from _rows(chunk, table, slow)
    elif len(chunk) > 16:
        half = len(chunk) // 2
        yield from _chunk(chunk[:half], slow)
        yield from _chunk(chunk[half:], slow)
    else:
        for no, raw in chunk:
            if (rec := slow(no, raw)) is not None:
                yield no, rec


def _parse(chunk: list[tuple[int, bytes]]) -> pa.Table | None:
    data = b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for _, raw in chunk)
    try:
        data.decode("utf-8")  # json.loads would reject (or re-decode) other text: the slow way
        table: pa.Table = pj.read_json(io.BytesIO(data), parse_options=_PARSE,
                                       read_options=pj.ReadOptions(
                                           use_threads=False, block_size=len(data) + 1))
    except (pa.ArrowException, ValueError):
        return None
    return table if table.num_rows == len(chunk) else None


def _optional_ok(col: pa.ChunkedArray, check: pa.ChunkedArray) -> pa.ChunkedArray:
    """Absent (null or empty) or passing ``check``."""
    return pc.or_(pc.fill_null(pc.equal(col, _EMPTY), _TRUE), pc.fill_null(check, _FALSE))


def _mask(t: pa.Table) -> pa.ChunkedArray:
    """Rows whose every field certainly passes the per-line validator (null = no)."""
    c = t.column
    checks = [
        pc.equal(c("v"), _I1),
        pc.match_substring_regex(c("observed_at"), _TIME),
        pc.is_in(c("network"), pa.array(sorted(NETWORKS))),
        pc.is_in(c("content_kind"), pa.array(sorted(CONTENT_KINDS))),
        pc.is_in(c("evidence"), pa.array(list(EVIDENCE))),
        pc.and_(pc.greater_equal(c("port"), _I0), pc.less_equal(c("port"), _PORT_MAX)),
        pc.is_valid(c("ip")), pc.is_valid(c("content_id")),
        pc.and_(pc.greater(pc.utf8_length(c("sensor")), _Z32),
                pc.less_equal(pc.utf8_length(c("sensor")), _LIMITS["sensor"])),
        pc.or_kleene(pc.is_null(c("file_size")), pc.greater_equal(c("file_size"), _I0)),
        pc.or_kleene(pc.is_null(c("ed2k_client_id")),
               pc.and_(pc.greater_equal(c("ed2k_client_id"), _I0),
                       pc.less_equal(c("ed2k_client_id"), _U32_MAX))),
        *(_optional_ok(c(n), pc.match_substring_regex(c(n), f"^[0-9a-f]{{{d}}}$"))
          for n, d in _HEX_IDS.items()),
        *(_optional_ok(c(n), pc.less_equal(pc.utf8_length(c(n)), _LIMITS[n]))
          for n in _TEXTS),
    ]
    ok = pc.fill_null(checks[0], _FALSE)
    for check in checks[1:]:
        ok = pc.and_(ok, pc.fill_null(check, _FALSE))
    return ok


def _micros(col: pa.ChunkedArray, ok: pa.ChunkedArray) -> tuple[list[bool], list[int]]:
    """Which ``observed_at`` are real instants (as ``fromisoformat`` has them), and their µs."""
    text = pc.if_else(ok, col, _EPOCH_TEXT)
    base = pc.utf8_slice_codeunits(text, 0, 19)
    secs = pc.strptime(base, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    # A round trip rejects what strptime might roll over (Feb 30, 24:00, :60); year 0 is no date.
    real = pc.and_(pc.fill_null(pc.equal(pc.strftime(secs, format="%Y-%m-%dT%H:%M:%S"), base),
                                _FALSE),
                   pc.not_equal(pc.utf8_slice_codeunits(text, 0, 4), _YEAR0))
    frac = pc.utf8_rpad(pc.utf8_slice_codeunits(text, 20, -1), width=6, padding="0")
    micros = pc.add(pc.multiply(pc.cast(secs, pa.int64()).fill_null(_I0), _USEC),
                    pc.cast(frac, pa.int64()))
    return pc.and_(ok, real).to_pylist(), micros.to_pylist()


def _rows(chunk: list[tuple[int, bytes]], t: pa.Table,
          slow: Slow) -> Iterator[tuple[int, SightingRecord]]:
    ok, micros = _micros(t.column("observed_at"), _mask(t))
    cols = [t.column(name).to_pylist() for name in _RECORD_ORDER]
    for (no, raw), good, us, net, ip, port, kind, cid, sensor, evidence, rid, name, size, \
            uhash, ecid, guid, pid, client, nick in zip(chunk, ok, micros, *cols, strict=True):
        rec = None
        if good:
            try:
                rec = SightingRecord(
                    _EPOCH + timedelta(microseconds=us), net, canonical_ip(ip), port, kind,
                    digest_bytes(kind, cid), sensor, evidence, rid or None, name or None, size,
                    _hex(uhash), ecid, _hex(guid), _hex(pid), client or None, nick or None)
            except (ValueError, InvalidIdentifierError):
                rec = None
        if rec is None:
            rec = slow(no, raw)
        if rec is not None:
            yield no, rec


def _hex(value: str | None) -> bytes | None:
    return bytes.fromhex(value) if value else None
