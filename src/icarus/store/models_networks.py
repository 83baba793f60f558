"""Networks of an operation (from the analysis' results folder) and the packages as imported.

A network row holds what the analysis concluded about one community: its size, the countries
of its members (most first), its core files (digests and categories only) and whether earlier
intelligence knew it. ``network_members`` lists the members by subject id; a member that is a
lead of a referral is joined to it by ``(operation, subject_id)``. ``referral_packages`` keeps
the signed package exactly as imported, so that the agency can download it and anyone
entitled can verify it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from icarus.store.base import Base, UTCDateTime, utcnow


class Network(Base):
    """A community of subjects found by the analysis of an operation."""

    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("operation_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    label: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    countries: Mapped[list[str]] = mapped_column(JSON)
    """Countries of the members, most members first."""
    core_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """``{"digest": "<kind>:<hex>", "category": str | None}``, most held first."""
    first_seen: Mapped[str | None] = mapped_column(String(32))
    last_seen: Mapped[str | None] = mapped_column(String(32))
    known_earlier: Mapped[bool] = mapped_column(Boolean)
    earlier_ref: Mapped[str | None] = mapped_column(String(128))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class NetworkMember(Base):
    """A subject of a network, with the country the analysis attributed it to."""

    __tablename__ = "network_members"
    __table_args__ = (UniqueConstraint("network_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    country: Mapped[str | None] = mapped_column(String(2))


class ReferralPackage(Base):
    """A referral's signed package as imported: the document's bytes, its signature and the
    public key it was verified with (raw Ed25519, hex)."""

    __tablename__ = "referral_packages"

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    package: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    public_key: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
