"""Jinja2 pages: autoescaped, with the logged-in user and the CSRF token in every page."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Environment:
    """The pages' Jinja2 environment (autoescape on for everything)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["label"] = lambda v: str(v).replace("_", " ")
    return env


def render(request: Request, template: str, context: dict[str, Any], *,
           status_code: int = 200) -> HTMLResponse:
    """``template`` rendered with ``context`` plus ``user`` and ``csrf`` (when logged in)."""
    values = {"user": getattr(request.state, "actor", None),
              "csrf": getattr(request.state, "csrf", None), "path": request.url.path}
    values.update(context)
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
