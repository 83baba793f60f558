"""``icarus match``: hash files and folders and match them against the bank."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from rich.table import Table

from icarus.bank.files import IdentifyOptions, identify_files, match_identities, report_json
from icarus.bank.service import BankService
from icarus.cli.context import AppContext
from icarus.identify.walk import iter_files

pass_app = click.make_pass_decorator(AppContext)


@click.command("match")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON lines of every file with its matches "
                   "[default: <home>/match-<time>.jsonl].")
@click.option("--set", "sets", multiple=True, help="Match only against these sets (repeatable).")
@click.option("--radius", type=click.IntRange(0, 128),
              help="PDQ radius for every set (default: each set's own, else 31).")
@click.option("--dihedral", is_flag=True, help="Also match rotated/flipped pictures (PDQ).")
@click.option("--tth", is_flag=True, help="Also compute TTH (reported, not matched).")
@click.option("--vpdq-query", type=click.FloatRange(0, 100),
              help="vPDQ: share of the video's frames that must match [setting, 80].")
@click.option("--vpdq-compared", type=click.FloatRange(0, 100),
              help="vPDQ: share of the known video's frames that must match [setting, 0].")
@click.option("--workers", type=click.IntRange(1, 256), help="Parallel workers (default: cores).")
@pass_app
def match_command(app: AppContext, paths: tuple[Path, ...], output: Path | None,
                  sets: tuple[str, ...], radius: int | None, dihedral: bool, tth: bool,
                  vpdq_query: float | None, vpdq_compared: float | None,
                  workers: int | None) -> int:
    """Hash files and folders and match them against the bank, exactly and perceptually.

    Prints a summary by category (never any picture) and writes every file with its matches
    as JSON lines.
    """
    s = app.settings
    service = BankService(s)
    matcher = service.matcher(list(sets) or None)
    if not matcher.segments:
        app.err.print("[yellow]warning[/]: the bank is empty; import a hash set first")
    options = IdentifyOptions(workers=workers or s.workers, tth=tth, dihedral=dihedral,
                              ed2k_variant=s.ed2k_variant)
    if output is None:
        from datetime import UTC, datetime

        output = s.home / f"match-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
        output.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in iter_files(paths))
    by_category: Counter[str] = Counter()
    by_how: Counter[str] = Counter()
    files = problems = 0
    tmp = output.with_name(f".{output.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh, app.progress(bytes_=True) as progress:
        task = progress.add_task("hashing and matching", total=total)
        identities = identify_files(paths, options, progress=lambda n: progress.advance(task, n))
        for report in match_identities(
            identities, matcher, min_quality=s.pdq_min_quality, radius=radius,
            ed2k_variant=s.ed2k_variant,
            vpdq_thresholds=(vpdq_query if vpdq_query is not None else s.vpdq_query_percent,
                             vpdq_compared if vpdq_compared is not None
                             else s.vpdq_compared_percent),
        ):
            files += 1
            problems += bool(report.identity.error or report.identity.warnings)
            best = report.best
            by_category[best.category.value if best else "no match"] += 1
            if best:
                by_how["exact" if best.distance == 0 and best.digest_kind != "pdq"
                       else "perceptual"] += 1
            fh.write(json.dumps(report_json(report, ed2k_variant=s.ed2k_variant)) + "\n")
    tmp.replace(output)
    table = Table("category (gravest match)", "files", title=f"{files:,} files checked")
    for cat, n in by_category.most_common():
        table.add_row(cat, f"{n:,}")
    app.out.print(table)
    app.out.print(f"matched exactly: {by_how['exact']:,}; perceptually only: "
                  f"{by_how['perceptual']:,}; files with errors or warnings: {problems:,}")
    app.out.print(f"every file with its matches: {output}")
    return 1 if problems else 0
