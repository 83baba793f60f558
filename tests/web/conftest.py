"""Web fixtures: the coordination world of tests/coord (on SQLite and PostgreSQL, rolled
back after each test) behind the FastAPI app, and logged-in clients for each user."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client; the declared dev dependency is httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from icarus.core.settings import Settings
from icarus.web import build_services, create_app
from icarus.web.auth import csrf_token, session_cookie_name
from tests.coord.world import FAST_HASHER, World, committed_world, key, shared_world, world
from tests.store.conftest import backend, committed_db, migrated_engine

__all__ = ["Browser", "TestClient", "app", "backend", "browser", "committed_db",
           "committed_world", "key", "migrated_engine", "settings", "shared_world", "world"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Plain-http test settings (the cookie cannot be Secure on http://testserver)."""
    return Settings(home=tmp_path_factory.mktemp("home"), session_cookie_secure=False,
                    web_max_body_bytes=64 * 1024)


@pytest.fixture(scope="module")
def app(shared_world: World, settings: Settings) -> FastAPI:
    """The app over the module's world (its connection, so tests see its data)."""
    return create_app(settings, services=build_services(settings, shared_world.db,
                                                        hasher=FAST_HASHER))


class Browser:
    """Test clients logged in as the world's users (sessions opened by the use case)."""

    def __init__(self, app: FastAPI, world: World) -> None:
        self.app, self.world = app, world
        self.settings: Settings = app.state.services.settings

    def client(self, who: str | None = None, *, bearer: bool = False,
               ) -> tuple[TestClient, str]:
        """A client with ``who``'s session cookie (None: anonymous), and its CSRF token; or,
        with ``bearer``, with an API token of ``who``'s instead (no cookie, no CSRF token)."""
        client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        if who is None:
            return client, ""
        if bearer:
            _view, token = self.world.accounts.create_token(self.world.actors[who], "tests")
            client.headers["Authorization"] = f"Bearer {token}"
            return client, ""
        secret = self.app.state.services.sessions.open(self.world.actors[who])
        client.cookies.set(session_cookie_name(self.settings), secret)
        return client, csrf_token(secret)


@pytest.fixture
def browser(app: FastAPI, world: World) -> Iterator[Browser]:
    """Clients for the users of a world whose changes are rolled back after the test."""
    yield Browser(app, world)


@pytest.fixture
def tmp_home(tmp_path: Path) -> Path:
    """An empty workspace."""
    return tmp_path
