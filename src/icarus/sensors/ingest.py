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
import queue
import re
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import filterfalse
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus.bank.matcher import Matcher
from icarus.bank.service import BankService
from icarus.core.files import fsync_dir
from icarus.core.settings import Settings
from icarus.core.sinks import clip
from icarus.domain.bank import Match
from icarus.domain.categories import SetKind
from icarus.sensors.dataset import (
    Ledger,
    content_key_matrix,
    content_keys,
    dataset_dir,
    ledger,
    migrate_keys,
    recover,
    sightings_dir,
)
from icarus.sensors.formats import BUILTIN, READERS, SightingReader, SightingRecord, detect
from icarus.sensors.formats.columns import (
    FIELDS,
    Batch,
    mask_array,
    records_table,
    sighting_ids,
)
from icarus.sensors.formats.worker import Worker, batches
from icarus.sensors.schema import SIGHTINGS
from icarus.sensors.unmatched import (
    PurgeReport,
    purge_unmatched,
    recover_unmatched,
    reduce,
    unmatched_dir,
)

PART_ROWS = 200_000
"""Rows buffered before parts are written (batches are bounded by their readers)."""
AREA_PART_ROWS = 65_536
"""Rows per part of the unmatched area (all of one day: written as they come, so little is
left to write when a file ends)."""
IDLE_BATCHES = 2
"""Batches in a row without rows of a buffered day after which that day is written."""
AHEAD = 2
"""Batches read ahead of the one being stored (bounds memory: each is one block)."""
MATCH_CACHE = 1 << 20
"""Distinct contents whose match is remembered across batches (then the memory is cleared)."""
WORKER_BYTES: int | None = 8 << 20
"""Files of at least this many bytes in all are read by worker processes, each taking
blocks of every file as it goes (see :mod:`~icarus.sensors.formats.worker`), if the
``workers`` setting and the CPUs allow two or more; None: never (all is read in this
process, by a second thread)."""
WORKERS = 8
"""Worker processes at most (each holds a block or two; the ingest process, which dedupes
and writes for all of them, is the limit beyond that)."""
DICTIONARY_COLUMNS = ("network", "content_kind", "sensor", "evidence", "category", "match_set",
                      "source_sha256", "client")
"""Columns of few distinct values, dictionary-encoded in parts (the others are not: a
dictionary of mostly distinct values costs time and space)."""
STATISTICS_COLUMNS = ("observed_at", "source_sha256", "source_line", "category", "severity")
"""Columns whose min/max statistics parts carry (they let a query by time, file or category
skip parts); those of random identifiers and free text prune nothing and cost a quarter of
a part's writing time."""
SYNC_THREADS = 8
"""Directories fsynced at once: concurrent fsyncs share journal commits."""
_LINE = re.compile(r"(?:line|row) (\d+)")
_DAY_US = 86_400_000_000
_EPOCH_DAY = date(1970, 1, 1)


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
    """The key (:data:`~icarus.sensors.dataset.KEY_BYTES` bytes) that equals for two records
    exactly when every field is equal
    (:func:`~icarus.sensors.dataset.content_keys` of one record)."""
    return content_keys(records_table([rec]))[0]


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

    def abandon(self) -> None:
        """Close the file without making it durable (the ingest failed)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> bool:
        """Flush to disk; whether anything was written."""
        if self._fh is None:
            return False
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return True


class _Parts:
    """Rows (SIGHTINGS tables) buffered per day and written as numbered parts into a temporary
    directory (``day=YYYY-MM-DD_part-<prefix>-<n>.parquet``, flat: no directory to make and
    remove per day): a day as soon as :data:`IDLE_BATCHES` batches in a row brought it no
    rows (sensor exports run in time order: a day that has passed is written while later
    ones are read), and every day at each ``part_rows`` rows buffered.

    A writer thread writes while the next rows are prepared (at most ``part_rows`` rows in
    its queue, so at most twice that are held), and fsyncs each part as it writes it;
    :meth:`close` waits for it.
    """

    def __init__(self, tmp: Path, prefix: str, *, day: str | None = None,
                 part_rows: int = PART_ROWS) -> None:
        self.tmp, self.prefix, self.written = tmp, prefix, 0
        self.part_rows = part_rows
        # The unmatched area partitions by ingest day (its retention clock).
        self.day = day
        self.rows: dict[str, list[pa.Table]] = {}
        self.buffered = 0
        self.batches = 0
        self.last: dict[str, int] = {}
        """The batch that last brought rows of each buffered day."""
        self.paths: list[Path] = []
        self._writer: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[Future[None], int]] = deque()

    def add(self, table: pa.Table) -> None:
        self.batches += 1
        while table.num_rows:
            room = self.part_rows - self.buffered
            self._add(table.slice(0, room))
            table = table.slice(room)
            if self.buffered >= self.part_rows:
                self.flush()
        idle = [day for day, last in self.last.items() if self.batches - last >= IDLE_BATCHES]
        if idle:
            self.flush(idle)

    def _add(self, table: pa.Table) -> None:
        self.buffered += table.num_rows
        if self.day is not None:
            self.rows.setdefault(self.day, []).append(table)
            return
        micros = pc.cast(table.column("observed_at"), pa.int64()).to_numpy()
        days = micros // _DAY_US
        if days[0] == days[-1] and (days == days[0]).all():
            by_day, bounds = table, np.array([0, len(days)])
            distinct = days[:1]
        elif ((step := np.diff(days)) >= 0).all():  # in time order, as sensors export
            by_day = table  # slices of it, no copy
            bounds = np.concatenate(([0], np.flatnonzero(step) + 1, [len(days)]))
            distinct = days[bounds[:-1]]
        else:  # one take into day order (stable: file order within a day), then slices
            order = np.argsort(days, kind="stable")
            by_day = table.take(pa.array(order))
            sorted_days = days[order]
            first = np.flatnonzero(np.diff(sorted_days)) + 1
            bounds = np.concatenate(([0], first, [len(days)]))
            distinct = sorted_days[bounds[:-1]]
        for d, lo, hi in zip(distinct.tolist(), bounds[:-1].tolist(), bounds[1:].tolist(),
                             strict=True):
            day = (_EPOCH_DAY + timedelta(days=d)).strftime("%Y-%m-%d")
            self.rows.setdefault(day, []).append(by_day.slice(lo, hi - lo))
            self.last[day] = self.batches

    def flush(self, days: list[str] | None = None) -> None:
        """Hand the buffered rows of ``days`` (default: all) to the writer thread, once no
        more than ``part_rows`` rows wait for it."""
        jobs, rows = [], 0
        for day in sorted(self.rows) if days is None else sorted(days):
            tables = self.rows.pop(day)
            self.last.pop(day, None)
            count = sum(t.num_rows for t in tables)
            self.buffered -= count
            rows += count
            jobs.append((self.tmp / f"day={day}_part-{self.prefix}-{self.written}.parquet",
                         tables))
            self.written += 1
        if not jobs:
            return
        while self._pending and sum(n for _, n in self._pending) + rows > self.part_rows:
            self._wait_one()
        if self._writer is None:
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="icarus-ingest-write")
        self.paths.extend(out for out, _ in jobs)
        self._pending.append((self._writer.submit(self._write, jobs), rows))

    def _write(self, jobs: list[tuple[Path, list[pa.Table]]]) -> None:
        """Write each part (made in memory, then written and fsynced at once: durable as it
        is written, so that little is left to sync when the file ends)."""
        for out, tables in jobs:
            table = pa.concat_tables(tables).combine_chunks()
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, use_dictionary=[
                c for c in DICTIONARY_COLUMNS if c in table.column_names],
                write_statistics=[c for c in STATISTICS_COLUMNS if c in table.column_names])
            with out.open("wb") as fh:
                fh.write(sink.getvalue())
                fh.flush()
                os.fsync(fh.fileno())

    def _wait_one(self) -> None:
        pending, _ = self._pending.popleft()
        pending.result()  # the writer's error, if any, is raised here

    def _wait(self) -> None:
        while self._pending:
            self._wait_one()

    def abandon(self) -> None:
        """Stop the writer thread, errors ignored (the ingest failed)."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def close(self) -> list[Path]:
        """Flush and wait for the writes (each part is durable once written); the parts
        written."""
        try:
            self.flush()
            self._wait()
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None
        return self.paths


def _fsync_dirs(paths: Sequence[Path]) -> None:
    """fsync the directories ``paths``, :data:`SYNC_THREADS` at a time."""
    if len(paths) <= 1:
        for path in paths:
            fsync_dir(path)
        return
    with ThreadPoolExecutor(min(SYNC_THREADS, len(paths)),
                            thread_name_prefix="icarus-ingest-sync") as pool:
        list(pool.map(fsync_dir, paths))


def _sightings(table: pa.Table, lines: np.ndarray, ids: pa.Array, sha: str,
               matches: tuple[pa.Array, pa.Array, pa.Array] | None) -> pa.Table:
    """Valid records (:data:`RECORD`) as SIGHTINGS rows of file ``sha``, with their sighting
    ids and matches."""
    n = table.num_rows
    columns: dict[str, Any] = {f: table.column(f) for f in FIELDS}
    columns["sighting_id"] = ids
    if matches is None:
        columns["category"] = pa.repeat(pa.scalar("none", pa.string()), n)
        columns["severity"] = pa.array(np.zeros(n, np.int8))
        columns["match_set"] = pa.repeat(pa.scalar("", pa.string()), n)
    else:
        columns["category"], columns["severity"], columns["match_set"] = matches
    columns["source_sha256"] = pa.repeat(pa.scalar(sha, pa.string()), n)
    columns["source_line"] = pa.array(lines, pa.int64())
    return pa.Table.from_arrays([columns[f.name] for f in SIGHTINGS], schema=SIGHTINGS)


@dataclass(frozen=True, slots=True)
class _Staged:
    """A batch made ready for the ledger: ``rows`` (SIGHTINGS) are the records the dataset
    may keep (alert matches, or all in research mode), ``keys`` their content keys; ``area``
    the reduced rows for the unmatched area (or None)."""

    read: int
    not_alert: int
    rows: pa.Table | None
    keys: np.ndarray | None
    area: pa.Table | None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (from a worker to the ingest) with its tables as Arrow IPC streams: about
        three times cheaper to write than pickling them column by column, and read back
        without a copy."""
        return (_staged_from, (self.read, self.not_alert, _ipc(self.rows), self.keys,
                               _ipc(self.area)))


def _ipc(table: pa.Table | None) -> bytes | None:
    if table is None:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    out: bytes = sink.getvalue().to_pybytes()
    return out


def _staged_from(read: int, not_alert: int, rows: bytes | None, keys: np.ndarray | None,
                 area: bytes | None) -> _Staged:
    def table(data: bytes | None) -> pa.Table | None:
        return None if data is None else pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    return _Staged(read, not_alert, table(rows), keys, table(area))


class _Stage:
    """Everything done to a batch before the ledger decides what is new: sighting ids,
    matching, minimisation, content keys and the rows themselves. Run by the reading thread,
    or by the worker processes (forked, so they share the loaded matcher)."""

    def __init__(self, matcher: _Matches, *, keep_unmatched: bool, to_area: bool) -> None:
        self.matcher, self.keep_unmatched, self.to_area = matcher, keep_unmatched, to_area

    def __call__(self, batch: Batch, sha: str) -> _Staged:
        table, lines = batch.table, batch.lines
        ids = sighting_ids(sha, lines)
        matched, found = self.matcher(table)
        area = None
        if self.to_area and not matched.all():
            other = pa.array(~matched)
            # Reduced first: the filter then copies nulls, not the columns reduce drops.
            area = _sightings(reduce(table).filter(other), lines[~matched], ids.filter(other),
                              sha, None)
        pending = np.ones(len(lines), dtype=bool) if self.keep_unmatched else matched
        rows = keys = None
        if pending.any():
            sel = pa.array(pending)
            rows = _sightings(table.filter(sel), lines[pending], ids.filter(sel), sha,
                              tuple(c.filter(sel) for c in found))
            keys = content_key_matrix(rows)
        return _Staged(len(lines), len(lines) - int(pending.sum()), rows, keys, area)


    def for_file(self, context: object, index: int) -> _AreaWriter:
        """The stage of one file in worker ``index``: ``context`` is the file's temporary
        unmatched directory and the ingest day; the worker writes the unmatched rows there
        itself, instead of sending them."""
        assert isinstance(context, tuple)
        tmp, day, prefix = context
        return _AreaWriter(self, _Parts(Path(tmp), f"{prefix}-w{index}", day=day,
                                        part_rows=AREA_PART_ROWS))


class _AreaWriter:
    """A worker's stage of one file that writes the unmatched rows as parts of its own (the
    area's row order does not matter: it is read sorted, or for candidates, whose results do
    not depend on it)."""

    def __init__(self, stage: _Stage, parts: _Parts) -> None:
        self.stage, self.parts = stage, parts

    def __call__(self, batch: Batch, sha: str) -> _Staged:
        staged = self.stage(batch, sha)
        if staged.area is None:
            return staged
        self.parts.add(staged.area)
        return _Staged(staged.read, staged.not_alert, staged.rows, staged.keys, None)

    def finish(self) -> None:
        """Write the rest and make the parts durable (before the ingest may commit)."""
        self.parts.close()


def _gravest(matches: list[Match]) -> Match | None:
    alert = [m for m in matches if m.set_kind is SetKind.ALERT]
    return min(alert, key=lambda m: (-int(m.severity), m.set_name, m.row), default=None)


class _Matches:
    """Exact matching of a batch's contents against the alert sets, once per distinct content
    (remembered across batches: a file names few contents many times).

    Each content is remembered as a small code: 0 for no alert match, else the index of its
    gravest match's (category, severity, set) among the few such outcomes seen; a batch's
    columns are then taken from the outcomes by code, with no Python object per row."""

    def __init__(self, matcher: Matcher | None) -> None:
        self.matcher = matcher
        self.known: dict[str, dict[bytes, int]] = {}
        self.size = 0
        self.outcomes: dict[tuple[str, int, str], int] = {}
        self.category, self.severity, self.match_set = ["none"], [0], [""]

    def __call__(self, table: pa.Table) -> tuple[np.ndarray, tuple[pa.Array, pa.Array, pa.Array]]:
        """Whether each row matched an alert set, and its category, severity and set."""
        n = table.num_rows
        codes = np.zeros(n, dtype=np.int64)
        if self.matcher is not None and n:
            if self.size > MATCH_CACHE:
                self.known.clear()
                self.size = 0
            kinds = table.column("content_kind")
            ids = table.column("content_id")
            for kind in pc.unique(kinds).to_pylist():
                sel = np.flatnonzero(mask_array(pc.equal(kinds, pa.scalar(kind, pa.string()))))
                of_kind = ids.take(pa.array(sel))
                # One hashing pass gives the distinct contents and each row's among them.
                encoded = (of_kind.combine_chunks() if isinstance(of_kind, pa.ChunkedArray)
                           else of_kind).dictionary_encode()
                values = encoded.dictionary.to_pylist()
                known = self.known.setdefault(kind, {})
                self._lookup(kind, known, list(filterfalse(known.__contains__, values)))
                per_value = np.fromiter(map(known.__getitem__, values), np.int64, len(values))
                codes[sel] = per_value[encoded.indices.to_numpy(zero_copy_only=False)]
        take = pa.array(codes)
        return codes > 0, (pa.array(self.category, pa.string()).take(take),
                           pa.array(self.severity, pa.int8()).take(take),
                           pa.array(self.match_set, pa.string()).take(take))

    def _lookup(self, kind: str, known: dict[bytes, int], new: list[bytes]) -> None:
        if not new or self.matcher is None:
            return
        size = len(new[0])
        values = np.frombuffer(b"".join(new), dtype=np.uint8).reshape(len(new), size)
        for cid, hits in zip(new, self.matcher.match_exact(kind, values), strict=True):
            known[cid] = self._code(_gravest(hits)) if hits else 0
        self.size += len(new)

    def _code(self, match: Match | None) -> int:
        if match is None:
            return 0
        outcome = (match.category.value, int(match.severity), match.set_name)
        code = self.outcomes.get(outcome)
        if code is None:
            code = self.outcomes[outcome] = len(self.category)
            self.category.append(outcome[0])
            self.severity.append(outcome[1])
            self.match_set.append(outcome[2])
        return code


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
            migrate_keys(settings, led)
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
    keep_unmatched = settings.sightings_keep_unmatched
    stage = _Stage(_Matches(service.matcher(alert_sets) if alert_sets else None),
                   keep_unmatched=keep_unmatched,
                   to_area=not keep_unmatched and settings.sightings_unmatched_days is not None)
    count = _workers(settings, paths, readers)
    # Forked now that the matcher is loaded: the workers stage batches with it.
    worker = Worker(count, stage) if count else None
    shas: list[str] = []

    def sha_of(index: int) -> str:
        while len(shas) <= index:
            shas.append(file_sha256(paths[len(shas)]))
        return shas[index]

    try:
        with _exclusive(settings) as led:
            reports = []
            for index, (path, reader) in enumerate(zip(paths, readers, strict=True)):
                def start_next(after: int = index) -> None:
                    _start_next(settings, led, stage, worker, paths, readers, after, sha_of)
                reports.append(_ingest_one(settings, led, stage, path, reader, progress,
                                           worker, sha_of(index), start_next))
            return reports
    finally:
        if worker is not None:
            worker.close()


def _start_next(settings: Settings, led: Ledger, stage: _Stage, worker: Worker | None,
                paths: Sequence[Path], readers: Sequence[SightingReader], after: int,
                sha_of: Callable[[int], str]) -> None:
    """Once the workers have begun file ``after``, set them reading the next file to be read
    as soon as no block of this one is left for each, while this process stores and
    commits it. Files in between that will add nothing (in the ledger, or copies of a file
    before them in this call) are passed over, as the ingest will pass them over."""
    if worker is None or not worker.alive:
        return
    for following in range(after + 1, len(paths)):
        sha = sha_of(following)
        if not led.has_file(sha) and sha not in {sha_of(k) for k in range(following)}:
            worker.start(readers[following].NAME, paths[following], sha,
                         _area_context(settings, stage, sha))
            return


def _area_context(settings: Settings, stage: _Stage, sha: str) -> tuple[str, str, str] | None:
    """What a worker needs to write file ``sha``'s unmatched rows itself (see
    :meth:`_Stage.for_file`): its temporary directory, the ingest day and the parts' prefix;
    None if they are not kept."""
    if not stage.to_area:
        return None
    return (str(_tmp_dir(settings, sha) / "unmatched"), _ingest_day(), sha[:16])


def _tmp_dir(settings: Settings, sha: str) -> Path:
    """Where file ``sha``'s parts wait for its commit."""
    return dataset_dir(settings) / f".tmp-{sha}"


def _ingest_day() -> str:
    """Today (UTC): the unmatched area's partition of what is ingested now."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _workers(settings: Settings, paths: Sequence[Path],
             readers: Sequence[SightingReader]) -> int:
    """How many worker processes read the files (0: none, read here): the ``workers``
    setting, at most one per CPU and :data:`WORKERS`, when that is two or more, for built-in
    readers (a plug-in registered at run time may not be in a forked worker's registry), and
    files of at least :data:`WORKER_BYTES` in all (below that, forking costs more than the
    workers save)."""
    count = min(settings.workers, len(os.sched_getaffinity(0)), WORKERS)
    if WORKER_BYTES is None or count < 2 \
            or not all(any(r is b for b in BUILTIN) for r in readers):
        return 0
    if sum(p.stat().st_size for p in paths) < WORKER_BYTES:
        return 0
    return count


def _staged(reader: SightingReader, path: Path, sha: str, sink: _Quarantine, stage: _Stage,
            worker: Worker | None, context: object) -> Iterator[_Staged]:
    """The file's valid records in staged batches: from the worker processes (which write
    its unmatched rows themselves, see :meth:`_Stage.for_file`), else read and staged here
    by a second thread (see :func:`_ahead`)."""
    if worker is not None and worker.alive:
        return worker.read(reader.NAME, path, sha, sink, context)
    return _ahead(stage(batch, sha) for batch in batches(reader, path, sink))


def _ahead(batches: Iterator[_Staged]) -> Iterator[_Staged]:
    """``batches``, read and staged by a second thread up to :data:`AHEAD` batches ahead, so
    that parsing and staging the next block overlaps deduplicating and storing this one
    (pyarrow, numpy, hashlib and SQLite release the GIL in their heavy parts). Errors of the
    reader are raised here, in order."""
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    worker = threading.Thread(target=run, name="icarus-ingest-read", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = slots.get()
            if kind == "batch":
                yield item
            elif kind == "error":
                raise item
            else:
                return
    finally:
        stop.set()
        worker.join()


def _ingest_one(settings: Settings, led: Ledger, stage: _Stage, path: Path,
                reader: SightingReader, progress: Callable[[Path, int], None] | None,
                worker: Worker | None, sha: str,
                begun: Callable[[], None]) -> IngestReport:
    """Ingest one file (of SHA-256 ``sha``); ``begun`` is called once, when its first batch
    has come (or, if none comes, once its records are all read)."""
    retention = settings.sightings_retention_days
    if led.has_file(sha):
        return IngestReport(str(path), sha, reader.NAME, True, retention_days=retention)
    tmp = _tmp_dir(settings, sha)
    quarantine = _Quarantine(tmp / "quarantine.jsonl", path)
    parts = _Parts(tmp / "parts", sha[:16])
    area = _Parts(tmp / "unmatched", sha[:16], day=_ingest_day(), part_rows=AREA_PART_ROWS)
    counts = {"read": 0, "kept": 0, "not_alert": 0, "duplicates": 0}
    led.begin()
    source = _staged(reader, path, sha, quarantine, stage, worker,
                     _area_context(settings, stage, sha))
    first = True
    try:
        for staged in source:
            if first:
                first = False
                begun()
            counts["read"] += staged.read
            counts["not_alert"] += staged.not_alert
            if staged.area is not None:
                area.add(staged.area)
            if staged.rows is not None and staged.keys is not None:
                fresh = led.add_key_matrix(staged.keys)
                kept = int(fresh.sum())
                counts["kept"] += kept
                counts["duplicates"] += len(fresh) - kept
                if kept:
                    parts.add(staged.rows.filter(pa.array(fresh)))
            if progress:
                progress(path, counts["read"] + quarantine.count)
        if first:
            begun()
        if worker is not None:
            worker.release()  # unless begun() set them reading a next file
        counts["read"] += quarantine.count
        parts.flush()  # both written at once by their writer threads
        area.flush()
        parts.close()
        area.close()
    except BaseException:
        # Left for the next run's recovery; the worker is stopped, files closed.
        getattr(source, "close", lambda: None)()
        quarantine.abandon()
        parts.abandon()
        area.abandon()
        raise
    q_path = _commit(settings, led, tmp, sha, quarantine.close(), path, reader.NAME, counts)
    if progress:
        progress(path, counts["read"])
    return IngestReport(str(path), sha, reader.NAME, False, quarantined=quarantine.count,
                        quarantine_path=str(q_path) if q_path else None,
                        parts=parts.written, retention_days=retention,
                        unmatched=counts["not_alert"] if stage.to_area else 0, **counts)


def _commit(settings: Settings, led: Ledger, tmp: Path, sha: str, has_rejects: bool,
            path: Path, fmt: str, counts: dict[str, int]) -> Path | None:
    """Rename parts and quarantine into place, then commit the ledger (the commit point)."""
    days: set[Path] = set()
    for parts, root in ((tmp / "parts", dataset_dir(settings)),
                        (tmp / "unmatched", unmatched_dir(settings))):
        for part in sorted(parts.glob("day=*_part-*.parquet")):
            day_name, _, name = part.name.partition("_")
            day = root / day_name
            if day not in days:
                day.mkdir(parents=True, exist_ok=True)
                days.add(day)
            part.replace(day / name)
    _fsync_dirs(sorted(days))
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
