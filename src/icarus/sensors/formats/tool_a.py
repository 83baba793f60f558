"""Tool A exports: semicolon CSV with a BOM and CRLF, one sensor per file (its file name)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from icarus.core.sinks import RecordSink
from icarus.sensors.formats import columns
from icarus.sensors.formats.base import (
    STR_LIMITS,
    RecordError,
    SightingRecord,
    build_record,
    first_line,
    require_format,
)
from icarus.sensors.formats.columns import (
    BATCH,
    BLOCK,
    EMPTY,
    PORT_MAX,
    RECORD,
    REST,
    TRUE,
    U32_MAX,
    WHOLE,
    Batch,
    Event,
    Shard,
    batches_of_records,
    canonical_ips,
    civil_seconds,
    content_digests,
    event_batches,
    fixed_digits,
    hex_bytes,
    line_ends,
    lit,
    mask_array,
    merge,
    none_if_empty,
    only_lines,
    shard_blocks,
    unsafe_text,
)
from icarus.sensors.formats.v1_columnar import canonical_or_none, digest_or_none

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

    def read_batches(self, path: Path, sink: RecordSink) -> Iterator[Batch]:
        """The rows in columns: blocks of plain lines parsed by pyarrow and vetted by
        vectorised checks that only accept; every other row is converted as :meth:`read`
        does. From the first block with a quote, a lone CR, a NUL or text that is not UTF-8,
        the rest of the file is read by :meth:`read`'s CSV reader."""
        return event_batches(self.read_events(path, sink))

    def read_events(self, path: Path, sink: RecordSink,
                    shard: Shard = WHOLE) -> Iterator[Event]:
        """:meth:`read_batches` of one reader of several side by side (see
        :class:`~icarus.sensors.formats.columns.Shard`): the reader of the first block that is
        not plain reads the rest of the file (:data:`REST`); the others stop there."""
        require_format(self, path)
        sensor = path.stem
        plain_sensor = 0 < len(sensor) <= STR_LIMITS["sensor"]
        with path.open("rb") as fh:
            header = len(fh.readline())
            for block, base, offset in shard_blocks(
                    fh, BLOCK_BYTES, shard, base=1, offset=header,
                    stop=lambda b: not plain_sensor or _awkward(b),
                    plain=_PLAIN if plain_sensor else None):
                try:
                    if not plain_sensor:
                        raise _NotPlainError
                    batch, _ = _block(block, base, sensor, sink)
                except _NotPlainError:
                    yield REST, None
                    for rest in batches_of_records(_rows_from(path, offset, base, sensor, sink)):
                        yield BATCH, rest
                    return
                if batch is not None:
                    yield BATCH, batch
                yield BLOCK, None


BLOCK_BYTES = 4 << 20
"""Bytes read (and parsed by pyarrow) at a time: bounds the memory of a batch."""
_CSV_PARSE = pcsv.ParseOptions(delimiter=";", quote_char=False, double_quote=False,
                               escape_char=False, newlines_in_values=False,
                               ignore_empty_lines=True)
_CSV_CONVERT = pcsv.ConvertOptions(column_types=dict.fromkeys(_COLUMNS, pa.string()),
                                   strings_can_be_null=False, null_values=[])
_NET_KEYS, _KIND_KEYS, _EV_KEYS = (pa.array(list(m)) for m in (_NETWORKS, _KINDS, _EVIDENCE))
_NET_VALUES = pa.array(list(_NETWORKS.values()))
_KIND_VALUES = pa.array([k for k, _ in _KINDS.values()])
_EV_VALUES = pa.array(list(_EVIDENCE.values()))
_ED2K, _BITTORRENT, _GNUTELLA = lit("ED2K"), lit("BitTorrent"), lit("gnutella")
_SHA1_BTIH, _ED2K_NETS = pa.array(["SHA1", "BTIH"]), pa.array(["edonkey", "kad"])
_LIMIT = {name: lit(limit, pa.int32()) for name, limit in STR_LIMITS.items()}


class _NotPlainError(Exception):
    """A block whose rows may not be one line of unquoted UTF-8 cells each."""


def _rows_from(path: Path, offset: int, base: int, sensor: str,
               sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
    """:meth:`ToolACsv.read` from byte ``offset`` (the start of line ``base + 1``) on."""
    with path.open("rb") as raw:
        raw.seek(offset)
        fh = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(fh, delimiter=";")
        for row in reader:
            if not row:
                continue
            no = base + reader.line_num
            try:
                record = convert(row, sensor)
            except RecordError as exc:
                sink.reject(f"line {no}", str(exc), ";".join(row))
                continue
            yield no, record


def _awkward(block: bytes,
             split: tuple[np.ndarray, np.ndarray] | None = None) -> bool:
    """Whether a row of ``block`` might span lines (a quote, a NUL, a lone CR, a byte order
    mark) or its text is not UTF-8: then it and the rest are read by the CSV reader (``split``: its
    :func:`line_ends`, if the caller has them)."""
    if block.startswith(b"\xef\xbb\xbf") or block.find(b'"') >= 0 or block.find(b"\0") >= 0:
        return True
    return unsafe_text(block, split)


_PLAIN = (b'"', b"\0")
"""What a block without CR, with ASCII text only, must also lack for :func:`_awkward` to pass
it (see :func:`~icarus.sensors.formats.columns.plain_span`)."""


def _block(block: bytes, base: int, sensor: str,
           sink: RecordSink) -> tuple[Batch | None, int]:
    """The block's valid records and its number of lines; :class:`_NotPlainError` (before any
    reject) if a row might span lines or the text is not UTF-8."""
    split = line_ends(block)
    if _awkward(block, split):
        raise _NotPlainError
    a, ends = split
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    last = np.maximum(ends - 1, 0)
    stop = np.where((ends > starts) & (a[last] == 13), ends - 1, ends)  # without CR LF
    semis = np.flatnonzero(a == 59)
    cells = np.searchsorted(semis, stop) - np.searchsorted(semis, starts) + 1
    empty = stop == starts
    good = ~empty & (cells == len(_COLUMNS))
    pending: list[int] = np.flatnonzero(~good & ~empty).tolist()
    idx = np.flatnonzero(good)
    fast = None
    if len(idx):
        table = _parse(only_lines(block, idx, starts, ends, b"\n"))  # empty lines skipped
        if table is not None and table.num_rows == len(idx):
            fast = _convert(table, idx + base + 1, sensor,
                            lambda k: pending.append(int(idx[k])))
        else:
            pending.extend(idx.tolist())
    slow: list[tuple[int, SightingRecord]] = []
    for i in sorted(pending):
        text = block[starts[i]:stop[i]].decode("utf-8")
        row = text.split(";")
        try:
            slow.append((base + i + 1, convert(row, sensor)))
        except RecordError as exc:
            sink.reject(f"line {base + i + 1}", str(exc), text)
    return merge(fast, slow), len(ends)


def _parse(data: bytes | bytearray) -> pa.Table | None:
    try:
        return pcsv.read_csv(columns.in_memory(data), read_options=pcsv.ReadOptions(
            column_names=list(_COLUMNS), use_threads=columns.THREADS > 1,
            block_size=max(1 << 16, len(data) // columns.THREADS + 1)),
            parse_options=_CSV_PARSE, convert_options=_CSV_CONVERT)
    except (pa.ArrowException, ValueError):
        return None


def _regex(col: pa.Array | pa.ChunkedArray, pattern: str) -> pa.Array | pa.ChunkedArray:
    return pc.match_substring_regex(col, pattern)


def _empty_or(col: pa.Array, pattern: str) -> pa.Array:
    return pc.or_(pc.equal(col, EMPTY), _regex(col, pattern))


_ENCODED = ("Date", "Port", "ClientGUID", "ClientID", "PeerID", "Hash", "FileSize")
"""Cells of few distinct values in a block: checked and converted once per distinct value."""


class _Distinct:
    """A column dictionary-encoded: checks and conversions of its distinct values, spread to
    the rows by index."""

    def __init__(self, col: pa.ChunkedArray) -> None:
        self.encoded = col.combine_chunks().dictionary_encode()
        self.values: pa.Array = self.encoded.dictionary
        self.index = np.asarray(self.encoded.indices.to_numpy(zero_copy_only=False),
                                dtype=np.int64)

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        """A numpy array of one entry per distinct value, as one per row."""
        return per_value[self.index]

    def check(self, mask: pa.Array) -> np.ndarray:
        """A boolean Arrow mask of the distinct values, per row (null = False)."""
        return self.rows(mask_array(mask))

    def numbers(self, ok: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
        """The decimal values (int64) where ``ok`` (of the distinct values, which a regular
        expression proved to be digits), null where not ``present``; per row."""
        text = pc.if_else(pa.array(ok), self.values, pa.scalar("0", pa.string()))
        values = pc.cast(text, pa.int64())
        if present is not None:
            values = pc.if_else(pa.array(present), values, pa.scalar(None, pa.int64()))
        return values.take(self.encoded.indices)


def _convert(t: pa.Table, lines: np.ndarray, sensor: str,
             one: Callable[[int], None]) -> Batch | None:
    """The rows that certainly convert, as a batch; the others go through ``one`` (length
    limits are checked in bytes: a longer text in fewer characters goes that way too).

    Every row is converted and the table is filtered once, at the end (a filter copies
    every column); a row that fails a check has garbage or nulls in its conversions, and
    is dropped."""
    c = t.column
    d = {name: _Distinct(c(name)) for name in _ENCODED}
    values = {name: enc.values for name, enc in d.items()}
    hash_type = c("HashType")
    port_ok = mask_array(_regex(values["Port"], "^[0-9]{1,5}$"))
    client_ok = mask_array(_empty_or(values["ClientID"], "^[0-9]{1,10}$"))
    size_ok = mask_array(_empty_or(values["FileSize"], "^[0-9]{1,18}$"))
    client_set = mask_array(pc.not_equal(values["ClientID"], EMPTY))
    size_set = mask_array(pc.not_equal(values["FileSize"], EMPTY))
    guid_set = d["ClientGUID"].check(pc.not_equal(values["ClientGUID"], EMPTY))
    network = pc.take(_NET_VALUES, pc.index_in(c("Network"), _NET_KEYS))
    hash_ok = ((mask_array(pc.equal(hash_type, _ED2K))
                & d["Hash"].check(_regex(values["Hash"], "^[0-9A-F]{32}$")))
               | (mask_array(pc.is_in(hash_type, _SHA1_BTIH))
                  & d["Hash"].check(_regex(values["Hash"], "^[0-9A-F]{40}$"))))
    ok = (mask_array(_regex(c("RecordNo"), "^[0-9]{1,128}$"))
          & d["Date"].check(_regex(values["Date"], "^[0-9]{2}/[0-9]{2}/[0-9]{4}$"))
          & mask_array(_regex(c("Time"), "^[0-9]{2}:[0-9]{2}:[0-9]{2}$"))
          & mask_array(pc.is_valid(network)) & mask_array(pc.is_in(c("Evidence"), _EV_KEYS))
          & hash_ok & d["Port"].rows(port_ok)
          & d["ClientGUID"].check(_empty_or(values["ClientGUID"], "^[0-9A-F]{32}$"))
          & ~(guid_set & mask_array(pc.equal(c("Network"), _BITTORRENT)))
          & d["ClientID"].rows(client_ok)
          & d["PeerID"].check(_empty_or(values["PeerID"], "^[0-9A-F]{40}$"))
          & d["FileSize"].rows(size_ok)
          & mask_array(pc.less_equal(pc.binary_length(c("Client")), _LIMIT["client"]))
          & mask_array(pc.less_equal(pc.binary_length(c("Nick")), _LIMIT["nickname"]))
          & mask_array(pc.less_equal(pc.binary_length(c("FileName")), _LIMIT["file_name"])))
    # The date once per distinct date, the time of day per row.
    day, month, year = fixed_digits(values["Date"], [(0, 2), (3, 5), (6, 10)])
    zero = np.zeros(len(day), dtype=np.int64)
    real_day, day_secs = civil_seconds(year, month, day, zero, zero, zero)
    hour, minute, second = fixed_digits(c("Time"), [(0, 2), (3, 5), (6, 8)])
    real = d["Date"].rows(real_day) & (hour < 24) & (minute < 60) & (second < 60)
    secs = d["Date"].rows(day_secs) + hour * 3600 + minute * 60 + second
    port = d["Port"].numbers(port_ok)
    client_id = d["ClientID"].numbers(client_ok & client_set, client_set)
    kind = pc.take(_KIND_VALUES, pc.index_in(hash_type, _KIND_KEYS))
    ip = canonical_ips(c("IP"), canonical_or_none)
    lower = pa.DictionaryArray.from_arrays(d["Hash"].encoded.indices,
                                           pc.utf8_lower(values["Hash"]))
    cid = content_digests(kind, lower, digest_or_none)
    good = ok & real & mask_array(pc.and_(
        pc.and_(pc.less_equal(port, PORT_MAX),
                pc.fill_null(pc.less_equal(client_id, U32_MAX), TRUE)),
        pc.and_(pc.is_valid(ip), pc.is_valid(cid))))
    for k in np.flatnonzero(~good).tolist():
        one(k)
    if not good.any():
        return None
    keep = pa.array(good)
    every = bool(good.all())

    def kept(col: Any) -> Any:
        return col if every else col.filter(keep)

    network = kept(network)
    guid = hex_bytes(kept(d["ClientGUID"].encoded), 16)
    ed2k = pc.is_in(network, _ED2K_NETS)
    null16 = pa.scalar(None, pa.binary(16))
    columns = {
        "observed_at": pa.array(secs[good] * 10**6, pa.int64()).cast(
            pa.timestamp("us", tz="UTC")),
        "network": network, "ip": kept(ip), "port": pc.cast(kept(port), pa.int32()),
        "content_kind": kept(kind), "content_id": kept(cid),
        "sensor": pa.repeat(pa.scalar(sensor, pa.string()), int(good.sum())),
        "evidence": pc.take(_EV_VALUES, pc.index_in(kept(c("Evidence")), _EV_KEYS)),
        "record_id": kept(c("RecordNo")), "file_name": none_if_empty(kept(c("FileName"))),
        "file_size": kept(d["FileSize"].numbers(size_ok & size_set, size_set)),
        "user_hash": pc.if_else(ed2k, guid, null16),
        "ed2k_client_id": kept(client_id),
        "guid": pc.if_else(pc.equal(network, _GNUTELLA), guid, null16),
        "peer_id": hex_bytes(kept(d["PeerID"].encoded), 20),
        "client": none_if_empty(kept(c("Client"))),
        "nickname": none_if_empty(kept(c("Nick"))),
    }
    table = pa.Table.from_arrays([columns[field.name] for field in RECORD], schema=RECORD)
    return Batch(lines[good], table)
