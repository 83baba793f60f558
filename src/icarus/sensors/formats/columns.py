"""Sightings in columns: the batches that columnar readers hand to the ingest.

A :class:`Batch` is a run of valid records of one file, in file order: their 1-based lines and
a table of the v1 fields typed as in the dataset (:data:`RECORD`: UTC timestamps, canonical IP
text, raw digest bytes). Readers with a columnar path (``read_batches``) build batches straight
from Arrow arrays; any other reader's records are gathered into batches by
:func:`batches_of_records`. Both give the same values for the same record.
"""

from __future__ import annotations

import io
import mmap
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from icarus.sensors.formats.base import CONTENT_KINDS, SightingRecord
from icarus.sensors.schema import SIGHTINGS

FIELDS: tuple[str, ...] = SightingRecord.__slots__
RECORD = pa.schema([SIGHTINGS.field(name) for name in FIELDS])
"""The v1 fields of a sighting, in :class:`SightingRecord` order, typed as in the dataset."""
THREADS = 2
"""pyarrow threads a reader's parse of a block may use (1 in the ingest's worker processes,
which already keep every core busy: a thread pool there only adds hand-offs)."""
BATCH_ROWS = 65_536
"""Records gathered per batch from a record-by-record reader."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# pyarrow converts an untyped Python value (an operand of pyarrow.compute, pa.scalar("x"),
# pa.array(["x"])) by trying, and failing, to import dateutil: ~0.4 ms each time. Prebuilt
# scalars and explicit types avoid that in the per-block code.
TRUE, FALSE, EMPTY, SEP = pa.scalar(True), pa.scalar(False), pa.scalar(""), pa.scalar("\x1f")
PORT_MAX, U32_MAX = pa.scalar(65535, pa.int64()), pa.scalar(2**32 - 1, pa.int64())
"""The largest port and the largest eDonkey client ID, as prebuilt scalars."""
_ZERO = pa.scalar(0, pa.int32())


def lit(value: Any, type_: pa.DataType | None = None) -> pa.Scalar:
    """A prebuilt Arrow scalar for a compute operand (see :data:`TRUE`)."""
    return pa.scalar(value, type_)


@dataclass(frozen=True, slots=True)
class Batch:
    """Valid records in file order: ``lines`` (int64, 1-based) and ``table`` (:data:`RECORD`)."""

    lines: np.ndarray
    table: pa.Table

    def __len__(self) -> int:
        return len(self.lines)


class Claims:
    """The blocks one reader of several side by side takes as it goes: each time it is ready
    for one, the next not yet taken by any (``take`` gives it: a counter the readers share).
    A reader that is held up takes fewer blocks, so the readers end a file together."""

    def __init__(self, take: Callable[[], int]) -> None:
        self._take = take
        self.block = -1
        """The block last taken (-1: none yet)."""

    def mine(self, block: int) -> bool:
        """Whether block ``block`` (asked for in increasing order) is this reader's: asked
        past the block it last took, it takes the next free one."""
        if self.block < block:
            self.block = self._take()
        return self.block == block


@dataclass(frozen=True, slots=True)
class Shard:
    """The blocks of a file that one of ``count`` readers working side by side reads: those
    numbered ``index`` modulo ``count`` (:func:`block_spans` numbers them from 0), or, with
    ``claims``, those it takes as it goes (see :class:`Claims`)."""

    index: int = 0
    count: int = 1
    claims: Claims | None = None

    def mine(self, block: int) -> bool:
        """Whether block number ``block`` is this reader's (asked in increasing order)."""
        if self.claims is not None:
            return self.claims.mine(block)
        return block % self.count == self.index


WHOLE = Shard()
"""Every block: one reader alone."""
BATCH, BLOCK, REST = "batch", "block", "rest"
"""What a sharded read yields (:data:`Event`): a batch of the current block; the end of one
of its blocks; or that it reads the rest of the file from here on, every block included (a
block it cannot read apart from the ones after it, e.g. one with a quoted CSV cell)."""
Event = tuple[str, "Batch | None"]


def event_batches(events: Iterable[Event]) -> Iterator[Batch]:
    """The batches of a read's events (a whole read, :data:`WHOLE`)."""
    for kind, batch in events:
        if kind == BATCH and batch is not None:
            yield batch


def line_count(block: bytes | mmap.mmap, lo: int = 0, hi: int | None = None) -> int:
    """The lines of a block of :func:`block_spans` (the last may lack its newline), or of
    the span ``lo:hi`` of a buffer (counted in place, without a copy)."""
    hi = len(block) if hi is None else hi
    if hi <= lo:
        return 0
    newlines = np.count_nonzero(np.frombuffer(block, dtype=np.uint8, count=hi - lo, offset=lo)
                                == 10)
    return int(newlines) + (0 if block[hi - 1] == 10 else 1)


_ERROR_ROW = re.compile(r" in row (\d+)$")
HINTS = 64
"""Error rows a part may be split at (see :func:`error_row`) before it is only halved."""


def error_row(exc: BaseException) -> int | None:
    """The row (0-based, in the data parsed) that pyarrow's JSON reader names in ``exc``.

    Only a hint: the row named is sent to the per-line validator, which is exact for any line,
    and the lines around it are parsed again; a wrong hint costs a parse, never a result.
    """
    m = _ERROR_ROW.search(str(exc))
    return int(m[1]) if m else None


def in_memory(data: bytes | bytearray) -> pa.BufferReader:
    """``data`` as a file for pyarrow's readers, without a copy (``io.BytesIO`` makes the
    reader copy the block out again: about a tenth of a JSON block's parse)."""
    return pa.BufferReader(pa.py_buffer(data))


def one_block(size: int) -> pj.ReadOptions:
    """Read options that parse ``size`` bytes as a single block (so that the rows an error
    names count from the start of the data)."""
    return pj.ReadOptions(use_threads=False, block_size=max(1 << 20, size + 1))


def sighting_ids(sha: str, lines: np.ndarray) -> pa.Array:
    """``sighting_id`` of each line of file ``sha``: AES-128 of the line number (a 16-byte
    big-endian block) under the first 16 bytes of the file's SHA-256 as the key.

    A block cipher is a bijection, so two lines of one file never share an id; across files
    the ids are unrelated pseudo-random values. All ids of a batch are one ECB call (no Python
    object per row, unlike a hash per line)."""
    blocks = np.zeros((len(lines), 2), dtype=">u8")
    blocks[:, 1] = lines
    # ECB here is a keyed permutation of distinct counters (as in CTR mode), not encryption
    # of data: nothing is hidden, only distinct, stable ids are made.
    cipher = Cipher(algorithms.AES(bytes.fromhex(sha)[:16]),
                    modes.ECB()).encryptor()  # noqa: S305 - see above
    raw = cipher.update(blocks.tobytes()) + cipher.finalize()
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(lines),
                                                [None, pa.py_buffer(raw)])


def records_table(records: list[SightingRecord]) -> pa.Table:
    """Records as a :data:`RECORD` table, column by column."""
    return pa.Table.from_arrays(
        [pa.array([getattr(r, f.name) for r in records], f.type) for f in RECORD],
        schema=RECORD)


def records_batch(items: list[tuple[int, SightingRecord]]) -> Batch:
    """``(line, record)`` pairs as a batch (in the order given)."""
    return Batch(np.array([line for line, _ in items], dtype=np.int64),
                 records_table([rec for _, rec in items]))


def batches_of_records(items: Iterable[tuple[int, SightingRecord]],
                       size: int = BATCH_ROWS) -> Iterator[Batch]:
    """A record reader's output gathered into batches of at most ``size`` records."""
    pending: list[tuple[int, SightingRecord]] = []
    for item in items:
        pending.append(item)
        if len(pending) >= size:
            yield records_batch(pending)
            pending = []
    if pending:
        yield records_batch(pending)


def batch_records(batch: Batch) -> Iterator[tuple[int, SightingRecord]]:
    """A batch back as ``(line, record)`` pairs (the record-by-record reading of a reader)."""
    t = batch.table
    micros = pc.cast(t.column("observed_at"), pa.int64()).to_pylist()
    cols = [t.column(name).to_pylist() for name in FIELDS[1:]]
    for line, us, *values in zip(batch.lines.tolist(), micros, *cols, strict=True):
        yield line, SightingRecord(_EPOCH + timedelta(microseconds=us), *values)


def merge(fast: Batch | None, slow: list[tuple[int, SightingRecord]]) -> Batch | None:
    """The rows of a fast batch and of slowly read records, in line order (None if none)."""
    parts = [b for b in (fast, records_batch(slow) if slow else None) if b is not None and len(b)]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    lines = np.concatenate([b.lines for b in parts])
    order = np.argsort(lines, kind="stable")
    table = pa.concat_tables([b.table for b in parts]).take(pa.array(order))
    return Batch(lines[order], table)


def concat(batches: Iterable[Batch | None]) -> Batch | None:
    """The non-empty ``batches`` one after the other (None if none)."""
    parts = [b for b in batches if b is not None and len(b)]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return Batch(np.concatenate([b.lines for b in parts]),
                 pa.concat_tables([b.table for b in parts]))


def chunks(idx: np.ndarray, size: int) -> list[np.ndarray]:
    """``idx`` cut into consecutive runs of at most ``size``."""
    return [idx[i:i + size] for i in range(0, len(idx), size)]


def map_distinct(col: pa.Array | pa.ChunkedArray, fn: Callable[[Any], Any],
                 type_: pa.DataType) -> pa.Array:
    """``fn`` applied once per distinct value of ``col`` (None stays None), spread to rows.

    ``fn`` returns None for a value it refuses. Sensors name the same peers and contents many
    times: converting each distinct value once is what makes Python conversions affordable.
    """
    return per_distinct(col, lambda values: pa.array(
        [None if v is None else fn(v) for v in values.to_pylist()], type_))


def none_if_empty(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Strings with ``""`` made null (an empty optional value counts as absent)."""
    return pc.if_else(pc.equal(col, EMPTY), pa.scalar(None, col.type), col)


def mask_array(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow mask (null = False) as a numpy array."""
    filled = pc.fill_null(mask, FALSE)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def fixed_digits(col: pa.Array | pa.ChunkedArray,
                 spans: list[tuple[int, int]]) -> list[np.ndarray]:
    """The decimal numbers at the character ``spans`` of each string of ``col`` (int64).

    Only meaningful for rows already known to hold ASCII digits there (a regular expression
    checked them); other rows give garbage that the caller masks out.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    _, offsets_buf, data_buf = col.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[col.offset:col.offset + n + 1] \
        if offsets_buf is not None else np.zeros(n + 1, dtype=np.int32)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None and \
        data_buf.size else np.zeros(1, dtype=np.uint8)
    starts = offsets[:-1].astype(np.int64)
    top = len(data) - 1
    out = []
    for first, stop in spans:
        value = np.zeros(n, dtype=np.int64)
        for k in range(first, stop):
            value = value * 10 + (data[np.minimum(starts + k, top)].astype(np.int64) - 48)
        out.append(value)
    return out


def string_lengths(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The byte length of each string of ``col`` (null = 0)."""
    return np.asarray(pc.fill_null(pc.binary_length(col), _ZERO).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def civil_seconds(year: np.ndarray, month: np.ndarray, day: np.ndarray, hour: np.ndarray,
                  minute: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which fields name a real instant as :mod:`datetime` has them (years 1-9999, no leap
    second, no 24:00), and its seconds since the epoch (proleptic Gregorian, UTC)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    real = ((year >= 1) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1)
            & (day <= month_days) & (hour >= 0) & (hour < 24) & (minute >= 0) & (minute < 60)
            & (second >= 0) & (second < 60))
    # Days from the civil date (H. Hinnant's algorithm), in integers.
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return real, days * 86400 + hour * 3600 + minute * 60 + second


_NIBBLE = np.zeros(256, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF", 10):
    _NIBBLE[_c] = _i
LOWER_HEX = np.full(256, 255, dtype=np.uint8)
"""Lowercase hex digit values, 255 for any other byte (a ``digits`` of :func:`hex_bytes`)."""
for _i, _c in enumerate(b"0123456789abcdef"):
    LOWER_HEX[_c] = _i
_NIBBLE_OK = np.full(256, 255, dtype=np.uint8)
"""Hex digit values, 255 for any other byte."""
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE_OK[_c] = _i
for _i, _c in enumerate(b"ABCDEF", 10):
    _NIBBLE_OK[_c] = _i


def per_distinct(col: pa.Array | pa.ChunkedArray,
                 fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``fn`` (an array to an array of the same length) applied to the distinct values of
    ``col`` only, its results spread to the rows (a null row gives null). Sensors name the
    same peers and contents many times: a block's identifiers are mostly repeats, and a
    hash table over them costs less than several numpy passes over every row's bytes."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    encoded = col if isinstance(col, pa.DictionaryArray) else col.dictionary_encode()
    out: pa.Array = fn(encoded.dictionary).take(encoded.indices)
    return out


def hex_bytes(col: pa.Array | pa.ChunkedArray, size: int,
              digits: np.ndarray | None = None) -> pa.Array:
    """Strings of ``2 * size`` hex digits as ``size`` raw bytes; any other string is null
    (once per distinct value).

    Without ``digits``, only for columns whose non-empty values a regular expression already
    proved to be hex of that length: the digits are decoded with a lookup table, not checked
    again. With ``digits`` (a table of 256 entries, 255 for a byte that is not a digit, such
    as :data:`LOWER_HEX`), a string with any other byte is null too.
    """
    return per_distinct(col, lambda values: _hex_bytes(values, size, digits))


def _hex_bytes(col: pa.Array, size: int, digits: np.ndarray | None) -> pa.Array:
    """:func:`hex_bytes` of every row."""
    n = len(col)
    present = string_lengths(col) == 2 * size
    if not present.any():
        return pa.nulls(n, pa.binary(size))
    _, offsets_buf, data_buf = col.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[col.offset:col.offset + n]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    index = np.minimum(offsets[:, None].astype(np.int64) + np.arange(2 * size), len(data) - 1)
    if digits is None:
        nibbles = _NIBBLE[data[index]]
    else:
        nibbles = digits[data[index]]
        present &= (nibbles != 255).all(axis=1)
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    full = pa.FixedSizeBinaryArray.from_buffers(pa.binary(size), n,
                                                [None, pa.py_buffer(raw.tobytes())])
    return pc.if_else(pa.array(present), full, pa.scalar(None, pa.binary(size)))


_B32 = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"):
    _B32[_c] = _i
    _B32[bytes([_c]).lower()[0]] = _i


@cache
def _plain_kinds() -> dict[str, tuple[int, bool]]:
    """Hash kinds whose parsing is the shared contract's alone (no kind-specific decoding or
    checks): their size, and whether they take 32-character base32 for 20 bytes."""
    from icarus.identify.kinds import KINDS
    from icarus.identify.kinds.base import HashKind

    out = {}
    for name in sorted(CONTENT_KINDS):
        kind = KINDS.get(name)
        cls = type(kind)
        if kind.SIZE is None or any(getattr(cls, m) is not getattr(HashKind, m)
                                    for m in ("parse", "_decode", "validate")):
            continue
        out[name] = (kind.SIZE, kind.SIZE == 20 and (kind.ACCEPTS_BASE32 or kind.TEXT == "base32"))
    return out


def text_matrix(col: pa.Array, width: int) -> np.ndarray:
    """The first ``width`` bytes of each string of ``col`` as an ``(n, width)`` array (only
    meaningful for rows at least that long)."""
    _, offsets_buf, data_buf = col.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[col.offset:col.offset + len(col)]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None and data_buf.size \
        else np.zeros(1, dtype=np.uint8)
    index = np.minimum(offsets[:, None].astype(np.int64) + np.arange(width), len(data) - 1)
    out: np.ndarray = data[index]
    return out


def content_digests(kinds: pa.Array | pa.ChunkedArray, texts: pa.Array | pa.ChunkedArray,
                    convert: Callable[[str], bytes | None]) -> pa.Array:
    """The raw digest of each (kind, text) row, or null where it is not valid.

    ``convert`` takes ``kind<US>text`` and gives what the per-record path gives (bytes, or
    None). The common spellings (exactly ``2 * size`` hex digits of either case; 32 base32
    characters for a 20-byte kind that takes base32) of kinds parsed by the shared contract
    alone are decoded in columns; every other value goes through ``convert``. Either way each
    distinct (kind, text) pair is converted once, so the result is the same as converting
    every row."""
    if isinstance(kinds, pa.ChunkedArray):
        kinds = kinds.combine_chunks()
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    k, t = (a if isinstance(a, pa.DictionaryArray) else a.dictionary_encode()
            for a in (kinds, texts))
    width = len(t.dictionary) + 1  # index len(dictionary): null
    pairs = (_filled_indices(k) * width + _filled_indices(t)).astype(np.int64)
    distinct = pa.array(pairs).dictionary_encode()
    codes = distinct.dictionary.to_numpy()
    out: pa.Array = _digests(_with_null(k.dictionary).take(pa.array(codes // width)),
                             _with_null(t.dictionary).take(pa.array(codes % width)),
                             convert).take(distinct.indices)
    return out


def _filled_indices(encoded: pa.DictionaryArray) -> np.ndarray:
    """A dictionary array's indices, null as ``len(dictionary)``."""
    return np.asarray(pc.fill_null(encoded.indices, pa.scalar(len(encoded.dictionary),
                                                                encoded.indices.type))
                      .to_numpy(zero_copy_only=False), dtype=np.int64)


def _with_null(values: pa.Array) -> pa.Array:
    """``values`` and a null after them."""
    return pa.concat_arrays([values, pa.nulls(1, values.type)])


def _digests(kinds: pa.Array, texts: pa.Array,
             convert: Callable[[str], bytes | None]) -> pa.Array:
    """:func:`content_digests` of every row."""
    plain = _plain_kinds()
    n = len(texts)
    length = string_lengths(texts)
    done = np.zeros(n, dtype=bool)
    decoded: list[pa.Array] = []
    for name in pc.unique(kinds).to_pylist():
        if name not in plain:
            continue
        size, base32 = plain[name]
        of_kind = mask_array(pc.equal(kinds, pa.scalar(name, pa.string())))
        for width, table, bits in ((2 * size, _NIBBLE_OK, 4), (32, _B32, 5)):
            if bits == 5 and not base32:
                continue
            rows = of_kind & (length == width) & ~done
            if not rows.any():
                continue
            sel = np.flatnonzero(rows)
            chars = text_matrix(texts.take(pa.array(sel)), width)
            values = table[chars]
            good = (values != 255).all(axis=1)
            sel, values = sel[good], values[good].astype(np.uint64)
            if bits == 4:
                raw = ((values[:, 0::2] << 4) | values[:, 1::2]).astype(np.uint8)
            else:  # 8 characters of 5 bits are 5 bytes
                groups = values.reshape(len(sel), 4, 8)
                word = np.zeros((len(sel), 4), dtype=np.uint64)
                for k in range(8):
                    word = (word << np.uint64(5)) | groups[:, :, k]
                shifts = np.arange(32, -1, -8, dtype=np.uint64)
                raw = ((word[:, :, None] >> shifts) & np.uint64(255)).astype(np.uint8)
            full = np.zeros((n, size), dtype=np.uint8)
            full[sel] = raw.reshape(len(sel), size)
            mask = np.zeros(n, dtype=bool)
            mask[sel] = True
            done |= mask
            fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(size), n,
                                                         [None, pa.py_buffer(full.tobytes())])
            decoded.append(pc.if_else(pa.array(mask), fixed.cast(pa.binary()),
                                      pa.scalar(None, pa.binary())))
    if decoded and done.all():
        return pc.coalesce(*decoded) if len(decoded) > 1 else decoded[0]
    rest = pa.array(~done)
    keys = pc.binary_join_element_wise(pc.if_else(rest, kinds, pa.scalar(None, pa.string())),
                                       texts, SEP)
    slow = map_distinct(keys, convert, pa.binary())
    return pc.coalesce(*decoded, slow) if decoded else slow


IPV4 = (r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
        r"(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")
"""A dotted quad without leading zeros: its own canonical text."""


def canonical_ips(col: pa.Array | pa.ChunkedArray,
                  convert: Callable[[str], str | None]) -> pa.Array:
    """Each address as ``convert`` (canonical text, or None) gives it; plain dotted quads, which
    are already canonical, are taken as they are and only the others are converted (each
    distinct address once)."""
    return per_distinct(col, lambda values: _canonical_ips(values, convert))


def _canonical_ips(col: pa.Array, convert: Callable[[str], str | None]) -> pa.Array:
    """:func:`canonical_ips` of every row."""
    plain = pc.fill_null(pc.match_substring_regex(col, IPV4), FALSE)
    others = pc.if_else(plain, pa.scalar(None, pa.string()), col)
    if others.null_count == len(others):
        return col
    return pc.if_else(plain, col, map_distinct(others, convert, pa.string()))


def has_control(block: bytes, a: np.ndarray, ends: np.ndarray) -> bool:
    """Whether ``block`` (bytes ``a``, line ends ``ends`` of :func:`line_ends`) holds a
    control character other than LF and CR: more bytes below 32 than its LFs and CRs (one
    numpy count, several times faster than ``bytes.translate``; the LFs are the line ends,
    and CRs, rare, are looked for with memchr first)."""
    newlines = len(ends) - (0 if block.endswith(b"\n") else 1)
    return bool(np.count_nonzero(a < 32) > newlines + _crs(block, a))


def _crs(block: bytes, a: np.ndarray) -> int:
    """The CRs of ``block`` (bytes ``a``)."""
    return 0 if block.find(b"\r") < 0 else int(np.count_nonzero(a == 13))


def lone_cr(block: bytes, a: np.ndarray, ends: np.ndarray) -> bool:
    """Whether ``block`` (bytes ``a``, line ends ``ends``) has a CR not followed by LF."""
    crs = _crs(block, a)
    if not crs:
        return False
    newlines = ends[(ends < len(a)) & (ends > 0)]
    return crs != int((a[newlines - 1] == 13).sum())


def only_lines(block: bytes, idx: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               fill: bytes) -> bytes | bytearray:
    """``block`` with every line but ``idx`` (line ``i`` is ``starts[i]:ends[i]``, without
    its newline) overwritten with the byte ``fill``, so that a parser that skips such lines
    (a JSON reader blank ones, a CSV reader empty ones) gives the lines ``idx`` as its rows,
    in order: cheaper than cutting them out. ``block`` itself if every line is kept."""
    if len(idx) == len(starts):
        return block
    data = bytearray(block)
    other = np.ones(len(starts), dtype=bool)
    other[idx] = False
    for lo, hi in zip(starts[other].tolist(), ends[other].tolist(), strict=True):
        data[lo:hi] = fill * (hi - lo)
    return data


def plain_span(data: bytes | mmap.mmap, lo: int, hi: int, absent: Sequence[bytes]) -> bool:
    """Whether the span ``lo:hi`` of ``data`` is certainly ASCII text with no CR and none of
    the byte strings ``absent`` (searched in place, without a copy: a few memchr-speed scans).
    False means only "not certainly": the caller then looks closer."""
    if hi <= lo:
        return True
    if any(data.find(b, lo, hi) >= 0 for b in (b"\r", *absent)):
        return False
    view = np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=lo)
    try:
        return bool(view.max() < 128)
    finally:
        del view  # an mmap cannot close while a view of it lives


def shard_blocks(fh: BinaryIO, size: int, shard: Shard, *, base: int = 0, offset: int = 0,
                 stop: Callable[[bytes], bool] | None = None,
                 plain: Sequence[bytes] | None = None
                 ) -> Iterator[tuple[bytes, int, int]]:
    """The blocks of :func:`block_spans` that are ``shard``'s, each with the lines and bytes
    before it (counted from ``base`` and ``offset``). A block of another reader that ``stop``
    flags ends them: its reader reads the rest of the file from there (:data:`REST`). If
    ``plain`` is given, a block that :func:`plain_span` clears with it is not one ``stop``
    would flag, and is not copied out to be asked.

    The first block of each reader is a quarter of ``size``: the ingest waits for block 0
    before it can store anything, so a small one starts the pipeline sooner. A file is
    mapped into memory: the blocks of other readers are only counted in place (unless
    ``stop`` must see them), not read and copied."""
    try:
        mapped: bytes | mmap.mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        start = fh.tell()
    except (OSError, ValueError, io.UnsupportedOperation):  # an empty file, or not a file
        mapped, start = fh.read(), 0
    released = 0
    try:
        for number, (lo, hi) in enumerate(block_spans(mapped, start, size, first=shard.count)):
            if shard.mine(number):
                block = mapped[lo:hi]
                yield block, base, offset
            elif stop is not None and not (plain is not None
                                           and plain_span(mapped, lo, hi, plain)) \
                    and stop(mapped[lo:hi]):
                return
            base += line_count(mapped, lo, hi)
            offset += hi - lo
            if isinstance(mapped, mmap.mmap):  # pages behind us leave this process's RSS
                done = hi // mmap.PAGESIZE * mmap.PAGESIZE
                if done > released:
                    mapped.madvise(mmap.MADV_DONTNEED, released, done - released)
                    released = done
    finally:
        if isinstance(mapped, mmap.mmap):
            mapped.close()


def line_ends(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``block``'s bytes and where each line ends (its newline, or the block's end for a last
    line without one)."""
    a = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    return a, ends


def unsafe_text(block: bytes,
                lines: tuple[np.ndarray, np.ndarray] | None = None) -> bool:
    """Whether ``block`` has a CR not followed by LF, or text that is not UTF-8 (readers
    read such a block, and the rest of its file, line by line). ``lines``: its
    :func:`line_ends`, if the caller has them."""
    a, ends = lines if lines is not None else line_ends(block)
    if lone_cr(block, a, ends):
        return True
    if block.isascii():
        return False
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def block_spans(data: bytes | mmap.mmap, start: int, size: int, *,
                first: int = 0) -> Iterator[tuple[int, int]]:
    """The blocks of ``data`` from ``start`` on, as ``(lo, hi)``: as if read ``size`` bytes
    at a time (the ``first`` reads a quarter of that) and cut after the last newline read so
    far, so that each ends with a line end (a line longer than a read makes a longer block);
    the last ends where ``data`` does, with or without a newline. Found in place."""
    lo = window = start
    end = len(data)
    while True:
        step = max(1, size // 4) if first > 0 else size
        first -= 1
        if window >= end:
            if lo < end:
                yield lo, end
            return
        window = min(window + step, end)
        cut = data.rfind(b"\n", lo, window) + 1
        if cut:
            yield lo, cut
            lo = cut
