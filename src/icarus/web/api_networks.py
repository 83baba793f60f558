"""API: the operation's networks, the referrals' packages (download, verification) and the
dashboard's timeline. Each route calls one use case, which decides who may see what."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from icarus.coord.exports import Reports
from icarus.coord.networks import Networks
from icarus.coord.packages_store import Packages
from icarus.web.deps import ApiActor, ServicesDep
from icarus.web.shared import ERRORS, Id

router = APIRouter(prefix="/api/v1", responses=ERRORS)
Name = Annotated[str | None, Query(max_length=64)]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NetworkSummaryPublic(_Public):
    """A network (counts only)."""

    id: int
    operation: str
    label: str
    size: int
    countries: list[str]
    known_earlier: bool
    earlier_ref: str | None
    first_seen: str | None
    last_seen: str | None
    visible_leads: int


class MemberLeadPublic(_Public):
    """A member that is a lead the caller may see."""

    lead_id: int
    subject_id: str
    country: str
    agency_id: int
    score: float
    state: str


class CoreFilePublic(_Public):
    """A core file of the network: digest and category only."""

    digest: str
    category: str | None


class CountryMembersPublic(BaseModel):
    """Members of one country ("" when unknown)."""

    country: str
    members: int


class EdgePublic(BaseModel):
    """Two leads whose evidence holds ``shared`` common files."""

    a: int
    b: int
    shared: int


class NetworkDetailPublic(BaseModel):
    """A network, scoped to the caller: counts per country of all members, the caller's
    visible member leads, core files and co-sharing edges between those leads."""

    summary: NetworkSummaryPublic
    members_by_country: list[CountryMembersPublic]
    leads: list[MemberLeadPublic]
    leads_total: int
    core_files: list[CoreFilePublic]
    edges: list[EdgePublic]


class PackageCheckPublic(_Public):
    """A stored package verified again."""

    referral_id: int
    operation: str
    agency: str
    country: str
    package_id: str
    key_id: str
    recorded_sha256: str
    sha256: str
    sha256_matches: bool
    signature_valid: bool
    schema_valid: bool
    ok: bool
    problems: list[str]
    warnings: list[str]
    checked_at: datetime


class WeekCountsPublic(_Public):
    """Leads first reaching each state in the week starting ``week`` (a Monday)."""

    week: date
    identified: int
    searched: int
    arrested: int


@router.get("/networks", response_model=list[NetworkSummaryPublic], tags=["networks"])
def networks(actor: ApiActor, services: ServicesDep, operation: Name = None,
             ) -> list[NetworkSummaryPublic]:
    """The networks the caller may see (an agency: those holding one of its leads)."""
    return [NetworkSummaryPublic.model_validate(n) for n in
            Networks(services.db).list_networks(actor, operation=operation)]


@router.get("/networks/{network_id}", response_model=NetworkDetailPublic, tags=["networks"])
def network(network_id: Id, actor: ApiActor, services: ServicesDep) -> NetworkDetailPublic:
    """A network: members per country, the caller's visible member leads, core files,
    co-sharing edges. Another agency's network is 404. Audited."""
    d = Networks(services.db).get_network(actor, network_id)
    return NetworkDetailPublic(
        summary=NetworkSummaryPublic.model_validate(d.summary),
        members_by_country=[CountryMembersPublic(country=c, members=n)
                            for c, n in d.members_by_country],
        leads=[MemberLeadPublic.model_validate(x) for x in d.leads],
        leads_total=d.leads_total,
        core_files=[CoreFilePublic.model_validate(f) for f in d.core_files],
        edges=[EdgePublic(a=a, b=b, shared=n) for a, b, n in d.edges])


@router.get("/referrals/{referral_id}/package", tags=["packages"],
            response_class=Response,
            responses={200: {"content": {"application/json": {}},
                             "description": "The package JSON, byte for byte as imported"}})
def package(referral_id: Id, actor: ApiActor, services: ServicesDep) -> Response:
    """The referral's signed package as imported (its agency and the coordinators only).
    Audited."""
    f = Packages(services.db).download(actor, referral_id, "json")
    return Response(f.content, media_type=f.media_type, headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"'})


@router.get("/referrals/{referral_id}/verification", response_model=PackageCheckPublic,
            tags=["packages"])
def verification(referral_id: Id, actor: ApiActor, services: ServicesDep,
                 ) -> PackageCheckPublic:
    """The stored package verified again: signature, schema and hash. Audited."""
    return PackageCheckPublic.model_validate(Packages(services.db).check(actor, referral_id))


@router.get("/dashboard/timeline", response_model=list[WeekCountsPublic], tags=["cases"])
def timeline(actor: ApiActor, services: ServicesDep, operation: Name = None,
             ) -> list[WeekCountsPublic]:
    """Per week, the leads the caller may see that first reached identified, searched and
    arrested."""
    return [WeekCountsPublic.model_validate(w)
            for w in Reports(services.db).timeline(actor, operation=operation)]
