"""Vectorised text building for sighting files: whole columns at once, no Python loop per record.

Ten million records must be written in well under a minute, which rules out ``json.dumps`` or
``str.format`` per record. Every helper here turns a column (numpy array or Arrow array) into an
Arrow ``StringArray``; writers glue such columns together with :func:`join` and write the result's
data buffer in one call (:func:`write_lines`). Fixed-width texts (hex digests, timestamps) are
built as byte matrices, because their layout is known in advance.
"""

from __future__ import annotations

import json
import string
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_HEX_LOWER = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_BASE32 = np.frombuffer(string.ascii_uppercase.encode() + b"234567", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def fixed_strings(matrix: U8) -> pa.StringArray:
    """An Arrow string array whose row ``i`` is the ASCII bytes ``matrix[i]`` (all one width)."""
    rows, width = matrix.shape
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(width)
    data = np.ascontiguousarray(matrix).tobytes()
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def byte_matrix(array: pa.Array, width: int) -> U8:
    """The raw bytes of a fixed-size binary array as an ``(n, width)`` matrix (nulls: zeros)."""
    array = array.cast(pa.binary(width)) if array.type != pa.binary(width) else array
    data = array.buffers()[1]
    if data is None:
        return np.zeros((len(array), width), dtype=np.uint8)
    flat = np.frombuffer(data, dtype=np.uint8)
    start = array.offset * width
    return flat[start : start + len(array) * width].reshape(len(array), width)


def with_nulls_of(strings: pa.Array, source: pa.Array) -> pa.Array:
    """``strings`` with nulls wherever ``source`` is null."""
    if source.null_count == 0:
        return strings
    return pc.if_else(pc.is_valid(source), strings, _NULL)


def _pairs(alphabet: U8) -> npt.NDArray[np.uint16]:
    """For each byte value, its two hex characters as one 16-bit word in memory order."""
    pairs = np.empty((256, 2), dtype=np.uint8)
    pairs[:, 0] = alphabet[np.arange(256) >> 4]
    pairs[:, 1] = alphabet[np.arange(256) & 0x0F]
    return pairs.view(np.uint16).ravel()


_PAIRS = {False: _pairs(_HEX_LOWER), True: _pairs(_HEX_UPPER)}


def hex_text(array: pa.Array, width: int, *, upper: bool = False) -> pa.Array:
    """Hexadecimal text of a fixed-size binary column (nulls stay null)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) and array.null_count == len(array):
        return pa.nulls(len(array), pa.string())
    words = _PAIRS[upper][byte_matrix(array, width)]
    return with_nulls_of(fixed_strings(words.view(np.uint8)), array)


def base32_text(array: pa.Array, width: int) -> pa.Array:
    """RFC 4648 base32 (upper case, unpadded) of a fixed-size binary column; width % 5 == 0."""
    matrix = byte_matrix(array, width)
    bits = np.unpackbits(matrix, axis=1).reshape(len(matrix), width * 8 // 5, 5)
    values = bits @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    return with_nulls_of(fixed_strings(_BASE32[values]), array)


def _digits(matrix: U8, column: int, values: npt.NDArray[Any], count: int) -> None:
    """Write ``values`` as ``count`` zero-padded decimal digits from ``column`` on."""
    for k in range(count - 1, -1, -1):
        matrix[:, column + k] = _DIGITS[values % 10]
        values = values // 10


def _civil_days(days: I64) -> tuple[I64, I64, I64]:
    """Year, month, day of days since 1970-01-01 (proleptic Gregorian).

    The conversion is the days-to-civil algorithm of H. Hinnant's "date" paper (public domain),
    in integer numpy arithmetic.
    """
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _layout(epoch_ms: I64, template: bytes, fields: dict[str, int]) -> pa.StringArray:
    """Fill ``template`` (one row's bytes) with date fields at the given columns."""
    epoch_ms = np.asarray(epoch_ms, dtype=np.int64)
    out = np.empty((len(epoch_ms), len(template)), dtype=np.uint8)
    out[:] = np.frombuffer(template, dtype=np.uint8)
    if len(epoch_ms) == 0:
        return fixed_strings(out)
    days, ms_of_day = np.divmod(epoch_ms, 86_400_000)
    # A file spans few distinct days: convert each day once and gather.
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1, dtype=np.int64)
    ymd = dict(zip("Ymd", _civil_days(span), strict=True))
    index = days - first
    ms32 = ms_of_day.astype(np.int32)
    seconds, millis = np.divmod(ms32, 1000)
    hour, rest = np.divmod(seconds, 3600)
    minute, second = np.divmod(rest, 60)
    parts = {"H": hour, "M": minute, "S": second, "f": millis}
    widths = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2, "f": 3}
    for name, column in fields.items():
        if name in ymd:
            table = np.empty((len(span), widths[name]), dtype=np.uint8)
            _digits(table, 0, ymd[name], widths[name])
            out[:, column : column + widths[name]] = table[index]
        else:
            _digits(out, column, parts[name], widths[name])
    return fixed_strings(out)


def iso_ms(epoch_ms: I64) -> pa.StringArray:
    """``YYYY-MM-DDTHH:MM:SS.fffZ`` of UTC epoch milliseconds (years 0000-9999)."""
    return _layout(epoch_ms, b"0000-00-00T00:00:00.000Z",
                   {"Y": 0, "m": 5, "d": 8, "H": 11, "M": 14, "S": 17, "f": 20})


def date_dmy(epoch_ms: I64) -> pa.StringArray:
    """``DD/MM/YYYY`` (UTC) of epoch milliseconds."""
    return _layout(epoch_ms, b"00/00/0000", {"d": 0, "m": 3, "Y": 6})


def time_hms(epoch_ms: I64) -> pa.StringArray:
    """``HH:MM:SS`` (UTC, milliseconds dropped) of epoch milliseconds."""
    return _layout(epoch_ms, b"00:00:00", {"H": 0, "M": 3, "S": 6})


def epoch_seconds_ms(epoch_ms: I64) -> pa.Array:
    """Epoch seconds with exactly three decimals, e.g. ``1772600767.123`` (ms >= 0)."""
    seconds, millis = np.divmod(np.asarray(epoch_ms, dtype=np.int64), 1000)
    frac = np.empty((len(millis), 4), dtype=np.uint8)
    frac[:, 0] = ord(".")
    _digits(frac, 1, millis, 3)
    return join(pc.cast(pa.array(seconds), pa.string()), fixed_strings(frac))


def decimal(values: Any) -> pa.Array:
    """Decimal text of an integer column (nulls stay null)."""
    return pc.cast(values if isinstance(values, pa.Array) else pa.array(values), pa.string())


def _special_rows(array: pa.Array, specials: bytes) -> npt.NDArray[np.int64]:
    """Rows of a string array holding any of the ``specials`` bytes (a scan of its data)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    data = array.buffers()[2]
    if len(array) == 0 or data is None:
        return np.empty(0, dtype=np.int64)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset :][: len(array) + 1]
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(specials, dtype=np.uint8)] = True
    hits = np.flatnonzero(table[np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]])
    if len(hits) == 0:
        return np.empty(0, dtype=np.int64)
    rows = np.unique(np.searchsorted(offsets, hits + offsets[0], side="right") - 1)
    return rows.astype(np.int64)


def _patch(array: pa.Array, rows: npt.NDArray[np.int64], fix: Any) -> pa.Array:
    """``array`` with the given rows replaced by ``fix(text)`` (nulls stay null)."""
    if len(rows) == 0:
        return array
    texts = array.take(pa.array(rows)).to_pylist()
    mask = np.zeros(len(array), dtype=bool)
    mask[rows] = True
    fixed = pa.array([None if t is None else fix(t) for t in texts], pa.string())
    return pc.replace_with_mask(array, pa.array(mask), fixed)


_JSON_SPECIALS = bytes(range(0x20)) + b'"\\'


def json_body(array: pa.Array) -> pa.Array:
    """Each string escaped as inside a JSON string literal (without the quotes), exactly as
    ``json.dumps(s, ensure_ascii=False)`` escapes it; nulls stay null. Only rows that need
    escaping (found by one scan of the bytes) go through ``json.dumps``."""
    return _patch(array, _special_rows(array, _JSON_SPECIALS),
                  lambda t: json.dumps(t, ensure_ascii=False)[1:-1])


def json_string(array: pa.Array) -> pa.Array:
    """Each string as a JSON string literal, quotes included (nulls stay null)."""
    return optional('"', json_body(array), '"')


def csv_cell(value: str, delimiter: str) -> str:
    """One CSV cell: quoted (inner quotes doubled) only if it holds the delimiter, a quote, CR
    or LF."""
    if any(ch in value for ch in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_field(array: pa.Array, delimiter: str) -> pa.Array:
    """Each string as a CSV cell (:func:`csv_cell`); nulls stay null."""
    specials = (delimiter + '"\r\n').encode()
    return _patch(array, _special_rows(array, specials), lambda t: csv_cell(t, delimiter))


def _typed(pieces: tuple[Any, ...]) -> list[Any]:
    # Untyped Python literals make pyarrow probe for pandas on every call (~0.1 ms each).
    return [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in pieces] + [_EMPTY]


_EMPTY = pa.scalar("", pa.string())
_NULL = pa.scalar(None, pa.string())


def join(*pieces: Any) -> pa.Array:
    """Row-wise concatenation of string columns and literals; a null piece counts as empty."""
    return pc.binary_join_element_wise(*_typed(pieces), null_handling="replace",
                                       null_replacement="")


def optional(*pieces: Any) -> pa.Array:
    """The row-wise concatenation of ``pieces`` where none is null, null (i.e. nothing once
    joined) where one is: a field with its key, or no field."""
    return pc.binary_join_element_wise(*_typed(pieces), null_handling="emit_null")


def write_lines(out: IO[bytes], lines: pa.Array) -> int:
    """Write the concatenation of ``lines`` (each carrying its own separator) in one call;
    returns the number of bytes written."""
    if len(lines) == 0:
        return 0
    lines = pc.fill_null(lines, _EMPTY)
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if lines.type == pa.large_string():
        lines = lines.cast(pa.string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset :]
    start, end = int(offsets[0]), int(offsets[len(lines)])
    data = lines.buffers()[2]
    if data is None:
        return 0
    view = memoryview(data)[start:end]
    out.write(view)
    return end - start
