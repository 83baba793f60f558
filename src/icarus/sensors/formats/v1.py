"""Icarus's own sighting format, version 1, in its three encodings: JSON lines, CSV, Parquet."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.parquet as pq

from icarus.core.errors import CorruptInputError
from icarus.core.sinks import RecordSink
from icarus.sensors.formats.base import (
    V1_FIELDS,
    V1_REQUIRED,
    RecordError,
    SightingRecord,
    build_record,
    first_line,
    require_format,
)
from icarus.sensors.formats.columns import (
    WHOLE,
    Batch,
    Event,
    Shard,
    batch_records,
    event_batches,
)
from icarus.sensors.formats.v1_columnar import read_events

_INT_FIELDS = ("v", "port", "file_size", "ed2k_client_id")


def _check_fields(fields: dict[str, Any], *, version_required: bool) -> None:
    unknown = sorted(set(fields) - V1_FIELDS)
    if unknown:
        raise RecordError(f"unknown field(s): {', '.join(unknown)}")
    version = fields.get("v")
    if version is None or version == "":
        if version_required:
            raise RecordError("missing required field(s): v")
    elif version not in (1, "1") or isinstance(version, bool):
        raise RecordError(f"v: expected 1, got {version!r}")


class V1Jsonl:
    """v1 as JSON lines: one object per line."""

    NAME: ClassVar[str] = "v1-jsonl"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A first line that is an object with a ``v`` and an ``observed_at`` key."""
        line = first_line(head).strip()
        return (line.startswith("{") and '"observed_at"' in line and '"v"' in line
                and '"results"' not in line)

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Each non-blank line is one record; a line that is not a v1 object is rejected."""
        for batch in self.read_batches(path, sink):
            yield from batch_records(batch)

    def read_batches(self, path: Path, sink: RecordSink) -> Iterator[Batch]:
        """The records in columns (see :mod:`.v1_columnar`), a batch per block of lines."""
        return event_batches(self.read_events(path, sink))

    def read_events(self, path: Path, sink: RecordSink,
                    shard: Shard = WHOLE) -> Iterator[Event]:
        """:meth:`read_batches` of one reader of several side by side (see
        :class:`~icarus.sensors.formats.columns.Shard`)."""
        require_format(self, path)

        def slow(no: int, raw: bytes) -> SightingRecord | None:
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    raise RecordError("not a JSON object")
                _check_fields(obj, version_required=True)
                return build_record(obj)
            except (RecordError, ValueError) as exc:
                reason = (f"not valid JSON: {exc}" if isinstance(exc, json.JSONDecodeError)
                          else str(exc))
                sink.reject(f"line {no}", reason, raw.decode("utf-8", "replace").rstrip())
                return None

        with path.open("rb") as fh:
            yield from read_events(fh, slow, shard)


class V1Csv:
    """v1 as comma-separated values with a header naming the fields (any order)."""

    NAME: ClassVar[str] = "v1-csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A header line whose comma-separated names include every required v1 field."""
        names = {c.strip() for c in first_line(head).split(",")}
        return set(V1_REQUIRED) <= names and names <= V1_FIELDS

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Rows after the header; empty cells are absent; ``line`` is the row's last line."""
        require_format(self, path)
        with path.open("r", encoding="utf-8-sig", newline="", errors="replace") as fh:
            reader = csv.reader(fh)
            header = [c.strip() for c in next(reader)]
            width = len(header)
            for row in reader:
                no = reader.line_num
                if not row:
                    continue
                try:
                    if len(row) != width:
                        raise RecordError(f"{len(row)} cells, the header has {width}")
                    fields: dict[str, Any] = dict(zip(header, row, strict=True))
                    _check_fields(fields, version_required=False)
                    for name in _INT_FIELDS:
                        value = fields.get(name)
                        if value:
                            fields[name] = _int_cell(name, value)
                    record = build_record(fields)
                except RecordError as exc:
                    sink.reject(f"line {no}", str(exc), ",".join(row))
                    continue
                yield no, record


def _int_cell(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise RecordError(f"{name}: not an integer: {value!r}") from None


class V1Parquet:
    """v1 as Parquet: one column per field, ``observed_at`` a UTC timestamp."""

    NAME: ClassVar[str] = "v1-parquet"
    BATCH: ClassVar[int] = 50_000

    def sniff(self, path: Path, head: bytes) -> bool:
        """The Parquet magic number."""
        return head[:4] == b"PAR1"

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Rows in batches; ``line`` is the 1-based row number."""
        require_format(self, path)
        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a broken footer
            raise CorruptInputError(f"not a readable Parquet file: {exc}", path=path) from None
        unknown = sorted(set(pf.schema_arrow.names) - V1_FIELDS)
        if unknown:
            raise CorruptInputError(f"columns that are not v1 fields: {unknown}", path=path)
        no = 0
        for batch in pf.iter_batches(batch_size=self.BATCH):
            for row in batch.to_pylist():
                no += 1
                try:
                    _check_fields(row, version_required=False)
                    record = build_record(row)
                except RecordError as exc:
                    sink.reject(f"row {no}", str(exc), json.dumps(row, default=str))
                    continue
                yield no, record
