"""The coordination server's web tier: the FastAPI app (REST API under ``/api/v1`` and
server-rendered pages). Routes authenticate and render; the use cases of
:mod:`icarus.coord` decide what each user may do (docs/web.md)."""

from __future__ import annotations

from icarus.web.app import build_services, create_app

__all__ = ["build_services", "create_app"]
