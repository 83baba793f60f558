"""``icarus candidates``: list an operation's candidate material; record reviewers' verdicts."""

from __future__ import annotations

from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from rich.table import Table

from icarus.cli.context import AppContext
from icarus.core.errors import StateError, UsageError
from icarus.identify.kinds import parse_digest
from icarus.intel.analyze import default_out_dir
from icarus.intel.review import Verdict, VerdictKind, read_verdicts, record_verdict

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def candidates() -> None:
    """Candidate new material: unknown content suspects share (docs/intel/candidates.md)."""


@candidates.command("list")
@click.option("--operation", required=True, help="The analysed operation.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many candidates to show.")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every candidate, with its reasons and current verdict, as CSV.")
@pass_app
def list_command(app: AppContext, operation: str, top: int, export: Path | None) -> int:
    """Show the operation's highest-ranked candidates (run ``icarus analyze`` first)."""
    path = default_out_dir(app.settings, operation) / "candidates.parquet"
    if not path.is_file():
        raise StateError(f"operation {operation!r} has no candidates: run icarus analyze "
                         f"--operation {operation} first")
    table = pq.read_table(path)
    current = _current_verdicts(table, read_verdicts(app.settings, operation))
    if export is not None:
        out = table.append_column("verdict", [current])
        pcsv.write_csv(out, export)
    shown = Table("#", title=f"operation {operation}: top {min(top, table.num_rows)} of "
                  f"{table.num_rows} candidates")
    shown.add_column("content", no_wrap=True)  # copied into `review --content`: never cut
    for name in ("ids", "statistic", "suspects", "holders", "verdict"):
        shown.add_column(name, justify="right" if name != "verdict" else "left")
    for row, verdict in zip(table.slice(0, top).to_pylist(), current, strict=False):
        ids = len((row.get("identifiers") or "").split()) or 1
        shown.add_row(str(row["rank"]), f"{row['content_kind']}:{row['content_id']}",
                      str(ids), f"{row['statistic']:.3f}", str(row["suspect_holders"]),
                      str(row["holders"]), verdict or "-")
    app.out.print(shown)
    if export is not None:
        app.out.print(f"exported to {export}")
    return 0


def _current_verdicts(table: pa.Table, verdicts: list[Verdict]) -> list[str]:
    """Each candidate's current verdict: the last one recorded on any of its identifiers."""
    last: dict[str, tuple[int, str]] = {}
    for order, v in enumerate(verdicts):
        for name in v.identifiers or (f"{v.content_kind}:{v.content_id}",):
            last[name] = (order, v.verdict)
    listed = (table["identifiers"].to_pylist() if "identifiers" in table.column_names
              else [None] * table.num_rows)
    out = []
    for kind, text, ids in zip(table["content_kind"].to_pylist(),
                               table["content_id"].to_pylist(), listed, strict=True):
        found = [last[n] for n in (ids or f"{kind}:{text}").split() if n in last]
        out.append(max(found)[1] if found else "")
    return out


@candidates.command("review")
@click.option("--operation", required=True, help="The analysed operation.")
@click.option("--content", required=True, help="The item, as KIND:DIGEST (e.g. sha1:<hex>).")
@click.option("--verdict", required=True, type=click.Choice([v.value for v in VerdictKind]))
@click.option("--category", help="For a confirmed item: its category [default: csam].")
@click.option("--note", default="", help="Why (kept with the verdict and as bank provenance).")
@pass_app
def review_command(app: AppContext, operation: str, content: str, verdict: str,
                   category: str | None, note: str) -> int:
    """Record a verdict on one candidate (append-only, with who and when); a confirmed item
    joins the alert set confirmed-OPERATION of the bank. CONTENT may be any identifier of a
    candidate: the verdict covers every identifier the candidate lists."""
    kind, sep, text = content.partition(":")
    if not sep:
        raise UsageError(f"--content {content!r}: write KIND:DIGEST, e.g. sha1:<hex>")
    digest = parse_digest(kind.strip().lower(), text.strip())
    record = record_verdict(app.settings, operation=operation, content=digest,
                            verdict=VerdictKind(verdict), category=category, note=note)
    app.out.print(f"{record.content_kind}:{record.content_id}: {record.verdict} by "
                  f"{record.reviewer} at {record.reviewed_at}")
    if len(record.identifiers) > 1:
        app.out.print("the same file as " + ", ".join(record.identifiers[1:]))
    if record.bank_set:
        app.out.print(f"added to the alert set {record.bank_set}")
    return 0
