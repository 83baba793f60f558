"""``icarus sightings``: ingest sensor files into the sightings dataset; statistics."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from icarus.cli.context import AppContext
from icarus.sensors.dataset import stats
from icarus.sensors.formats import READERS
from icarus.sensors.ingest import ingest_files, purge_expired
from icarus.sensors.unmatched import purge_unmatched

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def sightings() -> None:
    """Sightings of known material on file-sharing networks, from sensors' files."""


@sightings.command("ingest")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(READERS.names()),
              help="The files' format (default: detected per file).")
@pass_app
def ingest_command(app: AppContext, files: tuple[Path, ...], fmt: str | None) -> int:
    """Ingest sighting FILES (v1 JSONL/CSV/Parquet, tool A CSV, tool B JSON).

    Only sightings of content in an alert set are kept (the others are counted); exact
    duplicates are stored once; a file already ingested adds nothing. Malformed records are
    quarantined (exit code 1) and the rest of the file is read. Files of 8 MiB or more in all
    are read by one worker process per CPU (the workers setting; 1: none).
    """
    with app.progress() as progress:
        tasks = {p: progress.add_task(f"ingesting {p.name}", total=None) for p in files}
        reports = ingest_files(app.settings, list(files), fmt=fmt,
                               progress=lambda p, n: progress.update(tasks[p], completed=n))
    table = Table("file", "format", "read", "kept", "not alert", "duplicates", "quarantined",
                  title="sightings ingested")
    for r in reports:
        if r.already_ingested:
            table.add_row(Path(r.path).name, r.format, "already ingested", "", "", "", "")
        else:
            table.add_row(Path(r.path).name, r.format, *(f"{n:,}" for n in (
                r.read, r.kept, r.not_alert, r.duplicates, r.quarantined)))
    app.out.print(table)
    bad = [r for r in reports if r.quarantined]
    for r in bad:
        app.err.print(f"[yellow]{r.quarantined:,} records of {r.path} quarantined[/]: "
                      f"see {r.quarantine_path}")
    return 1 if bad else 0


@sightings.command("stats")
@pass_app
def stats_command(app: AppContext) -> int:
    """Rows, days, sensors, networks and categories in the sightings dataset."""
    s = stats(app.settings)
    app.out.print(f"[bold]{s.rows:,}[/] sightings from {s.files:,} files over {s.days:,} days"
                  + (f" ({s.first_day} to {s.last_day})" if s.first_day else ""))
    for title, counts in (("sensor", s.by_sensor), ("network", s.by_network),
                          ("category", s.by_category)):
        table = Table(title, "rows")
        for key, n in counts.items():
            table.add_row(key, f"{n:,}")
        app.out.print(table)
    return 0


@sightings.command("purge")
@pass_app
def purge_command(app: AppContext) -> int:
    """Remove sightings older than the retention (setting sightings_retention_days) and
    expired unmatched copies (sightings_unmatched_days). Whole days go; nothing else changes.
    """
    kept = app.settings.sightings_retention_days
    expired = purge_expired(app.settings)
    unmatched = purge_unmatched(app.settings)
    app.out.print(
        f"Removed {expired.rows:,} sightings over {expired.days:,} days "
        f"(retention: {f'{kept} days' if kept is not None else 'none set, all kept'}), and "
        f"{unmatched.rows:,} unmatched copies over {unmatched.days:,} days.")
    return 0
