"""``icarus demo``: the main job of the quick start (docs/demo.md).

The orchestration is :mod:`icarus.demo`; this module parses the options, shows the progress
and the summaries, prints the logins, and serves.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from icarus.cli.context import AppContext
from icarus.core.errors import IcarusError
from icarus.demo import (
    SCALES,
    STAGES,
    DemoSetup,
    StageReport,
    check_port,
    default_folder,
    serve,
    set_up,
    url_of,
)

pass_app = click.make_pass_decorator(AppContext)


@click.command("demo")
@click.option("--scale", type=click.Choice(SCALES), default="tiny", show_default=True,
              help="Size of the synthetic world: tiny (set up in about half a minute) or "
                   "small.")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True,
              help="The synthetic world's seed.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to serve on (127.0.0.1, ::1 or localhost).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port to serve on.")
@click.option("--no-serve", is_flag=True,
              help="Stop after setting up (tests, CI); serve later with "
                   "`icarus --home <out>/home serve`.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="The demo folder [default: ./icarus-demo, or <home>/demo when --home or "
                   "ICARUS_HOME is given].")
@pass_app
@click.pass_context
def demo_command(ctx: click.Context, app: AppContext, scale: str, seed: int, host: str,
                 port: int, no_serve: bool, out: Path | None) -> int:
    """Set up a whole demo operation on a synthetic world, then serve it on localhost.

    Generates a small synthetic world (no real data, no imagery), imports its known material
    into the bank, ingests its sightings, analyses them, builds and signs one package per
    country (with a DEMO key), and loads them into an operation of the coordination server
    with an agency per country, a user per role (generated passwords, printed once) and a
    few outcomes. Then serves it on http://HOST:PORT/ until Ctrl-C.

    A re-run rebuilds the workspace (<out>/home) from scratch, with new passwords; the
    world is reused when seed and scale are unchanged. A folder that is not a demo folder
    is never touched."""
    if not no_serve:
        check_port(host, port)  # fail before the work, not after
    named_home = ctx.find_root().params.get("home")
    folder = out or default_folder(app.settings.home if named_home else None)
    current = ["folder"]
    with app.progress() as progress:
        task = progress.add_task("demo", total=len(STAGES))

        def started(stage: str) -> None:
            current[0] = stage
            progress.update(task, description=stage, completed=STAGES.index(stage))

        def done(report: StageReport) -> None:
            app.out.print(f"[bold]{STAGES.index(report.stage) + 1}.[/] "
                          f"{report.summary} [dim]({report.seconds:.1f} s)[/]",
                          highlight=False, soft_wrap=True)

        try:
            setup = set_up(folder, seed=seed, scale=scale, on_stage=started, on_done=done)
        except IcarusError:
            if current[0] != "folder":  # a stage failed: say which
                app.err.print(f"The demo stopped at its {current[0]} stage (below); "
                              f"running it again rebuilds {folder}.", markup=False,
                              highlight=False)
            raise
        progress.update(task, description="ready", completed=len(STAGES))
    _print_logins(app, setup)
    app.out.print(f"Demo set up in {setup.seconds:.1f} s in {setup.folder} (workspace "
                  f"{setup.settings.home}).", highlight=False, soft_wrap=True)
    if no_serve:
        app.out.print(f"Not serving (--no-serve). Serve it with: icarus --home "
                      f"{setup.settings.home} serve --port {port}", highlight=False,
                      soft_wrap=True)
        return 0
    app.out.print(f"Serving the demo on {url_of(host, port)} (log in with a login above; "
                  "Ctrl-C stops it).", highlight=False, soft_wrap=True)
    app.out.file.flush()
    serve(setup, host=host, port=port)
    return 0


def _print_logins(app: AppContext, setup: DemoSetup) -> None:
    table = Table(title="demo logins (synthetic data; passwords are shown only now)")
    table.add_column("username", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("agency")
    table.add_column("password", no_wrap=True, min_width=16)
    for login in setup.logins:
        table.add_row(login.username, login.role.value, login.agency or "-", login.password)
    app.out.print(table)
