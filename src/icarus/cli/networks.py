"""``icarus networks import``: the operation's networks from its analysed results folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from icarus.cli.context import AppContext
from icarus.cli.db import opened
from icarus.coord import Actor, Role
from icarus.coord.networks import Networks

pass_app = click.make_pass_decorator(AppContext)


@click.group("networks")
def networks_group() -> None:
    """Networks of the coordination server's operations."""


@networks_group.command("import")
@click.option("--operation", required=True, help="The operation (created beforehand).")
@click.argument("results", type=click.Path(path_type=Path))
@pass_app
def import_command(app: AppContext, operation: str, results: Path) -> int:
    """Import (or replace) OPERATION's networks from the RESULTS folder its packages were
    built from (networks, network_details, suspects). The console acts as a coordinator:
    whoever can open the database holds every right (recorded in the audit log)."""
    with opened(app) as database:
        actor = replace(Actor.console(), role=Role.COORDINATOR)
        done = Networks(database).import_networks(actor, operation, results)
    app.out.print(f"operation {done.operation}: {done.networks} networks, {done.members} "
                  f"members, {done.member_leads} of them leads"
                  f"{f' (replaced {done.replaced})' if done.replaced else ''}",
                  markup=False, highlight=False)
    return 0
