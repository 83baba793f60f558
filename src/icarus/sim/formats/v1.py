"""Icarus sighting format v1 as JSON lines (``docs/formats/sightings-v1.md``).

Each line is exactly what ``json.dumps(record, ensure_ascii=False)`` gives for the record's
fields in the order of the format's field table, absent fields left out; it is built column by
column (:mod:`~icarus.sim.formats.text`) because ten million ``json.dumps`` calls are too slow.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import UsageError
from icarus.sim.formats import noise, text
from icarus.sim.formats.base import Pieces, Style, digest_texts

REQUIRED = ("observed_at", "ip", "content_id", "evidence", "network")
"""Required fields a "missing-field" line may lack."""


def _ms(batch: pa.Table) -> npt.NDArray[np.int64]:
    column = batch.column("observed_at").combine_chunks()
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


class V1Style(Style):
    """Sighting format v1, JSON lines; record ids ``<sensor>-<9-digit number>``."""

    NAME: ClassVar[str] = "v1"
    EXTENSION: ClassVar[str] = "jsonl"

    def __init__(self, *, sha1_base32: bool = True) -> None:
        self.sha1_base32 = sha1_base32

    def record_ids(self, sensor: str, seq: npt.NDArray[np.int64]) -> pa.Array:
        """``<sensor>-000000042``: the number zero-padded to nine digits."""
        numbers = pc.utf8_lpad(text.decimal(np.asarray(seq, dtype=np.int64)), 9, "0")
        return text.join(f"{sensor}-", numbers)

    def _content_id(self, kind: str, digests: pa.Array) -> pa.Array:
        if kind == "sha1" and self.sha1_base32:
            return text.base32_text(digests, 20)
        return text.hex_text(digests, digests.type.byte_width)

    def lines(self, batch: pa.Table) -> pa.Array:
        """One JSON object per row, fields in the format's order, absent fields omitted."""
        col = {name: batch.column(name).combine_chunks() for name in batch.column_names}
        js = text.json_body
        line = Pieces(len(batch))
        line.lit('{"v": 1')
        line.field(', "record_id": "', col["record_id"], '"', js)
        line.field(', "observed_at": "', text.iso_ms(_ms(batch)), '"')
        line.field(', "network": "', col["network"], '"', js, constant=True)
        line.field(', "ip": "', col["ip"], '"', js)
        line.field(', "port": ', text.decimal(col["port"]))
        line.field(', "content_kind": "', col["content_kind"], '"', js, constant=True)
        line.field(', "content_id": "', digest_texts(batch, self._content_id), '"')
        line.field(', "file_name": "', col["file_name"], '"', js)
        line.field(', "file_size": ', text.decimal(col["file_size"]))
        line.field(', "user_hash": "', text.hex_text(col["user_hash"], 16), '"')
        line.field(', "ed2k_client_id": ', text.decimal(col["ed2k_client_id"]))
        line.field(', "guid": "', text.hex_text(col["guid"], 16), '"')
        line.field(', "peer_id": "', text.hex_text(col["peer_id"], 20), '"')
        line.field(', "client": "', col["client"], '"', js)
        line.field(', "nickname": "', col["nickname"], '"', js)
        line.field(', "sensor": "', col["sensor"], '"', js, constant=True)
        line.field(', "evidence": "', col["evidence"], '"', js)
        line.lit("}")
        return line.build()

    def corrupt(self, line: str, kind: str, rng: np.random.Generator) -> str:
        """broken: the line cut before its closing brace; missing-field: a required field
        dropped; bad-ip / bad-hash: ``ip`` / ``content_id`` replaced by an invalid value."""
        if kind == "broken":
            return noise.cut(line, rng)
        record: dict[str, Any] = json.loads(line)
        if kind == "missing-field":
            del record[REQUIRED[int(rng.integers(len(REQUIRED)))]]
        elif kind == "bad-ip":
            record["ip"] = noise.bad_ip(rng)
        elif kind == "bad-hash":
            record["content_id"] = noise.bad_hash(record["content_id"], rng)
        else:
            raise UsageError(f"unknown malformation {kind!r}")
        return json.dumps(record, ensure_ascii=False)
