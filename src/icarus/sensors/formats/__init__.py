"""Sighting formats are plugins: one reader each, listed in ``BUILTIN``, in one registry."""

from __future__ import annotations

from icarus.sensors.formats.base import (
    READERS,
    RecordError,
    SightingReader,
    SightingRecord,
    build_record,
    detect,
)
from icarus.sensors.formats.tool_a import ToolACsv
from icarus.sensors.formats.tool_b import ToolBJson
from icarus.sensors.formats.v1 import V1Csv, V1Jsonl, V1Parquet

BUILTIN: tuple[SightingReader, ...] = (V1Jsonl(), V1Csv(), V1Parquet(), ToolACsv(), ToolBJson())
for _reader in BUILTIN:
    READERS.register(_reader)

__all__ = ["BUILTIN", "READERS", "RecordError", "SightingReader", "SightingRecord",
           "build_record", "detect"]
