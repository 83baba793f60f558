"""The authorisation matrix over every route of the app: each role, own agency and other
agency, allowed or denied; a denial leaks nothing (another agency's record answers exactly
like a nonexistent one; lists and counts never include other agencies' records)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.web.conftest import Browser
from tests.web.matrix import CASES, OTHER_MARKERS, ROLES, Ctx, Target, expected, normalised

PARAMS = [pytest.param(route, who, target, auth,
                       id=f"{route[0]} {route[1]} {who} {target} {auth}")
          for route, case in CASES.items() for who in ROLES
          for target in (["own", "other"] if case.scope else ["own"])
          for auth in (["cookie", "bearer"] if who and route[1].startswith("/api/")
                       else ["cookie"])]
"""Every route x every role (and anonymous) x own/other target; API routes both with a
session cookie and with a bearer token."""


def test_every_route_has_a_matrix_entry(app: FastAPI) -> None:
    routes = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert route.path and route.methods, route
        routes |= {(m, route.path) for m in route.methods if m != "HEAD"}
    assert routes == set(CASES), (f"without an entry: {sorted(routes - set(CASES))}; "
                                  f"stale entries: {sorted(set(CASES) - routes)}")


def _is_page(path: str) -> bool:
    return not path.startswith("/api/")


@pytest.mark.parametrize(("route", "who", "target", "auth"), PARAMS)
def test_matrix(browser: Browser, route: tuple[str, str], who: str | None,
                target: Target, auth: str) -> None:
    case = CASES[route]
    client, csrf = browser.client(who, bearer=auth == "bearer")
    ctx = Ctx(browser.world, client, who, csrf, target)
    response = case.call(ctx)
    outcome = expected(case, who, target)
    assert response.status_code < 500, response.text
    if outcome == "ok":
        assert response.status_code in (200, 201, 204, 303), response.text[:500]
        if response.status_code == 303 and route != ("POST", "/logout"):
            assert response.headers["location"] != "/login"
        if case.check is not None:
            case.check(ctx, response)
    elif outcome == "unauthenticated":
        if _is_page(route[1]):
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login")
        else:
            assert response.status_code == 401
            assert response.json()["error"] == "unauthenticated"
    elif outcome == "forbidden":
        assert response.status_code == 403, response.text[:500]
    else:
        assert response.status_code == 404, response.text[:500]
        missing = case.call(Ctx(browser.world, client, who, csrf, "missing"))
        assert missing.status_code == 404
        assert normalised(response.text) == normalised(missing.text)
        assert "Agency DE" not in response.text
    if who in {"officer_fr", "examiner_fr"}:
        for marker in OTHER_MARKERS:
            assert marker not in response.text, f"{marker} leaked by {route}"
