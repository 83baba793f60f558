"""``icarus users``: create users from the console (the first administrator, above all)."""

from __future__ import annotations

import sys

import click

from icarus.cli.context import AppContext
from icarus.cli.db import opened
from icarus.coord import Accounts, Actor, Role
from icarus.core.errors import UsageError

pass_app = click.make_pass_decorator(AppContext)


@click.group("users")
def users_group() -> None:
    """Users of the coordination server."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create")
@click.option("--username", required=True, help="Login name (lower-case letters, digits, ._-).")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="What the user may do (docs/coord.md, permissions table).")
@click.option("--agency", "agency_name", help="The user's agency, by name (needed by "
              "national officers and forensic examiners).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input instead of "
                   "prompting (it is never taken from the command line).")
@pass_app
def create_command(app: AppContext, username: str, role: str, agency_name: str | None,
                   password_stdin: bool) -> int:
    """Create a user; the console acts as an administrator (recorded in the audit log)."""
    password = _password(password_stdin)
    with opened(app) as database:
        accounts = Accounts(database)
        console = Actor.console()
        agency_id = accounts.find_agency(console, agency_name).id if agency_name else None
        user = accounts.create_user(console, username=username, password=password,
                                    role=Role(role), agency_id=agency_id)
    app.out.print(f"created user {user.username} (id {user.id}, {user.role.value}"
                  f"{', agency ' + agency_name if agency_name else ''})",
                  markup=False, highlight=False)
    return 0
