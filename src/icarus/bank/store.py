"""The bank on disk: import hash-set files into named sets, list, export and remove them.

Importing is all-or-nothing per file: records stream into a new segment in a temporary
directory; only when the whole file was read and the indexes were compiled is the segment
renamed into place and the catalog updated (atomically). A file already imported into the set
(same SHA-256) changes nothing. Malformed records go to the segment's rejects file.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from icarus.bank.catalog import Catalog
from icarus.bank.formats import FORMATS, detect_format
from icarus.bank.formats.base import HashSetFormat
from icarus.bank.schemes import Scheme, scheme_for
from icarus.bank.segment import SegmentWriter
from icarus.core.errors import InputError, UsageError
from icarus.core.logging import get_logger
from icarus.core.sinks import Reject, clip
from icarus.domain.bank import HashSetInfo, ImportRecord
from icarus.domain.categories import SetKind

log = get_logger(__name__)
_NAME_OK = "abcdefghijklmnopqrstuvwxyz0123456789-_."


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What to import, into which set, and how to read it."""

    path: Path
    set_name: str
    format: str | None = None
    """A registered format name, or ``None`` to detect it."""
    kind: SetKind | None = None
    """Defaults to the format's usual kind (alert for VICS/ICSE, known for NSRL)."""
    scheme: str | None = None
    """A scheme name; ``None`` for the format's default scheme."""
    scheme_file: Path | None = None
    """A custom scheme (TOML), used when ``scheme`` is "custom"."""
    category: str | None = None
    """For files with no categories (plain lists): the category of every entry."""
    source: str = ""
    description: str = ""
    pdq_radius: int | None = None
    imported_by: str | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    set: HashSetInfo
    record: ImportRecord | None
    """``None`` when the file had been imported into this set before (nothing changed)."""
    rejects_path: Path | None
    warnings: tuple[str, ...] = ()

    @property
    def already_imported(self) -> bool:
        """True when the file was in the set already."""
        return self.record is None


class _RejectsFile:
    """A RecordSink writing rejects and warnings as JSON lines."""

    def __init__(self, fh: IO[str], source: str) -> None:
        self.fh = fh
        self.source = source
        self.rejects = 0
        self.warnings: list[str] = []

    def reject(self, position: str, reason: str, raw: str | None = None) -> None:
        self.rejects += 1
        r = Reject(self.source, position, reason, clip(raw))
        self.fh.write(json.dumps({"source": r.source, "position": r.position,
                                  "reason": r.reason, "raw": r.raw}) + "\n")

    def warn(self, position: str, message: str) -> None:
        if len(self.warnings) < 1000:
            self.warnings.append(f"{position}: {message}")


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """SHA-256 and size of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with path.open("rb") as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
            size += n
            if progress:
                progress(n)
    return h.hexdigest(), size


class BankStore:
    """The bank of one workspace (``<home>/bank``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.segments_dir = directory / "segments"
        self.catalog_path = directory / "catalog.json"

    def catalog(self) -> Catalog:
        """The current catalog (read fresh from disk)."""
        return Catalog.load(self.catalog_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Catalog]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                catalog = self.catalog()
                self._collect_garbage(catalog)
                yield catalog
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _collect_garbage(self, catalog: Catalog) -> None:
        """Remove segments no set names: leftovers of an interrupted import or removal."""
        if not self.segments_dir.exists():
            return
        live = {i.segment for _, i in catalog.segments()}
        for child in self.segments_dir.iterdir():
            if child.name not in live:
                log.info("bank.gc", segment=child.name)
                shutil.rmtree(child, ignore_errors=True)

    def import_file(
        self,
        req: ImportRequest,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import ``req.path`` into set ``req.set_name``; see the module docstring.

        ``progress(n)`` is called now and then with the number of records read so far.
        """
        _check_name(req.set_name)
        path = req.path
        if not path.is_file():
            raise InputError("no such file", path=path)
        fmt = FORMATS.get(req.format) if req.format else detect_format(path)
        kind = req.kind or fmt.DEFAULT_KIND
        scheme = scheme_for(req.scheme or fmt.DEFAULT_SCHEME, scheme_file=req.scheme_file,
                            category=req.category)
        sha, size = file_sha256(path)
        with self._locked() as catalog:
            existing = catalog.sets.get(req.set_name)
            if existing is not None:
                for rec in existing.imports:
                    if rec.file_sha256 == sha:
                        return ImportResult(existing, None, None)
            info = HashSetInfo(
                name=req.set_name, kind=kind, scheme=scheme.NAME,
                created_at=datetime.now(UTC), description=req.description,
                pdq_radius=req.pdq_radius,
            )
            segment_id = f"{req.set_name}-{sha[:16]}"
            final = self.segments_dir / segment_id
            tmp = self.segments_dir / f".tmp-{segment_id}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                record, sink = self._write_segment(tmp, req, fmt, scheme, info, sha, size,
                                                   segment_id, progress)
                tmp.rename(final)
                updated = catalog.add_import(info, record)
                catalog.save()
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.rmtree(final, ignore_errors=True)
                raise
        log.info("bank.import", set=req.set_name, file=str(path), sha256=sha,
                 entries=record.entries, rejects=record.rejects)
        rejects = final / "rejects.jsonl" if record.rejects else None
        return ImportResult(updated, record, rejects, tuple(sink.warnings))

    def _write_segment(
        self,
        tmp: Path,
        req: ImportRequest,
        fmt: HashSetFormat,
        scheme: Scheme,
        info: HashSetInfo,
        sha: str,
        size: int,
        segment_id: str,
        progress: Callable[[int], None] | None,
    ) -> tuple[ImportRecord, _RejectsFile]:
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        writer = SegmentWriter(tmp)
        try:
            with (tmp / "rejects.jsonl").open("w", encoding="utf-8") as rj:
                sink = _RejectsFile(rj, str(req.path))
                reader = fmt.read(req.path, sink)
                unknown: set[str] = set()
                for n, entry in enumerate(reader, 1):
                    category, severity, known = scheme.map(entry.source_category, entry.flags)
                    if not known and entry.source_category not in unknown:
                        unknown.add(str(entry.source_category))
                        sink.warn(f"record {n}", f"category {entry.source_category!r} is not "
                                  f"in scheme {scheme.NAME}; filed as uncategorised")
                    writer.add(entry, category, severity)
                    if progress and n % 10_000 == 0:
                        progress(n)
        except BaseException:
            writer.abort()
            raise
        if sink.rejects == 0:
            (tmp / "rejects.jsonl").unlink()
        if req.scheme_file is not None:
            # a custom scheme is part of the provenance: keep the mapping that was applied
            shutil.copyfile(req.scheme_file, tmp / "scheme.toml")
        now = datetime.now(UTC)
        record = ImportRecord(
            segment=segment_id, format=fmt.NAME, file_name=req.path.name, file_sha256=sha,
            file_size=size, imported_at=now, imported_by=req.imported_by or _who(),
            source=req.source, entries=writer.count, rejects=sink.rejects,
        )
        writer.finish({
            "segment": segment_id, "set": info.name, "kind": info.kind.value,
            "scheme": scheme.NAME, "format": fmt.NAME, "file_name": req.path.name,
            "file_sha256": sha, "imported_at": now.isoformat(), "rejects": sink.rejects,
        })
        if progress:
            progress(writer.count)
        return record, sink

    def remove(self, name: str) -> HashSetInfo:
        """Remove a set and its segments; other sets' indexes are untouched."""
        with self._locked() as catalog:
            info = catalog.get(name)
            del catalog.sets[name]
            catalog.save()
            for rec in info.imports:
                shutil.rmtree(self.segments_dir / rec.segment, ignore_errors=True)
        log.info("bank.remove", set=name)
        return info

    def segment_dir(self, segment: str) -> Path:
        """The directory of a live segment."""
        return self.segments_dir / segment


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _check_name(name: str) -> None:
    if not name or len(name) > 64 or any(c not in _NAME_OK for c in name) or name[0] == ".":
        raise UsageError(
            f"hash set name {name!r}: use 1-64 lower-case letters, digits, '-', '_' or '.'"
        )

