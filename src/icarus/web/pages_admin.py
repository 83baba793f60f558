"""HTML pages of the auditors (audit log) and administrators (users, agencies)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from icarus.coord.actor import Role
from icarus.core.errors import IcarusError, InputError
from icarus.web.api_admin import verify_chain
from icarus.web.deps import FormUser, PageUser, ServicesDep
from icarus.web.errors import status_for
from icarus.web.pages import _int_or_none, params_of
from icarus.web.shared import Id
from icarus.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit(request: Request, user: PageUser, services: ServicesDep,
          offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    """The audit log, newest first (auditors)."""
    page = services.audit.list_events(user.actor, offset=offset, limit=limit)
    return render(request, "audit.html", {"page": page, "report": None,
                                          "params": params_of({"limit": limit})})


@router.get("/audit/verify")
def audit_verify(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """Verify the hash chain, then show the newest entries."""
    report = verify_chain(user.actor, services)
    page = services.audit.list_events(user.actor, offset=0, limit=100)
    return render(request, "audit.html", {"page": page, "report": report,
                                          "params": params_of({"limit": 100})})


def _users_page(request: Request, user: PageUser | FormUser, services: ServicesDep,
                error: str | None = None, status_code: int = 200) -> Response:
    users = services.accounts.list_users(user.actor)
    agencies = {a.id: a.name for a in services.accounts.list_agencies(user.actor)}
    return render(request, "users.html", {"users": users, "agencies": agencies,
                                          "roles": [r.value for r in Role], "error": error},
                  status_code=status_code)


@router.get("/admin/users")
def users(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """Users (administrators)."""
    return _users_page(request, user, services)


@router.post("/admin/users")
def create_user(request: Request, user: FormUser, services: ServicesDep,
                username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=1024)],
                role: Annotated[str, Form(max_length=32)],
                agency_id: Annotated[str, Form(max_length=12)] = "") -> Response:
    """Create a user; a refusal is shown on the page."""
    try:
        try:
            role_value = Role(role)
        except ValueError:
            raise InputError(f"role {role!r}: one of {', '.join(r.value for r in Role)}"
                             ) from None
        services.accounts.create_user(user.actor, username=username, password=password,
                                      role=role_value,
                                      agency_id=_int_or_none(agency_id, "agency"))
    except IcarusError as exc:
        status, _ = status_for(exc)
        if status not in (409, 422):
            raise
        return _users_page(request, user, services, str(exc), status)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/active")
def set_active(user_id: Id, user: FormUser, services: ServicesDep,
               active: Annotated[str, Form(pattern="^(true|false)$")]) -> Response:
    """Enable or disable a user."""
    services.accounts.set_active(user.actor, user_id, active == "true")
    return RedirectResponse("/admin/users", status_code=303)


def _agencies_page(request: Request, user: PageUser | FormUser, services: ServicesDep,
                   error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "agencies.html",
                  {"agencies": services.accounts.list_agencies(user.actor), "error": error},
                  status_code=status_code)


@router.get("/admin/agencies")
def agencies(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """Agencies (administrators)."""
    return _agencies_page(request, user, services)


@router.post("/admin/agencies")
def create_agency(request: Request, user: FormUser, services: ServicesDep,
                  country: Annotated[str, Form(max_length=2)],
                  name: Annotated[str, Form(max_length=200)],
                  contact: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """Create an agency; a refusal is shown on the page."""
    try:
        services.accounts.create_agency(user.actor, country=country, name=name,
                                        contact=contact)
    except IcarusError as exc:
        status, _ = status_for(exc)
        if status not in (409, 422):
            raise
        return _agencies_page(request, user, services, str(exc), status)
    return RedirectResponse("/admin/agencies", status_code=303)
