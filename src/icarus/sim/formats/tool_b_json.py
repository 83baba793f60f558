"""The "tool B" export style: one JSON document with a ``results`` array, one result per line.

The precise definition is ``docs/formats/tool-exports.md``: epoch-second timestamps with three
decimals, ``ip:port`` peers, content as URNs, the tool's short key names and numeric evidence
levels. A malformed result is still valid JSON (a wrong type or a bad value), because a syntax
error would ruin the whole document; a truncated file lacks the closing ``]}``.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import UsageError
from icarus.sim.formats import noise, text
from icarus.sim.formats.base import EVIDENCE_LEVELS, Pieces, Style, digest_texts
from icarus.sim.formats.tool_a_csv import map_values

GENERATOR = "tool-b 3.1"
"""The ``generator`` the envelope names."""

PROTOCOLS = {"edonkey": "ed2k", "kad": "kad", "gnutella": "gnutella", "bittorrent": "bittorrent"}
"""v1 network name -> tool B ``proto``."""

URN_PREFIX = {"ed2k": "urn:ed2khash:", "sha1": "urn:sha1:", "btih": "urn:btih:",
              "md5": "urn:md5:", "sha256": "urn:sha256:"}
"""v1 content kind -> the URN's prefix (SHA-1 in base32, the others in lower-case hex)."""

LEVELS = {level: str(i) for i, level in enumerate(EVIDENCE_LEVELS, 1)}
"""v1 evidence level -> tool B ``level`` (1 = advertised ... 4 = download-verified)."""

REQUIRED = ("ts", "proto", "peer", "urn", "level")
"""Required keys a "missing-field" result lacks."""

_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mixed_ids(sensor: str, seq: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """A bijection of the record numbers (SplitMix64's finaliser), salted by the sensor: ids
    look random, yet two numbers never share one."""
    x = np.asarray(seq, dtype=np.uint64) + np.uint64(zlib.crc32(sensor.encode()) << 32)
    x = (x ^ (x >> np.uint64(30))) * _MIX[0]
    x = (x ^ (x >> np.uint64(27))) * _MIX[1]
    return x ^ (x >> np.uint64(31))


def _urn(kind: str, digests: pa.Array) -> pa.Array:
    body = (text.base32_text(digests, 20) if kind == "sha1"
            else text.hex_text(digests, digests.type.byte_width))
    return text.join(URN_PREFIX[kind], body)


class ToolBStyle(Style):
    """Tool B JSON; record ids are 16 lower-case hex digits (``id``)."""

    NAME: ClassVar[str] = "tool-b"
    EXTENSION: ClassVar[str] = "json"
    SUFFIX: ClassVar[str] = ""

    def record_ids(self, sensor: str, seq: npt.NDArray[np.int64]) -> pa.Array:
        """16 hex digits, a per-sensor bijection of the record number."""
        ids = mixed_ids(sensor, seq).astype(">u8")
        matrix = ids.view(np.uint8).reshape(len(ids), 8)
        raw = pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), len(ids),
                                                   [None, pa.py_buffer(matrix.tobytes())])
        return text.hex_text(raw, 8)

    def header(self, sensor: str) -> bytes:
        """The envelope up to the opening bracket of ``results``."""
        return (f'{{"generator": {json.dumps(GENERATOR)}, '
                f'"sensor": {json.dumps(sensor, ensure_ascii=False)}, "results": [').encode()

    def footer(self) -> bytes:
        """The closing of ``results`` and of the envelope."""
        return b"\n]}\n"

    def separator(self, first: bool) -> str:
        """A line break before each result, and a comma after the one before."""
        return "\n" if first else ",\n"

    def lines(self, batch: pa.Table) -> pa.Array:
        """One result object per record, keys in the documented order, absent keys omitted."""
        col = {name: batch.column(name).combine_chunks() for name in batch.column_names}
        js = text.json_body
        ms = col["observed_at"].cast(pa.int64()).to_numpy(zero_copy_only=False)
        ip, port = col["ip"], text.decimal(col["port"])
        v6 = pc.fill_null(pc.match_substring(ip, ":"), pa.scalar(False))
        peer = pc.if_else(v6, text.join("[", ip, "]:", port), text.join(ip, ":", port))
        uid = pc.coalesce(text.hex_text(col["user_hash"], 16), text.hex_text(col["guid"], 16))
        line = Pieces(len(batch))
        line.field('{"id": "', col["record_id"], '"', js)
        line.field(', "ts": ', text.epoch_seconds_ms(ms))
        line.field(', "proto": "', map_values(col["network"], PROTOCOLS, "network"), '"',
                   constant=True)
        line.field(', "peer": "', peer, '"', js)
        line.field(', "urn": "', digest_texts(batch, _urn), '"')
        line.field(', "name": "', col["file_name"], '"', js)
        line.field(', "size": ', text.decimal(col["file_size"]))
        line.field(', "uid": "', uid, '"')
        line.field(', "cid": ', text.decimal(col["ed2k_client_id"]))
        line.field(', "pid": "', text.hex_text(col["peer_id"], 20), '"')
        line.field(', "agent": "', col["client"], '"', js)
        line.field(', "nick": "', col["nickname"], '"', js)
        line.field(', "level": ', map_values(col["evidence"], LEVELS, "evidence"))
        line.lit("}")
        return line.build()

    def corrupt(self, line: str, kind: str, rng: np.random.Generator) -> str:
        """broken: a value of the wrong JSON type; missing-field: a required key dropped;
        bad-ip: the peer's address invalid; bad-hash: the URN's digest unparseable."""
        record: dict[str, Any] = json.loads(line)
        if kind == "broken":
            key, wrong = (("ts", "n/a"), ("level", "high"), ("peer", 0))[int(rng.integers(3))]
            record[key] = wrong
        elif kind == "missing-field":
            del record[REQUIRED[int(rng.integers(len(REQUIRED)))]]
        elif kind == "bad-ip":
            port = str(record["peer"]).rsplit(":", 1)[-1]
            record["peer"] = f"{noise.bad_ip(rng)}:{port}"
        elif kind == "bad-hash":
            prefix, _, value = str(record["urn"]).rpartition(":")
            record["urn"] = f"{prefix}:{noise.bad_hash(value, rng)}"
        else:
            raise UsageError(f"unknown malformation {kind!r}")
        return json.dumps(record, ensure_ascii=False)
