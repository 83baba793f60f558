"""Earlier-intelligence files imported into an operation, for deconfliction: which file, the
earlier operation it comes from, its subjects and their markers (digests only)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from icarus.store.base import Base, UTCDateTime, utcnow


class EarlierIntelImport(Base):
    """An earlier-intelligence file (docs/formats/earlier-intel-v1.md) imported into
    ``operation_id``. ``source_operation_id`` is the earlier operation as an operations row
    (without agencies), ``agency_id`` the agency that ran it: its contact is what alerts
    show."""

    __tablename__ = "earlier_intel_imports"
    __table_args__ = (UniqueConstraint("operation_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    source_operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    reference: Mapped[str | None] = mapped_column(String(200))
    intel_date: Mapped[date] = mapped_column(Date)
    file_sha256: Mapped[str] = mapped_column(String(64))
    subjects: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class EarlierSubject(Base):
    """A subject of an imported earlier-intelligence file: its reference and country."""

    __tablename__ = "earlier_subjects"
    __table_args__ = (UniqueConstraint("import_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("earlier_intel_imports.id"), index=True)
    ref: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))


class EarlierMarker(Base):
    """An identifier or address of an earlier subject, as the SHA-256 digest that
    ``lead_markers`` uses, with the first and last time it was seen."""

    __tablename__ = "earlier_markers"
    __table_args__ = (UniqueConstraint("subject_id", "kind", "digest"),
                      CheckConstraint("kind IN ('identifier', 'ip')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("earlier_subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
