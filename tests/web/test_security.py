"""Security headers, body limits, content types, bad input and the error mapping: every
answer is clean (no 5xx but the deliberate one), JSON for the API and HTML for pages."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from icarus.coord import Referrals
from icarus.coord.actor import Actor
from icarus.coord.views import LeadSummary, Page
from icarus.core.logging import configure_logging
from icarus.web import create_app
from icarus.web.middleware import CSP
from tests.web.conftest import Browser, TestClient

PAGES = ["/dashboard", "/referrals", "/leads", "/login"]


def _assert_headers(response: object, *, static: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert ("no-store" in headers["cache-control"]) is not static


def test_headers_on_every_kind_of_answer(browser: Browser) -> None:
    client, _ = browser.client("officer_fr")
    lead = browser.world.leads["FR"][0]
    for path in ["/api/v1/leads", f"/api/v1/leads/{lead}", f"/leads/{lead}", "/dashboard",
                 "/api/v1/leads/987654", "/nowhere", "/api/v1/audit"]:
        response = client.get(path)
        _assert_headers(response)
    _assert_headers(client.post("/api/v1/tokens", content=b"x" * 100_000,
                                headers={"content-type": "application/json"}))
    _assert_headers(client.get("/static/icarus.css"), static=True)


def test_csp_holds_no_unsafe_source_and_pages_need_none(browser: Browser) -> None:
    assert "unsafe" not in CSP and "script-src" not in CSP  # default-src 'none' covers it
    client, _ = browser.client("coordinator")
    for path in [*PAGES, f"/leads/{browser.world.leads['DE'][0]}"]:
        html = client.get(path).text
        assert "<script" not in html and " style=" not in html and "<style" not in html
        assert "http://" not in html and "https://" not in html, f"{path}: external asset"


def test_static_assets_are_vendored(browser: Browser) -> None:
    client, _ = browser.client()
    css = client.get("/static/icarus.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert "url(" not in css.text and "@import" not in css.text


def test_oversized_bodies_are_refused_before_reading(browser: Browser) -> None:
    client, csrf = browser.client("coordinator")
    limit = browser.settings.web_max_body_bytes
    big = json.dumps({"name": "x" * (limit + 10)}).encode()
    response = client.post("/api/v1/tokens", content=big,
                           headers={"content-type": "application/json", "X-CSRF-Token": csrf})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    page = client.post("/admin/agencies", content=b"a=" + b"x" * (limit + 10),
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert page.status_code == 413 and "text/html" in page.headers["content-type"]


def test_streamed_body_over_the_limit_is_refused(browser: Browser) -> None:
    client, csrf = browser.client("coordinator")
    limit = browser.settings.web_max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/api/v1/tokens", content=chunks(),
                           headers={"content-type": "application/json", "X-CSRF-Token": csrf})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


@pytest.mark.parametrize(("path", "ctype"), [
    ("/api/v1/tokens", "text/plain"),
    ("/api/v1/tokens", "application/x-www-form-urlencoded"),
    ("/api/v1/tokens", None),
    ("/api/v1/auth/login", "multipart/form-data; boundary=x"),
    ("/admin/agencies", "application/json"),
    ("/login", "text/plain"),
])
def test_wrong_content_types_get_415(browser: Browser, path: str, ctype: str | None) -> None:
    client, csrf = browser.client("admin")
    headers = {"X-CSRF-Token": csrf} | ({"content-type": ctype} if ctype else {})
    response = client.post(path, content=b'{"name": "x"}', headers=headers)
    assert response.status_code == 415
    if path.startswith("/api/"):
        assert response.json()["error"] == "unsupported_media_type"
    else:
        assert "text/html" in response.headers["content-type"]


def test_malformed_json_and_unknown_fields_are_422(browser: Browser) -> None:
    client, csrf = browser.client("coordinator")
    lead = browser.world.leads["FR"][0]
    headers = {"content-type": "application/json", "X-CSRF-Token": csrf}
    for body in [b"{", b"[1, 2]", b'{"expected_version": "one"}', b"\xff\xfe",
                 b'{"expected_version": 1, "state": "flying"}',
                 b'{"expected_version": 1, "admin": true}',
                 b'{"expected_version": 1, "exhibits_seized": -3}']:
        response = client.post(f"/api/v1/leads/{lead}/outcome", content=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_input"
    login = client.post("/api/v1/auth/login", json={"username": "x", "password": "secret-pw"})
    assert login.status_code == 401
    bad = client.post("/api/v1/auth/login", json={"username": "x", "password": 12345678})
    assert bad.status_code == 422 and "12345678" not in bad.text  # never echo the value


@pytest.mark.parametrize("path", [
    "/api/v1/leads/987654", "/api/v1/leads/0", "/api/v1/leads/99999999999999999999",
    "/api/v1/leads/abc", "/leads/987654", "/leads/abc", "/leads/-1",
    "/api/v1/leads?referral_id=99999999999", "/leads?referral_id=abc", "/leads?state=flying",
    "/api/v1/leads?state=flying", "/api/v1/leads?sort=password", "/api/v1/leads?limit=100000",
    "/api/v1/leads?country=fra", "/nowhere", "/api/v1/nowhere",
])
def test_unknown_ids_and_bad_parameters_are_clean(browser: Browser, path: str) -> None:
    client, _ = browser.client("coordinator")
    response = client.get(path)
    assert response.status_code in (404, 422), response.text
    if path.startswith("/api/"):
        assert response.json()["error"] in ("not_found", "invalid_input")
    else:
        assert "<h1>Error" in response.text


def test_wrong_methods_are_405_in_the_right_format(browser: Browser) -> None:
    client, csrf = browser.client("coordinator")
    api = client.put("/api/v1/leads", json={}, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 405 and api.json()["error"] == "method_not_allowed"
    page = client.delete("/leads")
    assert page.status_code == 405 and "<h1>Error 405</h1>" in page.text


@pytest.mark.parametrize("attempt", ["' OR 1=1 --", "x\"; DROP TABLE leads; --",
                                     "op-test' UNION SELECT password_hash FROM users --"])
def test_sql_injection_finds_nothing(browser: Browser, attempt: str) -> None:
    client, _ = browser.client("officer_fr")
    response = client.get("/api/v1/leads", params={"operation": attempt[:64]})
    assert response.status_code == 200 and response.json()["total"] == 0
    assert client.get("/leads", params={"operation": attempt[:64]}).status_code == 200
    login = client.post("/api/v1/auth/login", json={"username": attempt, "password": attempt})
    assert login.status_code == 401
    # The tables are still there and the user still sees exactly its own leads.
    assert client.get("/api/v1/leads").json()["total"] == 2


def test_html_injection_is_escaped_in_pages(browser: Browser) -> None:
    client, csrf = browser.client("coordinator")
    lead = browser.world.leads["FR"][0]
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = client.post(f"/api/v1/leads/{lead}/outcome", headers={"X-CSRF-Token": csrf},
                           json={"expected_version": 1, "notes": evil})
    assert response.status_code == 200
    html = client.get(f"/leads/{lead}").text
    assert evil not in html and "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    admin, admin_csrf = browser.client("admin")
    created = admin.post("/admin/agencies", data={"country": "IT", "name": evil,
                                                  "contact": evil, "csrf_token": admin_csrf})
    assert created.status_code == 303
    page = admin.get("/admin/agencies").text
    assert evil not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    reflected = client.get("/leads", params={"operation": '"><script>x</script>'}).text
    assert "<script>x" not in reflected


def test_an_unexpected_failure_is_a_generic_500_logged_in_full(
        app: FastAPI, browser: Browser, tmp_path: Path) -> None:
    class Broken(Referrals):
        def list_leads(self, actor: Actor, **kwargs: object) -> Page[LeadSummary]:
            raise RuntimeError("secret detail of the failure")

    services = app.state.services
    broken = create_app(services.settings, services=dataclasses.replace(
        services, referrals=Broken(services.db)))
    log = tmp_path / "web.log"
    configure_logging(log, "info")
    client = TestClient(broken, raise_server_exceptions=False)
    client.cookies.set("icarus_session", services.sessions.open(browser.world.actors["analyst"]))
    for path, kind in [("/api/v1/leads", "application/json"), ("/leads", "text/html")]:
        response = client.get(path)
        assert response.status_code == 500 and kind in response.headers["content-type"]
        assert "secret detail" not in response.text and "Traceback" not in response.text
        assert "incident" in response.text
        _assert_headers(response)
    logged = log.read_text(encoding="utf-8")
    assert "secret detail of the failure" in logged and "Traceback" in logged
