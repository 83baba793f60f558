"""Earlier-intelligence files (docs/formats/earlier-intel-v1.md) imported into an operation,
for deconfliction: a lead whose subject an earlier operation already named gets an alert
that names that operation and the agency that ran it (its contact), nothing more."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import select

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.deconfliction import Anonymiser, digest, raise_earlier_alerts
from icarus.coord.operations import default_anonymiser
from icarus.coord.permissions import Permission, require
from icarus.core.errors import ConflictError, InputError, NotFoundError
from icarus.intel.intel_file import EarlierSubject as FileSubject
from icarus.intel.intel_file import read_earlier_intel
from icarus.store.engine import Database
from icarus.store.models import (
    Agency,
    EarlierIntelImport,
    EarlierMarker,
    EarlierSubject,
    Operation,
)

__all__ = ["IDENTIFIER_PREFIX", "EarlierIntelImported", "EarlierIntelligence"]

IDENTIFIER_PREFIX = {"edonkey-user-hash": "user_hash", "gnutella-guid": "guid"}
"""An earlier-intel identifier kind → the prefix the packages write (``user_hash:<hex>``)."""


@dataclass(frozen=True)
class EarlierIntelImported:
    """What an import did."""

    import_id: int
    operation: str
    earlier_operation: str
    agency: str
    subjects: int
    markers: int
    alert_pairs: int
    warnings: tuple[str, ...]


def _markers(subject: FileSubject, day: datetime, anonymiser: Anonymiser,
             ) -> dict[tuple[str, str], tuple[datetime, datetime]]:
    spans: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for ident in subject.identifiers:
        value = f"{IDENTIFIER_PREFIX[ident.kind]}:{ident.value.hex()}"
        spans[("identifier", digest("identifier", value))] = (day, day)
    for address in subject.addresses:
        if anonymiser(address.ip):
            continue  # a VPN exit or Tor relay: many people, not this subject
        key = ("ip", digest("ip", address.ip))
        first, last = spans.get(key, (address.seen, address.seen))
        spans[key] = (min(first, address.seen), max(last, address.seen))
    return spans


class EarlierIntelligence(UseCases):
    """Importing earlier-intelligence files into an operation (coordinators)."""

    def __init__(self, db: Database, *, anonymiser: Anonymiser | None = None) -> None:
        super().__init__(db)
        self.anonymiser = anonymiser or default_anonymiser

    def import_file(self, actor: Actor, operation: str, path: Path, *,
                    agency: str) -> EarlierIntelImported:
        """Read the file at ``path`` and keep its subjects' identifiers and addresses (as
        digests) with ``operation``; the leads of ``operation`` that match one of them, now
        or when their package is imported later, get a deconfliction alert naming the
        earlier operation and ``agency`` (the agency that ran it: its contact is shown).
        The same file twice into one operation is a :class:`ConflictError`; a bad file an
        :class:`InputError` naming the file and the field. Audited."""
        with self._transaction(actor, "earlier_intel.import", "operation", operation) as s:
            require(actor, Permission.MANAGE_OPERATIONS)
            intel = read_earlier_intel(path)
            sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            op = s.scalar(select(Operation).where(Operation.name == operation))
            if op is None:
                raise NotFoundError(f"operation {operation!r} does not exist")
            origin = s.scalar(select(Agency).where(Agency.name == agency))
            if origin is None:
                raise NotFoundError(f"no agency named {agency!r} (the agency that ran the "
                                    "earlier operation: an administrator creates it)")
            name = intel.operation.name.strip()
            if not name or len(name) > 64:
                raise InputError("operation.name: 1 to 64 characters needed to name the "
                                 "earlier operation", path=path)
            if name == op.name:
                raise InputError(f"operation.name: {name!r} is the operation it is "
                                 "imported into", path=path)
            if s.scalar(select(EarlierIntelImport.id).where(
                    EarlierIntelImport.operation_id == op.id,
                    EarlierIntelImport.file_sha256 == sha256)) is not None:
                raise ConflictError(f"{path}: this file is already imported into "
                                    f"operation {op.name}")
            source = s.scalar(select(Operation).where(Operation.name == name))
            if source is None:
                ref = intel.operation.reference
                source = Operation(name=name, created_by=actor.user_id,
                                   title=f"earlier operation{f' {ref}' if ref else ''} "
                                   f"({intel.operation.date.isoformat()})"[:200])
                s.add(source)
                s.flush()
            done = EarlierIntelImport(
                operation_id=op.id, source_operation_id=source.id, agency_id=origin.id,
                reference=intel.operation.reference, intel_date=intel.operation.date,
                file_sha256=sha256, subjects=len(intel.subjects), imported_by=actor.user_id)
            s.add(done)
            s.flush()
            day = datetime.combine(intel.operation.date, time(), UTC)
            markers = 0
            for subject in intel.subjects:
                row = EarlierSubject(import_id=done.id, ref=subject.ref,
                                     country=subject.country)
                s.add(row)
                s.flush()
                for (kind, value), (first, last) in sorted(
                        _markers(subject, day, self.anonymiser).items()):
                    s.add(EarlierMarker(subject_id=row.id, kind=kind, digest=value,
                                        first_seen=first, last_seen=last))
                    markers += 1
            s.flush()
            pairs = raise_earlier_alerts(s, op.id, import_id=done.id)
            self._audit(s, actor, "earlier_intel.import", "operation", op.id, {
                "file_sha256": sha256, "earlier_operation": name,
                "reference": intel.operation.reference, "agency_id": origin.id,
                "subjects": len(intel.subjects), "markers": markers,
                "deconfliction_pairs": pairs})
            return EarlierIntelImported(done.id, op.name, name, origin.name,
                                        len(intel.subjects), markers, pairs, intel.warnings)
