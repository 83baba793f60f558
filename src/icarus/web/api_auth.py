"""API: login and logout, the caller, and the caller's API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from icarus.web.auth import (
    clear_session_cookie,
    csrf_token,
    session_cookie_name,
    set_session_cookie,
)
from icarus.web.deps import ApiActor, ServicesDep, remote_addr
from icarus.web.schemas import (
    ErrorPublic,
    LoginCreate,
    MePublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
)
from icarus.web.shared import ERRORS, Id

router = APIRouter(prefix="/api/v1", responses=ERRORS)


_THROTTLED: dict[int | str, dict[str, Any]] = {429: {
    "model": ErrorPublic,
    "description": "Too many failed logins from the client's address: refused before any "
    "password is checked, with the same message; retry after Retry-After seconds",
    "headers": {"Retry-After": {"description": "Seconds until the address may try again",
                                "schema": {"type": "integer", "minimum": 1}}}}}


@router.post("/auth/login", response_model=MePublic, tags=["auth"], responses=_THROTTLED)
def login(body: LoginCreate, request: Request, response: Response,
          services: ServicesDep) -> MePublic:
    """Log in with a password: sets the session cookie and returns the CSRF token to send
    with every state-changing call. Wrong credentials and locked accounts get the same 401
    (after 5 wrong passwords in a row the account is locked for 15 minutes). Too many failed
    logins from one address (settings ``login_address_*``) get 429 with Retry-After."""
    actor = services.accounts.authenticate(body.username, body.password, remote_addr(request))
    secret = services.sessions.open(actor)
    set_session_cookie(response, services.settings, secret)
    return MePublic(user_id=actor.user_id, username=actor.username, role=actor.role,
                    agency_id=actor.agency_id, csrf_token=csrf_token(secret))


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(request: Request, actor: ApiActor, services: ServicesDep) -> Response:
    """End the cookie session (revoked on the server) and clear the cookie."""
    response = Response(status_code=204)
    secret = request.cookies.get(session_cookie_name(services.settings))
    if secret and request.headers.get("authorization") is None:
        await run_in_threadpool(services.sessions.close, secret, actor)
    clear_session_cookie(response, services.settings)
    return response


@router.get("/me", response_model=MePublic, tags=["auth"])
def me(request: Request, actor: ApiActor) -> MePublic:
    """Who is calling (and the session's CSRF token for cookie sessions)."""
    return MePublic(user_id=actor.user_id, username=actor.username, role=actor.role,
                    agency_id=actor.agency_id,
                    csrf_token=getattr(request.state, "csrf", None))


@router.get("/tokens", response_model=list[TokenPublic], tags=["tokens"])
def list_tokens(actor: ApiActor, services: ServicesDep) -> list[TokenPublic]:
    """The caller's own API tokens (never their secrets)."""
    return [TokenPublic.model_validate(t) for t in services.accounts.list_tokens(actor)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["tokens"])
def create_token(body: TokenCreate, actor: ApiActor, services: ServicesDep) -> TokenCreated:
    """A new API token of the caller's; the secret is in this answer only."""
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    view, secret = services.accounts.create_token(actor, body.name, expires)
    return TokenCreated(token=TokenPublic.model_validate(view), secret=secret)


@router.delete("/tokens/{token_id}", response_model=TokenPublic, tags=["tokens"])
def revoke_token(token_id: Id, actor: ApiActor, services: ServicesDep) -> TokenPublic:
    """Revoke a token: one's own (administrators: anyone's)."""
    return TokenPublic.model_validate(services.accounts.revoke_token(actor, token_id))
