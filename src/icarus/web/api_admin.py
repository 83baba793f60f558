"""API: the audit log (auditors), agencies and users (administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from icarus.core.errors import AuditChainError
from icarus.web.deps import ApiActor, ServicesDep
from icarus.web.schemas import (
    AgencyCreate,
    AgencyPublic,
    AuditEntryPublic,
    AuditPage,
    ChainReportPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from icarus.web.shared import ERRORS, Id

router = APIRouter(prefix="/api/v1", responses=ERRORS)


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def audit_log(actor: ApiActor, services: ServicesDep,
              offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditPage:
    """A page of the audit log, newest first (auditors). Reading it is audited."""
    page = services.audit.list_events(actor, offset=offset, limit=limit)
    return AuditPage(items=[AuditEntryPublic.model_validate(e) for e in page.items],
                     total=page.total, offset=page.offset, limit=page.limit)


def verify_chain(actor: ApiActor, services: ServicesDep) -> ChainReportPublic:
    """Verify the hash chain: intact, or the first bad entry (shared with the page)."""
    try:
        report = services.audit.verify(actor)
    except AuditChainError as exc:
        return ChainReportPublic(intact=False, first_bad_seq=exc.seq, problem=str(exc))
    return ChainReportPublic(intact=True, events=report.events)


@router.get("/audit/verify", response_model=ChainReportPublic, tags=["audit"])
def audit_verify(actor: ApiActor, services: ServicesDep) -> ChainReportPublic:
    """Verify the audit log's hash chain (auditors)."""
    return verify_chain(actor, services)


@router.get("/agencies", response_model=list[AgencyPublic], tags=["admin"])
def agencies(actor: ApiActor, services: ServicesDep) -> list[AgencyPublic]:
    """Every agency (administrators)."""
    return [AgencyPublic.model_validate(a) for a in services.accounts.list_agencies(actor)]


@router.post("/agencies", response_model=AgencyPublic, status_code=201, tags=["admin"])
def create_agency(body: AgencyCreate, actor: ApiActor, services: ServicesDep) -> AgencyPublic:
    """A new agency (administrators)."""
    return AgencyPublic.model_validate(services.accounts.create_agency(
        actor, country=body.country, name=body.name, contact=body.contact))


@router.get("/users", response_model=list[UserPublic], tags=["admin"])
def users(actor: ApiActor, services: ServicesDep) -> list[UserPublic]:
    """Every user (administrators)."""
    return [UserPublic.model_validate(u) for u in services.accounts.list_users(actor)]


@router.post("/users", response_model=UserPublic, status_code=201, tags=["admin"])
def create_user(body: UserCreate, actor: ApiActor, services: ServicesDep) -> UserPublic:
    """A new user (administrators)."""
    return UserPublic.model_validate(services.accounts.create_user(
        actor, username=body.username, password=body.password, role=body.role,
        agency_id=body.agency_id))


@router.patch("/users/{user_id}", response_model=UserPublic, tags=["admin"])
def update_user(user_id: Id, body: UserUpdate, actor: ApiActor,
                services: ServicesDep) -> UserPublic:
    """Enable or disable a user (administrators)."""
    return UserPublic.model_validate(services.accounts.set_active(actor, user_id,
                                                                  body.active))
