"""The sightings dataset's schema: one row per ingested sighting of known material.

The dataset lives in ``<home>/sightings/dataset/day=YYYY-MM-DD/*.parquet`` (day of
``observed_at``, UTC), append-only; it is queried with DuckDB. Digests and identifiers are raw
bytes; ``source_*`` columns say which file and line each row came from (evidence provenance).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

SIGHTINGS = pa.schema([
    pa.field("sighting_id", pa.binary(16), nullable=False),
    # = AES-128 of source_line (16-byte big-endian) keyed by source_sha256[:16]: stable, unique
    pa.field("observed_at", TS, nullable=False),
    pa.field("network", pa.string(), nullable=False),  # edonkey | kad | gnutella | bittorrent
    pa.field("ip", pa.string(), nullable=False),
    pa.field("port", pa.int32(), nullable=False),
    pa.field("content_kind", pa.string(), nullable=False),  # an Icarus hash-kind name
    pa.field("content_id", pa.binary(), nullable=False),  # the raw digest
    pa.field("file_name", pa.string(), nullable=True),
    pa.field("file_size", pa.int64(), nullable=True),
    pa.field("user_hash", pa.binary(16), nullable=True),
    pa.field("ed2k_client_id", pa.int64(), nullable=True),
    pa.field("guid", pa.binary(16), nullable=True),
    pa.field("peer_id", pa.binary(20), nullable=True),
    pa.field("client", pa.string(), nullable=True),
    pa.field("nickname", pa.string(), nullable=True),
    pa.field("sensor", pa.string(), nullable=False),
    pa.field("record_id", pa.string(), nullable=True),
    pa.field("evidence", pa.string(), nullable=False),
    # advertised | browsed | handshake | download-verified
    pa.field("category", pa.string(), nullable=False),  # Icarus category of the gravest match
    pa.field("severity", pa.int8(), nullable=False),
    pa.field("match_set", pa.string(), nullable=False),  # the alert set of that match
    pa.field("source_sha256", pa.string(), nullable=False),  # the ingested file
    pa.field("source_line", pa.int64(), nullable=False),  # 1-based line (or record) in it
])
