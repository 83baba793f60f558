"""Operations, referrals, leads, outcomes and deconfliction alerts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from icarus.store.base import Base, UTCDateTime, utcnow
from icarus.store.models_people import Agency


class OutcomeState(StrEnum):
    """Where a lead stands; the allowed moves are in :mod:`icarus.coord.outcomes`."""

    RECEIVED = "received"
    UNDER_INVESTIGATION = "under_investigation"
    IDENTIFIED = "identified"
    SEARCHED = "searched"
    ARRESTED = "arrested"
    CHARGED = "charged"
    NO_FURTHER_ACTION = "no_further_action"
    NOT_LOCATED = "not_located"


_STATES = ", ".join(f"'{s.value}'" for s in OutcomeState)


class Operation(Base):
    """A coordinated operation and (through ``operation_agencies``) its agencies."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    agencies: Mapped[list[Agency]] = relationship(secondary="operation_agencies")


class OperationAgency(Base):
    """An agency's participation in an operation."""

    __tablename__ = "operation_agencies"

    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)


class Referral(Base):
    """One agency's share of an operation: the leads of a signed country package."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("operation_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    package_id: Mapped[str] = mapped_column(String(200))
    package_sha256: Mapped[str] = mapped_column(String(64))
    signature_status: Mapped[str] = mapped_column(String(16))
    signing_key_id: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    operation: Mapped[Operation] = relationship()
    agency: Mapped[Agency] = relationship()


class Lead(Base):
    """A suspect of a referral. Personal data (addresses, client identifiers, file names) is
    only in ``evidence``; the other columns are what lists may show."""

    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("referral_id", "subject_id"),
                      # The lists' sorts (in a referral, across them), country filter (0004).
                      Index("ix_leads_referral_id_score", "referral_id", "score"),
                      Index("ix_leads_referral_id_rank", "referral_id", "rank"),
                      Index("ix_leads_score", "score"), Index("ix_leads_rank", "rank"),
                      Index("ix_leads_subject_id", "subject_id"),
                      Index("ix_leads_country", "country"))

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    country: Mapped[str] = mapped_column(String(2))
    asn_name: Mapped[str | None] = mapped_column(String(200))
    first_seen: Mapped[str] = mapped_column(String(32))
    last_seen: Mapped[str] = mapped_column(String(32))
    n_files: Mapped[int] = mapped_column(Integer)
    best_evidence: Mapped[str] = mapped_column(String(64))
    evidence_summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)

    referral: Mapped[Referral] = relationship()


class LeadMarker(Base):
    """What deconfliction compares, as SHA-256 digests (never the raw value): a client
    identifier, or an address with the first and last time the lead was seen on it."""

    __tablename__ = "lead_markers"
    __table_args__ = (UniqueConstraint("lead_id", "kind", "digest"),
                      CheckConstraint("kind IN ('identifier', 'ip')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class Outcome(Base):
    """What became of a lead; ``version`` makes every update optimistic (no lost update)."""

    __tablename__ = "outcomes"
    __table_args__ = (CheckConstraint(f"state IN ({_STATES})", name="state"),
                      Index("ix_outcomes_state", "state"))  # the state filter (0004)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), unique=True)
    state: Mapped[str] = mapped_column(String(24))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    exhibits_seized: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class OutcomeChange(Base):
    """One step of an outcome's history (the dates of each state come from here)."""

    __tablename__ = "outcome_changes"
    __table_args__ = (UniqueConstraint("outcome_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    exhibits_seized: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DeconflictionAlert(Base):
    """``lead_id``'s subject also appears in ``other_lead_id`` (another agency's referral or
    an earlier operation), or is ``earlier_subject_id`` of an imported earlier-intelligence
    file (migration 0005; exactly one of the two is set). Each lead has its own row and sees
    only the fact and the other agency's contact."""

    __tablename__ = "deconfliction_alerts"
    __table_args__ = (UniqueConstraint("lead_id", "other_lead_id"),
                      UniqueConstraint("lead_id", "earlier_subject_id"),
                      CheckConstraint("(other_lead_id IS NULL) <> (earlier_subject_id IS NULL)",
                                      name="one_other"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    other_lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    earlier_subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("earlier_subjects.id"), index=True)
    other_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    other_operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"))
    rules: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
