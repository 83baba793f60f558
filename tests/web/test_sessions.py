"""Logins, server-side sessions (hash only, idle and absolute expiry, revoked at logout),
cookie attributes, CSRF on every state-changing call, bearer tokens, throttling."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select

from icarus.coord.sessions import WebSessions
from icarus.store.models import WebSession
from icarus.web import create_app
from icarus.web.auth import csrf_token
from tests.coord.world import PASSWORD
from tests.web.conftest import Browser, TestClient


def _login_page(client: TestClient) -> str:
    html = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_login_form_opens_a_session_stored_as_a_hash(browser: Browser) -> None:
    client, _ = browser.client()
    nonce = _login_page(client)
    response = client.post("/login", data={"username": "officer_fr", "password": PASSWORD,
                                           "csrf_token": nonce})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    secret = client.cookies["icarus_session"]
    with browser.world.db.transaction() as s:
        rows = s.scalars(select(WebSession).where(
            WebSession.user_id == browser.world.actors["officer_fr"].user_id)).all()
        stored = {(r.token_hash, r.remote_addr) for r in rows}
    assert (hashlib.sha256(secret.encode()).hexdigest(), "testclient") in stored
    assert all(secret not in h for h, _ in stored)
    assert client.get("/").headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_secure_cookie_is_host_prefixed(app: FastAPI) -> None:
    services = app.state.services
    secure = dataclasses.replace(services, settings=services.settings.model_copy(
        update={"session_cookie_secure": True}))
    client = TestClient(create_app(secure.settings, services=secure),
                        base_url="https://testserver")
    response = client.post("/api/v1/auth/login",
                           json={"username": "analyst", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-icarus_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Domain" not in cookie
    assert client.get("/api/v1/me").json()["username"] == "analyst"


def test_bad_logins_share_one_answer_and_lockout_is_surfaced(browser: Browser) -> None:
    client, _ = browser.client()
    answers = set()
    for username, password in [("nobody", PASSWORD), ("analyst", "wrong password!")]:
        r = client.post("/api/v1/auth/login", json={"username": username,
                                                    "password": password})
        assert r.status_code == 401
        answers.add(r.text)
    assert len(answers) == 1
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"username": "auditor", "password": "nope"})
    locked = client.post("/api/v1/auth/login", json={"username": "auditor",
                                                     "password": PASSWORD})
    assert locked.status_code == 401 and "locked" in locked.json()["detail"]
    nonce = _login_page(client)
    page = client.post("/login", data={"username": "auditor", "password": PASSWORD,
                                       "csrf_token": nonce})
    assert page.status_code == 401 and "locked" in page.text
    assert 'value="auditor"' in page.text and PASSWORD not in page.text


def test_login_form_needs_its_csrf_value(browser: Browser) -> None:
    client, _ = browser.client()
    _login_page(client)
    for nonce in ["", "forged"]:
        r = client.post("/login", data={"username": "analyst", "password": PASSWORD,
                                        "csrf_token": nonce})
        assert r.status_code == 403 and "icarus_session" not in r.headers.get("set-cookie", "")


def test_logout_revokes_the_session_on_the_server(browser: Browser) -> None:
    client, csrf = browser.client("analyst")
    stolen = client.cookies["icarus_session"]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    replay, _ = browser.client()
    replay.cookies.set("icarus_session", stolen)
    assert replay.get("/api/v1/me").status_code == 401
    assert replay.get("/dashboard").headers["location"] == "/login?expired=1"
    api, api_csrf = browser.client("analyst")
    assert api.post("/api/v1/auth/logout", headers={"X-CSRF-Token": api_csrf}).status_code == 204
    assert api.get("/api/v1/me").status_code == 401


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_idle_and_absolute_expiry(app: FastAPI, browser: Browser) -> None:
    services = app.state.services
    clock = Clock()
    sessions = WebSessions(services.db, idle=timedelta(minutes=30),
                           absolute=timedelta(hours=12), clock=clock)
    timed = create_app(services.settings,
                       services=dataclasses.replace(services, sessions=sessions))
    client = TestClient(timed, follow_redirects=False)
    client.cookies.set("icarus_session", sessions.open(browser.world.actors["coordinator"]))
    # Busy all day: each request within 30 minutes of the previous one.
    for _ in range(24):  # 24 x 29 min = 11 h 36 min
        clock.now += timedelta(minutes=29)
        assert client.get("/api/v1/me").status_code == 200
    clock.now += timedelta(minutes=29)  # 12 h 05 min: past the absolute end
    assert client.get("/api/v1/me").status_code == 401
    idle = TestClient(timed, follow_redirects=False)
    idle.cookies.set("icarus_session", sessions.open(browser.world.actors["coordinator"]))
    assert idle.get("/leads").status_code == 200
    clock.now += timedelta(minutes=31)
    assert idle.get("/api/v1/me").json()["error"] == "unauthenticated"
    page = idle.get("/leads")
    assert page.status_code == 303 and page.headers["location"] == "/login?expired=1"
    assert "has ended" in idle.get("/login?expired=1").text


def test_a_disabled_user_loses_the_session(browser: Browser) -> None:
    client, _ = browser.client("analyst")
    admin, csrf = browser.client("admin")
    user = browser.world.actors["analyst"].user_id
    assert admin.patch(f"/api/v1/users/{user}", json={"active": False},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_csrf_is_required_on_cookie_api_writes(browser: Browser) -> None:
    client, csrf = browser.client("coordinator")
    _, other_csrf = browser.client("coordinator")
    lead = browser.world.leads["FR"][0]
    body = {"expected_version": 1, "state": "under_investigation"}
    for headers in [{}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * 64},
                    {"X-CSRF-Token": other_csrf}]:
        r = client.post(f"/api/v1/leads/{lead}/outcome", json=body, headers=headers)
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert client.get(f"/api/v1/leads/{lead}").json()["outcome"]["version"] == 1
    ok = client.post(f"/api/v1/leads/{lead}/outcome", json=body,
                     headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    assert client.get("/api/v1/me").json()["csrf_token"] == csrf


def test_csrf_is_required_on_every_form(browser: Browser) -> None:
    lead = browser.world.leads["FR"][0]
    analyst = browser.world.actors["analyst"].user_id
    forms = [("coordinator", f"/leads/{lead}/outcome",
              {"expected_version": "1", "state": "under_investigation"}),
             ("admin", "/admin/agencies", {"country": "IT", "name": "Agency IT"}),
             ("admin", "/admin/users", {"username": "newuser", "password": PASSWORD,
                                        "role": "analyst"}),
             ("admin", f"/admin/users/{analyst}/active", {"active": "false"}),
             ("auditor", "/logout", {})]
    for who, path, data in forms:
        client, csrf = browser.client(who)
        _, someone_elses = browser.client(who)
        for sent in [None, "", "forged", someone_elses]:
            form = data | ({"csrf_token": sent} if sent is not None else {})
            r = client.post(path, data=form)
            assert r.status_code == 403 and "CSRF" in r.text, (path, sent)
        assert client.post(path, data=data | {"csrf_token": csrf}).status_code == 303, path
    coordinator, _ = browser.client("coordinator")
    assert coordinator.get(f"/api/v1/leads/{lead}").json()["outcome"]["version"] == 2


def test_bearer_tokens_for_scripts(browser: Browser) -> None:
    client, csrf = browser.client("officer_fr")
    created = client.post("/api/v1/tokens", json={"name": "nightly", "expires_in_days": 30},
                          headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    secret, token_id = created.json()["secret"], created.json()["token"]["id"]
    assert "secret" not in client.get("/api/v1/tokens").text.replace('"name"', "")
    script = TestClient(browser.app)
    auth = {"Authorization": f"Bearer {secret}"}
    assert script.get("/api/v1/me", headers=auth).json()["username"] == "officer_fr"
    assert script.get("/api/v1/me", headers=auth).json()["csrf_token"] is None
    lead = browser.world.leads["FR"][1]
    # No cookie, so no CSRF token needed; need-to-know applies as for the session.
    moved = script.post(f"/api/v1/leads/{lead}/outcome", headers=auth,
                        json={"expected_version": 1, "state": "under_investigation"})
    assert moved.status_code == 200
    assert script.get("/api/v1/leads", headers=auth).json()["total"] == 2
    for bad in ["Bearer nope", "Basic b2ZmaWNlcjpwdw==", "Bearer", "bearer  "]:
        r = script.get("/api/v1/me", headers={"Authorization": bad})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert script.delete(f"/api/v1/tokens/{token_id}", headers=auth).status_code == 200
    assert script.get("/api/v1/me", headers=auth).status_code == 401


def test_csrf_token_is_bound_to_the_session() -> None:
    assert csrf_token("a") != csrf_token("b") and len(csrf_token("a")) == 64
