"""``icarus sim``: synthetic data with ground truth (never real case data)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from icarus.cli.context import AppContext
from icarus.sim.config import SCALES, load_config
from icarus.sim.world import build_world

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def sim() -> None:
    """Synthetic operation worlds with ground truth, for tests, demos and evaluation."""


@sim.command("world")
@click.option("--seed", type=click.IntRange(0), required=True, help="The world's seed.")
@click.option("--scale", type=click.Choice(list(SCALES)), default="tiny", show_default=True,
              help="tiny (seconds), small (the demo), medium (~1 M sightings), "
                   "large (~10 M sightings).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (must not exist, or be empty).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True,
                                                         path_type=Path),
              help="TOML overrides of the scale's parameters (docs/sim/parameters.md).")
@click.option("--workers", type=click.IntRange(1, 256),
              help="Processes for content generation (default: cores).")
@pass_app
def world_command(app: AppContext, seed: int, scale: str, out: Path, config_file: Path | None,
                  workers: int | None) -> None:
    """Generate a synthetic operation world: people, content, sightings, hash sets,
    earlier intelligence, exhibits, and the ground truth (docs/sim/world.md).

    The same seed, scale and configuration give byte-identical output.
    """
    cfg = load_config(scale, config_file, seed=seed)
    with app.progress() as progress:
        task = progress.add_task("world", total=7)

        def step(name: str) -> None:
            progress.update(task, description=name, advance=1)

        manifest = build_world(cfg, out, workers=workers or app.settings.workers,
                               progress=step)
    table = Table("table", "rows", title=f"world {out} (seed {seed}, {scale})")
    for name, n in manifest["counts"].items():
        table.add_row(name, f"{n:,}")
    records = sum(s["records"] for s in manifest["sightings"])
    table.add_row("sighting records", f"{records:,}")
    app.out.print(table)
