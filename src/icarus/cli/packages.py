"""``icarus packages``: build one signed intelligence package per country, and verify one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from icarus.cli.context import AppContext
from icarus.core.errors import InputError, UsageError
from icarus.intel.packages import (
    default_key_path,
    key_id,
    load_or_create_key,
    load_public_key,
    verify,
    write_packages,
)

pass_app = click.make_pass_decorator(AppContext)


@click.group("packages")
def packages() -> None:
    """Intelligence packages: one signed JSON document, HTML and PDF report per country."""


@packages.command("build")
@click.option("--results", "results_dir", required=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The results folder written by `icarus analyze`.")
@click.option("--operation", required=True, help="The operation's name.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [default: <results>/../packages].")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Ed25519 private key (PEM), created if absent "
                   "[default: <home>/keys/packages-ed25519.pem].")
@click.option("--country", "countries", multiple=True,
              help="Only this country (ISO alpha-2; repeatable) [default: every country with "
                   "suspects].")
@click.option("--generated-at", "generated_at", type=click.DateTime(
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]),
              help="The packages' generation time, UTC [default: now].")
@pass_app
def build_command(app: AppContext, results_dir: Path, operation: str, out_dir: Path | None,
                  key_path: Path | None, countries: tuple[str, ...],
                  generated_at: datetime | None) -> int:
    """Write <out>/<CC>/package.json, package.json.sig, report.html and report.pdf for every
    country with suspects. Leads without a country (anonymised, unlocated) get no package."""
    key_file = key_path or default_key_path(app.settings)
    key = load_or_create_key(key_file)
    when = generated_at.replace(tzinfo=UTC) if generated_at else datetime.now(UTC)
    target = out_dir or results_dir.parent / "packages"
    written = write_packages(app.settings, results_dir, target, operation=operation,
                             generated_at=when, key=key, countries=countries or None)
    table = Table("country", "suspects", "sightings", title="packages written")
    for w in written:
        table.add_row(w.country, f"{w.suspects:,}", f"{w.sightings:,}")
    app.out.print(table)
    app.out.print(f"signed with key {key_id(key.public_key())} ({key_file}); "
                  f"written to {target}")
    return 0


@packages.command("verify")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--signature", "signature", type=click.Path(dir_okay=False, path_type=Path),
              help="Detached signature [default: PACKAGE.sig].")
@click.option("--public-key", "public_key", type=click.Path(dir_okay=False, path_type=Path),
              help="The signer's Ed25519 public key, PEM "
                   "[default: the workspace's package key].")
@pass_app
def verify_command(app: AppContext, package: Path, signature: Path | None,
                   public_key: Path | None) -> int:
    """Check a package's signature and schema; exit 0 if valid, 3 naming what is wrong."""
    key_file = public_key or default_key_path(app.settings)
    if public_key is None and not key_file.is_file():
        raise UsageError(f"no --public-key given and no workspace key at {key_file}")
    report = verify(package, signature or package.with_name(package.name + ".sig"),
                    load_public_key(key_file))
    for warning in report.warnings:
        app.err.print(f"warning: {warning}", markup=False, highlight=False)
    if not report.ok:
        for problem in report.problems:
            app.err.print(f"- {problem}", markup=False, highlight=False)
        raise InputError(f"invalid package ({len(report.problems)} problem(s))", path=package)
    app.out.print(f"valid: {report.country} package of operation {report.operation}, "
                  f"{report.suspects} suspects, signed by key {report.key_id}",
                  markup=False, highlight=False)
    return 0
