"""Schemathesis against the app's own OpenAPI document (``/api/v1/openapi.json``): every API
operation, called by a coordinator, a national officer, an auditor, an administrator (bearer
tokens) and an anonymous caller, with data generated from the document (valid and invalid).
Every answer must be free of 5xx and conform to the document: a documented status code, its
content type, its headers and a body matching its schema.

The generation is deterministic (``derandomize``) and bounded (``MAX_EXAMPLES`` per operation
and caller). Besides random ids, path parameters take ids that exist in the test world, and a
few operations get one known-valid body, so that success answers are checked too: every
operation must have been answered 2xx for at least one caller (unless it has a path parameter
the world holds no ids for: then only its error answers are checked), and never for an
anonymous one (except the login itself)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from icarus.core.settings import Settings
from icarus.store.engine import Database, make_engine
from icarus.web import create_app
from icarus.web.app import OPENAPI_URL
from tests.coord.world import PASSWORD, World
from tests.web.networks_world import import_networks

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("ICARUS_SCHEMATHESIS_EXAMPLES", "10"))
"""Per operation and caller; raise it for a deeper run (the default keeps it under a minute)."""
CALLERS = ["coordinator", "officer_fr", "auditor", None, "admin"]
"""In this order: the administrator last, as it may disable users (rolled back after each
operation's test)."""
LOGIN = ("POST", "/api/v1/auth/login")
KNOWN_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    LOGIN: {"username": "coordinator", "password": PASSWORD},
    ("POST", "/api/v1/agencies"): {"country": "NL", "name": "Agency NL", "contact": ""},
    ("POST", "/api/v1/users"): {"username": "newcomer", "password": PASSWORD,
                                "role": "analyst", "agency_id": None},
    ("PATCH", "/api/v1/users/{user_id}"): {"active": True},
    ("POST", "/api/v1/leads/{lead_id}/outcome"): {"expected_version": 1, "notes": "checked"},
}
"""One valid body for operations whose success random data would hardly reach."""


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation of the document (read from an app over an empty
    in-memory database: the document does not depend on the data)."""
    app = create_app(Settings(home=Path("/nonexistent")), db=Database(make_engine("sqlite://")))
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items()
            for method in ops]


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Any:
    """The document as served by the app under test."""
    return schemathesis.openapi.from_asgi(OPENAPI_URL, app)


def _known_ids(world: World, spare_token: int) -> dict[str, list[int]]:
    """Ids that exist, by path parameter name (the token is a spare one: revoking the
    caller's own would end its run)."""
    users = [u.id for u in world.accounts.list_users(world.actors["admin"])]
    return {"lead_id": world.leads["FR"] + world.leads["DE"], "user_id": users,
            "token_id": [spare_token],
            "referral_id": [r.id for r in world.referrals.values()],
            "network_id": sorted(import_networks(world).values()),
            "agency_id": list(world.agency.values())}


def _path_values(path: str, known: dict[str, list[int]]) -> list[dict[str, int]]:
    """Path parameters of existing records ([{}] without any; [] when the world has no ids
    for one of them)."""
    names = re.findall(r"\{(\w+)\}", path)
    if not names:
        return [{}]
    if not all(n in known for n in names):
        return []
    # One id at a time for each parameter (every route has a single one today).
    return [{n: known[n][i % len(known[n])] for n in names}
            for i in range(max(len(known[n]) for n in names))]


def _strategy(operation: Any, path: str, known: dict[str, list[int]],
              ) -> st.SearchStrategy[Any]:
    """Valid and invalid data, with random ids and with existing ones."""
    options = [operation.as_strategy(GenerationMode.POSITIVE),
               operation.as_strategy(GenerationMode.NEGATIVE)]
    if re.search(r"\{\w+\}", path):
        options += [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
                    for fixed in _path_values(path, known)]
    return st.one_of(options)


def _explicit_cases(operation: Any, method: str, path: str,
                    known: dict[str, list[int]]) -> list[Any]:
    """Cases that should succeed for someone: existing ids, and the known-valid body (none
    for an operation that takes a body it has no known one for)."""
    body = KNOWN_BODIES.get((method, path))
    if body is None and operation.body:
        return []
    extra: dict[str, Any] = {} if body is None else {"body": body,
                                                     "media_type": "application/json"}
    return [operation.Case(path_parameters=fixed, **extra)
            for fixed in _path_values(path, known)]


def _succeeded(codes: set[int]) -> bool:
    return any(200 <= c < 300 for c in codes)


def _run(strategy: st.SearchStrategy[Any], headers: dict[str, str],
         seen: set[int]) -> None:
    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        seen.add(response.status_code)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_document(method: str, path: str, api_schema: Any,
                                            world: World) -> None:
    operation = api_schema[path][method]
    admin = world.actors["admin"]
    spare, _secret = world.accounts.create_token(admin, "schemathesis spare")
    known = _known_ids(world, spare.id)
    strategy = _strategy(operation, path, known)
    explicit = _explicit_cases(operation, method, path, known)
    statuses: dict[str | None, set[int]] = {}
    for who in CALLERS:
        headers: dict[str, str] = {}
        if who is not None:
            _view, token = world.accounts.create_token(world.actors[who], "schemathesis")
            headers["Authorization"] = f"Bearer {token}"
        seen = statuses.setdefault(who, set())
        try:
            for case in explicit:
                seen.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)
            _run(strategy, headers, seen)
        except Exception as exc:
            exc.add_note(f"caller: {who or 'anonymous'}")
            raise
    if explicit:
        assert any(_succeeded(codes) for codes in statuses.values()), (
            f"{method} {path}: no caller got a success answer ({statuses})")
    if (method, path) != LOGIN:
        assert not _succeeded(statuses[None]), statuses[None]
        assert 401 in statuses[None]
