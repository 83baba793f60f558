"""ASGI middleware of the web tier: security headers on every response, a request body size
limit (413) and content-type checks (415). Pure ASGI, so that a refused body is never read
into memory."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from html import escape
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
"""No script at all, styles and images from this server only, forms posted back here."""

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_CODES = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type"}
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_api(path: str) -> bool:
    """Whether ``path`` belongs to the JSON API (else: an HTML page or a static asset)."""
    return path == "/api/v1" or path.startswith("/api/")


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response, and ``Cache-Control: no-store`` to
    everything but the vendored static assets (pages and API answers hold personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"cache-control" or static]
                headers += SECURITY_HEADERS
                headers.append((b"cache-control",
                                b"public, max-age=3600" if static else b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    # Answered here, before the app: the same shapes as web.errors gives.
    if is_api(str(scope.get("path", ""))):
        body = json.dumps({"error": _CODES[status], "detail": message}).encode()
        ctype = b"application/json"
    else:
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                f"Icarus: error {status}</title></head><body><h1>Error {status}</h1><p>"
                f"{escape(message)}</p></body></html>").encode()
        ctype = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised while the body streams in past the limit (an HTTPException, so that FastAPI's
    body parsing passes it on and web.errors answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class RequestChecks:
    """Refuses bodies over ``max_body`` bytes (413: by Content-Length before reading, or
    while streaming when it is absent) and, on state-changing requests with a body, a
    content type other than JSON for the API or a form for pages (415)."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        length = headers.get(b"content-length")
        try:
            declared = int(length) if length is not None else None
            if declared is not None and declared < 0:
                raise ValueError(length)
        except ValueError:
            await _refuse(scope, send, 400, "bad Content-Length")
            return
        if declared is not None and declared > self.max_body:
            await _refuse(scope, send, 413, f"request body over {self.max_body} bytes")
            return
        method = str(scope.get("method", "GET")).upper()
        has_body = (declared or 0) > 0 or b"transfer-encoding" in headers
        if method in _UNSAFE and has_body:
            ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0]
            ctype = ctype.strip().lower()
            api = is_api(str(scope.get("path", "")))
            wanted: tuple[str, ...] = ("application/json",) if api else _FORM_TYPES
            if ctype not in wanted:
                await _refuse(scope, send, 415, f"content type {ctype or 'none'}: "
                              f"this endpoint takes {' or '.join(wanted)}")
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, send, 413, f"request body over {self.max_body} bytes")
