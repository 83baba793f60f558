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
    │   ├── NotFoundError          a named thing (hash set, file, record) does not exist,
    │   │                          or the actor may not know that it exists
    │   ├── PermissionDeniedError  the actor's role does not allow the action
    │   ├── AuthenticationError    unknown user, wrong password or token, locked account
    │   │   └── LoginThrottledError  too many failed logins from the client's address
    │   ├── ConflictError          a stale version, or a name or record already taken
    │   ├── TransitionError        an outcome cannot go from its state to the one asked
    │   └── AuditChainError        the audit log was altered: names the first bad entry
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


class PermissionDeniedError(StateError):
    """The actor's role does not allow the action (whatever the record)."""


class AuthenticationError(StateError):
    """Credentials were refused. The message never says whether the user exists or is locked."""


class LoginThrottledError(AuthenticationError):
    """Too many failed logins came from the client's address: it is refused, before any
    password is checked, for ``retry_after`` more seconds. The message is the generic one."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ConflictError(StateError):
    """The record changed since it was read (stale version), or the name is taken."""


class TransitionError(StateError):
    """An outcome cannot move from its current state to the state asked for."""


class AuditChainError(StateError):
    """The hash-chained audit log does not verify; ``seq`` is the first bad entry."""

    def __init__(self, message: str, *, seq: int) -> None:
        self.seq = seq
        super().__init__(message)
