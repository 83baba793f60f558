"""Operations and the import of signed country packages into referrals."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.deconfliction import (
    Anonymiser,
    markers_of,
    raise_alerts,
    raise_earlier_alerts,
)
from icarus.coord.packages_store import store_package
from icarus.coord.permissions import Permission, Scope, require
from icarus.coord.views import OperationView, ReferralView
from icarus.core.errors import ConflictError, InputError, NotFoundError, StateError
from icarus.intel.packages import canonical_bytes, key_id, verify
from icarus.store.engine import Database
from icarus.store.models import (
    Agency,
    EarlierIntelImport,
    Lead,
    LeadMarker,
    Operation,
    OperationAgency,
    Outcome,
    OutcomeChange,
    OutcomeState,
    Referral,
)

__all__ = ["Operations"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _view(op: Operation) -> OperationView:
    return OperationView(op.id, op.name, op.title, tuple(sorted(a.id for a in op.agencies)))


def _summary(suspect: dict[str, Any]) -> dict[str, Any]:
    timeline = suspect["timeline"]
    return {"sightings": len(timeline),
            "networks": dict(Counter(e["network"] for e in timeline).most_common()),
            "categories": dict(Counter(e["category"] for e in timeline).most_common()),
            "evidence_levels": dict(Counter(e["evidence"] for e in timeline).most_common())}


def default_anonymiser(ip: str) -> object:
    """The bundled geolocation database and anonymiser list (``icarus.intel.geo``): the
    kind of anonymiser endpoint ``ip`` is, or None."""
    from icarus.intel.geo import is_anonymiser  # loads the database on first use

    return is_anonymiser(ip)


class Operations(UseCases):
    """Creating operations and importing packages (coordinators). ``anonymiser`` says which
    addresses are anonymiser endpoints, left out of deconfliction's address rule."""

    def __init__(self, db: Database, *, anonymiser: Anonymiser | None = None) -> None:
        super().__init__(db)
        self.anonymiser = anonymiser or default_anonymiser

    def create_operation(self, actor: Actor, *, name: str, title: str = "",
                         agency_ids: list[int]) -> OperationView:
        """A new operation with its participating agencies."""
        with self._transaction(actor, "operation.create") as s:
            require(actor, Permission.MANAGE_OPERATIONS)
            if not _NAME.match(name):
                raise InputError(f"operation name {name!r}: 1-64 letters, digits, '.', '_' "
                                 "or '-' (the packages' operation name)")
            if s.scalar(select(Operation.id).where(Operation.name == name)) is not None:
                raise ConflictError(f"an operation named {name!r} exists already")
            agencies = [s.get(Agency, i) for i in sorted(set(agency_ids))]
            missing = [i for i, a in zip(sorted(set(agency_ids)), agencies, strict=True)
                       if a is None]
            if missing:
                raise NotFoundError(f"no agency with id {missing[0]}")
            op = Operation(name=name, title=title, created_by=actor.user_id,
                           agencies=[a for a in agencies if a is not None])
            s.add(op)
            s.flush()
            self._audit(s, actor, "operation.create", "operation", op.id,
                        {"name": name, "agency_ids": sorted(set(agency_ids))})
            return _view(op)

    def list_operations(self, actor: Actor) -> tuple[OperationView, ...]:
        """The operations the actor may see (all, or those its agency takes part in)."""
        with self._transaction(actor, "operation.list") as s:
            scope = require(actor, Permission.READ_OPERATIONS)
            # An earlier operation known only from an imported earlier-intelligence file
            # (no agencies) is named by alerts but is not listed.
            query = select(Operation).order_by(Operation.name).where(
                Operation.agencies.any()
                | Operation.id.not_in(select(EarlierIntelImport.source_operation_id)))
            if scope is Scope.OWN_AGENCY:
                query = query.join(OperationAgency).where(
                    OperationAgency.agency_id == actor.agency_id)
            return tuple(_view(op) for op in s.scalars(query).all())

    def import_package(self, actor: Actor, package: Path, signature: Path,
                       public_key: Ed25519PublicKey) -> tuple[ReferralView, ...]:
        """Verify a package (signature by ``public_key`` and schema), then give one referral
        to each participating agency of its country, with one lead (evidence, score reasons,
        outcome "received") per suspect, and raise deconfliction alerts. Nothing is written
        when anything is wrong: :class:`InputError` names the package and its problems."""
        with self._transaction(actor, "package.import", "package", package.name) as s:
            require(actor, Permission.MANAGE_OPERATIONS)
            report = verify(package, signature, public_key)
            if not report.ok:
                raise InputError("not imported: " + "; ".join(report.problems), path=package)
            raw = package.read_bytes()
            doc: dict[str, Any] = json.loads(raw.decode("utf-8"))
            sha256 = hashlib.sha256(canonical_bytes(doc)).hexdigest()
            op = s.scalar(select(Operation).where(Operation.name == doc["operation"]))
            if op is None:
                raise NotFoundError(f"{package}: operation {doc['operation']!r} does not "
                                    "exist: create it first")
            agencies = [a for a in op.agencies if a.country == doc["country"]]
            if not agencies:
                raise StateError(f"{package}: no agency of {doc['country']} takes part in "
                                 f"operation {op.name}")
            out = []
            for agency in sorted(agencies, key=lambda a: a.id):
                if s.scalar(select(Referral.id).where(Referral.operation_id == op.id,
                                                      Referral.agency_id == agency.id)):
                    raise ConflictError(f"{package}: {agency.name} already has its referral "
                                        f"of operation {op.name}")
                referral = Referral(
                    operation_id=op.id, agency_id=agency.id, country=doc["country"],
                    package_id=f"{op.name}/{doc['country']}/{doc['generated_at']}",
                    package_sha256=sha256, signature_status="valid",
                    signing_key_id=key_id(public_key), generated_at=doc["generated_at"],
                    imported_by=actor.user_id)
                s.add(referral)
                s.flush()
                store_package(s, referral.id, raw, signature.read_bytes(), public_key)
                lead_ids = [self._add_lead(s, actor, referral, x) for x in doc["suspects"]]
                alerts = raise_alerts(s, referral, lead_ids)
                earlier = raise_earlier_alerts(s, op.id, referral_id=referral.id)
                self._audit(s, actor, "package.import", "referral", referral.id,
                            {"package_sha256": sha256, "agency_id": agency.id,
                             "leads": len(lead_ids), "deconfliction_pairs": alerts,
                             "earlier_intel_pairs": earlier})
                out.append(ReferralView(referral.id, op.name, agency.id, agency.name,
                                        referral.country, referral.package_id, sha256,
                                        "valid", referral.signing_key_id,
                                        referral.imported_at, len(lead_ids)))
            return tuple(out)

    def _add_lead(self, s: Any, actor: Actor, referral: Referral, x: dict[str, Any]) -> int:
        lead = Lead(referral_id=referral.id, subject_id=x["subject_id"], rank=x["rank"],
                    score=x["score"], components=x["components"], reasons=x["reasons"],
                    country=x["jurisdiction"]["country"],
                    asn_name=x["jurisdiction"]["asn_name"], first_seen=x["first_seen"],
                    last_seen=x["last_seen"], n_files=x["n_files"],
                    best_evidence=x["best_evidence"], evidence_summary=_summary(x),
                    evidence={"identifiers": x["identifiers"], "timeline": x["timeline"]})
        s.add(lead)
        s.flush()
        for m in markers_of(x, self.anonymiser):
            s.add(LeadMarker(lead_id=lead.id, kind=m.kind, digest=m.digest,
                             first_seen=m.first_seen, last_seen=m.last_seen))
        outcome = Outcome(lead_id=lead.id, state=OutcomeState.RECEIVED.value, notes="",
                          exhibits_seized=0, updated_by=actor.user_id)
        s.add(outcome)
        s.flush()
        s.add(OutcomeChange(outcome_id=outcome.id, version=outcome.version, from_state=None,
                            to_state=outcome.state, notes="", exhibits_seized=0,
                            changed_by=actor.user_id))
        return lead.id
