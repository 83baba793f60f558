"""Use cases of the bank, as the command line and (later) the server call them."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from icarus.bank.catalog import Catalog
from icarus.bank.export import ExportRow, write_csv, write_md5sum, write_vics
from icarus.bank.matcher import Matcher
from icarus.bank.segment import CATEGORY_CODES, entry_digests, iter_entries
from icarus.bank.store import BankStore, ImportRequest, ImportResult
from icarus.core.errors import UsageError
from icarus.core.settings import Settings
from icarus.domain.bank import BankRecord, HashSetInfo
from icarus.domain.categories import Category, SetKind, Severity


class BankService:
    """The bank of the workspace named by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = BankStore(settings.bank_dir)

    def import_file(self, path: Path, *, set_name: str, fmt: str | None = None,
                    kind: SetKind | None = None, scheme: str | None = None,
                    scheme_file: Path | None = None, category: str | None = None,
                    source: str = "", description: str = "", pdq_radius: int | None = None,
                    who: str | None = None,
                    progress: Callable[[int], None] | None = None) -> ImportResult:
        """Import one hash-set file into ``set_name`` (see :class:`BankStore`)."""
        req = ImportRequest(path=path, set_name=set_name, format=fmt, kind=kind, scheme=scheme,
                            scheme_file=scheme_file, category=category, source=source,
                            description=description, pdq_radius=pdq_radius, imported_by=who)
        return self.store.import_file(req, progress=progress)

    def catalog(self) -> Catalog:
        """The current catalog."""
        return self.store.catalog()

    def list_sets(self) -> list[HashSetInfo]:
        """Every set, by name."""
        cat = self.catalog()
        return [cat.sets[n] for n in sorted(cat.sets)]

    def get_set(self, name: str) -> HashSetInfo:
        """One set (NotFoundError if absent)."""
        return self.catalog().get(name)

    def remove(self, name: str) -> HashSetInfo:
        """Remove a set and its segments."""
        return self.store.remove(name)

    def matcher(self, sets: list[str] | None = None) -> Matcher:
        """A matcher over the whole bank (or the named sets)."""
        cat = self.catalog()
        for name in sets or []:
            cat.get(name)
        return Matcher(self.settings.bank_dir, cat, default_radius=self.settings.pdq_radius,
                       sets=sets)

    def category_counts(self, name: str) -> dict[str, int]:
        """Entries of a set by Icarus category."""
        info = self.get_set(name)
        counts: Counter[str] = Counter()
        for rec in info.imports:
            codes = np.load(self.store.segment_dir(rec.segment) / "meta" / "category.npy",
                            mmap_mode="r", allow_pickle=False)
            for code, n in zip(*np.unique(codes, return_counts=True), strict=True):
                counts[CATEGORY_CODES[int(code)].value] += int(n)
        return dict(counts.most_common())

    def rows(self, name: str) -> Iterator[ExportRow]:
        """Every entry of a set as an export row."""
        info = self.get_set(name)
        for rec in info.imports:
            for e in iter_entries(self.store.segment_dir(rec.segment)):
                yield ExportRow(record=_record(e), category=Category(e["category"]),
                                severity=Severity(e["severity"]))

    def export(self, name: str, fmt: str, fh: IO[str]) -> int:
        """Write set ``name`` to ``fh`` as vics, csv or md5sum; returns entries written."""
        writers: dict[str, Callable[..., int]] = {
            "vics": lambda rows, out: write_vics(rows, out, set_name=name),
            "csv": write_csv,
            "md5sum": write_md5sum,
        }
        if fmt not in writers:
            raise UsageError(f"unknown export format {fmt!r}; choose vics, csv or md5sum")
        return writers[fmt](self.rows(name), fh)

    def export_to_file(self, name: str, fmt: str, path: Path) -> int:
        """Export to ``path`` atomically (a partial export never has the final name)."""
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                n = self.export(name, fmt, fh)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return n

    def stats(self) -> dict[str, Any]:
        """Counts over the whole bank and its size on disk."""
        sets = self.list_sets()
        kinds: Counter[str] = Counter()
        digests: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        for s in sets:
            kinds[s.kind.value] += s.entries
            for cat, n in self.category_counts(s.name).items():
                categories[cat] += n
            for rec in s.imports:
                manifest = self.store.segment_dir(rec.segment) / "manifest.json"
                for k, n in json.loads(manifest.read_text())["digest_counts"].items():
                    digests[k] += n
        disk = sum(f.stat().st_size for f in self.settings.bank_dir.rglob("*") if f.is_file()) \
            if self.settings.bank_dir.exists() else 0
        return {"sets": len(sets), "entries": sum(s.entries for s in sets),
                "kinds": dict(kinds), "categories": dict(categories.most_common()),
                "digests": dict(sorted(digests.items())), "disk_bytes": disk,
                "path": os.fspath(self.settings.bank_dir)}


def _record(entry: dict[str, Any]) -> BankRecord:
    return BankRecord(
        digests=tuple(entry_digests(entry)), source_category=entry["source_category"],
        size=entry["size"], name=entry["name"], flags=frozenset(entry["flags"] or ()),
        series=entry["series"], source_id=entry["source_id"], product=entry["product"],
    )
