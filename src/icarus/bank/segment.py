"""A segment: the entries of one imported file, and the indexes compiled from them.

Layout of ``segments/<id>/``::

    manifest.json      what the segment holds: set, counts, digest kinds, Icarus version
    entries.parquet    every entry (digests, category, severity, flags, name, ...)
    meta/category.npy  per-row category code (int8, see CATEGORY_CODES) — memory-mapped
    meta/severity.npy  per-row severity (int8)
    index/<kind>/      an ExactIndex per digest kind present; index/pdq/ a PdqIndex
    index/<kind>.rows.npy  the segment row of each indexed value (only non-empty values are indexed)
    rejects.jsonl      the records that were refused, with position and reason

A segment is written into a temporary directory and renamed into place when complete, so a
crash never leaves half a segment under its final name.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from icarus import __version__
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Category, Severity
from icarus.domain.digests import Digest
from icarus.identify.pdq import DEFAULT_MIN_QUALITY, pack_codes
from icarus.identify.vpdq import unpack_frames

# Fixed-size digest kinds get an exact index; the others are stored only.
EXACT_KINDS: dict[str, int] = {
    "md5": 16, "sha1": 20, "sha256": 32, "ed2k": 16, "tth": 24, "btih": 20, "btih-v2": 32,
}
STORED_KINDS = (*EXACT_KINDS, "pdq", "photodna", "vpdq")
CATEGORY_CODES: tuple[Category, ...] = tuple(Category)
_CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORY_CODES)}

SCHEMA = pa.schema(
    [
        *(pa.field(k.replace("-", "_"), pa.binary()) for k in STORED_KINDS),
        pa.field("category", pa.string()),
        pa.field("severity", pa.int8()),
        pa.field("source_category", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("flags", pa.list_(pa.string())),
        pa.field("series", pa.string()),
        pa.field("source_id", pa.string()),
        pa.field("product", pa.string()),
    ]
)


def column(kind: str) -> str:
    """The Parquet column of a digest kind."""
    return kind.replace("-", "_")


@dataclass
class SegmentWriter:
    """Streams mapped records into a segment directory (entries first, indexes at the end)."""

    directory: Path
    batch_size: int = 50_000

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=False)
        self._writer = pq.ParquetWriter(self.directory / "entries.parquet", SCHEMA,
                                        compression="zstd")
        self._rows: dict[str, list[Any]] = {f.name: [] for f in SCHEMA}
        # the digest columns, by kind name (the same lists as in _rows)
        self._digest_lists = {k: self._rows[column(k)] for k in STORED_KINDS}
        self.count = 0
        self.kind_counts: dict[str, int] = {}

    def add(self, record: BankRecord, category: Category, severity: Severity) -> None:
        """Append one entry."""
        rows = self._rows
        digest_lists = self._digest_lists
        counts = self.kind_counts
        seen: set[str] = set()
        for d in record.digests:
            kind = d.kind
            if kind in seen or kind not in digest_lists:
                continue
            seen.add(kind)
            digest_lists[kind].append(d.value)
            counts[kind] = counts.get(kind, 0) + 1
        for kind in digest_lists.keys() - seen:
            digest_lists[kind].append(None)
        rows["category"].append(category.value)
        rows["severity"].append(int(severity))
        rows["source_category"].append(record.source_category)
        rows["size"].append(record.size)
        rows["name"].append(record.name)
        rows["flags"].append(sorted(record.flags) if record.flags else [])
        rows["series"].append(record.series)
        rows["source_id"].append(record.source_id)
        rows["product"].append(record.product)
        self.count += 1
        if len(rows["category"]) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self._rows["category"]:
            return
        self._writer.write_table(pa.Table.from_pydict(self._rows, schema=SCHEMA))
        for values in self._rows.values():
            values.clear()

    def finish(self, manifest: dict[str, Any]) -> None:
        """Close the entries file, compile the indexes and write the manifest."""
        self._flush()
        self._writer.close()
        build_indexes(self.directory)
        manifest = {
            **manifest,
            "entries": self.count,
            "digest_counts": dict(sorted(self.kind_counts.items())),
            "icarus_version": __version__,
        }
        (self.directory / "manifest.json").write_text(json.dumps(manifest, indent=1),
                                                      encoding="utf-8")

    def abort(self) -> None:
        """Close files so the directory can be removed."""
        # best effort on the error path: the caller removes the directory anyway
        with contextlib.suppress(Exception):
            self._writer.close()


def build_indexes(directory: Path) -> None:
    """Compile the per-kind indexes and per-row metadata arrays of a segment from its entries."""
    from icarus.bank.index.exact import ExactIndex
    from icarus.bank.index.pdq import PdqIndex

    pf = pq.ParquetFile(directory / "entries.parquet")
    meta = directory / "meta"
    meta.mkdir(exist_ok=True)
    cats = pf.read(columns=["category", "severity"])
    codes = np.array([_CATEGORY_INDEX[Category(c)] for c in cats.column("category").to_pylist()],
                     dtype=np.int8)
    np.save(meta / "category.npy", codes, allow_pickle=False)
    np.save(meta / "severity.npy", cats.column("severity").to_numpy(zero_copy_only=False)
            .astype(np.int8), allow_pickle=False)
    index_dir = directory / "index"
    index_dir.mkdir(exist_ok=True)
    for kind, size in EXACT_KINDS.items():
        digests, rows = _fixed_column(pf, column(kind), size)
        if len(rows):
            ExactIndex.build(digests, index_dir / kind, kind=kind)
            np.save(index_dir / f"{kind}.rows.npy", rows, allow_pickle=False)
    codes_pdq, rows_pdq = _fixed_column(pf, "pdq", 32)
    if len(rows_pdq):
        PdqIndex.build(codes_pdq, index_dir / "pdq")
        np.save(index_dir / "pdq.rows.npy", rows_pdq, allow_pickle=False)
    _build_vpdq(pf, index_dir)


def _build_vpdq(pf: pq.ParquetFile, index_dir: Path) -> None:
    """The vPDQ index of a segment: the usable frames (quality >= 50) of each video entry."""
    from icarus.bank.index.vpdq import VpdqIndex

    videos: list[np.ndarray] = []
    rows: list[int] = []
    row = 0
    for batch in pf.iter_batches(columns=["vpdq"], batch_size=10_000):
        for value in batch.column(0).to_pylist():
            if value:
                usable = [f.pdq for f in unpack_frames(value) if f.quality >= DEFAULT_MIN_QUALITY]
                videos.append(pack_codes(usable))
                rows.append(row)
            row += 1
    if videos:
        VpdqIndex.build(videos, index_dir / "vpdq")
        np.save(index_dir / "vpdq.rows.npy", np.array(rows, dtype=np.int64), allow_pickle=False)


def _fixed_column(pf: pq.ParquetFile, name: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The non-null values of a fixed-size binary column as an (n, size) array, and their rows."""
    col = pf.read(columns=[name]).column(name).combine_chunks()
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(valid).astype(np.int64)
    if not len(rows):
        return np.zeros((0, size), dtype=np.uint8), rows
    present = col.filter(pa.array(valid))
    data = np.frombuffer(present.buffers()[2], dtype=np.uint8)
    offsets = np.frombuffer(present.buffers()[1], dtype=np.int32)[
        present.offset : present.offset + len(present) + 1]
    if np.any(np.diff(offsets) != size):
        raise ValueError(f"column {name} holds values that are not {size} bytes")
    start = int(offsets[0])
    return data[start : start + size * len(present)].reshape(-1, size).copy(), rows


def iter_entries(directory: Path, rows: list[int] | None = None) -> Iterator[dict[str, Any]]:
    """Entries of a segment as dicts (all, or the given rows in the given order)."""
    table = pq.read_table(directory / "entries.parquet")
    if rows is not None:
        table = table.take(pa.array(rows, type=pa.int64()))
    for batch in table.to_batches(max_chunksize=10_000):
        yield from batch.to_pylist()


def entry_digests(entry: dict[str, Any]) -> list[Digest]:
    """The digests of an entry dict, in kind order."""
    return [Digest(k, entry[column(k)]) for k in STORED_KINDS if entry.get(column(k))]


def category_of(code: int) -> Category:
    """The category for a code stored in ``meta/category.npy``."""
    return CATEGORY_CODES[code]
