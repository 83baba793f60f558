"""``icarus eval``: score an analysis's results against a synthetic world's ground truth."""

from __future__ import annotations

from pathlib import Path

import click

from icarus.cli.context import AppContext
from icarus.sim.eval import render, run_eval

pass_app = click.make_pass_decorator(AppContext)


@click.command("eval")
@click.option("--truth", "truth_dir", required=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The synthetic world's folder (or its truth/ folder).")
@click.option("--results", "results_dir", required=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A results folder (docs/formats/results-v1.md).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every metric to this JSON file [default: <results>/eval.json].")
@pass_app
def eval_command(app: AppContext, truth_dir: Path, results_dir: Path,
                 json_out: Path | None) -> int:
    """Score results against ground truth: suspects, identities, countries, networks,
    candidate material and exhibit links (definitions in docs/sim/eval.md).

    Metrics whose inputs are absent are reported as not evaluated, never as zero.
    """
    report = run_eval(truth_dir, results_dir, json_out or results_dir / "eval.json")
    render(report, app.out)
    return 0
