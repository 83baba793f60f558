"""The ``icarus`` command: global options, error handling and exit codes.

Exit codes (the only place they are assigned):

==  ==========================================================
0   done
1   done, with rejected records or warnings
2   usage error (bad option, unknown name, invalid settings)
3   bad input (unreadable, malformed or mismatched file) or a state conflict
4   internal error (a bug: see the workspace log)
==  ==========================================================
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from icarus import __version__
from icarus.cli.context import AppContext
from icarus.core.errors import IcarusError, InputError, StateError, UsageError
from icarus.core.logging import get_logger

EXIT_OK = 0
EXIT_WARNINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERNAL = 4


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception that ended a command."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, InputError | StateError):
        return EXIT_INPUT
    return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="icarus")
@click.option("--home", type=click.Path(file_okay=False), envvar="ICARUS_HOME",
              help="Workspace directory [env ICARUS_HOME; default ./icarus-data].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def cli(ctx: click.Context, home: str | None, quiet: bool) -> None:
    """Icarus: known-material banks, P2P sightings, suspects, referrals and exhibits.

    Exit codes: 0 done, 1 done with rejects or warnings, 2 usage error,
    3 bad input, 4 internal error (details in the workspace log).
    """
    ctx.obj = AppContext.create(home=home, quiet=quiet)


def _register() -> None:
    from icarus.cli import (
        analyze,
        audit,
        bank,
        candidates,
        db,
        demo,
        evaluation,
        hashing,
        matching,
        networks,
        packages,
        serve,
        sightings,
        sim,
        users,
    )

    cli.add_command(bank.bank)
    cli.add_command(hashing.hash_command)
    cli.add_command(matching.match_command)
    cli.add_command(demo.demo_command)
    cli.add_command(evaluation.eval_command)
    cli.add_command(sim.sim)
    cli.add_command(sightings.sightings)
    cli.add_command(analyze.analyze_command)
    cli.add_command(candidates.candidates)
    cli.add_command(packages.packages)
    cli.add_command(db.db_group)
    cli.add_command(users.users_group)
    cli.add_command(audit.audit_group)
    cli.add_command(serve.serve_command)
    cli.add_command(networks.networks_group)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (and never shows a traceback for input)."""
    try:
        result: Any = cli.main(args=argv, prog_name="icarus", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except IcarusError as exc:
        click.echo(f"icarus: error: {exc}", err=True)
        get_logger("icarus.cli").warning("command.failed", error=str(exc),
                                         error_type=type(exc).__name__)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:
        get_logger("icarus.cli").error("command.crashed", error=repr(exc),
                                       traceback=traceback.format_exc())
        click.echo(f"icarus: internal error: {exc!r} (details in the workspace log)", err=True)
        return EXIT_INTERNAL
    return int(result) if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
