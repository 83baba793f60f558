"""``icarus analyze``: from the ingested sightings to subjects, suspects and scored leads."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from icarus.cli.context import AppContext
from icarus.intel.analyze import STAGES, AnalysisReport, analyze, default_out_dir

pass_app = click.make_pass_decorator(AppContext)


@click.command("analyze")
@click.option("--operation", required=True,
              help="The operation's name (letters, digits, '.', '_', '-').")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Results folder [default: <home>/operations/<operation>/results].")
@click.option("--earlier-intel", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="What earlier operations knew (docs/formats/earlier-intel-v1.md): networks "
                   "found in it are not flagged new.")
@pass_app
def analyze_command(app: AppContext, operation: str, out_dir: Path | None,
                    earlier_intel: Path | None) -> int:
    """Resolve the ingested sightings to subjects, locate and score them, find their sharing
    networks, and write a results folder (docs/formats/results-v1.md) with leads.parquet
    (scores and their reasons) and network_details.parquet.

    The terminal shows subject ids, scores and countries only; details are in the folder.
    """
    target = out_dir or default_out_dir(app.settings, operation)
    with app.progress() as progress:
        task = progress.add_task("analysing", total=len(STAGES))

        def step(stage: str) -> None:
            progress.update(task, description=stage, completed=STAGES.index(stage))

        report = analyze(app.settings, operation=operation, out_dir=target, progress=step,
                         earlier_intel=earlier_intel)
        progress.update(task, description="done", completed=len(STAGES))
    _summary(app, report)
    return 0


def _summary(app: AppContext, report: AnalysisReport) -> None:
    app.out.print(f"operation [bold]{report.operation}[/]: {report.sightings:,} sightings, "
                  f"[bold]{report.subjects:,}[/] subjects, [bold]{report.suspects:,}[/] suspects "
                  f"(data up to {report.analysis_time:%Y-%m-%d %H:%M} UTC)")
    countries = Table("country", "suspects", title="suspects by country")
    for country, n in report.countries:
        countries.add_row(country, f"{n:,}")
    app.out.print(countries)
    leads = Table("#", title=f"top {len(report.top)} leads")
    # Ids are copied into other commands: never cut or wrapped; the reason wraps instead.
    leads.add_column("subject", no_wrap=True, min_width=32)
    leads.add_column("score", justify="right")
    leads.add_column("country")
    leads.add_column("first reason", overflow="fold")
    for i, lead in enumerate(report.top, 1):
        leads.add_row(str(i), lead.subject_id, f"{lead.score:.1f}", lead.country or "-",
                      lead.reason)
    app.out.print(leads)
    app.out.print(f"results written to {report.out_dir}")
