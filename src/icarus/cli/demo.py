"""``icarus demo``: the main job of the quick start.

Until the demo operation exists, the demo imports the bundled synthetic VICS hash set into the
workspace, writes a "seized" folder of generated files (exact copies of some known items,
resized near-duplicates of others, unrelated pictures and files) and hashes and matches it,
printing a summary by category. No picture is ever shown.
"""

from __future__ import annotations

from pathlib import Path

import click

from icarus.bank.service import BankService
from icarus.cli.context import AppContext
from icarus.cli.matching import match_command
from icarus.sim.demo_data import BUNDLED_VICS, write_demo_folder

pass_app = click.make_pass_decorator(AppContext)
DEMO_SET = "demo-vics"


@click.command("demo")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the demo's seized folder [default: <home>/demo/seized].")
@pass_app
@click.pass_context
def demo_command(ctx: click.Context, app: AppContext, folder: Path | None) -> int:
    """Run the demo: import the bundled synthetic VICS set, then match a generated folder."""
    service = BankService(app.settings)
    result = service.import_file(BUNDLED_VICS, set_name=DEMO_SET,
                                 source="Icarus bundled synthetic demo set",
                                 description="Synthetic known items: generated pictures")
    state = "already in the bank" if result.already_imported else "imported"
    app.out.print(f"[bold]1.[/] Bundled synthetic VICS set {state}: "
                  f"{result.set.entries} entries in hash set [bold]{DEMO_SET}[/].")
    folder = folder or app.settings.home / "demo" / "seized"
    made = write_demo_folder(folder)
    app.out.print(f"[bold]2.[/] Demo folder written: {folder} ({made['exact']} exact copies "
                  f"of known items, {made['near-duplicate']} resized near-duplicates, "
                  f"{made['unrelated']} unrelated files).")
    app.out.print("[bold]3.[/] Hashing and matching it against the bank:")
    code: int = ctx.invoke(match_command, paths=(folder,),
                           output=app.settings.home / "demo" / "matches.jsonl", sets=(),
                           radius=None, dihedral=False, tth=False, vpdq_query=None,
                           vpdq_compared=None, workers=None)
    return code
