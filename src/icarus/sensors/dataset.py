"""The sightings dataset: append-only, day-partitioned Parquet, its ledger, and DuckDB queries.

Layout under ``<home>/sightings/``::

    ledger.sqlite                       committed files (by SHA-256) and content keys of rows
    dataset/day=YYYY-MM-DD/part-<file-sha256[:16]>-<n>.parquet
    dataset/.tmp-<file-sha256>/...      a file's parts before commit
    quarantine/<file-sha256>.jsonl      rejected records of a file

A file is committed when its ledger row exists: parts of uncommitted files are invisible to
queries and removed by :func:`recover`, so a crash at any point leaves no partial data.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus.core.settings import Settings
from icarus.sensors.schema import SIGHTINGS

KEY_VERSION = 3
"""The definition of content keys in a ledger (``PRAGMA user_version``): 0 hashed the Python
text of a record (before the columnar ingest), 1 a text encoding (decimal lengths and
numbers), 2 hashed a binary encoding with a length before each field (16 bytes), 3 is the
observation time and a hash of :func:`content_keys`' encoding (24 bytes)."""
KEY_BYTES = 24
"""Bytes of a content key: 8 of observation time, 16 of hash."""
KEY_FIELDS = ("observed_at", "network", "ip", "port", "content_kind", "content_id", "sensor",
              "evidence", "record_id", "file_name", "file_size", "user_hash", "ed2k_client_id",
              "guid", "peer_id", "client", "nickname")
"""The v1 fields of a stored sighting: the ones its content key covers."""
_SHA256 = hashlib.sha256()
_INSERT_KEYS = (
    "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?1) "
    "INSERT INTO keys SELECT substr(?2, n * ?3 + 1, ?3) FROM i WHERE true ON CONFLICT DO NOTHING")
"""Insert ?1 keys of ?3 bytes each, cut from the blob ?2."""
_EMPTY = pa.scalar(b"")
_ABSENT = 0xFFFFFFFF
_NUMBERS = ("observed_at", "port", "file_size", "ed2k_client_id")
"""The fields of :data:`KEY_FIELDS` that are numbers (times as microseconds)."""


def content_keys(table: pa.Table) -> list[bytes]:
    """For each row (of a table with the :data:`KEY_FIELDS`), :data:`KEY_BYTES` bytes that are
    equal for two rows exactly when every v1 field is equal.

    The key is the observation time (microseconds since the epoch as an unsigned 8-byte
    big-endian number, offset by 2^63 so that keys sort by time), then the first 16 bytes of
    the SHA-256 of an unambiguous encoding: the length of each field in :data:`KEY_FIELDS`
    order as a 4-byte big-endian number (``FF FF FF FF`` when absent, 8 for a number), then
    the four numbers (:data:`_NUMBERS`: the time as microseconds since the epoch, the others
    as they are) as 8-byte big-endian two's complement (0 when absent), then the bytes of the
    other fields in :data:`KEY_FIELDS` order (text as UTF-8, digests raw; nothing when
    absent). The lengths in front make it unambiguous and cheap to build: one fixed-width
    header per row and 13 columns joined. The time first makes the keys of a file (sensor
    exports run in time order) land together in the ledger's B-tree instead of all over it.
    """
    data = content_key_matrix(table).tobytes()
    return [data[i:i + KEY_BYTES] for i in range(0, len(data), KEY_BYTES)]


def content_key_matrix(table: pa.Table) -> np.ndarray:
    """:func:`content_keys` as an ``(n, KEY_BYTES)`` array of bytes (no Python object per
    key)."""
    n = table.num_rows
    keys = np.empty((n, KEY_BYTES), dtype=np.uint8)
    if not n:
        return keys
    micros = np.asarray(pc.cast(table.column("observed_at"), pa.int64()).to_numpy(),
                        dtype=np.int64)
    keys[:, :8] = (micros.view(np.uint64) ^ np.uint64(1 << 63)).astype(">u8") \
        .view(np.uint8).reshape(n, 8)
    keys[:, 8:] = np.frombuffer(_sha256_each(_encoded(table)), dtype=np.uint8) \
        .reshape(n, 32)[:, :16]
    return keys


def _sha256_each(rows: list[bytes]) -> bytes:
    """The SHA-256 of each of ``rows``, one after the other. Each is hashed in a copy of one
    ready context: a new ``hashlib.sha256()`` sets a context up from scratch (with OpenSSL 3
    it looks the algorithm up every time), which cost a quarter of a short row's hashing."""
    copy = _SHA256.copy
    out = []
    for row in rows:
        h = copy()
        h.update(row)
        out.append(h.digest())
    return b"".join(out)


def _fixed(matrix: np.ndarray) -> pa.Array:
    """The rows of an ``(n, width)`` byte array as a binary array."""
    n, width = matrix.shape
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(matrix).tobytes())],
    ).cast(pa.binary())


def _encoded(table: pa.Table) -> list[bytes]:
    """The encoding of each row that :func:`content_keys` hashes (built in columns): a header
    of fixed width (every field's length, then the numbers) and the other fields' bytes."""
    n = table.num_rows
    lengths = np.empty((n, len(KEY_FIELDS)), dtype=">u4")
    numbers = np.empty((n, len(_NUMBERS)), dtype=">i8")
    texts = []
    for k, name in enumerate(KEY_FIELDS):
        col = table.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if name in _NUMBERS:
            numbers[:, _NUMBERS.index(name)] = pc.fill_null(col.cast(pa.int64()), 0).to_numpy()
            lengths[:, k] = _valid_or_absent(col, 8)
            continue
        raw = col if pa.types.is_binary(col.type) else col.cast(pa.binary())
        if raw.null_count:
            raw_lengths = pc.fill_null(pc.binary_length(raw), 0)
            raw = pc.fill_null(raw, _EMPTY)
        else:
            raw_lengths = pc.binary_length(raw)
        lengths[:, k] = _valid_or_absent(col, raw_lengths.to_numpy())
        texts.append(raw)
    head = np.concatenate([lengths.view(np.uint8).reshape(n, -1),
                           numbers.view(np.uint8).reshape(n, -1)], axis=1)
    joined: list[bytes] = pc.binary_join_element_wise(_fixed(head), *texts, _EMPTY).to_pylist()
    return joined


def _valid_or_absent(col: pa.Array, length: int | np.ndarray) -> int | np.ndarray:
    """``length`` where ``col`` is valid, :data:`_ABSENT` where it is null."""
    if not col.null_count:
        return length
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    absent: np.ndarray = np.where(valid, length, _ABSENT)
    return absent


def sightings_dir(settings: Settings) -> Path:
    """``<home>/sightings``."""
    return settings.home / "sightings"


def dataset_dir(settings: Settings) -> Path:
    """Where the day partitions live."""
    return sightings_dir(settings) / "dataset"


class Ledger:
    """The committed files and the content keys of stored rows (SQLite, one writer at a time).

    Everything a file adds (its ledger row and its keys) is one transaction: it is committed
    only after the file's parts are in place, so the ledger never names missing data.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        # Keys are random: a large page cache keeps their B-tree's inner pages in memory.
        self.db.execute("PRAGMA cache_size=-262144")
        fresh = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'keys'").fetchone() is None
        self.db.execute("CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, "
                        "name TEXT, format TEXT, ingested_at TEXT, report TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS keys (key BLOB PRIMARY KEY) WITHOUT ROWID")
        if fresh:
            self.db.execute(f"PRAGMA user_version = {KEY_VERSION}")

    @property
    def key_version(self) -> int:
        """The definition of the stored content keys (:data:`KEY_VERSION` once migrated)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the database (an open transaction is rolled back)."""
        self.db.close()

    def has_file(self, sha256: str) -> bool:
        """Whether the file was committed."""
        return self.db.execute("SELECT 1 FROM files WHERE sha256 = ?", (sha256,)).fetchone() \
            is not None

    def prefixes(self) -> set[str]:
        """The part-name prefixes (SHA-256[:16]) of committed files."""
        return {r[0][:16] for r in self.db.execute("SELECT sha256 FROM files")}

    def begin(self) -> None:
        """Start the transaction of one file (an exclusive lock: one ingest at a time)."""
        self.db.execute("BEGIN IMMEDIATE")

    def add_keys(self, keys: list[bytes]) -> list[bool]:
        """Insert content keys (all of one length); for each, whether it was new (an earlier
        one is a duplicate)."""
        if not keys:
            return []
        matrix = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), -1)
        new: list[bool] = self.add_key_matrix(matrix).tolist()
        return new

    def add_key_matrix(self, keys: np.ndarray) -> np.ndarray:
        """:meth:`add_keys` for an ``(n, width)`` array of key bytes: a boolean array."""
        n, width = keys.shape
        if not n:
            return np.zeros(0, dtype=bool)
        # One statement per batch: the distinct keys travel as one blob, SQLite cuts them out
        # and inserts the ones not stored (no Python round trip per key). Keys are compared in
        # numpy as opaque values of ``width`` bytes; sorted, they are inserted in key order.
        # Duplicates are nearly always within a batch (a record logged twice in a row), so the
        # insert is first tried without returning anything: if every key was new, that is all
        # (half the cost). Else it is undone and made again returning the keys it stored.
        distinct, first = np.unique(np.ascontiguousarray(keys).view(f"V{width}").ravel(),
                                    return_index=True)
        params = (len(distinct), distinct.tobytes(), width)
        before = self.db.total_changes
        self.db.execute("SAVEPOINT add_keys")
        try:
            self.db.execute(_INSERT_KEYS, params)
            if self.db.total_changes - before == len(distinct):
                stored = np.ones(len(distinct), dtype=bool)
            else:
                self.db.execute("ROLLBACK TO add_keys")
                inserted = self.db.execute(_INSERT_KEYS + " RETURNING key", params).fetchall()
                stored = np.zeros(len(distinct), dtype=bool)
                if inserted:
                    got = np.frombuffer(b"".join(r[0] for r in inserted), dtype=f"V{width}")
                    stored[np.searchsorted(distinct, got)] = True
        finally:
            self.db.execute("RELEASE add_keys")
        # The first occurrence of a key new to the ledger is the new one; later ones are
        # duplicates within the batch.
        new = np.zeros(n, dtype=bool)
        new[first[stored]] = True
        return new

    def replace_keys(self, batches: Any) -> None:
        """Replace every stored key by those of ``batches`` (``(n, width)`` arrays of key bytes)
        and mark the ledger as holding keys of :data:`KEY_VERSION`, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM keys")
            for keys in batches:
                self.add_key_matrix(keys)
            self.db.execute(f"PRAGMA user_version = {KEY_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def commit_file(self, sha256: str, name: str, fmt: str, when: str, report: str) -> None:
        """Record the file and commit its transaction (the commit point of an ingest)."""
        self.db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                        (sha256, name, fmt, when, report))
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        """Abandon the file's transaction."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")


def ledger(settings: Settings) -> Ledger:
    """The workspace's ledger (created if absent)."""
    return Ledger(sightings_dir(settings) / "ledger.sqlite")


def committed_parts(settings: Settings, root: Path | None = None) -> list[Path]:
    """Every part file of a committed file, sorted: of the dataset, or of the day-partitioned
    area ``root`` (e.g. the unmatched area)."""
    root = root or dataset_dir(settings)
    if not root.is_dir():
        return []
    led = ledger(settings)
    try:
        prefixes = led.prefixes()
    finally:
        led.close()
    return sorted(p for p in root.glob("day=*/part-*.parquet")
                  if p.name[5:21] in prefixes)


def migrate_keys(settings: Settings, led: Ledger) -> bool:
    """Bring the ledger's content keys to :data:`KEY_VERSION`; whether anything was done.

    Keys of an older definition are recomputed from the stored rows themselves (every row of
    the dataset is one key). Keys of days already purged are not recomputed: a record of such
    a day arriving again in a new file is stored again (and falls to the next purge).
    """
    if led.key_version >= KEY_VERSION:
        return False
    prefixes = led.prefixes()
    root = dataset_dir(settings)
    parts = sorted(p for p in root.glob("day=*/part-*.parquet")
                   if p.name[5:21] in prefixes) if root.is_dir() else []

    def batches() -> Any:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=65_536,
                                                            columns=list(KEY_FIELDS)):
                yield content_key_matrix(pa.Table.from_batches([batch]))

    led.replace_keys(batches())
    return True


def recover(settings: Settings, led: Ledger) -> int:
    """Remove what an interrupted ingest left (temporary dirs, uncommitted parts); a count."""
    root = dataset_dir(settings)
    if not root.is_dir():
        return 0
    removed = 0
    for tmp in root.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        removed += 1
    prefixes = led.prefixes()
    for part in root.glob("day=*/part-*.parquet"):
        if part.name[5:21] not in prefixes:
            part.unlink()
            removed += 1
    return removed


def _connect(settings: Settings, root: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    parts = committed_parts(settings, root)
    if parts:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts)
        view = f"CREATE VIEW sightings AS SELECT * FROM read_parquet([{files}], hive_partitioning = true)"  # noqa: E501, S608 - paths quoted above
        con.execute(view)
    else:
        con.register("_empty", pa.table({f.name: pa.array([], f.type) for f in SIGHTINGS}))
        con.execute("CREATE VIEW sightings AS SELECT *, CAST(NULL AS DATE) AS day FROM _empty")
    return con


def query(settings: Settings, sql: str, *, root: Path | None = None) -> pa.Table:
    """Run ``sql`` with a view ``sightings`` over the committed dataset (plus a ``day`` column),
    or over the committed parts of the area ``root`` (same layout and schema, e.g. the
    unmatched area). Select only the columns needed: DuckDB then reads only those."""
    con = _connect(settings, root)
    try:
        table: pa.Table = con.sql(sql).to_arrow_table()
        return table
    finally:
        con.close()


@dataclass(frozen=True, slots=True)
class DatasetStats:
    """What the dataset holds."""

    rows: int
    days: int
    files: int
    first_day: str | None
    last_day: str | None
    by_sensor: dict[str, int]
    by_network: dict[str, int]
    by_category: dict[str, int]


def stats(settings: Settings) -> DatasetStats:
    """Rows, days, committed files and rows per sensor, network and category."""
    con = _connect(settings)
    try:
        def counts(column: str) -> dict[str, int]:
            rows: list[Any] = con.execute(
                f"SELECT {column}, count(*) FROM sightings GROUP BY 1 ORDER BY 2 DESC, 1"  # noqa: S608
            ).fetchall()
            return {str(k): int(v) for k, v in rows}

        total, days, first, last = con.execute(
            "SELECT count(*), count(DISTINCT day), min(day), max(day) FROM sightings").fetchone() \
            or (0, 0, None, None)
        led = ledger(settings)
        try:
            files = int(led.db.execute("SELECT count(*) FROM files").fetchone()[0])
        finally:
            led.close()
        return DatasetStats(
            rows=int(total), days=int(days), files=files,
            first_day=str(first) if first is not None else None,
            last_day=str(last) if last is not None else None,
            by_sensor=counts("sensor"), by_network=counts("network"),
            by_category=counts("category"))
    finally:
        con.close()
