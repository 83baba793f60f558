"""Value objects of the known-material bank: records, hash sets, matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from icarus.domain.categories import Category, SetKind, Severity
from icarus.domain.digests import Digest


@dataclass(frozen=True, slots=True)
class BankRecord:
    """One entry as a hash-set format reads it, before the set's scheme is applied."""

    digests: tuple[Digest, ...]
    source_category: str | None = None
    """The category exactly as the file gives it ("1", "A", None...): the set's scheme maps it."""
    size: int | None = None
    name: str | None = None
    flags: frozenset[str] = frozenset()
    series: str | None = None
    source_id: str | None = None
    """The record's identifier in its source (VICS MediaID, ICSE Image ID, NSRL package id)."""
    product: str | None = None
    """For known software: the product (application) name."""

    def digest(self, kind: str) -> bytes | None:
        """The value of the first digest of ``kind``, if any."""
        for d in self.digests:
            if d.kind == kind:
                return d.value
        return None


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """Provenance of one file imported into a hash set."""

    segment: str
    """The id of the segment this import wrote (its entries and indexes)."""
    format: str
    file_name: str
    file_sha256: str
    file_size: int
    imported_at: datetime
    imported_by: str
    source: str
    """Where the file came from, in the importer's words (e.g. "Project VIC, 2026-10 release")."""
    entries: int
    rejects: int


@dataclass(frozen=True, slots=True)
class HashSetInfo:
    """A named hash set: its kind, category scheme and the imports that filled it."""

    name: str
    kind: SetKind
    scheme: str
    created_at: datetime
    description: str = ""
    pdq_radius: int | None = None
    """The PDQ match radius for this set; ``None`` means the workspace default."""
    imports: tuple[ImportRecord, ...] = field(default_factory=tuple)

    @property
    def entries(self) -> int:
        """Entries over all imports."""
        return sum(i.entries for i in self.imports)


@dataclass(frozen=True, slots=True)
class Match:
    """A query digest found in a hash set."""

    set_name: str
    set_kind: SetKind
    digest_kind: str
    category: Category
    severity: Severity
    distance: int = 0
    """0 for exact matches; Hamming distance in bits for PDQ."""
    flags: frozenset[str] = frozenset()
    segment: str = ""
    row: int = -1
    """The entry's row in its segment: the key to its full record."""
    query_percent: float | None = None
    """vPDQ only: share of the query video's frames that matched this entry."""
    compared_percent: float | None = None
    """vPDQ only: share of this entry's frames that the query matched."""
