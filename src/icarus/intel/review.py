"""Reviewing candidate material: append-only verdicts, and confirmed items into the bank.

Verdicts of an operation are JSON lines in ``<home>/operations/<op>/candidates/verdicts.jsonl``
(one per review, never rewritten: the last one for an item is its current verdict). A
confirmed item joins the alert set ``confirmed-<op>`` through the bank's ordinary import: a
one-line hash list of the digest is written next to the verdicts and imported with the
operation, reviewer and note as its source, so the bank's provenance and idempotence apply.

A candidate may be one file seen under several identifiers (ed2k, SHA-1, BTIH: the
``identifiers`` column of ``candidates.parquet``). A verdict on any of them is a verdict on the
file: it records every identifier, and a confirmed file joins the bank under all of them (one
hash list, one import), so that later ingests match it on every network.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pyarrow.parquet as pq

from icarus.bank.service import BankService
from icarus.core.errors import CorruptInputError, IcarusError, UsageError
from icarus.core.settings import Settings
from icarus.domain.categories import SetKind
from icarus.domain.digests import Digest
from icarus.identify.kinds import format_digest, parse_digest
from icarus.intel.analyze import default_out_dir

__all__ = ["BANKABLE", "Verdict", "VerdictKind", "candidate_identifiers", "confirmed_set",
           "read_verdicts", "record_verdict", "review_dir"]

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
    identifiers: tuple[str, ...] = ()
    """Every identifier of the file the verdict is on, as ``KIND:DIGEST`` (``content`` first);
    empty in verdicts recorded before candidates were grouped."""


def review_dir(settings: Settings, operation: str) -> Path:
    """``<home>/operations/<operation>/candidates`` (the name is checked)."""
    return default_out_dir(settings, operation).parent / "candidates"


def confirmed_set(operation: str) -> str:
    """The alert set confirmed items of ``operation`` join."""
    return f"confirmed-{operation}"


def candidate_identifiers(settings: Settings, operation: str, content: Digest) -> list[Digest]:
    """Every identifier of the candidate of ``operation`` that ``content`` is one of,
    ``content`` first; just ``[content]`` when no candidate lists it (or nothing was analysed).
    """
    path = default_out_dir(settings, operation) / "candidates.parquet"
    if not path.is_file():
        return [content]
    try:
        if "identifiers" not in pq.read_schema(path).names:
            return [content]  # results written before candidates were grouped
        table = pq.read_table(path, columns=["identifiers"])
    except (OSError, ValueError) as exc:
        raise CorruptInputError(f"not a candidates table ({exc})", path=path) from None
    wanted = f"{content.kind}:{format_digest(content)}"
    for row, listed in enumerate(table["identifiers"].to_pylist(), 1):
        names = (listed or "").split()
        if wanted in names:
            out = [content]
            for name in names:
                kind, _, text = name.partition(":")
                try:
                    digest = parse_digest(kind, text)
                except IcarusError as exc:
                    raise CorruptInputError(f"row {row}: column 'identifiers': {exc}",
                                            path=path) from None
                if digest != content:
                    out.append(digest)
            return out
    return [content]


def record_verdict(settings: Settings, *, operation: str, content: Digest,
                   verdict: VerdictKind, category: str | None = None, note: str = "",
                   reviewer: str | None = None, now: datetime | None = None,
                   identifiers: Sequence[Digest] | None = None) -> Verdict:
    """Append a verdict on the file ``content`` names; a confirmed file is first imported
    into :func:`confirmed_set` under every identifier of the file.

    ``identifiers`` are the file's identifiers (default: those its candidate lists, see
    :func:`candidate_identifiers`). Raises :class:`UsageError` when a confirmed file has no
    identifier of a kind the bank can import (see :data:`BANKABLE`): nothing is recorded then,
    so no verdict claims a bank entry that does not exist.
    """
    folder = review_dir(settings, operation)
    who = reviewer or _who()
    text = format_digest(content)
    every = list(identifiers) if identifiers is not None else candidate_identifiers(
        settings, operation, content)
    every = [content] + [d for d in every if d != content]
    bank_set = None
    if verdict is VerdictKind.CONFIRMED:
        bankable = [d for d in every if d.kind in BANKABLE]
        if not bankable:
            raise UsageError(f"a confirmed {content.kind} digest cannot join the bank yet: "
                             f"its hash lists read only {', '.join(BANKABLE)}")
        listing = folder / "confirmed" / f"{content.kind}-{content.value.hex()}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        # the kind is named: an ed2k and an MD5 are both 32 hex characters
        lines = sorted({f"{d.kind}:{d.value.hex()}" for d in bankable})
        listing.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        bank_set = confirmed_set(operation)
        BankService(settings).import_file(
            listing, set_name=bank_set, fmt="hashlist", kind=SetKind.ALERT,
            category=category or "csam", who=who,
            source=f"operation {operation}; reviewer {who}" + (f"; {note}" if note else ""),
            description=f"Candidate material confirmed in operation {operation}")
    record = Verdict(operation, content.kind, text, verdict.value, category, note, who,
                     (now or datetime.now(UTC)).isoformat(), bank_set,
                     tuple(f"{d.kind}:{format_digest(d)}" for d in every))
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
            data = json.loads(line)
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            data["identifiers"] = tuple(data.get("identifiers") or ())
            out.append(Verdict(**data))
        except (ValueError, TypeError) as exc:
            raise CorruptInputError(f"line {number}: not a verdict ({exc})", path=path) from None
    return out


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
