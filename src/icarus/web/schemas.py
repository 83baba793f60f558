"""The API's request and response models (``XCreate`` / ``XUpdate`` / ``XPublic``), so that
the OpenAPI document says exactly what is sent and answered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from icarus.coord.actor import Role
from icarus.store.models import OutcomeState


class Public(BaseModel):
    """Built from the use cases' frozen views."""

    model_config = ConfigDict(from_attributes=True)


class Incoming(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorPublic(BaseModel):
    """Every error answer."""

    error: str = Field(description="A stable code: not_found, forbidden, conflict, ...")
    detail: str = Field(description="What went wrong, for a person.")


class LoginCreate(Incoming):
    """Credentials."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class MePublic(Public):
    """The caller."""

    user_id: int | None
    username: str
    role: Role
    agency_id: int | None
    csrf_token: str | None = Field(
        default=None, description="For cookie sessions: send it as X-CSRF-Token on every "
        "POST, PATCH or DELETE (none when authenticated by a bearer token).")


class OperationPublic(Public):
    """An operation and its participating agencies."""

    id: int
    name: str
    title: str
    agency_ids: list[int]


class ReferralPublic(Public):
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


class ReferralPage(BaseModel):
    """A page of referrals."""

    items: list[ReferralPublic]
    total: int
    offset: int
    limit: int


class LeadSummaryPublic(Public):
    """A lead as lists show it (no addresses or identifiers)."""

    id: int
    referral_id: int
    agency_id: int
    operation: str
    subject_id: str
    rank: int
    score: float
    country: str
    state: OutcomeState
    version: int
    alerts: int


class LeadPage(BaseModel):
    """A page of leads; ``total`` counts only what the caller may see."""

    items: list[LeadSummaryPublic]
    total: int
    offset: int
    limit: int


class OutcomePublic(Public):
    """A lead's outcome; send ``version`` back as ``expected_version``."""

    lead_id: int
    state: OutcomeState
    occurred_on: date | None
    notes: str
    exhibits_seized: int
    version: int
    updated_at: datetime


class OutcomeChangePublic(Public):
    """One step of the outcome's history."""

    version: int
    from_state: OutcomeState | None
    to_state: OutcomeState
    occurred_on: date | None
    notes: str
    exhibits_seized: int
    changed_at: datetime
    changed_by: int | None


class AlertPublic(Public):
    """A deconfliction alert: the fact, and who to contact; nothing of the other record."""

    id: int
    lead_id: int
    other_agency: str
    other_country: str
    other_contact: str
    other_operation: str
    rules: list[str]
    created_at: datetime


class SightingPublic(BaseModel):
    """One sighting of the evidence timeline."""

    model_config = ConfigDict(extra="allow")

    observed_at: str
    ip: str | None = None
    port: int | None = None
    network: str | None = None
    client: str | None = None
    nickname: str | None = None
    identifiers: list[str] = []
    file_name: str | None = None
    file_size: int | None = None
    content: str | None = None
    category: str | None = None
    severity: int | None = None
    evidence: str | None = None


class EvidencePublic(BaseModel):
    """The lead's client identifiers and its timeline of sightings (personal data)."""

    identifiers: list[str]
    timeline: list[SightingPublic]


class LeadDetailPublic(Public):
    """A lead in full. Reading it is audited."""

    summary: LeadSummaryPublic
    components: dict[str, Any]
    reasons: list[str]
    asn_name: str | None
    first_seen: str
    last_seen: str
    n_files: int
    best_evidence: str
    evidence_summary: dict[str, Any]
    evidence: EvidencePublic
    outcome: OutcomePublic
    history: list[OutcomeChangePublic]
    alerts: list[AlertPublic]


class OutcomeUpdate(Incoming):
    """A step of the outcome workflow, or a correction (``state`` omitted)."""

    expected_version: int = Field(ge=1, description="The version you read.")
    state: OutcomeState | None = None
    occurred_on: date | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    exhibits_seized: int | None = Field(default=None, ge=0, le=1_000_000)


class CountryCountsPublic(Public):
    """One country's figures."""

    country: str
    leads: int
    identified: int
    arrested: int


class DashboardPublic(Public):
    """The dashboard's counts over the leads the caller may see."""

    operation: str | None
    leads: int
    identified: int
    arrested: int
    countries_with_arrests: list[str]
    reached: dict[str, int]
    current: dict[str, int]
    countries: list[CountryCountsPublic]


class AuditEntryPublic(Public):
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


class AuditPage(BaseModel):
    """A page of the audit log, newest first."""

    items: list[AuditEntryPublic]
    total: int
    offset: int
    limit: int


class ChainReportPublic(BaseModel):
    """The audit chain's verification."""

    intact: bool
    events: int | None = None
    first_bad_seq: int | None = None
    problem: str | None = None


class AgencyPublic(Public):
    """An agency."""

    id: int
    country: str
    name: str
    contact: str


class AgencyCreate(Incoming):
    """A new agency."""

    country: str = Field(min_length=2, max_length=2)
    name: str = Field(min_length=1, max_length=200)
    contact: str = Field(default="", max_length=1000)


class UserPublic(Public):
    """A user, without secrets."""

    id: int
    username: str
    role: Role
    agency_id: int | None
    active: bool


class UserCreate(Incoming):
    """A new user."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Role
    agency_id: int | None = None


class UserUpdate(Incoming):
    """Enable or disable a user."""

    active: bool


class TokenPublic(Public):
    """An API token, without its secret."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(Incoming):
    """A new token of one's own."""

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenCreated(BaseModel):
    """The new token and its secret, shown this once."""

    token: TokenPublic
    secret: str
