"""The app factory: ``create_app(settings)`` builds the API, the pages and the middleware."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from icarus import __version__
from icarus.coord import Accounts, AuditLog, Operations, Outcomes, Referrals
from icarus.coord.accounts import LoginPolicy
from icarus.coord.dashboard import Dashboard
from icarus.coord.sessions import WebSessions
from icarus.core.settings import Settings
from icarus.store.engine import Database
from icarus.web import (
    api_admin,
    api_auth,
    api_cases,
    api_networks,
    errors,
    pages,
    pages_admin,
    pages_networks,
)
from icarus.web.deps import Services
from icarus.web.middleware import RequestChecks, SecurityHeaders

STATIC = Path(__file__).resolve().parent / "static"
OPENAPI_URL = "/api/v1/openapi.json"


def build_services(settings: Settings, db: Database, *,
                   hasher: PasswordHasher | None = None) -> Services:
    """The use cases over ``db`` with the settings' session lifetimes."""
    return Services(
        settings=settings, db=db,
        accounts=Accounts(db, hasher=hasher, policy=LoginPolicy.from_settings(settings)),
        sessions=WebSessions(db, idle=timedelta(minutes=settings.session_idle_minutes),
                             absolute=timedelta(hours=settings.session_absolute_hours),
                             throttle_window=timedelta(
                                 minutes=settings.login_address_window_minutes)),
        operations=Operations(db), referrals=Referrals(db), outcomes=Outcomes(db),
        audit=AuditLog(db), dashboard=Dashboard(db))


def create_app(settings: Settings, *, db: Database | None = None,
               services: Services | None = None) -> FastAPI:
    """The coordination server. ``db`` defaults to the settings' database (which must be
    migrated: `icarus db upgrade`); tests pass ``services`` to control the clock and the
    password hasher. The interactive API explorers are off: they load scripts from a CDN;
    the OpenAPI document is at ``/api/v1/openapi.json``."""
    if services is None:
        services = build_services(settings, db or Database.open(settings))
    app = FastAPI(title="Icarus coordination server", version=__version__,
                  openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None,
                  description="Referrals, leads, outcomes and deconfliction of coordinated "
                  "operations. Authenticate with a session cookie (POST /api/v1/auth/login; "
                  "send X-CSRF-Token on state-changing calls) or a bearer token.")
    app.state.services = services
    errors.install(app)
    app.include_router(api_auth.router)
    app.include_router(api_cases.router)
    app.include_router(api_admin.router)
    app.include_router(pages.router)
    app.include_router(pages_admin.router)
    app.include_router(api_networks.router)
    app.include_router(pages_networks.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost last: headers are added to every answer, including refusals.
    app.add_middleware(RequestChecks, max_body=settings.web_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
