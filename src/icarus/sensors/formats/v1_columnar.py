"""The columnar path of v1 JSON lines: pyarrow parses a block, vectorised checks vet it.

The file is read in blocks of whole lines. Line ends, blank lines and control characters are
found with numpy over the block's bytes; every line that ends in ``}`` (optionally before a CR)
and holds no control character is parsed by pyarrow against a strict schema (a value of another
JSON type, an unknown or repeated field, a line of two objects all fail the parse), and the
parsed rows are vetted by vectorised checks that only ever *accept*. Every line they do not
clear, every other non-blank line, and every line of a part pyarrow refuses (a failing part is
halved until its halves parse or are 16 lines) goes through the per-line validator (``slow``),
so every reject keeps its exact reason and line. A row the fast path accepts is built by the
same functions (:func:`digest_bytes`, :func:`canonical_ip`) from the same values the per-line
path would see; IP addresses, digests and identifiers are converted once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from icarus.core.errors import InvalidIdentifierError
from icarus.sensors.formats import columns
from icarus.sensors.formats.base import (
    CONTENT_KINDS,
    EVIDENCE,
    NETWORKS,
    STR_LIMITS,
    SightingRecord,
    canonical_ip,
    digest_bytes,
)
from icarus.sensors.formats.columns import (
    BATCH,
    BLOCK,
    EMPTY,
    FALSE,
    HINTS,
    LOWER_HEX,
    PORT_MAX,
    RECORD,
    TRUE,
    U32_MAX,
    WHOLE,
    Batch,
    Event,
    Shard,
    canonical_ips,
    chunks,
    civil_seconds,
    concat,
    content_digests,
    error_row,
    event_batches,
    has_control,
    hex_bytes,
    in_memory,
    line_ends,
    lone_cr,
    mask_array,
    merge,
    none_if_empty,
    one_block,
    only_lines,
    shard_blocks,
    string_lengths,
    text_matrix,
)

BLOCK_BYTES = 4 << 20
"""Bytes read (and parsed by pyarrow) at a time: bounds the memory of a batch."""
PARSE_LINES = 4096
"""Lines parsed per pyarrow call: a part holding a line pyarrow refuses is halved until the
halves parse or are :data:`MIN_SPLIT` lines."""
MIN_SPLIT = 16
"""A failing part of at most this many lines is read line by line."""
_INT = ("v", "port", "file_size", "ed2k_client_id")
_SCHEMA = pa.schema([(name, pa.int64() if name in _INT else pa.string()) for name in (
    "v", "record_id", "observed_at", "network", "ip", "port", "content_kind", "content_id",
    "file_name", "file_size", "user_hash", "ed2k_client_id", "guid", "peer_id", "client",
    "nickname", "sensor", "evidence")])
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="error")
_HEX_IDS = {"user_hash": 32, "guid": 32, "peer_id": 40}
_TEXTS = ("record_id", "file_name", "client", "nickname")
_AS_PARSED = ("network", "port", "content_kind", "sensor", "evidence", "file_size",
              "ed2k_client_id", *_TEXTS)
"""The parsed columns a batch takes as they are."""

# pyarrow.compute converts a Python operand on every call, trying (and failing) an import of
# dateutil each time; prebuilt scalars avoid that cost on every block.
_I0, _I1 = pa.scalar(0, pa.int64()), pa.scalar(1, pa.int64())
_Z32 = pa.scalar(0, pa.int32())
_NETWORKS, _KINDS, _EVIDENCE = (pa.array(values, pa.string()) for values in (
    sorted(NETWORKS), sorted(CONTENT_KINDS), list(EVIDENCE)))
_LIMITS = {name: pa.scalar(limit, pa.int32()) for name, limit in STR_LIMITS.items()}

Slow = Callable[[int, bytes], SightingRecord | None]


def read_batches(fh: BinaryIO, slow: Slow) -> Iterator[Batch]:
    """The file's valid records in batches (one per block), in line order; rejects via
    ``slow``."""
    return event_batches(read_events(fh, slow))


def read_events(fh: BinaryIO, slow: Slow, shard: Shard = WHOLE) -> Iterator[Event]:
    """:func:`read_batches` of the blocks of ``shard`` only, as events (a v1 block never
    needs the blocks before it: there is no :data:`REST`)."""
    for block, base, _ in shard_blocks(fh, BLOCK_BYTES, shard):
        batch, _ = _batch(block, base, slow)
        if batch is not None:
            yield BATCH, batch
        yield BLOCK, None


def _batch(block: bytes, base: int, slow: Slow) -> tuple[Batch | None, int]:
    """The block's valid records, and the number of lines it holds."""
    a, ends = line_ends(block)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    # The last byte of each line before its newline and one optional CR must be "}".
    last = ends - 1
    cr = (last >= starts) & (a[np.maximum(last, 0)] == 13)
    last = np.where(cr, last - 1, last)
    good = (last >= starts) & (a[np.maximum(last, 0)] == 125)
    if has_control(block, a, ends) or lone_cr(block, a, ends):
        bad = (a < 32) & (a != 10)
        crlf = np.flatnonzero(a[:-1] == 13)
        bad[crlf[a[crlf + 1] == 10]] = False
        count = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
        good &= count[ends] == count[starts]
    stops = np.minimum(ends + 1, len(block))
    # Lines for the per-line validator, run at the end in line order (so are the rejects).
    pending: list[int] = np.flatnonzero(~good).tolist()
    idx = np.flatnonzero(good)
    # All at once on every core; where that fails, a part at a time: a bad line costs
    # re-parses of its part only (see MIN_SPLIT).
    fast = _whole(block, idx, starts, ends, base, pending.append)
    if fast is _REFUSED:
        fast = concat(_parts(block, part, starts, stops, base, pending.append)
                      for part in chunks(idx, PARSE_LINES))
    slow_items: list[tuple[int, SightingRecord]] = []
    for i in sorted(pending):
        raw = block[starts[i]:stops[i]]
        if raw.strip() and (rec := slow(base + i + 1, raw)) is not None:
            slow_items.append((base + i + 1, rec))
    return merge(fast, slow_items), len(ends)


_REFUSED = Batch(np.zeros(0, dtype=np.int64), pa.table({}))
"""What :func:`_whole` gives when pyarrow refuses the lines."""


def _whole(block: bytes, idx: np.ndarray, starts: np.ndarray, ends: np.ndarray, base: int,
           one: Callable[[int], None]) -> Batch | None:
    """The lines ``idx`` (line ``i`` is ``starts[i]:ends[i]``) parsed in one call, by
    pyarrow's threads (a part per core), and vetted; :data:`_REFUSED` if pyarrow refuses any
    of them (its error names no usable row then: the parts are parsed again one by one)."""
    if not len(idx):
        return None
    data = only_lines(block, idx, starts, ends, b" ")  # pyarrow skips blank lines
    if not _utf8(data):
        return _REFUSED
    if not data.endswith(b"\n"):
        data += b"\n"
    try:
        pieces = columns.THREADS
        table: pa.Table = pj.read_json(in_memory(data), parse_options=_PARSE,
                                       read_options=pj.ReadOptions(
                                           use_threads=pieces > 1,
                                           block_size=max(1 << 16, len(data) // pieces + 1)))
    except (pa.ArrowException, ValueError):
        return _REFUSED
    if table.num_rows != len(idx):
        return _REFUSED
    return _rows(table, idx + base + 1, lambda k: one(int(idx[k])))


def _utf8(data: bytes | bytearray) -> bool:
    """Whether ``data`` is UTF-8 text (json.loads would reject, or decode otherwise, any
    other: such lines go the per-line way)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except ValueError:
        return False
    return True


def _lines(block: bytes, idx: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> bytes:
    """The bytes of the lines ``idx`` (ascending) of ``block``, one after the other."""
    if len(idx) == len(starts):
        return block
    first, last = int(idx[0]), int(idx[-1]) + 1  # only the span of these lines
    lines = np.zeros(last - first, dtype=bool)
    lines[idx - first] = True
    lo, hi = starts[first], stops[last - 1]
    return np.frombuffer(block, dtype=np.uint8)[lo:hi][  # type: ignore[no-any-return]
        np.repeat(lines, stops[first:last] - starts[first:last])].tobytes()


def _parts(block: bytes, idx: np.ndarray, starts: np.ndarray, stops: np.ndarray, base: int,
           one: Callable[[int], None], hints: list[int] | None = None) -> Batch | None:
    """The parsed and vetted rows of the lines ``idx``; lines that fail go through ``one``.

    A part pyarrow refuses is split around the row its error names (that line goes through
    ``one``), at most :data:`HINTS` times per part, else halved."""
    if not len(idx):
        return None
    hints = [HINTS] if hints is None else hints
    table = _parse(_lines(block, idx, starts, stops))
    if isinstance(table, pa.Table) and table.num_rows == len(idx):
        return _rows(table, idx + base + 1, lambda k: one(int(idx[k])))
    if isinstance(table, int) and 0 <= table < len(idx) and hints[0] > 0:
        hints[0] -= 1
        one(int(idx[table]))
        return concat([_parts(block, idx[:table], starts, stops, base, one, hints),
                       _parts(block, idx[table + 1:], starts, stops, base, one, hints)])
    if len(idx) <= MIN_SPLIT:
        for i in idx.tolist():
            one(i)
        return None
    half = len(idx) // 2
    return concat([_parts(block, idx[:half], starts, stops, base, one, hints),
                   _parts(block, idx[half:], starts, stops, base, one, hints)])


def _parse(data: bytes) -> pa.Table | int | None:
    """The lines parsed; else the row pyarrow's error names (:func:`error_row`), or None."""
    if not data.endswith(b"\n"):
        data += b"\n"
    if not _utf8(data):
        return None
    try:
        table: pa.Table = pj.read_json(in_memory(data), parse_options=_PARSE,
                                       read_options=one_block(len(data)))
    except (pa.ArrowException, ValueError) as exc:
        return error_row(exc)
    return table


def _optional_ok(col: pa.ChunkedArray, check: pa.ChunkedArray) -> pa.ChunkedArray:
    """Absent (null or empty) or passing ``check``."""
    return pc.or_(pc.fill_null(pc.equal(col, EMPTY), TRUE), pc.fill_null(check, FALSE))


def _mask(t: pa.Table) -> pa.ChunkedArray:
    """Rows whose every field certainly passes the per-line validator (null = no). Length
    limits are checked in bytes, which are never fewer than characters: a longer text in
    fewer characters is left to the per-line validator."""
    c = t.column
    checks = [
        pc.equal(c("v"), _I1),
        pc.is_in(c("network"), _NETWORKS),
        pc.is_in(c("content_kind"), _KINDS),
        pc.is_in(c("evidence"), _EVIDENCE),
        pc.and_(pc.greater_equal(c("port"), _I0), pc.less_equal(c("port"), PORT_MAX)),
        pc.is_valid(c("ip")), pc.is_valid(c("content_id")),
        pc.and_(pc.greater(pc.binary_length(c("sensor")), _Z32),
                pc.less_equal(pc.binary_length(c("sensor")), _LIMITS["sensor"])),
        pc.or_kleene(pc.is_null(c("file_size")), pc.greater_equal(c("file_size"), _I0)),
        pc.or_kleene(pc.is_null(c("ed2k_client_id")),
               pc.and_(pc.greater_equal(c("ed2k_client_id"), _I0),
                       pc.less_equal(c("ed2k_client_id"), U32_MAX))),
        *(_optional_ok(c(n), pc.less_equal(pc.binary_length(c(n)), _LIMITS[n]))
          for n in _TEXTS),
    ]
    ok = pc.fill_null(checks[0], FALSE)
    for check in checks[1:]:
        ok = pc.and_(ok, pc.fill_null(check, FALSE))
    return ok


def _micros(col: pa.ChunkedArray, ok: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are ``ok`` with an ``observed_at`` of the form
    ``YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`` naming a real instant (as ``fromisoformat`` has them),
    and its µs.

    The shape is checked on the characters in columns (no regular expression per row): each
    string's first 27 bytes side by side, digits and separators at their places, the
    fraction's digits up to the final ``Z``; the fields are then read off the digits and
    checked as :mod:`datetime` checks them (no Feb 30, 24:00 or :60)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    length = string_lengths(col)
    chars = text_matrix(col, _TIME_WIDTH)
    digits = chars - np.uint8(48)  # a byte that is not a digit wraps above 9
    shaped = (mask_array(ok) & mask_array(pc.is_valid(col))
              & ((length == 20) | ((length >= 22) & (length <= 27)))
              & (digits[:, _TIME_DIGITS] <= 9).all(axis=1)
              & (chars[:, _TIME_MARKS] == _TIME_MARK_BYTES).all(axis=1))
    last = np.clip(length - 1, 0, _TIME_WIDTH - 1)
    shaped &= chars[np.arange(n), last] == 90  # "Z"
    shaped &= (length == 20) | (chars[:, 19] == 46)  # "." before a fraction
    # The fraction: the digits between "." (at 19) and the final "Z", padded to six.
    frac = np.zeros(n, dtype=np.int64)
    for k in range(20, 26):
        inside = k < length - 1
        digit = digits[:, k]
        shaped &= ~inside | (digit <= 9)
        frac = frac * 10 + np.where(inside, digit, 0)

    def number(first: int, stop: int) -> np.ndarray:
        out = digits[:, first].astype(np.int64)
        for k in range(first + 1, stop):
            out = out * 10 + digits[:, k]
        return out

    real, secs = civil_seconds(number(0, 4), number(5, 7), number(8, 10), number(11, 13),
                               number(14, 16), number(17, 19))
    return shaped & real, secs * 10**6 + frac


_TIME_WIDTH = 27
"""The longest ``observed_at`` the fast path takes: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
_TIME_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_TIME_MARKS = [4, 7, 10, 13, 16]
_TIME_MARK_BYTES = np.frombuffer(b"--T::", dtype=np.uint8)


def canonical_or_none(value: str) -> str | None:
    """:func:`canonical_ip`, or None where it fails."""
    try:
        return canonical_ip(value)
    except ValueError:
        return None


def digest_or_none(key: str) -> bytes | None:
    """``kind<US>text`` as :func:`digest_bytes` gives it, or None where that fails."""
    kind, _, text = key.partition("\x1f")
    if kind not in CONTENT_KINDS:
        return None
    try:
        return digest_bytes(kind, text)
    except (InvalidIdentifierError, ValueError):
        return None


def _rows(t: pa.Table, lines: np.ndarray, one: Callable[[int], None]) -> Batch | None:
    """The rows of ``t`` that pass every check as a batch; the others go through ``one``."""
    ok, micros = _micros(t.column("observed_at"), _mask(t))
    ip = canonical_ips(t.column("ip"), canonical_or_none)
    cid = content_digests(t.column("content_kind"), t.column("content_id"), digest_or_none)
    good = ok & mask_array(pc.and_(pc.is_valid(ip), pc.is_valid(cid)))
    # Hex identifiers: absent (null or empty), or exactly their lowercase digits (checked
    # and decoded in one pass over the distinct values).
    hexes = {n: hex_bytes(t.column(n), size // 2, LOWER_HEX) for n, size in _HEX_IDS.items()}
    for n, raw in hexes.items():
        good &= (string_lengths(t.column(n)) == 0) | mask_array(pc.is_valid(raw))
    for k in np.flatnonzero(~good).tolist():
        one(k)
    if not good.any():
        return None
    every = bool(good.all())
    keep = pa.array(good)
    # A filter copies: only when a row fails, and only the columns taken as they are.
    f = t if every else t.select(_AS_PARSED).filter(keep)
    columns = {
        "observed_at": pa.array(micros[good], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "network": f.column("network"), "ip": ip if every else ip.filter(keep),
        "port": pc.cast(f.column("port"), pa.int32()),
        "content_kind": f.column("content_kind"), "content_id": cid if every else cid.filter(keep),
        "sensor": f.column("sensor"), "evidence": f.column("evidence"),
        "file_size": f.column("file_size"), "ed2k_client_id": f.column("ed2k_client_id"),
        **{n: none_if_empty(f.column(n)) for n in _TEXTS},
        **{n: raw if every else raw.filter(keep) for n, raw in hexes.items()},
    }
    table = pa.Table.from_arrays([columns[field.name] for field in RECORD], schema=RECORD)
    return Batch(lines[good], table)
