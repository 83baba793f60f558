"""The one exception tree of Icarus.

::

    IcarusError
    ├── UsageError                 a command was called wrongly (exit 2)
    │   └── ConfigError            settings are invalid
    ├── InputError                 input cannot be used as it is (exit 3)
    │   ├── FormatMismatchError    a file is not of the format claimed or detected
    │   ├── CorruptInputError      a file's structure is broken; nothing of it is used
    │   └── InvalidIdentifierError a hash, link, magnet or torrent is malformed
    ├── StateError                 the workspace forbids the operation (exit 3)
    │   └── NotFoundError          a named thing (hash set, file) does not exist
    └── InternalError              a bug or an environment fault (exit 4)

Exit codes are assigned only in ``icarus.cli``; HTTP statuses only in ``icarus.web``.
Messages are written for the person at the keyboard: they name the file and the record.
"""

from __future__ import annotations

from pathlib import Path


class IcarusError(Exception):
    """Base of every error Icarus raises on purpose."""


class UsageError(IcarusError):
    """A command or function was called with arguments that make no sense."""


class ConfigError(UsageError):
    """A setting is missing or invalid."""


class InputError(IcarusError):
    """Input (a file, a string) cannot be used as it is."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path else message)


class FormatMismatchError(InputError):
    """The input is not of the format claimed (or of any detectable format)."""


class CorruptInputError(InputError):
    """The input's structure is broken beyond a single record: it is refused whole."""


class InvalidIdentifierError(InputError):
    """A hash value, ed2k link, magnet URI or .torrent file is malformed."""


class StateError(IcarusError):
    """The workspace's state does not allow the operation (e.g. a name is taken)."""


class NotFoundError(StateError):
    """A named object (hash set, file, record) does not exist."""


class InternalError(IcarusError):
    """An invariant was broken: a bug, or a fault of the environment."""
