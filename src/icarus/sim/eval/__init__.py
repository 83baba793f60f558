"""``icarus eval``: score Icarus's results against the synthetic world's ground truth.

The results folder format is docs/formats/results-v1.md; the metrics are defined in
docs/sim/eval.md. ``run_eval`` and ``render`` are what the CLI calls.
"""

from __future__ import annotations

from icarus.sim.eval.evaluate import EvalReport, evaluate
from icarus.sim.eval.metrics import TITLES, Metric
from icarus.sim.eval.report import render, report_json, run_eval, write_json
from icarus.sim.eval.results import RESULT_TABLES, Results, read_results, write_results

__all__ = ["RESULT_TABLES", "TITLES", "EvalReport", "Metric", "Results", "evaluate",
           "read_results", "render", "report_json", "run_eval", "write_json", "write_results"]
