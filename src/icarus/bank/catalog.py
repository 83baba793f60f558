"""The bank's catalog: which hash sets exist and which imports filled them.

One JSON document, ``bank/catalog.json``, replaced atomically (write, fsync, rename) under the
bank's lock, so a crash leaves either the old or the new catalog, never half of one. Segments on
disk that the catalog does not name are leftovers of an interrupted import: they are ignored and
removed by the next write.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from icarus.core.errors import CorruptInputError, NotFoundError, StateError
from icarus.core.files import fsync_dir
from icarus.domain.bank import HashSetInfo, ImportRecord
from icarus.domain.categories import SetKind

CATALOG_VERSION = 1


def _import_to_json(rec: ImportRecord) -> dict[str, Any]:
    return {
        "segment": rec.segment,
        "format": rec.format,
        "file_name": rec.file_name,
        "file_sha256": rec.file_sha256,
        "file_size": rec.file_size,
        "imported_at": rec.imported_at.isoformat(),
        "imported_by": rec.imported_by,
        "source": rec.source,
        "entries": rec.entries,
        "rejects": rec.rejects,
    }


def _import_from_json(data: dict[str, Any]) -> ImportRecord:
    return ImportRecord(
        segment=data["segment"],
        format=data["format"],
        file_name=data["file_name"],
        file_sha256=data["file_sha256"],
        file_size=int(data["file_size"]),
        imported_at=datetime.fromisoformat(data["imported_at"]),
        imported_by=data["imported_by"],
        source=data["source"],
        entries=int(data["entries"]),
        rejects=int(data["rejects"]),
    )


def set_to_json(info: HashSetInfo) -> dict[str, Any]:
    """The JSON form of a hash set's metadata (also used by ``bank show --json``)."""
    return {
        "name": info.name,
        "kind": info.kind.value,
        "scheme": info.scheme,
        "created_at": info.created_at.isoformat(),
        "description": info.description,
        "pdq_radius": info.pdq_radius,
        "entries": info.entries,
        "imports": [_import_to_json(i) for i in info.imports],
    }


def _set_from_json(data: dict[str, Any]) -> HashSetInfo:
    return HashSetInfo(
        name=data["name"],
        kind=SetKind(data["kind"]),
        scheme=data["scheme"],
        created_at=datetime.fromisoformat(data["created_at"]),
        description=data.get("description", ""),
        pdq_radius=data.get("pdq_radius"),
        imports=tuple(_import_from_json(i) for i in data.get("imports", [])),
    )


class Catalog:
    """The hash sets of a bank, in memory; :meth:`save` writes them back atomically."""

    def __init__(self, path: Path, sets: dict[str, HashSetInfo] | None = None) -> None:
        self.path = path
        self.sets: dict[str, HashSetInfo] = dict(sets or {})

    @classmethod
    def load(cls, path: Path) -> Catalog:
        """Read the catalog at ``path`` (an absent file is an empty bank)."""
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != CATALOG_VERSION:
                raise ValueError(f"unsupported catalog version {data.get('version')!r}")
            sets = {s["name"]: _set_from_json(s) for s in data["sets"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptInputError(f"bank catalog is unreadable: {exc}", path=path) from None
        return cls(path, sets)

    def save(self) -> None:
        """Write the catalog atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        doc = {
            "version": CATALOG_VERSION,
            "sets": [set_to_json(self.sets[n]) for n in sorted(self.sets)],
        }
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        fsync_dir(self.path.parent)

    def get(self, name: str) -> HashSetInfo:
        """The set called ``name``; :class:`NotFoundError` lists the existing ones."""
        try:
            return self.sets[name]
        except KeyError:
            known = ", ".join(sorted(self.sets)) or "none"
            raise NotFoundError(f"no hash set named {name!r} (sets: {known})") from None

    def add_import(self, info: HashSetInfo, record: ImportRecord) -> HashSetInfo:
        """Record ``record`` in set ``info`` (created if new); returns the updated set."""
        current = self.sets.get(info.name)
        if current is not None and (current.kind != info.kind or current.scheme != info.scheme):
            raise StateError(
                f"hash set {info.name!r} exists as kind {current.kind.value}, scheme "
                f"{current.scheme}; an import into it cannot change those"
            )
        base = current or info
        updated = replace(base, imports=(*base.imports, record))
        self.sets[info.name] = updated
        return updated

    def segments(self) -> list[tuple[HashSetInfo, ImportRecord]]:
        """Every live segment with its set, in a stable order."""
        return [(s, i) for n in sorted(self.sets) for s in [self.sets[n]] for i in s.imports]


