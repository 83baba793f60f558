"""What every command needs: settings, the terminal, and progress bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from icarus.core.logging import configure_logging
from icarus.core.settings import Settings, load_settings


@dataclass
class AppContext:
    """Settings (validated), the logging set up, and the consoles."""

    settings: Settings
    quiet: bool
    out: Console
    err: Console

    @classmethod
    def create(cls, *, home: str | None, quiet: bool) -> AppContext:
        """Validate the settings and open the workspace log."""
        settings = load_settings(home=home)
        configure_logging(settings.log_path, settings.log_level)
        return cls(settings=settings, quiet=quiet, out=Console(),
                   err=Console(stderr=True))

    @contextmanager
    def progress(self, *, bytes_: bool = False) -> Iterator[Progress]:
        """A Rich progress display on stderr (disabled with --quiet or when not a terminal)."""
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
        columns += [TransferSpeedColumn()] if bytes_ else [MofNCompleteColumn()]
        columns += [TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=self.err, disable=self.quiet, transient=False) as p:
            yield p
