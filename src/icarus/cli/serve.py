"""``icarus serve``: the coordination server (API and pages) under uvicorn."""

from __future__ import annotations

import os

import click

from icarus.cli.context import AppContext
from icarus.cli.db import opened

pass_app = click.make_pass_decorator(AppContext)

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put TLS in front).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (each opens its own database connections).")
@pass_app
def serve_command(app: AppContext, host: str, port: int, workers: int) -> int:
    """Serve the coordination server: REST API under /api/v1 and the HTML pages.

    The database must be migrated (`icarus db upgrade`) and hold a first administrator
    (`icarus users create`). Serve it behind HTTPS: the session cookie is Secure unless
    session_cookie_secure is turned off for plain-http development on localhost."""
    import uvicorn

    with opened(app):
        pass  # reachable and at the current schema, or a clear error (exit 3)
    settings = app.settings
    if not settings.session_cookie_secure and host not in _LOOPBACK:
        app.err.print(f"warning: session_cookie_secure is off and {host} is not loopback: "
                      "session cookies will travel in clear", markup=False, highlight=False)
    app.err.print(f"Icarus coordination server on http://{host}:{port}/ "
                  f"({workers} worker{'s' if workers > 1 else ''}); Ctrl-C stops it",
                  markup=False, highlight=False)
    os.environ["ICARUS_HOME"] = str(settings.home)  # for the workers' own settings
    uvicorn.run("icarus.web.asgi:app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, server_header=False, proxy_headers=True)
    return 0
