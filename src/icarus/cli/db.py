"""``icarus db``: the coordination database (SQLite in the workspace, or ICARUS_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from icarus.cli.context import AppContext
from icarus.core.errors import StateError
from icarus.store.engine import Database, database_url
from icarus.store.migrate import check_current, current, head, upgrade

pass_app = click.make_pass_decorator(AppContext)


def _where(app: AppContext) -> str:
    return make_url(database_url(app.settings)).render_as_string(hide_password=True)


@contextmanager
def opened(app: AppContext, *, migrated: bool = True) -> Iterator[Database]:
    """The workspace's database (checked to be at the current schema unless ``migrated`` is
    False); an unreachable server is a clear error naming it (password hidden)."""
    database = Database.open(app.settings)
    try:
        if migrated:
            check_current(database.engine)
        yield database
    except OperationalError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise StateError(f"cannot use the database {_where(app)}: {first}") from None
    finally:
        database.dispose()


@click.group("db")
def db_group() -> None:
    """The coordination database: migrations and housekeeping."""


@db_group.command("upgrade")
@pass_app
def upgrade_command(app: AppContext) -> int:
    """Create or migrate the database up to this Icarus's schema (safe to repeat)."""
    with opened(app, migrated=False) as database:
        before = current(database.engine)
        upgrade(database.engine)
    app.out.print(f"{_where(app)}: schema {head()} (was {before or 'empty'})",
                  markup=False, highlight=False)
    return 0


@db_group.command("purge-sessions")
@pass_app
def purge_sessions_command(app: AppContext) -> int:
    """Delete web sessions that can never be used again (revoked, expired, idle too long)
    and spent login-throttle rows. Logins purge too; run this from cron on a quiet server."""
    from icarus.coord import Actor
    from icarus.coord.sessions import WebSessions

    settings = app.settings
    with opened(app) as database:
        sessions = WebSessions(
            database, idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
            throttle_window=timedelta(minutes=settings.login_address_window_minutes))
        purged = sessions.purge(Actor.console())
    app.out.print(f"{_where(app)}: purged {purged.sessions} sessions and "
                  f"{purged.throttles} login-throttle rows", markup=False, highlight=False)
    return 0


@db_group.command("status")
@pass_app
def status_command(app: AppContext) -> int:
    """Show the database's schema revision and the one this Icarus needs."""
    with opened(app, migrated=False) as database:
        found = current(database.engine)
    state = "up to date" if found == head() else "run `icarus db upgrade`"
    app.out.print(f"{_where(app)}: schema {found or 'none (empty)'}, needed {head()}: {state}",
                  markup=False, highlight=False)
    return 0
