"""HTML pages: login, dashboard, referrals, leads and the outcome form. Each page calls one
use case; what a user may see is decided there, never here or in a template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from icarus.coord import TRANSITIONS, OutcomeState, OutcomeUpdate
from icarus.coord.actor import Actor, Role
from icarus.coord.views import LeadDetail
from icarus.core.errors import (
    AuthenticationError,
    IcarusError,
    InputError,
    LoginThrottledError,
    PermissionDeniedError,
)
from icarus.intel.packages.worldmap import overview_map
from icarus.web.api_cases import referral_page
from icarus.web.auth import (
    clear_session_cookie,
    login_nonce_matches,
    new_login_nonce,
    set_login_cookie,
    set_session_cookie,
)
from icarus.web.deps import FormUser, PageUser, ServicesDep, remote_addr
from icarus.web.errors import retry_after, status_for
from icarus.web.shared import MAX_ID, Id
from icarus.web.templating import render

router = APIRouter(include_in_schema=False)

Country = Annotated[str | None, Query(pattern="^([A-Z]{2})?$")]
Name = Annotated[str | None, Query(max_length=64)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]
_HOME = {Role.ADMINISTRATOR: "/admin/users", Role.AUDITOR: "/audit"}


def params_of(values: dict[str, Any]) -> Callable[..., str]:
    """For the pager: the page's query string with some values replaced."""
    def build(**changes: Any) -> str:
        merged = {**values, **changes}
        return urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return build


def home_of(actor: Actor) -> str:
    """Where a user lands after login."""
    return _HOME.get(actor.role, "/dashboard")


@router.get("/")
def start(user: PageUser) -> Response:
    """The user's start page."""
    return RedirectResponse(home_of(user.actor), status_code=303)


@router.get("/login")
def login_form(request: Request, services: ServicesDep, expired: bool = False) -> Response:
    """The login form (with its own CSRF value, set as a cookie too)."""
    nonce = new_login_nonce()
    message = "Your session has ended: log in again." if expired else None
    response = render(request, "login.html", {"nonce": nonce, "message": message,
                                              "username": ""})
    set_login_cookie(response, services.settings, nonce)
    return response


@router.post("/login")
def login(request: Request, services: ServicesDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)],
          csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Check the password; on success open a session and go to the start page."""
    if not login_nonce_matches(request, csrf_token):
        raise PermissionDeniedError("CSRF check failed: reload the login page and try again")
    try:
        actor = services.accounts.authenticate(username, password, remote_addr(request))
    except AuthenticationError as exc:
        status, _code = status_for(exc)
        message = str(exc)
        if isinstance(exc, LoginThrottledError):
            minutes = -(-exc.retry_after // 60)
            message = (f"Too many failed logins from your address: wait {minutes} "
                       f"minute{'s' if minutes != 1 else ''} and try again.")
        nonce = new_login_nonce()
        page = render(request, "login.html", {"nonce": nonce, "message": message,
                                              "username": username}, status_code=status)
        page.headers.update(retry_after(exc))
        set_login_cookie(page, services.settings, nonce)
        return page
    secret = services.sessions.open(actor)
    response = RedirectResponse(home_of(actor), status_code=303)
    set_session_cookie(response, services.settings, secret)
    return response


@router.post("/logout")
async def logout(user: FormUser, services: ServicesDep) -> Response:
    """End the session on the server and in the browser."""
    await run_in_threadpool(services.sessions.close, user.session, user.actor)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, services.settings)
    return response


@router.get("/dashboard")
def dashboard(request: Request, user: PageUser, services: ServicesDep,
              operation: Name = None) -> Response:
    """The operation dashboard: figures, funnel, countries, maps."""
    d = services.dashboard.summary(user.actor, operation=operation or None)
    ops = services.operations.list_operations(user.actor)
    return render(request, "dashboard.html", {"d": d, "operations": ops})


@router.get("/dashboard/map.svg")
def dashboard_map(user: PageUser, services: ServicesDep,
                  kind: Literal["leads", "arrests"] = "leads", operation: Name = None,
                  ) -> Response:
    """A world map of the leads (or arrests) per country the user may see."""
    d = services.dashboard.summary(user.actor, operation=operation or None)
    counts = {c.country: c.leads if kind == "leads" else c.arrested for c in d.countries}
    svg = overview_map(d.operation or "all operations", counts)
    if kind == "arrests":
        svg = svg.replace("suspects per country", "arrests per country")
    return Response(svg, media_type="image/svg+xml")


@router.get("/referrals")
def referrals(request: Request, user: PageUser, services: ServicesDep, operation: Name = None,
              country: Country = None,
              sort: Literal["operation", "country", "agency", "leads", "imported"] = "operation",
              offset: Offset = 0, limit: Limit = 50) -> Response:
    """The referrals the user may see, filtered, sorted and paged."""
    rows = services.referrals.list_referrals(user.actor, operation=operation or None)
    page = referral_page(rows, country=country or None, sort=sort, offset=offset, limit=limit)
    filters = {"operation": operation, "country": country, "sort": sort, "limit": limit}
    return render(request, "referrals.html", {
        "page": page, "filters": filters, "params": params_of(filters),
        "sorts": ["operation", "country", "agency", "leads", "imported"]})


@router.get("/leads")
def leads(request: Request, user: PageUser, services: ServicesDep, operation: Name = None,
          referral_id: Annotated[str | None, Query(max_length=12)] = None,
          country: Country = None, state: Annotated[str | None, Query(max_length=32)] = None,
          sort: Literal["score", "rank", "subject", "id"] = "score", offset: Offset = 0,
          limit: Limit = 50) -> Response:
    """The leads the user may see, filtered, sorted and paged."""
    ref = _int_or_none(referral_id, "referral")
    st = _state_or_none(state)
    page = services.referrals.list_leads(user.actor, operation=operation or None,
                                         referral_id=ref, state=st, country=country or None,
                                         sort=sort, offset=offset, limit=limit)
    filters = {"operation": operation, "referral_id": ref, "country": country,
               "state": st.value if st else None, "sort": sort, "limit": limit}
    return render(request, "leads.html", {
        "page": page, "filters": filters, "params": params_of(filters),
        "states": [s.value for s in OutcomeState], "sorts": ["score", "rank", "subject", "id"]})


def _int_or_none(value: str | None, what: str) -> int | None:
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_ID:
        raise InputError(f"{what}: a record number is expected, not {value!r}")
    return int(value)


def _state_or_none(value: str | None) -> OutcomeState | None:
    if not value:
        return None
    try:
        return OutcomeState(value)
    except ValueError:
        raise InputError(f"state {value!r}: one of "
                         f"{', '.join(s.value for s in OutcomeState)}") from None


def _lead_page(request: Request, lead: LeadDetail, *, form: dict[str, Any] | None = None,
               error: str | None = None, saved: bool = False,
               status_code: int = 200) -> Response:
    current = OutcomeState(lead.outcome.state)
    values = {"expected_version": lead.outcome.version, "state": "",
              "occurred_on": lead.outcome.occurred_on or "",
              "exhibits_seized": lead.outcome.exhibits_seized, "notes": lead.outcome.notes}
    values.update(form or {})
    return render(request, "lead.html", {
        "lead": lead, "form": values, "error": error, "saved": saved,
        "next_states": sorted(s.value for s in TRANSITIONS[current])},
        status_code=status_code)


@router.get("/leads/{lead_id}")
def lead(request: Request, lead_id: Id, user: PageUser, services: ServicesDep,
         saved: bool = False) -> Response:
    """A lead: evidence timeline, score reasons, deconfliction notes, outcome form."""
    return _lead_page(request, services.referrals.get_lead(user.actor, lead_id), saved=saved)


@router.post("/leads/{lead_id}/outcome")
def record_outcome(request: Request, lead_id: Id, user: FormUser, services: ServicesDep,
                   expected_version: Annotated[str, Form(max_length=12)],
                   state: Annotated[str, Form(max_length=32)] = "",
                   occurred_on: Annotated[str, Form(max_length=10)] = "",
                   exhibits_seized: Annotated[str, Form(max_length=9)] = "",
                   notes: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    """Record an outcome step. A conflict (someone saved first) or a refused move is shown on
    the lead page, with what the user typed kept in the form."""
    form = {"state": state, "occurred_on": occurred_on, "exhibits_seized": exhibits_seized,
            "notes": notes}
    try:
        update = OutcomeUpdate(
            expected_version=_required_int(expected_version, "expected version"),
            state=_state_or_none(state), occurred_on=_date_or_none(occurred_on),
            notes=notes, exhibits_seized=_int_field(exhibits_seized, "exhibits seized"))
        services.outcomes.record(user.actor, lead_id, update)
    except IcarusError as exc:
        status, _code = status_for(exc)
        if status not in (409, 422):
            raise
        # The page as it is now (new version), with the user's entries and the reason.
        fresh = services.referrals.get_lead(user.actor, lead_id)
        message = str(exc)
        if status == 409 and "changed by someone else" in message:
            message = ("Not saved: someone else changed this outcome while you were editing. "
                       "The page now shows their version; check it and save again. "
                       f"({message})")
        return _lead_page(request, fresh, form=form, error=message, status_code=status)
    return RedirectResponse(f"/leads/{lead_id}?saved=1", status_code=303)


def _required_int(value: str, what: str) -> int:
    number = _int_field(value, what)
    if number is None:
        raise InputError(f"{what}: a number is needed")
    return number


def _int_field(value: str, what: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise InputError(f"{what}: a whole number is expected, not {value!r}")
    return int(value)


def _date_or_none(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"date {value!r}: YYYY-MM-DD expected") from None
