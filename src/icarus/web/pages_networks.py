"""Pages: the networks view (list, detail, graph), package downloads and verification, the
exports (CSV, PDF) and the dashboard's timeline chart. Each calls one use case; what a user
may see is decided there, never here or in a template."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from icarus.coord.exports import Reports
from icarus.coord.networks import GRAPH_LEADS, Networks
from icarus.coord.packages_store import Packages
from icarus.web.deps import PageUser, ServicesDep
from icarus.web.exports_render import (
    dashboard_csv,
    dashboard_pdf,
    leads_csv,
    leads_pdf,
    timeline_svg,
)
from icarus.web.networks_svg import country_colours, network_svg
from icarus.web.pages import Country, Name, _int_or_none, _state_or_none
from icarus.web.shared import Id
from icarus.web.templating import render

router = APIRouter(include_in_schema=False)


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@router.get("/networks")
def networks(request: Request, user: PageUser, services: ServicesDep,
             operation: Name = None) -> Response:
    """The networks the user may see, largest first."""
    rows = Networks(services.db).list_networks(user.actor, operation=operation or None)
    return render(request, "networks.html", {"rows": rows, "operation": operation or ""})


@router.get("/networks/{network_id}")
def network(request: Request, network_id: Id, user: PageUser, services: ServicesDep,
            ) -> Response:
    """A network: members by country, the user's visible member leads, core files, graph."""
    detail = Networks(services.db).get_network(user.actor, network_id)
    return render(request, "network.html", {"n": detail, "colours": country_colours(detail),
                                            "graph_leads": GRAPH_LEADS})


@router.get("/networks/{network_id}/graph.svg")
def network_graph(network_id: Id, user: PageUser, services: ServicesDep) -> Response:
    """The network drawn as a graph (SVG)."""
    detail = Networks(services.db).get_network(user.actor, network_id)
    return Response(network_svg(detail), media_type="image/svg+xml")


@router.get("/referrals/{referral_id}/package/{fmt}")
def package(referral_id: Id, fmt: Literal["json", "sig", "html", "pdf"], user: PageUser,
            services: ServicesDep) -> Response:
    """Download the referral's package (JSON as imported, its signature) or its report
    (HTML, PDF), as an attachment. Its agency and the coordinators only; audited."""
    f = Packages(services.db).download(user.actor, referral_id, fmt)
    return _attachment(f.content, f.media_type, f.filename)


@router.get("/referrals/{referral_id}/verify")
def verify_page(request: Request, referral_id: Id, user: PageUser, services: ServicesDep,
                ) -> Response:
    """The stored package verified again: signature, schema, hash."""
    check = Packages(services.db).check(user.actor, referral_id)
    return render(request, "package_verify.html", {"c": check})


@router.get("/dashboard/timeline.svg")
def timeline_chart(user: PageUser, services: ServicesDep, operation: Name = None) -> Response:
    """Outcomes over time: per week, leads first reaching identified, searched, arrested."""
    weeks = Reports(services.db).timeline(user.actor, operation=operation or None)
    return Response(timeline_svg(weeks, f"Outcomes by week: {operation or 'all operations'}"),
                    media_type="image/svg+xml")


@router.get("/exports/dashboard.{fmt}")
def export_dashboard(fmt: Literal["csv", "pdf"], user: PageUser, services: ServicesDep,
                     operation: Name = None) -> Response:
    """The dashboard (what the user may see) as CSV or PDF; audited."""
    view, weeks = Reports(services.db).dashboard_export(user.actor,
                                                        operation=operation or None, fmt=fmt)
    name = f"icarus-dashboard-{operation or 'all'}-{_stamp()}.{fmt}"
    if fmt == "csv":
        return _attachment(dashboard_csv(view, weeks), "text/csv; charset=utf-8", name)
    return _attachment(dashboard_pdf(view, weeks, user.actor.username), "application/pdf",
                       name)


@router.get("/exports/leads.{fmt}")
def export_leads(fmt: Literal["csv", "pdf"], user: PageUser, services: ServicesDep,
                 operation: Name = None,
                 referral_id: Annotated[str | None, Query(max_length=12)] = None,
                 country: Country = None,
                 state: Annotated[str | None, Query(max_length=32)] = None,
                 sort: Literal["score", "rank", "subject", "id"] = "score") -> Response:
    """The leads list with its filters (what the user may see) as CSV or PDF; audited."""
    ref = _int_or_none(referral_id, "referral")
    st = _state_or_none(state)
    rows = Reports(services.db).leads_export(user.actor, fmt=fmt, operation=operation or None,
                                             referral_id=ref, state=st,
                                             country=country or None, sort=sort)
    name = f"icarus-leads-{_stamp()}.{fmt}"
    if fmt == "csv":
        return _attachment(leads_csv(rows), "text/csv; charset=utf-8", name)
    filters = {"operation": operation, "referral": ref, "country": country,
               "state": st.value if st else None, "sort": sort}
    return _attachment(leads_pdf(rows, filters, user.actor.username), "application/pdf", name)
