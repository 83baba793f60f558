"""What the routers share: the documented error answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from icarus.web.schemas import ErrorPublic

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": description}
    for status, description in [
        (400, "Malformed request: a body that cannot be decoded, a bad Content-Length"),
        (401, "Not authenticated, or the session expired"),
        (403, "The role may not do this, or the CSRF token is missing"),
        (404, "No such record, or one the caller may not know of"),
        (409, "Changed by someone else meanwhile, or not allowed in this state"),
        (413, "Request body too large"),
        (415, "Content type not accepted"),
        (422, "Invalid input"),
    ]
}
"""Error answers common to every API route."""

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id.")]
"""A record id in a path (bounded: a larger number is a 422, not a database error)."""
