"""Errors become HTTP answers here, and only here.

==========================  ======  ==========================================
error                       status  body
==========================  ======  ==========================================
NotFoundError               404     also another agency's record: same body
PermissionDeniedError       403     the role lacks the permission; CSRF refused
LoginThrottledError         429     the login's one message, with Retry-After
AuthenticationError         401     pages: a redirect to the login form instead
ConflictError               409     stale version, name taken
TransitionError             409     move not in the outcome workflow
other StateError            409
InputError, bad request     422     which field, never the value sent
UsageError                  400
anything else               500     generic body; details only in the log
==========================  ======  ==========================================

The API answers JSON ``{"error": code, "detail": message}``; pages answer HTML.
"""

from __future__ import annotations

import traceback
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from icarus.core.errors import (
    AuthenticationError,
    ConflictError,
    IcarusError,
    InputError,
    LoginThrottledError,
    NotFoundError,
    PermissionDeniedError,
    StateError,
    TransitionError,
    UsageError,
)
from icarus.core.logging import get_logger
from icarus.web.middleware import SECURITY_HEADERS, is_api
from icarus.web.templating import render

__all__ = ["LoginRequired", "install", "retry_after", "status_for"]

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden",
               404: "not_found", 405: "method_not_allowed", 409: "conflict",
               413: "payload_too_large", 415: "unsupported_media_type",
               422: "invalid_input", 429: "too_many_requests", 500: "internal_error"}


class LoginRequired(Exception):  # noqa: N818 - a signal, not a failure
    """A page needs a logged-in user: answered by a redirect to the login form."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


def status_for(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the error code of an exception (the one mapping)."""
    table: list[tuple[type[BaseException], int, str]] = [
        (NotFoundError, 404, "not_found"),
        (PermissionDeniedError, 403, "forbidden"),
        (LoginThrottledError, 429, "too_many_requests"),
        (AuthenticationError, 401, "unauthenticated"),
        (ConflictError, 409, "conflict"),
        (TransitionError, 409, "transition_refused"),
        (StateError, 409, "state"),
        (InputError, 422, "invalid_input"),
        (UsageError, 400, "bad_request"),
    ]
    for kind, status, code in table:
        if isinstance(exc, kind):
            return status, code
    if isinstance(exc, HTTPException):
        return exc.status_code, _HTTP_CODES.get(exc.status_code, "error")
    return 500, "internal_error"


def retry_after(exc: BaseException) -> dict[str, str]:
    """The ``Retry-After`` header of a throttled login (none for other errors)."""
    if isinstance(exc, LoginThrottledError):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def _answer(request: Request, status: int, code: str, detail: str,
            extra: dict[str, Any] | None = None,
            more_headers: dict[str, str] | None = None) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="icarus"'} if status == 401 else {}
    headers.update(more_headers or {})
    if is_api(request.url.path):
        return JSONResponse({"error": code, "detail": detail, **(extra or {})},
                            status_code=status, headers=headers or None)
    page = render(request, "error.html", {"status": status, "detail": detail},
                  status_code=status)
    page.headers.update(more_headers or {})
    return page


async def _icarus_error(request: Request, exc: Exception) -> Response:
    status, code = status_for(exc)
    if status == 401 and not is_api(request.url.path):
        return RedirectResponse("/login?expired=1", status_code=303)
    return _answer(request, status, code, str(exc), more_headers=retry_after(exc))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Which field and why, never the value sent (it may be a password).
    problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(p['loc'][1:]) or p['loc'][0] if p['loc'] else 'body'}: "
                       f"{p['msg']}" for p in problems) or "invalid request"
    return _answer(request, 422, "invalid_input", detail, {"problems": problems})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status, code = status_for(exc)
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = _answer(request, status, code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse("/login?expired=1" if exc.expired else "/login", status_code=303)


async def _internal_error(request: Request, exc: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    get_logger("icarus.web").error("request.crashed", incident=incident,
                                   path=request.url.path, method=request.method,
                                   error=repr(exc), traceback=traceback.format_exc())
    response = _answer(request, 500, "internal_error",
                       f"internal error (incident {incident}; details in the server log)")
    # Answered by Starlette's outermost middleware, outside SecurityHeaders: add them here.
    for name, value in [*SECURITY_HEADERS, (b"cache-control", b"no-store")]:
        response.headers[name.decode()] = value.decode()
    return response


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(IcarusError, _icarus_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Exception, _internal_error)
