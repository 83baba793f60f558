"""The eval report on the terminal (a Rich table) and as a JSON file.

The JSON holds every metric with its value, numerator, denominator, status and reason, so a
figure can be checked by hand; it has no timestamp, so the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from icarus.sim.eval.evaluate import EvalReport, evaluate
from icarus.sim.eval.metrics import Metric

FORMAT = "icarus-eval"
VERSION = 1


def run_eval(truth_dir: Path, results_dir: Path, json_out: Path | None) -> EvalReport:
    """Evaluate ``results_dir`` against ``truth_dir``; write the JSON report to ``json_out``
    (atomically: a reader never sees half a file) when it is given."""
    report = evaluate(truth_dir, results_dir)
    if json_out is not None:
        write_json(report, json_out)
    return report


def report_json(report: EvalReport) -> dict[str, Any]:
    """The report as a JSON-ready document (``format`` icarus-eval, ``version`` 1)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "truth": str(report.truth_dir),
        "results": str(report.results_dir),
        "inputs": dict(report.inputs),
        "metrics": {m.key: _metric_json(m) for m in report.metrics},
    }


def write_json(report: EvalReport, path: Path) -> None:
    """Write :func:`report_json` to ``path`` (UTF-8, indented, newline-terminated)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report_json(report), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def render(report: EvalReport, console: Console) -> None:
    """Print the report as a table: one row per metric, its value, its counts and any note."""
    table = Table(title=f"icarus eval — {report.results_dir}", title_justify="left")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_column("Counts", justify="right")
    table.add_column("Note", overflow="fold")
    group = ""
    for m in report.metrics:
        head = m.key.split(".")[0]
        if group and head != group:
            table.add_section()
        group = head
        if m.status == "ok":
            value = f"{m.value:.3f}" if m.value is not None else ""
            note = ""
        else:
            value = "[dim]—[/]"
            note = f"[yellow]{m.status}[/]: {m.reason}"
        table.add_row(m.title, value, _counts(m), note)
    console.print(table)
    absent = [name for name, file in report.inputs.items() if file is None]
    if absent:
        console.print(f"[dim]absent results tables: {', '.join(absent)}[/]")


def _counts(m: Metric) -> str:
    if m.numerator is not None and m.denominator is not None:
        return f"{m.numerator:,} / {m.denominator:,}"
    if m.denominator is not None:
        return f"n = {m.denominator:,}"
    return ""


def _metric_json(m: Metric) -> dict[str, Any]:
    return {
        "title": m.title,
        "status": m.status,
        "value": m.value,
        "numerator": m.numerator,
        "denominator": m.denominator,
        "reason": m.reason,
        "details": dict(m.details),
    }
