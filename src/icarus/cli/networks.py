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


@networks_group.command("import-earlier-intel")
@click.option("--operation", required=True, help="The operation it is imported into.")
@click.option("--agency", required=True,
              help="The agency that ran the earlier operation (its contact is what alerts "
              "show); an administrator creates it.")
@click.argument("file", type=click.Path(path_type=Path))
@pass_app
def import_earlier_intel_command(app: AppContext, operation: str, agency: str,
                                 file: Path) -> int:
    """Import an earlier-intelligence FILE (icarus-earlier-intel v1) into OPERATION for
    deconfliction: its leads that match a subject of the file (a shared client identifier,
    or the same address within a day) get an alert naming the earlier operation and
    AGENCY's contact. The console acts as a coordinator (recorded in the audit log)."""
    from icarus.coord.earlier_intel import EarlierIntelligence

    with opened(app) as database:
        actor = replace(Actor.console(), role=Role.COORDINATOR)
        done = EarlierIntelligence(database).import_file(actor, operation, file,
                                                          agency=agency)
    for warning in done.warnings:
        app.out.print(f"warning: {warning}", markup=False, highlight=False)
    app.out.print(f"operation {done.operation}: earlier operation {done.earlier_operation} "
                  f"({done.agency}): {done.subjects} subjects, {done.markers} markers, "
                  f"{done.alert_pairs} leads matched", markup=False, highlight=False)
    return 0
