"""The app for ASGI servers started by import string (``icarus serve --workers N``): each
worker process reads the settings from the environment (``ICARUS_HOME``, ``ICARUS_*``)."""

from __future__ import annotations

from fastapi import FastAPI

from icarus.core.logging import configure_logging
from icarus.core.settings import load_settings
from icarus.web.app import create_app


def app() -> FastAPI:
    """A new app on the environment's settings (uvicorn ``--factory``)."""
    settings = load_settings()
    configure_logging(settings.log_path, settings.log_level)
    return create_app(settings)
