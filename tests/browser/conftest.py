"""Browser fixtures: the real app under uvicorn on a free loopback port (a thread of the test
process), over a migrated database (SQLite, and PostgreSQL when reachable) holding the
coordination world of tests/coord; and Debian's Chromium driven by Playwright.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (Debian's package,
installed by ./run). Without it the tests are skipped, except in CI (``CI=true``), where they
fail. The browser only reaches the test server: host names resolve to nothing, and every
request to another origin is aborted and reported as a failure (`Guard`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from icarus.core.settings import Settings
from icarus.store.engine import Database, make_engine
from icarus.store.migrate import upgrade
from icarus.web import build_services, create_app
from tests.coord.world import FAST_HASHER, PASSWORD, World, build_world
from tests.store.conftest import backend
from tests.store.databases import fresh_database

__all__ = ["CHROMIUM", "Live", "backend", "chromium", "confined", "live", "serving"]

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    # Names resolve to nothing except loopback: no DNS, no traffic beyond 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


@dataclass
class Live:
    """The running server: its base URL, the world in its database, its settings."""

    base: str
    world: World
    settings: Settings
    refused: list[str] = field(default_factory=list)
    """Requests the browser tried to send elsewhere than the server (must stay empty)."""

    def context(self, browser: Browser) -> BrowserContext:
        """A fresh browser profile (own cookies) confined to the server."""
        context = browser.new_context(base_url=self.base)

        def guard(route: Route) -> None:
            if route.request.url.startswith(self.base + "/"):
                route.continue_()
            else:
                self.refused.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        return context

    def login(self, browser: Browser, username: str, password: str = PASSWORD) -> Page:
        """A new context and page, logged in through the login form."""
        page = self.context(browser).new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless (skipped when missing; a failure in CI). Per module, so
    that Playwright's driver and event loop are gone before the rest of the suite runs."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (Debian package chromium; ./run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": required in CI", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=LAUNCH_ARGS)
        yield browser
        browser.close()


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config None: the process' logging configuration is left as it is.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            log_level="warning", access_log=False, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="uvicorn-browser-tests")
    thread.start()
    try:
        while not server.started:  # wait for the server to listen (not a timing assertion)
            if not thread.is_alive():
                pytest.fail("the test server did not start", pytrace=False)
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def live(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app served on loopback over a fresh migrated database holding the world."""
    tmp = tmp_path_factory.mktemp("browser")
    with fresh_database(backend, tmp) as url:
        engine = make_engine(url)
        upgrade(engine)
        db = Database(engine)
        world = build_world(db, Ed25519PrivateKey.generate(), tmp / "packages")
        settings = Settings(home=tmp / "home", database_url=url, session_cookie_secure=False)
        app = create_app(settings, services=build_services(settings, db, hasher=FAST_HASHER))
        try:
            with serving(app) as base:
                yield Live(base, world, settings)
        finally:
            engine.dispose()


@pytest.fixture(autouse=True)
def confined(live: Live) -> Iterator[None]:
    """Fails a test whose pages made the browser request anything but the server."""
    live.refused.clear()
    yield
    assert not live.refused, f"the browser tried to leave the server: {live.refused}"
