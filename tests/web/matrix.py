"""The authorisation matrix's table: one entry per route of the app (method, path), saying
who may call it and how to call it for a given target. test_authorisation.py checks the
table covers the app's route table exactly, so a new route without an entry fails."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from tests.coord.world import World
from tests.web.conftest import TestClient
from tests.web.networks_world import import_networks

ROLES = ["admin", "coordinator", "analyst", "auditor", "officer_fr", "examiner_fr", None]
"""The world's users (agency-scoped ones belong to FR; DE is "the other agency"), and None
for an anonymous caller."""
READ_LEADS = frozenset({"coordinator", "analyst", "officer_fr", "examiner_fr"})
WRITE_OUTCOMES = frozenset({"coordinator", "officer_fr"})
EVERYONE = frozenset({"admin", "coordinator", "analyst", "auditor", "officer_fr",
                      "examiner_fr"})
AGENCY_SCOPED = frozenset({"officer_fr", "examiner_fr"})
PACKAGES = frozenset({"coordinator", "officer_fr", "examiner_fr"})
"""Who may download and verify a referral's package: its agency and the coordinators."""
MISSING = 987_654
PASSWORD = "correct horse battery"  # noqa: S105 - the test world's password
OTHER_MARKERS = ("de-1", "de-2", "198.51.100.")
"""What of the other agency (DE) an FR-scoped user must never see (alerts may name the
other agency and its contact: that is their purpose)."""

Target = Literal["own", "other", "missing"]


@dataclass
class Ctx:
    """What a request needs: the world, the caller, its CSRF token, the target."""

    world: World
    client: TestClient
    who: str | None
    csrf: str
    target: Target

    def lead(self) -> int:
        """The lead of the target agency (FR own, DE other) or a nonexistent id."""
        return {"own": self.world.leads["FR"][0], "other": self.world.leads["DE"][0],
                "missing": MISSING}[self.target]


@dataclass(frozen=True)
class Case:
    """Who may call a route. ``scope``: "agency" when an agency-scoped user may reach only
    its own agency's record (another agency's looks like a missing one), "owner" when only
    the owner (or an administrator) may, None when the target does not matter."""

    allowed: frozenset[str] | None  # None: public
    call: Callable[[Ctx], httpx.Response]
    scope: Literal["agency", "owner"] | None = None
    check: Callable[[Ctx, httpx.Response], None] | None = field(default=None)


def api(method: str, path: str, **kwargs: Any) -> Callable[[Ctx], httpx.Response]:
    """An API call (``{lead}`` etc. filled from the context; CSRF header on writes)."""
    def call(ctx: Ctx) -> httpx.Response:
        headers = {"X-CSRF-Token": ctx.csrf} if method != "GET" else {}
        body = kwargs.get("json")
        response: httpx.Response = ctx.client.request(
            method, fill(path, ctx), headers=headers,
            json=body(ctx) if callable(body) else body)
        return response
    return call


def page(method: str, path: str, data: dict[str, str] | None = None,
         ) -> Callable[[Ctx], httpx.Response]:
    """A page (forms carry the CSRF token)."""
    def call(ctx: Ctx) -> httpx.Response:
        response: httpx.Response
        if method == "GET":
            response = ctx.client.get(fill(path, ctx))
        else:
            response = ctx.client.post(fill(path, ctx),
                                       data={**(data or {}), "csrf_token": ctx.csrf})
        return response
    return call


def token_of(ctx: Ctx) -> int:
    """A token of the caller's own (own), of somebody else (other), or none (missing)."""
    if ctx.target == "missing":
        return MISSING
    owner = ctx.who if ctx.target == "own" and ctx.who else (
        "analyst" if ctx.who != "analyst" else "coordinator")
    view, _secret = ctx.world.accounts.create_token(ctx.world.actors[owner], "matrix")
    return view.id


def fill(path: str, ctx: Ctx) -> str:
    """Replace the path's parameters by the target's ids."""
    if "{lead_id}" in path:
        path = path.replace("{lead_id}", str(ctx.lead()))
    if "{token_id}" in path:
        path = path.replace("{token_id}", str(token_of(ctx)))
    if "{referral_id}" in path:
        ref = {"own": ctx.world.referrals["FR"].id, "other": ctx.world.referrals["DE"].id,
               "missing": MISSING}[ctx.target]
        path = path.replace("{referral_id}", str(ref))
    if "{network_id}" in path:
        ids = import_networks(ctx.world)
        net = {"own": ids["mixed"], "other": ids["de-only"], "missing": MISSING}[ctx.target]
        path = path.replace("{network_id}", str(net))
    if "{user_id}" in path:
        user = ctx.world.actors["analyst"].user_id
        path = path.replace("{user_id}", str(user if ctx.target != "missing" else MISSING))
    return path


def _scoped_total(key: str, own: int, everyone: int) -> Callable[[Ctx, httpx.Response], None]:
    def check(ctx: Ctx, response: httpx.Response) -> None:
        value = response.json()
        n = len(value) if key == "len" else value[key]
        assert n == (own if ctx.who in AGENCY_SCOPED else everyone), (key, n)
    return check


def _with_networks(call: Callable[[Ctx], httpx.Response]) -> Callable[[Ctx], httpx.Response]:
    """``call`` after the world's networks are imported."""
    def wrapped(ctx: Ctx) -> httpx.Response:
        import_networks(ctx.world)
        return call(ctx)
    return wrapped


def _csv_rows(own: int, everyone: int) -> Callable[[Ctx, httpx.Response], None]:
    def check(ctx: Ctx, response: httpx.Response) -> None:
        rows = response.text.strip().splitlines()[1:]
        assert len(rows) == (own if ctx.who in AGENCY_SCOPED else everyone), rows
    return check


def _login(ctx: Ctx) -> httpx.Response:
    ctx.client.cookies.set("icarus_login", "nonce-matrix")
    response: httpx.Response = ctx.client.post("/login", data={
        "username": "coordinator", "password": PASSWORD, "csrf_token": "nonce-matrix"})
    return response


OUTCOME = {"expected_version": 1, "state": "under_investigation"}
CASES: dict[tuple[str, str], Case] = {
    # -- API: authentication and tokens
    ("POST", "/api/v1/auth/login"): Case(None, api("POST", "/api/v1/auth/login", json={
        "username": "analyst", "password": PASSWORD})),
    ("POST", "/api/v1/auth/logout"): Case(EVERYONE, api("POST", "/api/v1/auth/logout")),
    ("GET", "/api/v1/me"): Case(EVERYONE, api("GET", "/api/v1/me")),
    ("GET", "/api/v1/tokens"): Case(EVERYONE, api("GET", "/api/v1/tokens")),
    ("POST", "/api/v1/tokens"): Case(EVERYONE, api("POST", "/api/v1/tokens",
                                                   json={"name": "script"})),
    ("DELETE", "/api/v1/tokens/{token_id}"): Case(
        EVERYONE, api("DELETE", "/api/v1/tokens/{token_id}"), scope="owner"),
    ("GET", "/api/v1/openapi.json"): Case(None, api("GET", "/api/v1/openapi.json")),
    # -- API: cases
    ("GET", "/api/v1/operations"): Case(READ_LEADS | {"admin"},
                                        api("GET", "/api/v1/operations")),
    ("GET", "/api/v1/referrals"): Case(READ_LEADS, api("GET", "/api/v1/referrals"),
                                       check=_scoped_total("total", 1, 2)),
    ("GET", "/api/v1/leads"): Case(READ_LEADS, api("GET", "/api/v1/leads"),
                                   check=_scoped_total("total", 2, 4)),
    ("GET", "/api/v1/leads/{lead_id}"): Case(READ_LEADS, api("GET", "/api/v1/leads/{lead_id}"),
                                             scope="agency"),
    ("POST", "/api/v1/leads/{lead_id}/outcome"): Case(
        WRITE_OUTCOMES, api("POST", "/api/v1/leads/{lead_id}/outcome", json=OUTCOME),
        scope="agency"),
    ("GET", "/api/v1/alerts"): Case(READ_LEADS, api("GET", "/api/v1/alerts"),
                                    check=_scoped_total("len", 1, 2)),
    ("GET", "/api/v1/dashboard"): Case(READ_LEADS, api("GET", "/api/v1/dashboard"),
                                       check=_scoped_total("leads", 2, 4)),
    ("GET", "/api/v1/dashboard/timeline"): Case(READ_LEADS,
                                                api("GET", "/api/v1/dashboard/timeline")),
    # -- API: networks and packages
    ("GET", "/api/v1/networks"): Case(READ_LEADS, _with_networks(api("GET", "/api/v1/networks")),
                                      check=_scoped_total("len", 1, 2)),
    ("GET", "/api/v1/networks/{network_id}"): Case(
        READ_LEADS, api("GET", "/api/v1/networks/{network_id}"), scope="agency"),
    ("GET", "/api/v1/referrals/{referral_id}/package"): Case(
        PACKAGES, api("GET", "/api/v1/referrals/{referral_id}/package"), scope="agency"),
    ("GET", "/api/v1/referrals/{referral_id}/verification"): Case(
        PACKAGES, api("GET", "/api/v1/referrals/{referral_id}/verification"), scope="agency"),
    # -- API: audit and administration
    ("GET", "/api/v1/audit"): Case(frozenset({"auditor"}), api("GET", "/api/v1/audit")),
    ("GET", "/api/v1/audit/verify"): Case(frozenset({"auditor"}),
                                          api("GET", "/api/v1/audit/verify")),
    ("GET", "/api/v1/agencies"): Case(frozenset({"admin"}), api("GET", "/api/v1/agencies")),
    ("POST", "/api/v1/agencies"): Case(frozenset({"admin"}), api("POST", "/api/v1/agencies",
                                       json={"country": "IT", "name": "Agency IT"})),
    ("GET", "/api/v1/users"): Case(frozenset({"admin"}), api("GET", "/api/v1/users")),
    ("POST", "/api/v1/users"): Case(frozenset({"admin"}), api("POST", "/api/v1/users", json={
        "username": "newuser", "password": PASSWORD, "role": "analyst"})),
    ("PATCH", "/api/v1/users/{user_id}"): Case(
        frozenset({"admin"}), api("PATCH", "/api/v1/users/{user_id}", json={"active": False})),
    # -- pages
    ("GET", "/"): Case(EVERYONE, page("GET", "/")),
    ("GET", "/login"): Case(None, page("GET", "/login")),
    ("POST", "/login"): Case(None, _login),
    ("POST", "/logout"): Case(EVERYONE, page("POST", "/logout")),
    ("GET", "/dashboard"): Case(READ_LEADS, page("GET", "/dashboard")),
    ("GET", "/dashboard/map.svg"): Case(READ_LEADS, page("GET", "/dashboard/map.svg")),
    ("GET", "/referrals"): Case(READ_LEADS, page("GET", "/referrals")),
    ("GET", "/leads"): Case(READ_LEADS, page("GET", "/leads")),
    ("GET", "/leads/{lead_id}"): Case(READ_LEADS, page("GET", "/leads/{lead_id}"),
                                      scope="agency"),
    ("POST", "/leads/{lead_id}/outcome"): Case(
        WRITE_OUTCOMES, page("POST", "/leads/{lead_id}/outcome",
                             {"expected_version": "1", "state": "under_investigation"}),
        scope="agency"),
    ("GET", "/dashboard/timeline.svg"): Case(READ_LEADS, page("GET", "/dashboard/timeline.svg")),
    ("GET", "/exports/dashboard.{fmt}"): Case(READ_LEADS, page("GET", "/exports/dashboard.csv")),
    ("GET", "/exports/leads.{fmt}"): Case(READ_LEADS, page("GET", "/exports/leads.csv"),
                                          check=_csv_rows(2, 4)),
    ("GET", "/networks"): Case(READ_LEADS, _with_networks(page("GET", "/networks"))),
    ("GET", "/networks/{network_id}"): Case(READ_LEADS, page("GET", "/networks/{network_id}"),
                                            scope="agency"),
    ("GET", "/networks/{network_id}/graph.svg"): Case(
        READ_LEADS, page("GET", "/networks/{network_id}/graph.svg"), scope="agency"),
    ("GET", "/referrals/{referral_id}/package/{fmt}"): Case(
        PACKAGES, page("GET", "/referrals/{referral_id}/package/json"), scope="agency"),
    ("GET", "/referrals/{referral_id}/verify"): Case(
        PACKAGES, page("GET", "/referrals/{referral_id}/verify"), scope="agency"),
    ("GET", "/audit"): Case(frozenset({"auditor"}), page("GET", "/audit")),
    ("GET", "/audit/verify"): Case(frozenset({"auditor"}), page("GET", "/audit/verify")),
    ("GET", "/admin/users"): Case(frozenset({"admin"}), page("GET", "/admin/users")),
    ("POST", "/admin/users"): Case(frozenset({"admin"}), page("POST", "/admin/users", {
        "username": "newuser", "password": PASSWORD, "role": "analyst"})),
    ("POST", "/admin/users/{user_id}/active"): Case(
        frozenset({"admin"}), page("POST", "/admin/users/{user_id}/active",
                                   {"active": "false"})),
    ("GET", "/admin/agencies"): Case(frozenset({"admin"}), page("GET", "/admin/agencies")),
    ("POST", "/admin/agencies"): Case(frozenset({"admin"}), page("POST", "/admin/agencies", {
        "country": "IT", "name": "Agency IT"})),
}


def expected(case: Case, who: str | None, target: Target) -> str:
    """"ok", "unauthenticated", "forbidden" (the role may not) or "hidden" (the record is
    another agency's or user's: answered exactly like a missing one)."""
    if case.allowed is None:
        return "ok"
    if who is None:
        return "unauthenticated"
    if who not in case.allowed:
        return "forbidden"
    if target == "other" and ((case.scope == "agency" and who in AGENCY_SCOPED)
                              or (case.scope == "owner" and who != "admin")):
        return "hidden"
    return "ok"


def normalised(text: str) -> str:
    """A body with its numbers blanked (an id sent back in a message)."""
    return re.sub(r"\d+", "N", text)
