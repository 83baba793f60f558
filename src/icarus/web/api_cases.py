"""API: operations, referrals, leads and their outcomes, alerts, the dashboard."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from icarus.coord import OutcomeState
from icarus.coord import OutcomeUpdate as Update
from icarus.coord.views import ReferralView
from icarus.web.deps import ApiActor, ServicesDep
from icarus.web.schemas import (
    AlertPublic,
    DashboardPublic,
    LeadDetailPublic,
    LeadPage,
    LeadSummaryPublic,
    OperationPublic,
    OutcomePublic,
    OutcomeUpdate,
    ReferralPage,
    ReferralPublic,
)
from icarus.web.shared import ERRORS, MAX_ID, Id

router = APIRouter(prefix="/api/v1", responses=ERRORS)

Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]
Country = Annotated[str | None, Query(pattern="^[A-Z]{2}$")]
Name = Annotated[str | None, Query(max_length=64)]
ReferralSort = Literal["operation", "country", "agency", "leads", "imported"]
_REFERRAL_KEYS = {
    "operation": lambda r: (r.operation, r.country, r.agency_name),
    "country": lambda r: (r.country, r.operation, r.agency_name),
    "agency": lambda r: (r.agency_name, r.operation),
    "leads": lambda r: (-r.leads, r.operation, r.country),
    "imported": lambda r: (r.imported_at, r.id),
}


def referral_page(rows: tuple[ReferralView, ...], *, country: str | None, sort: str,
                  offset: int, limit: int) -> ReferralPage:
    """Filter, sort and page the referrals a use case returned (already scoped)."""
    picked = [r for r in rows if country is None or r.country == country]
    picked.sort(key=_REFERRAL_KEYS[sort])
    return ReferralPage(items=[ReferralPublic.model_validate(r)
                               for r in picked[offset:offset + limit]],
                        total=len(picked), offset=offset, limit=limit)


@router.get("/operations", response_model=list[OperationPublic], tags=["cases"])
def operations(actor: ApiActor, services: ServicesDep) -> list[OperationPublic]:
    """The operations the caller may see."""
    return [OperationPublic.model_validate(o)
            for o in services.operations.list_operations(actor)]


@router.get("/referrals", response_model=ReferralPage, tags=["cases"])
def referrals(actor: ApiActor, services: ServicesDep, operation: Name = None,
              country: Country = None, sort: ReferralSort = "operation", offset: Offset = 0,
              limit: Limit = 50) -> ReferralPage:
    """The referrals the caller may see, with their lead counts."""
    rows = services.referrals.list_referrals(actor, operation=operation)
    return referral_page(rows, country=country, sort=sort, offset=offset, limit=limit)


@router.get("/leads", response_model=LeadPage, tags=["cases"])
def leads(actor: ApiActor, services: ServicesDep, operation: Name = None,
          referral_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
          country: Country = None,
          state: OutcomeState | None = None,
          sort: Literal["score", "rank", "subject", "id"] = "score", offset: Offset = 0,
          limit: Limit = 50) -> LeadPage:
    """A page of the leads the caller may see; ``total`` counts only those."""
    page = services.referrals.list_leads(actor, operation=operation, referral_id=referral_id,
                                         state=state, country=country, sort=sort,
                                         offset=offset, limit=limit)
    return LeadPage(items=[LeadSummaryPublic.model_validate(x) for x in page.items],
                    total=page.total, offset=page.offset, limit=page.limit)


@router.get("/leads/{lead_id}", response_model=LeadDetailPublic, tags=["cases"])
def lead(lead_id: Id, actor: ApiActor, services: ServicesDep) -> LeadDetailPublic:
    """A lead in full: evidence timeline, score reasons, outcome and its history,
    deconfliction alerts. Audited."""
    return LeadDetailPublic.model_validate(services.referrals.get_lead(actor, lead_id))


@router.post("/leads/{lead_id}/outcome", response_model=OutcomePublic, tags=["cases"])
def record_outcome(lead_id: Id, body: OutcomeUpdate, actor: ApiActor,
                   services: ServicesDep) -> OutcomePublic:
    """Move the outcome along the workflow (or correct it). ``expected_version`` is the
    version read: if someone changed the outcome since, the answer is 409 and nothing is
    written."""
    view = services.outcomes.record(actor, lead_id, Update(
        expected_version=body.expected_version, state=body.state,
        occurred_on=body.occurred_on, notes=body.notes,
        exhibits_seized=body.exhibits_seized))
    return OutcomePublic.model_validate(view)


@router.get("/alerts", response_model=list[AlertPublic], tags=["cases"])
def alerts(actor: ApiActor, services: ServicesDep, operation: Name = None,
           ) -> list[AlertPublic]:
    """Deconfliction alerts on the leads the caller may see."""
    return [AlertPublic.model_validate(a)
            for a in services.referrals.list_alerts(actor, operation=operation)]


@router.get("/dashboard", response_model=DashboardPublic, tags=["cases"])
def dashboard(actor: ApiActor, services: ServicesDep, operation: Name = None,
              ) -> DashboardPublic:
    """Counts of leads, identified and arrested subjects, by state and country."""
    return DashboardPublic.model_validate(services.dashboard.summary(actor,
                                                                     operation=operation))
