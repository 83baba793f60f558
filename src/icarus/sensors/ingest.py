"""Ingest sighting files: read, validate, match against alert sets, minimise, dedupe, store.

Sightings of content in no alert set are not kept in the dataset (unless research mode keeps
them): they go, reduced and not deduplicated, to the short-lived unmatched area
(:mod:`icarus.sensors.unmatched`) for candidate discovery, or nowhere when
``sightings_unmatched_days`` is none.

Per file, all or nothing: rows are written as parts in a temporary directory, then renamed into
their day partitions, then the ledger transaction (the file's SHA-256 and its rows' content
keys) commits. A crash before the commit leaves parts that the next run removes; after it, the
file is done. A file already in the ledger adds nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from icarus.bank.matcher import Matcher
from icarus.bank.service import BankService
from icarus.core.files import fsync_dir
from icarus.core.settings import Settings
from icarus.core.sinks import clip
from icarus.domain.bank import Match
from icarus.domain.categories import SetKind
from icarus.sensors.dataset import Ledger, dataset_dir, ledger, recover, sightings_dir
from icarus.sensors.formats import READERS, SightingReader, SightingRecord, detect
from icarus.sensors.schema import SIGHTINGS
from icarus.sensors.unmatched import (
    PurgeReport,
    purge_unmatched,
    recover_unmatched,
    reduce,
    unmatched_dir,
)

BATCH = 20_000
"""Records matched and deduplicated together (bounds memory with PART_ROWS)."""
PART_ROWS = 200_000
"""Rows buffered before parts are written."""
_FIELDS = SightingRecord.__slots__
_VALUES = attrgetter(*_FIELDS)
_LINE = re.compile(r"(?:line|row) (\d+)")


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one file gave: ``read == kept + not_alert + duplicates + quarantined``."""

    path: str
    sha256: str
    format: str
    already_ingested: bool
    read: int = 0
    kept: int = 0
    not_alert: int = 0
    """Valid records of content in no alert set: not in the dataset (data minimisation)."""
    duplicates: int = 0
    quarantined: int = 0
    quarantine_path: str | None = None
    parts: int = 0
    retention_days: int | None = None
    unmatched: int = 0
    """Of ``not_alert``, the rows written (reduced) to the short-lived unmatched area."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes: its identity in the ledger."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def content_key(rec: SightingRecord) -> bytes:
    """16 bytes that equal for two records exactly when every field is equal."""
    return hashlib.sha256(repr(_VALUES(rec)).encode()).digest()[:16]


class _Quarantine:
    """A sink writing rejects as JSON lines to a temporary file (opened on the first reject)."""

    def __init__(self, tmp: Path, source: Path) -> None:
        self.tmp, self.source, self.count = tmp, str(source), 0
        self._fh: IO[str] | None = None

    def reject(self, position: str, reason: str, raw: str | None = None) -> None:
        if self._fh is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.tmp.open("w", encoding="utf-8")
        m = _LINE.match(position)
        self._fh.write(json.dumps({"source": self.source, "line": int(m[1]) if m else None,
                                   "position": position, "reason": reason,
                                   "raw": clip(raw)}) + "\n")
        self.count += 1

    def warn(self, position: str, message: str) -> None:
        """Warnings do not stop a record; readers of this package emit none."""

    def close(self) -> bool:
        """Flush to disk; whether anything was written."""
        if self._fh is None:
            return False
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return True


class _Parts:
    """Rows buffered per day and written as numbered parts into a temporary directory."""

    def __init__(self, tmp: Path, prefix: str, sha: str, *, day: str | None = None,
                 reduced: bool = False) -> None:
        self.tmp, self.prefix, self.sha, self.written = tmp, prefix, sha, 0
        # The unmatched area partitions by ingest day (its retention clock), reduced.
        self.day, self.reduced = day, reduced
        self.rows: dict[str, list[tuple[int, SightingRecord, Match | None]]] = {}
        self.buffered = 0

    def add(self, line: int, rec: SightingRecord, match: Match | None) -> None:
        day = self.day or rec.observed_at.strftime("%Y-%m-%d")
        self.rows.setdefault(day, []).append((line, rec, match))
        self.buffered += 1
        if self.buffered >= PART_ROWS:
            self.flush()

    def flush(self) -> None:
        for day in sorted(self.rows):
            out = self.tmp / f"day={day}" / f"part-{self.prefix}-{self.written}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            table = _table(self.rows[day], self.sha)
            pq.write_table(reduce(table) if self.reduced else table, out)
            with out.open("rb") as fh:
                os.fsync(fh.fileno())
            self.written += 1
        self.rows, self.buffered = {}, 0


def _table(rows: list[tuple[int, SightingRecord, Match | None]], sha: str) -> pa.Table:
    """The rows as a SIGHTINGS table, built column by column (no per-row dicts)."""
    lines = [line for line, _, _ in rows]
    recs = [rec for _, rec, _ in rows]
    matches = [m for _, _, m in rows]
    columns: dict[str, list[Any]] = {f: list(map(attrgetter(f), recs)) for f in _FIELDS}
    columns["sighting_id"] = [hashlib.sha256(f"{sha}:{line}".encode()).digest()[:16]
                              for line in lines]
    columns["category"] = [m.category.value if m else "none" for m in matches]
    columns["severity"] = [int(m.severity) if m else 0 for m in matches]
    columns["match_set"] = [m.set_name if m else "" for m in matches]
    columns["source_sha256"] = [sha] * len(rows)
    columns["source_line"] = lines
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in SIGHTINGS],
                                schema=SIGHTINGS)


def _gravest(matches: list[Match]) -> Match | None:
    alert = [m for m in matches if m.set_kind is SetKind.ALERT]
    return min(alert, key=lambda m: (-int(m.severity), m.set_name, m.row), default=None)


def _match(matcher: Matcher | None, batch: list[SightingRecord]) -> list[Match | None]:
    out: list[Match | None] = [None] * len(batch)
    if matcher is None:
        return out
    by_kind: dict[str, list[int]] = {}
    for i, rec in enumerate(batch):
        by_kind.setdefault(rec.content_kind, []).append(i)
    for kind, idx in by_kind.items():
        # A batch names few distinct contents: match each once, then spread the result.
        ids = [batch[i].content_id for i in idx]
        distinct = list(dict.fromkeys(ids))
        size = len(distinct[0])
        values = np.frombuffer(b"".join(distinct), dtype=np.uint8).reshape(len(distinct), size)
        gravest = {cid: _gravest(found)
                   for cid, found in zip(distinct, matcher.match_exact(kind, values),
                                         strict=True)}
        for i, cid in zip(idx, ids, strict=True):
            out[i] = gravest[cid]
    return out


def purge_expired(settings: Settings, *, now: datetime | None = None) -> PurgeReport:
    """Remove the dataset's days observed more than ``sightings_retention_days`` before ``now``.

    Whole day partitions go (the dataset is partitioned by observation day, so the age of the
    evidence decides). With no retention set nothing is removed. The ledger keeps the files'
    identities, so re-ingesting a purged file does not bring its sightings back.
    """
    keep = settings.sightings_retention_days
    if keep is None:
        return PurgeReport(0, 0)
    oldest = (now or datetime.now(UTC)).astimezone(UTC).date() - timedelta(days=keep)
    days = rows = 0
    with _exclusive(settings):
        root = dataset_dir(settings)
        for day in sorted(root.glob("day=*")) if root.is_dir() else []:
            try:
                when = datetime.strptime(day.name[4:], "%Y-%m-%d").date()
            except ValueError:
                continue  # not a partition of ours: left alone
            if when < oldest:
                rows += sum(pq.ParquetFile(p).metadata.num_rows for p in day.glob("*.parquet"))
                shutil.rmtree(day)
                days += 1
    return PurgeReport(days, rows)


@contextmanager
def _exclusive(settings: Settings) -> Iterator[Ledger]:
    """One ingest at a time per workspace; leftovers of a crashed one are removed first."""
    root = sightings_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    with (root / "ingest.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        led = ledger(settings)
        try:
            recover(settings, led)
            recover_unmatched(settings, led)
            purge_unmatched(settings)
            yield led
        finally:
            led.rollback()
            led.close()


def ingest_files(settings: Settings, paths: Sequence[Path], *, fmt: str | None = None,
                 progress: Callable[[Path, int], None] | None = None) -> list[IngestReport]:
    """Ingest each file (in order) into the dataset; one report per file.

    ``fmt`` forces a reader for every file (else each is detected). Raises the project's
    :class:`~icarus.core.errors.InputError` for a file not of the format, before it adds anything.
    """
    readers = [READERS.get(fmt) if fmt else detect(p) for p in paths]
    service = BankService(settings)
    alert_sets = [s.name for s in service.list_sets() if s.kind is SetKind.ALERT]
    matcher = service.matcher(alert_sets) if alert_sets else None
    with _exclusive(settings) as led:
        return [_ingest_one(settings, led, matcher, p, r, progress)
                for p, r in zip(paths, readers, strict=True)]


def _ingest_one(settings: Settings, led: Ledger, matcher: Matcher | None, path: Path,
                reader: SightingReader,
                progress: Callable[[Path, int], None] | None) -> IngestReport:
    sha = file_sha256(path)
    retention = settings.sightings_retention_days
    if led.has_file(sha):
        return IngestReport(str(path), sha, reader.NAME, True, retention_days=retention)
    keep_unmatched = settings.sightings_keep_unmatched
    to_area = not keep_unmatched and settings.sightings_unmatched_days is not None
    root = dataset_dir(settings)
    tmp = root / f".tmp-{sha}"
    quarantine = _Quarantine(tmp / "quarantine.jsonl", path)
    parts = _Parts(tmp / "parts", sha[:16], sha)
    area = _Parts(tmp / "unmatched", sha[:16], sha, reduced=True,
                  day=datetime.now(UTC).strftime("%Y-%m-%d"))
    counts = {"read": 0, "kept": 0, "not_alert": 0, "duplicates": 0}
    led.begin()

    def flush(batch: list[tuple[int, SightingRecord]]) -> None:
        matches = _match(matcher, [rec for _, rec in batch])
        pending = [(line, rec, m) for (line, rec), m in zip(batch, matches, strict=True)
                   if m is not None or keep_unmatched]
        counts["not_alert"] += len(batch) - len(pending)
        if to_area:
            for (line, rec), m in zip(batch, matches, strict=True):
                if m is None:
                    area.add(line, rec, None)
        fresh = led.add_keys([content_key(rec) for _, rec, _ in pending])
        for (line, rec, m), new in zip(pending, fresh, strict=True):
            if new:
                parts.add(line, rec, m)
        counts["kept"] += sum(fresh)
        counts["duplicates"] += len(fresh) - sum(fresh)

    batch: list[tuple[int, SightingRecord]] = []
    for item in reader.read(path, quarantine):
        batch.append(item)
        if len(batch) >= BATCH:
            flush(batch)
            counts["read"] += len(batch)
            batch = []
            if progress:
                progress(path, counts["read"] + quarantine.count)
    flush(batch)
    counts["read"] += len(batch) + quarantine.count
    parts.flush()
    area.flush()
    q_path = _commit(settings, led, tmp, sha, quarantine.close(), path, reader.NAME, counts)
    if progress:
        progress(path, counts["read"])
    return IngestReport(str(path), sha, reader.NAME, False, quarantined=quarantine.count,
                        quarantine_path=str(q_path) if q_path else None,
                        parts=parts.written, retention_days=retention,
                        unmatched=counts["not_alert"] if to_area else 0, **counts)


def _commit(settings: Settings, led: Ledger, tmp: Path, sha: str, has_rejects: bool,
            path: Path, fmt: str, counts: dict[str, int]) -> Path | None:
    """Rename parts and quarantine into place, then commit the ledger (the commit point)."""
    root = dataset_dir(settings)
    for part in sorted((tmp / "parts").glob("day=*/*.parquet")):
        day = root / part.parent.name
        day.mkdir(parents=True, exist_ok=True)
        part.replace(day / part.name)
        fsync_dir(day)
    for part in sorted((tmp / "unmatched").glob("day=*/*.parquet")):
        day = unmatched_dir(settings) / part.parent.name
        day.mkdir(parents=True, exist_ok=True)
        part.replace(day / part.name)
        fsync_dir(day)
    q_path = None
    if has_rejects:
        q_dir = sightings_dir(settings) / "quarantine"
        q_dir.mkdir(parents=True, exist_ok=True)
        q_path = q_dir / f"{sha}.jsonl"
        (tmp / "quarantine.jsonl").replace(q_path)
        fsync_dir(q_dir)
    led.commit_file(sha, str(path), fmt, datetime.now(UTC).isoformat(), json.dumps(counts))
    shutil.rmtree(tmp, ignore_errors=True)
    return q_path
