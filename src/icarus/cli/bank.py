"""``icarus bank``: import, list, show, export, remove hash sets; statistics."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from icarus.bank.catalog import set_to_json
from icarus.bank.formats import FORMATS
from icarus.bank.schemes import SCHEMES
from icarus.bank.service import BankService
from icarus.cli.context import AppContext
from icarus.domain.categories import Category, SetKind

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def bank() -> None:
    """The known-material bank: named hash sets of known material and known software."""


@bank.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", "set_name", required=True, help="The hash set to import into.")
@click.option("--format", "fmt", type=click.Choice(FORMATS.names()),
              help="The file's format (default: detected).")
@click.option("--kind", type=click.Choice([k.value for k in SetKind]),
              help="alert (known material) or known (known software); default by format.")
@click.option("--scheme", type=click.Choice(SCHEMES.names()),
              help="How the file's category values map to Icarus categories (default by format).")
@click.option("--scheme-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="TOML mapping for --scheme custom.")
@click.option("--category", type=click.Choice([c.value for c in Category]),
              help="Category of every entry, for files without categories (hash lists).")
@click.option("--source", default="", help="Where the file came from (kept as provenance).")
@click.option("--description", default="", help="A description of the set (new sets).")
@click.option("--pdq-radius", type=click.IntRange(0, 128),
              help="PDQ match radius for this set (default: the workspace setting, 31).")
@click.option("--by", "who", help="Who imports (default: the login name).")
@pass_app
def import_command(app: AppContext, file: Path, set_name: str, fmt: str | None,
                   kind: str | None, scheme: str | None, scheme_file: Path | None,
                   category: str | None, source: str, description: str,
                   pdq_radius: int | None, who: str | None) -> int:
    """Import FILE into a hash set (created if new).

    Formats: VICS JSON 1.x/2.0, ICSE CSV, NSRL RDS 2.x NSRLFile.txt and RDSv3 SQLite, md5sum
    style lists, hashdeep, one hash per line. Re-importing a file changes nothing. Malformed
    records are written to a rejects file and the rest is imported; a file not of the format
    is refused whole.
    """
    service = BankService(app.settings)
    with app.progress() as progress:
        task = progress.add_task(f"importing {file.name}", total=None)
        result = service.import_file(
            file, set_name=set_name, fmt=fmt, kind=SetKind(kind) if kind else None,
            scheme=scheme, scheme_file=scheme_file, category=category, source=source,
            description=description, pdq_radius=pdq_radius, who=who,
            progress=lambda n: progress.update(task, completed=n),
        )
    if result.already_imported:
        app.out.print(f"{file} is already in hash set [bold]{set_name}[/]: nothing changed.")
        return 0
    assert result.record is not None
    rec = result.record
    app.out.print(f"Imported [bold]{rec.entries:,}[/] entries from {file} into "
                  f"[bold]{set_name}[/] ({rec.format}, sha256 {rec.file_sha256[:16]}...).")
    for w in result.warnings[:20]:
        app.err.print(f"[yellow]warning[/]: {w}")
    if rec.rejects:
        app.err.print(f"[yellow]{rec.rejects:,} records rejected[/]: see {result.rejects_path}")
    return 1 if (rec.rejects or result.warnings) else 0


@bank.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_command(app: AppContext, as_json: bool) -> None:
    """List the hash sets."""
    sets = BankService(app.settings).list_sets()
    if as_json:
        click.echo(json.dumps([set_to_json(s) for s in sets], indent=1))
        return
    table = Table("set", "kind", "scheme", "entries", "imports", "last import")
    for s in sets:
        last = max((i.imported_at for i in s.imports), default=None)
        table.add_row(s.name, s.kind.value, s.scheme, f"{s.entries:,}", str(len(s.imports)),
                      last.strftime("%Y-%m-%dT%H:%M:%SZ") if last else "-")
    app.out.print(table if sets else "The bank is empty.")


@bank.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def show_command(app: AppContext, name: str, as_json: bool) -> None:
    """Show a hash set: provenance of every import, counts by category."""
    service = BankService(app.settings)
    info = service.get_set(name)
    counts = service.category_counts(name)
    if as_json:
        click.echo(json.dumps({**set_to_json(info), "categories": counts}, indent=1))
        return
    app.out.print(f"[bold]{info.name}[/]  kind {info.kind.value}, scheme {info.scheme}, "
                  f"{info.entries:,} entries, PDQ radius "
                  f"{info.pdq_radius if info.pdq_radius is not None else 'default'}")
    if info.description:
        app.out.print(info.description)
    imports = Table("file", "format", "sha256", "entries", "rejects", "imported", "by", "source")
    for i in info.imports:
        imports.add_row(i.file_name, i.format, i.file_sha256[:16] + "...", f"{i.entries:,}",
                        f"{i.rejects:,}", i.imported_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        i.imported_by, i.source or "-")
    app.out.print(imports)
    cats = Table("category", "entries")
    for cat, n in counts.items():
        cats.add_row(cat, f"{n:,}")
    app.out.print(cats)


@bank.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["vics", "csv", "md5sum"]), required=True,
              help="VICS 2.0 hash set JSON, CSV, or md5sum lines.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: standard output).")
@pass_app
def export_command(app: AppContext, name: str, fmt: str, output: Path | None) -> None:
    """Export a hash set as VICS 2.0, CSV or md5sum."""
    service = BankService(app.settings)
    if output is None:
        n = service.export(name, fmt, sys.stdout)
    else:
        n = service.export_to_file(name, fmt, output)
        app.err.print(f"Exported {n:,} entries of {name} to {output}.")


@bank.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def remove_command(app: AppContext, name: str, yes: bool) -> None:
    """Remove a hash set and its indexes (other sets are untouched)."""
    service = BankService(app.settings)
    info = service.get_set(name)
    if not yes:
        click.confirm(f"Remove hash set {name!r} with {info.entries:,} entries?", abort=True)
    service.remove(name)
    app.out.print(f"Removed hash set [bold]{name}[/].")


@bank.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def stats_command(app: AppContext, as_json: bool) -> None:
    """Statistics of the whole bank: sets, entries by kind and category, digests, disk use."""
    stats = BankService(app.settings).stats()
    if as_json:
        click.echo(json.dumps(stats, indent=1))
        return
    app.out.print(f"{stats['sets']} sets, {stats['entries']:,} entries, "
                  f"{stats['disk_bytes'] / 2**20:,.1f} MiB on disk")
    for title, key in (("category", "categories"), ("digest kind", "digests"),
                       ("set kind", "kinds")):
        table = Table(title, "entries")
        for k, v in stats[key].items():
            table.add_row(k, f"{v:,}")
        app.out.print(table)


@bank.command("formats")
def formats_command() -> None:
    """List the hash-set formats and category schemes Icarus reads."""
    for f in FORMATS:
        click.echo(f"{f.NAME:12} {f.DESCRIPTION}")
    click.echo()
    for s in SCHEMES:
        click.echo(f"{s.NAME:12} {s.DESCRIPTION}")
