"""Tool B exports: one JSON document, an envelope and a ``results`` array, one result a line.

The file is read line by line (not parsed whole), so a truncated file yields every complete
result before the cut and rejects the cut one.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import RecordSink
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
    FALSE,
    HINTS,
    PORT_MAX,
    RECORD,
    REST,
    U32_MAX,
    WHOLE,
    Batch,
    Event,
    Shard,
    batches_of_records,
    canonical_ips,
    chunks,
    concat,
    content_digests,
    error_row,
    event_batches,
    has_control,
    hex_bytes,
    in_memory,
    line_ends,
    lit,
    mask_array,
    merge,
    none_if_empty,
    one_block,
    shard_blocks,
    unsafe_text,
)
from icarus.sensors.formats.v1_columnar import canonical_or_none, digest_or_none

_PROTOCOLS = {"ed2k": "edonkey", "kad": "kad", "gnutella": "gnutella",
              "bittorrent": "bittorrent"}
_URNS = {"urn:ed2khash:": "ed2k", "urn:sha1:": "sha1", "urn:btih:": "btih"}
_LEVELS = {1: "advertised", 2: "browsed", 3: "handshake", 4: "download-verified"}
_REQUIRED = ("id", "ts", "proto", "peer", "urn", "level")
_KEYS = frozenset({*_REQUIRED, "name", "size", "uid", "cid", "pid", "agent", "nick"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _envelope(line: str) -> dict[str, Any] | None:
    try:
        env = json.loads(line + "]}")
    except ValueError:
        return None
    return env if isinstance(env, dict) and env.get("results") == [] else None


def _peer(value: Any) -> tuple[str, int]:
    if not isinstance(value, str) or ":" not in value:
        raise RecordError(f"peer: expected ip:port, got {value!r}")
    host, _, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit():
        raise RecordError(f"peer: bad port in {value!r}")
    return host, int(port)


def convert(obj: Any, sensor: str) -> SightingRecord:
    """One tool B result object as a validated record."""
    if not isinstance(obj, dict):
        raise RecordError("a result is not a JSON object")
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise RecordError(f"unknown key(s): {', '.join(unknown)}")
    missing = [k for k in _REQUIRED if obj.get(k) is None]
    if missing:
        raise RecordError(f"missing required key(s): {', '.join(missing)}")
    ts = obj["ts"]
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
        raise RecordError(f"ts: expected epoch seconds, got {ts!r}")
    try:
        when = datetime.fromtimestamp(round(ts, 3), UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"ts: out of range: {ts!r}") from None
    network = _PROTOCOLS.get(obj["proto"]) if isinstance(obj["proto"], str) else None
    if network is None:
        raise RecordError(f"proto: expected one of {sorted(_PROTOCOLS)}, got {obj['proto']!r}")
    urn = obj["urn"]
    kind = next((k for p, k in _URNS.items() if isinstance(urn, str) and urn.startswith(p)),
                None)
    if kind is None:
        raise RecordError(f"urn: expected urn:ed2khash:, urn:sha1: or urn:btih:, got {urn!r}")
    level = obj["level"]
    evidence = _LEVELS.get(level) if isinstance(level, int) and not isinstance(level, bool) \
        else None
    if evidence is None:
        raise RecordError(f"level: expected 1 to 4, got {level!r}")
    ident = obj["id"]
    if not isinstance(ident, str) or len(ident) != 16:
        raise RecordError(f"id: expected 16 hex digits, got {ident!r}")
    host, port = _peer(obj["peer"])
    uid = obj.get("uid")
    return build_record({
        "record_id": ident, "observed_at": when, "network": network, "ip": host,
        "port": port, "content_kind": kind, "content_id": urn.split(":", 2)[2],
        "file_name": obj.get("name"), "file_size": obj.get("size"),
        "user_hash": uid if network in ("edonkey", "kad") else None,
        "guid": uid if network == "gnutella" else None,
        "ed2k_client_id": obj.get("cid"), "peer_id": obj.get("pid"),
        "client": obj.get("agent"), "nickname": obj.get("nick"),
        "sensor": sensor, "evidence": evidence,
    })


class ToolBJson:
    """Tool B: ``{"generator": ..., "sensor": ..., "results": [`` then one result a line."""

    NAME: ClassVar[str] = "tool-b-json"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A first line that is the envelope's opening, naming a sensor."""
        env = _envelope(first_line(head))
        return env is not None and isinstance(env.get("sensor"), str) and bool(env["sensor"])

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Results line by line; the last line closes the array with ``]}``."""
        require_format(self, path)
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            env = _envelope(fh.readline().rstrip("\r\n"))
            if env is None:  # the file changed between sniff and read
                raise FormatMismatchError("not a tool-b-json file", path=path)
            yield from _results(fh, 2, env["sensor"], sink)

    def read_batches(self, path: Path, sink: RecordSink) -> Iterator[Batch]:
        """The results in columns: blocks of result lines (``{...},``) parsed by pyarrow and
        vetted by vectorised checks that only accept; every other line is read as
        :meth:`read` reads it. From the line holding the closing ``]}`` (or the first block
        with a lone CR or text that is not UTF-8) on, :meth:`read`'s loop reads the rest."""
        return event_batches(self.read_events(path, sink))

    def read_events(self, path: Path, sink: RecordSink,
                    shard: Shard = WHOLE) -> Iterator[Event]:
        """:meth:`read_batches` of one reader of several side by side (see
        :class:`~icarus.sensors.formats.columns.Shard`): the reader of the block that closes
        the array (or of the first that is not plain) reads the rest of the file
        (:data:`REST`); the others stop there."""
        require_format(self, path)
        with path.open("rb") as fh:
            first = fh.readline()
            env = _envelope(first.decode("utf-8", "replace").rstrip("\r\n"))
            if env is None:  # the file changed between sniff and read
                raise FormatMismatchError("not a tool-b-json file", path=path)
            sensor = env["sensor"]
            plain_sensor = 0 < len(sensor) <= STR_LIMITS["sensor"]
            for block, base, offset in shard_blocks(
                    fh, BLOCK_BYTES, shard, base=1, offset=len(first),
                    stop=lambda b: not plain_sensor or _awkward(b),
                    plain=_PLAIN if plain_sensor else None):
                close = block.find(b"]}")
                # Only the lines before the one that closes the array are read in columns.
                head = block.rfind(b"\n", 0, close) + 1 if close >= 0 else len(block)
                try:
                    if not plain_sensor:
                        raise _NotPlainError
                    part = block if head == len(block) else block[:head]
                    batch, lines = _block(part, base, sensor, sink) if head else (None, 0)
                    if close >= 0:
                        if batch is not None:
                            yield BATCH, batch
                        base, offset = base + lines, offset + head
                        raise _NotPlainError
                except _NotPlainError:
                    yield REST, None
                    for rest in batches_of_records(
                            _results_from(path, offset, base, sensor, sink)):
                        yield BATCH, rest
                    return
                if batch is not None:
                    yield BATCH, batch
                yield BLOCK, None


def _results(lines: Iterator[str], first: int, sensor: str,
             sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
    """:meth:`ToolBJson.read`'s loop over result lines numbered from ``first``."""
    closed = False
    for no, line in enumerate(lines, first):
        text = line.strip()
        if not text:
            continue
        if closed:
            sink.reject(f"line {no}", "text after the closing ]}", text)
            continue
        if text == "]}":
            closed = True
            continue
        body = text[:-1] if text.endswith(",") else text
        if body.endswith("]}") and not text.endswith(","):
            body, closed = body[:-2].rstrip(), True
        try:
            record = convert(json.loads(body), sensor)
        except json.JSONDecodeError as exc:
            sink.reject(f"line {no}", f"not valid JSON (truncated?): {exc}", text)
            continue
        except RecordError as exc:
            sink.reject(f"line {no}", str(exc), text)
            continue
        yield no, record


def _results_from(path: Path, offset: int, base: int, sensor: str,
                  sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
    """The result loop from byte ``offset`` (the start of line ``base + 1``) on."""
    with path.open("rb") as raw:
        raw.seek(offset)
        fh = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        yield from _results(fh, base + 1, sensor, sink)


BLOCK_BYTES = 4 << 20
"""Bytes read (and parsed by pyarrow) at a time: bounds the memory of a batch."""
PARSE_LINES = 4096
"""Lines parsed per pyarrow call (a part that fails is halved down to MIN_SPLIT lines)."""
MIN_SPLIT = 16
_SCHEMA = pa.schema([
    ("id", pa.string()), ("ts", pa.float64()), ("proto", pa.string()), ("peer", pa.string()),
    ("urn", pa.string()), ("name", pa.string()), ("size", pa.int64()), ("level", pa.int64()),
    ("uid", pa.string()), ("cid", pa.int64()), ("pid", pa.string()), ("agent", pa.string()),
    ("nick", pa.string())])
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="error")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PEER = (rf"^(?P<host>{_OCTET}(?:\.{_OCTET}){{3}}|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{{1,5}})$")
_PROTO_KEYS, _PROTO_VALUES = pa.array(list(_PROTOCOLS)), pa.array(list(_PROTOCOLS.values()))
_LEVEL_VALUES = pa.array([None, *_LEVELS.values()], pa.string())
_UID_NETS, _ED2K_NETS = pa.array(["edonkey", "kad", "gnutella"]), pa.array(["edonkey", "kad"])
_GNUTELLA, _SIXTEEN = lit("gnutella"), lit(16, pa.int32())
_ZERO, _ONE, _FOUR = lit(0, pa.int64()), lit(1, pa.int64()), lit(4, pa.int64())
_LIMIT = {key: lit(STR_LIMITS[name], pa.int32())
          for key, name in (("name", "file_name"), ("agent", "client"), ("nick", "nickname"))}


class _NotPlainError(Exception):
    """A block that the result loop must read (closing, lone CR, not UTF-8)."""


def _awkward(block: bytes,
             split: tuple[np.ndarray, np.ndarray] | None = None) -> bool:
    """Whether ``block`` closes the results array, has a lone CR, or text that is not UTF-8:
    then it and the rest are read line by line (``split``: its :func:`line_ends`, if the
    caller has them)."""
    if b"]}" in block:
        return True
    return unsafe_text(block, split)


_PLAIN = (b"]}",)
"""What a block without CR, with ASCII text only, must also lack for :func:`_awkward` to pass
it (see :func:`~icarus.sensors.formats.columns.plain_span`)."""


def _block(block: bytes, base: int, sensor: str,
           sink: RecordSink) -> tuple[Batch | None, int]:
    split = line_ends(block)
    if _awkward(block, split):
        raise _NotPlainError
    a, ends = split
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    last = ends - 1
    cr = (last >= starts) & (a[np.maximum(last, 0)] == 13)
    last = np.where(cr, last - 1, last)
    # A result line ends in "}," (before an optional CR): the comma is dropped for pyarrow.
    good = (last - 1 >= starts) & (a[np.maximum(last, 0)] == 44) & \
        (a[np.maximum(last - 1, 0)] == 125)
    if has_control(block, a, ends):
        bad = (a < 32) & (a != 10) & (a != 13)
        count = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
        good &= count[ends] == count[starts]
    stops = np.minimum(ends + 1, len(block))
    pending: list[int] = np.flatnonzero(~good).tolist()
    idx = np.flatnonzero(good)
    keep = np.ones(len(a), dtype=bool)
    keep[last[good]] = False  # the commas
    fast = concat(_parts(a, keep, part, starts, stops, base, sensor, pending.append)
                  for part in chunks(idx, PARSE_LINES))
    lines = [block[starts[i]:stops[i]].decode("utf-8") for i in sorted(pending)]
    slow: list[tuple[int, SightingRecord]] = []
    for i, line in zip(sorted(pending), lines, strict=True):
        slow.extend(_results(iter([line]), base + i + 1, sensor, sink))
    return merge(fast, slow), len(ends)


def _parts(a: np.ndarray, keep: np.ndarray, idx: np.ndarray, starts: np.ndarray,
           stops: np.ndarray, base: int, sensor: str,
           one: Callable[[int], None], hints: list[int] | None = None) -> Batch | None:
    """The parsed and converted rows of the lines ``idx`` (others go through ``one``); a part
    pyarrow refuses is split around the row its error names, else halved (see v1's)."""
    if not len(idx):
        return None
    hints = [HINTS] if hints is None else hints
    first, last = int(idx[0]), int(idx[-1]) + 1  # only the span of this part's lines
    lines = np.zeros(last - first, dtype=bool)
    lines[idx - first] = True
    lo, hi = starts[first], stops[last - 1]
    data = a[lo:hi][np.repeat(lines, stops[first:last] - starts[first:last])
                    & keep[lo:hi]].tobytes()
    table = _parse(data)
    if isinstance(table, pa.Table) and table.num_rows == len(idx):
        return _convert(table, idx + base + 1, sensor, lambda k: one(int(idx[k])))
    if isinstance(table, int) and 0 <= table < len(idx) and hints[0] > 0:
        hints[0] -= 1
        one(int(idx[table]))
        return concat([_parts(a, keep, idx[:table], starts, stops, base, sensor, one, hints),
                       _parts(a, keep, idx[table + 1:], starts, stops, base, sensor, one,
                              hints)])
    if len(idx) <= MIN_SPLIT:
        for i in idx.tolist():
            one(i)
        return None
    half = len(idx) // 2
    return concat([_parts(a, keep, idx[:half], starts, stops, base, sensor, one, hints),
                   _parts(a, keep, idx[half:], starts, stops, base, sensor, one, hints)])


def _parse(data: bytes) -> pa.Table | int | None:
    """The lines parsed; else the row pyarrow's error names (:func:`error_row`), or None."""
    if data and not data.endswith(b"\n"):
        data += b"\n"
    try:
        table: pa.Table = pj.read_json(in_memory(data), parse_options=_PARSE,
                                       read_options=one_block(len(data)))
    except (pa.ArrowException, ValueError) as exc:
        return error_row(exc)
    return table


def _when(ts: float) -> int | None:
    """:func:`convert`'s instant of ``ts`` in µs since the epoch (None where it fails)."""
    try:
        when = datetime.fromtimestamp(round(ts, 3), UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return (when - _EPOCH) // timedelta(microseconds=1)


def _urn(urn: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """The digest kind of each URN (null if none) and the text after its prefix."""
    urn = urn.combine_chunks()
    kind = pa.nulls(len(urn), pa.string())
    text = pa.nulls(len(urn), pa.string())
    for prefix, name in _URNS.items():
        hit = pc.fill_null(pc.starts_with(urn, prefix), FALSE)
        kind = pc.if_else(hit, pa.scalar(name, pa.string()), kind)
        text = pc.if_else(hit, pc.utf8_slice_codeunits(urn, len(prefix)), text)
    return kind, text


def _convert(t: pa.Table, lines: np.ndarray, sensor: str,
             one: Callable[[int], None]) -> Batch | None:
    """The rows that certainly convert, as a batch; the others go through ``one``."""
    c = t.column
    network = pc.take(_PROTO_VALUES, pc.index_in(c("proto"), _PROTO_KEYS))
    kind, text = _urn(c("urn"))
    peer = pc.extract_regex(pc.fill_null(c("peer"), EMPTY), _PEER)
    host = pc.struct_field(peer, "host")
    host = pc.if_else(pc.starts_with(host, "["), pc.utf8_slice_codeunits(host, 1, -1), host)
    port = pc.cast(pc.struct_field(peer, "port"), pa.int64())
    edonkey = pc.is_in(network, _UID_NETS)
    checks = [
        pc.equal(pc.utf8_length(c("id")), _SIXTEEN), pc.is_valid(c("ts")), pc.is_valid(network),
        pc.is_valid(kind),
        pc.and_(pc.greater_equal(c("level"), _ONE), pc.less_equal(c("level"), _FOUR)),
        pc.is_valid(port), pc.less_equal(port, PORT_MAX),
        pc.or_kleene(pc.is_null(c("size")), pc.greater_equal(c("size"), _ZERO)),
        pc.or_kleene(pc.is_null(c("cid")), pc.and_(pc.greater_equal(c("cid"), _ZERO),
                                                   pc.less_equal(c("cid"), U32_MAX))),
        pc.or_kleene(pc.invert(edonkey), pc.or_kleene(
            pc.or_kleene(pc.is_null(c("uid")), pc.equal(c("uid"), EMPTY)),
            pc.match_substring_regex(c("uid"), "^[0-9a-f]{32}$"))),
        pc.or_kleene(pc.or_kleene(pc.is_null(c("pid")), pc.equal(c("pid"), EMPTY)),
                     pc.match_substring_regex(c("pid"), "^[0-9a-f]{40}$")),
        *(pc.or_kleene(pc.is_null(c(n)), pc.less_equal(pc.binary_length(c(n)), _LIMIT[n]))
          for n in _LIMIT),
    ]
    ok = pc.fill_null(checks[0], FALSE)
    for check in checks[1:]:
        ok = pc.and_(ok, pc.fill_null(check, FALSE))
    ok_np = mask_array(ok)
    ts = c("ts").to_numpy(zero_copy_only=False)
    finite = np.isfinite(np.where(ok_np, ts, 0.0))
    micros = [(_when(float(v)) if good else None) for v, good in zip(
        ts.tolist(), (ok_np & finite).tolist(), strict=True)]
    when = pa.array(micros, pa.int64())
    ip = canonical_ips(pc.if_else(pa.array(ok_np), host, pa.scalar(None, pa.string())),
                       canonical_or_none)
    cid = content_digests(kind, text, digest_or_none)
    good = ok_np & mask_array(pc.and_(pc.and_(pc.is_valid(when), pc.is_valid(ip)),
                                      pc.is_valid(cid)))
    for k in np.flatnonzero(~good).tolist():
        one(k)
    if not good.any():
        return None
    keep = pa.array(good)
    f = t.filter(keep)
    network = network.filter(keep)
    uid = hex_bytes(f.column("uid"), 16)
    null16 = pa.scalar(None, pa.binary(16))
    columns = {
        "observed_at": when.filter(keep).cast(pa.timestamp("us", tz="UTC")),
        "network": network, "ip": ip.filter(keep), "port": pc.cast(port.filter(keep), pa.int32()),
        "content_kind": kind.filter(keep), "content_id": cid.filter(keep),
        "sensor": pa.repeat(pa.scalar(sensor, pa.string()), len(f)),
        "evidence": pc.take(_LEVEL_VALUES, f.column("level")),
        "record_id": f.column("id"), "file_name": none_if_empty(f.column("name")),
        "file_size": f.column("size"),
        "user_hash": pc.if_else(pc.is_in(network, _ED2K_NETS), uid, null16),
        "ed2k_client_id": f.column("cid"),
        "guid": pc.if_else(pc.equal(network, _GNUTELLA), uid, null16),
        "peer_id": hex_bytes(f.column("pid"), 20),
        "client": none_if_empty(f.column("agent")),
        "nickname": none_if_empty(f.column("nick")),
    }
    table = pa.Table.from_arrays([columns[field.name] for field in RECORD], schema=RECORD)
    return Batch(lines[good], table)
