"""Login throttling per client address through the web tier: 429 with Retry-After and the one
generic message in the API, a page that says to wait; the settings reach the use case."""

from __future__ import annotations

import re

from fastapi import FastAPI

from icarus.web import build_services, create_app
from tests.coord.world import FAST_HASHER, PASSWORD
from tests.web.conftest import TestClient


def _throttled_app(app: FastAPI, failures: int = 3) -> FastAPI:
    services = app.state.services
    settings = services.settings.model_copy(update={
        "login_address_max_failures": failures, "login_address_block_minutes": 7})
    return create_app(settings, services=build_services(settings, services.db,
                                                        hasher=FAST_HASHER))


def _nonce(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def test_the_api_answers_429_with_retry_after_and_the_one_message(app: FastAPI,
                                                                  world: object) -> None:
    client = TestClient(_throttled_app(app), raise_server_exceptions=False)
    answers = [client.post("/api/v1/auth/login", json={"username": "analyst",
                                                       "password": "wrong password!"})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    refused = client.post("/api/v1/auth/login", json={"username": "analyst",
                                                      "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(7 * 60)
    assert refused.json() == {"error": "too_many_requests",
                              "detail": answers[0].json()["detail"]}
    assert "set-cookie" not in refused.headers
    # The block is the address's, kept in the database: another app (worker) refuses it
    # too, and another address logs in.
    again = TestClient(app).post("/api/v1/auth/login", json={"username": "analyst",
                                                            "password": PASSWORD})
    assert again.status_code == 429
    other = TestClient(app, client=("203.0.113.8", 50000))
    assert other.post("/api/v1/auth/login", json={"username": "analyst",
                                                  "password": PASSWORD}).status_code == 200


def test_the_login_page_says_to_wait(app: FastAPI, world: object) -> None:
    client = TestClient(_throttled_app(app, failures=2), raise_server_exceptions=False,
                        follow_redirects=False)
    for _ in range(2):
        page = client.post("/login", data={"username": "nobody", "password": "x" * 12,
                                           "csrf_token": _nonce(client)})
        assert page.status_code == 401
    page = client.post("/login", data={"username": "coordinator", "password": PASSWORD,
                                       "csrf_token": _nonce(client)})
    assert page.status_code == 429 and page.headers["retry-after"] == str(7 * 60)
    assert "Too many failed logins from your address: wait 7 minutes" in page.text
    assert PASSWORD not in page.text and "icarus_session" not in page.headers.get(
        "set-cookie", "")


def test_the_openapi_document_lists_429_for_the_login_only(app: FastAPI) -> None:
    doc = TestClient(app).get("/api/v1/openapi.json").json()
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    others = [op for path, ops in doc["paths"].items() if path != "/api/v1/auth/login"
              for op in ops.values() if "429" in op.get("responses", {})]
    assert others == []
