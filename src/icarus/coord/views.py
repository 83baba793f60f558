"""What the use cases return: frozen values, no ORM objects (the web layer renders these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from icarus.coord.actor import Role

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the total number of records the actor may see."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class AgencyView:
    """An agency."""

    id: int
    country: str
    name: str
    contact: str


@dataclass(frozen=True)
class UserView:
    """A user, without secrets."""

    id: int
    username: str
    role: Role
    agency_id: int | None
    active: bool


@dataclass(frozen=True)
class TokenView:
    """An API token, without its secret."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class OperationView:
    """An operation and its participating agencies."""

    id: int
    name: str
    title: str
    agency_ids: tuple[int, ...]


@dataclass(frozen=True)
class ReferralView:
    """An agency's referral of an operation."""

    id: int
    operation: str
    agency_id: int
    agency_name: str
    country: str
    package_id: str
    package_sha256: str
    signature_status: str
    signing_key_id: str
    imported_at: datetime
    leads: int


@dataclass(frozen=True)
class LeadSummary:
    """A lead as lists show it: no addresses or identifiers."""

    id: int
    referral_id: int
    agency_id: int
    operation: str
    subject_id: str
    rank: int
    score: float
    country: str
    state: str
    version: int
    alerts: int


@dataclass(frozen=True)
class OutcomeChangeView:
    """One step of an outcome's history."""

    version: int
    from_state: str | None
    to_state: str
    occurred_on: date | None
    notes: str
    exhibits_seized: int
    changed_at: datetime
    changed_by: int | None


@dataclass(frozen=True)
class OutcomeView:
    """A lead's outcome now; ``version`` must be sent back with the next update."""

    lead_id: int
    state: str
    occurred_on: date | None
    notes: str
    exhibits_seized: int
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class AlertView:
    """A deconfliction alert as the lead's agency sees it: the fact, the other agency's
    name, country and contact, and the other operation; nothing of the other record."""

    id: int
    lead_id: int
    other_agency: str
    other_country: str
    other_contact: str
    other_operation: str
    rules: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class LeadDetail:
    """A lead in full, with its evidence (personal data: reading it is audited)."""

    summary: LeadSummary
    components: dict[str, Any]
    reasons: tuple[str, ...]
    asn_name: str | None
    first_seen: str
    last_seen: str
    n_files: int
    best_evidence: str
    evidence_summary: dict[str, Any]
    evidence: dict[str, Any]
    outcome: OutcomeView
    history: tuple[OutcomeChangeView, ...]
    alerts: tuple[AlertView, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One audit event."""

    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    agency_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    remote_addr: str | None
    details: dict[str, Any]
