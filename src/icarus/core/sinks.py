"""Where parsers report what they could not use.

Parsers only *produce*: records they yield, rejects and warnings they hand to a sink. They never
print, log to the terminal or write files themselves. Two kinds of trouble are kept apart:
"not my format" (raise :class:`~icarus.core.errors.FormatMismatchError`) and "this record is
bad" (``sink.reject(...)`` and go on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that was not used: where it was and why."""

    source: str
    """The file it came from."""
    position: str
    """Where in the file: ``line 12``, ``record 5``, ``row 40 of FILE``..."""
    reason: str
    raw: str | None = None
    """The record's text, cut to a reasonable length, when there is one."""


class RecordSink(Protocol):
    """Receives rejects and warnings from a parser."""

    def reject(self, position: str, reason: str, raw: str | None = None) -> None:
        """A record is malformed: it is skipped, the parser goes on."""

    def warn(self, position: str, message: str) -> None:
        """Something is odd but the record was used."""


@dataclass
class CollectingSink:
    """A sink that keeps everything in memory (tests, small inputs)."""

    source: str = ""
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)

    def reject(self, position: str, reason: str, raw: str | None = None) -> None:
        self.rejects.append(Reject(self.source, position, reason, clip(raw)))

    def warn(self, position: str, message: str) -> None:
        self.warnings.append(Reject(self.source, position, message))


def clip(raw: str | None, limit: int = 500) -> str | None:
    """Cut a raw record for a rejects file so one huge line cannot flood it."""
    if raw is None or len(raw) <= limit:
        return raw
    return raw[:limit] + f"... [{len(raw) - limit} more characters]"
