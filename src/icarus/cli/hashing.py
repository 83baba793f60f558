"""``icarus hash``: digests of files and folders as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO

import click

from icarus.bank.files import IdentifyOptions, identify_files, identity_json
from icarus.cli.context import AppContext
from icarus.identify.walk import iter_files

pass_app = click.make_pass_decorator(AppContext)
CSV_COLUMNS = ("path", "size", "md5", "sha1", "sha256", "ed2k", "urn_sha1", "tth", "media", "pdq",
               "pdq_quality", "vpdq_frames", "error")


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "out_format", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: standard output).")
@click.option("--tth", is_flag=True, help="Also compute the Tiger Tree Hash (Gnutella, DC++).")
@click.option("--ed2k-variant", type=click.Choice(["red", "blue"]),
              help="ed2k at exact multiples of 9,728,000 bytes: red (eMule) or blue.")
@click.option("--perceptual/--no-perceptual", default=True, show_default=True,
              help="PDQ for pictures and vPDQ for videos.")
@click.option("--dihedral", is_flag=True, help="Also the 8 rotated/flipped PDQ variants.")
@click.option("--workers", type=click.IntRange(1, 256), help="Parallel workers (default: cores).")
@pass_app
def hash_command(app: AppContext, paths: tuple[Path, ...], out_format: str,
                 output: Path | None, tth: bool, ed2k_variant: str | None, perceptual: bool,
                 dihedral: bool, workers: int | None) -> int:
    """Hash files and folders: MD5, SHA-1, SHA-256, ed2k in one read; PDQ; vPDQ.

    One record per file, JSON lines (default) or CSV. A file that cannot be read is reported
    with its error and the run goes on (exit code 1).
    """
    variant = ed2k_variant or app.settings.ed2k_variant
    options = IdentifyOptions(workers=workers or app.settings.workers, tth=tth,
                              perceptual=perceptual, dihedral=dihedral, ed2k_variant=variant)
    total = sum(p.stat().st_size for p in iter_files(paths))
    problems = 0
    fh: IO[str] = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        writer = csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore") \
            if out_format == "csv" else None
        if writer:
            writer.writeheader()
        with app.progress(bytes_=True) as progress:
            task = progress.add_task("hashing", total=total)
            for ident in identify_files(paths, options,
                                        progress=lambda n: progress.advance(task, n)):
                record = identity_json(ident, ed2k_variant=variant)
                problems += bool(ident.error or ident.warnings)
                if writer:
                    writer.writerow(record)
                else:
                    fh.write(json.dumps(record) + "\n")
    finally:
        if output:
            fh.close()
    if problems:
        app.err.print(f"[yellow]{problems} files with errors or warnings[/] (see the output)")
    return 1 if problems else 0
