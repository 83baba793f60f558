"""Reviewing candidate material: append-only verdicts, and confirmed items into the bank.

Verdicts of an operation are JSON lines in ``<home>/operations/<op>/candidates/verdicts.jsonl``
(one per review, never rewritten: the last one for an item is its current verdict). A
confirmed item joins the alert set ``confirmed-<op>`` through the bank's ordinary import: a
one-line hash list of the digest is written next to the verdicts and imported with the
operation, reviewer and note as its source, so the bank's provenance and idempotence apply.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from icarus.bank.service import BankService
from icarus.core.errors import CorruptInputError, UsageError
from icarus.core.settings import Settings
from icarus.domain.categories import SetKind
from icarus.domain.digests import Digest
from icarus.identify.kinds import format_digest
from icarus.intel.analyze import default_out_dir

__all__ = ["BANKABLE", "Verdict", "VerdictKind", "confirmed_set", "read_verdicts",
           "record_verdict", "review_dir"]

BANKABLE = ("md5", "sha1", "sha256", "ed2k", "tth", "aich", "btih", "btih-v2")
"""Kinds a confirmed item can be imported as (the bank's plain hash list reads only these)."""


class VerdictKind(StrEnum):
    """A reviewer's conclusion about a candidate."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNSURE = "unsure"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One review: what, by whom, when, and whether it reached the bank."""

    operation: str
    content_kind: str
    content_id: str
    verdict: str
    category: str | None
    note: str
    reviewer: str
    reviewed_at: str
    bank_set: str | None
    """The alert set a confirmed item was imported into (``None`` otherwise)."""


def review_dir(settings: Settings, operation: str) -> Path:
    """``<home>/operations/<operation>/candidates`` (the name is checked)."""
    return default_out_dir(settings, operation).parent / "candidates"


def confirmed_set(operation: str) -> str:
    """The alert set confirmed items of ``operation`` join."""
    return f"confirmed-{operation}"


def record_verdict(settings: Settings, *, operation: str, content: Digest,
                   verdict: VerdictKind, category: str | None = None, note: str = "",
                   reviewer: str | None = None, now: datetime | None = None) -> Verdict:
    """Append a verdict; a confirmed item is first imported into :func:`confirmed_set`.

    Raises :class:`UsageError` when a confirmed item's kind cannot be imported (see
    :data:`BANKABLE`): nothing is recorded then, so no verdict claims a bank entry that
    does not exist.
    """
    folder = review_dir(settings, operation)
    who = reviewer or _who()
    text = format_digest(content)
    bank_set = None
    if verdict is VerdictKind.CONFIRMED:
        if content.kind not in BANKABLE:
            raise UsageError(f"a confirmed {content.kind} digest cannot join the bank yet: "
                             f"its hash lists read only {', '.join(BANKABLE)}")
        listing = folder / "confirmed" / f"{content.kind}-{content.value.hex()}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        # the kind is named: an ed2k and an MD5 are both 32 hex characters
        listing.write_text(f"{content.kind}:{content.value.hex()}\n", encoding="utf-8")
        bank_set = confirmed_set(operation)
        BankService(settings).import_file(
            listing, set_name=bank_set, fmt="hashlist", kind=SetKind.ALERT,
            category=category or "csam", who=who,
            source=f"operation {operation}; reviewer {who}" + (f"; {note}" if note else ""),
            description=f"Candidate material confirmed in operation {operation}")
    record = Verdict(operation, content.kind, text, verdict.value, category, note, who,
                     (now or datetime.now(UTC)).isoformat(), bank_set)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "verdicts.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(record), sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return record


def read_verdicts(settings: Settings, operation: str) -> list[Verdict]:
    """Every verdict of ``operation``, oldest first (none when nothing was reviewed)."""
    path = review_dir(settings, operation) / "verdicts.jsonl"
    if not path.is_file():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(Verdict(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise CorruptInputError(f"line {number}: not a verdict ({exc})", path=path) from None
    return out


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
