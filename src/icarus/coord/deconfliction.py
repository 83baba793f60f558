"""Deconfliction: a new lead whose subject is already in another referral.

Two leads are the same subject when they share a client identifier (eMule user hash,
Gnutella GUID, BitTorrent peer id) or an address seen by both within ``IP_WINDOW`` of each
other (dynamic addresses pass to other subscribers, so only a short window says "same
person"). Markers are kept as SHA-256 digests: the comparison never needs the raw value.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from icarus.store.engine import Session
from icarus.store.models import DeconflictionAlert, Lead, LeadMarker, Referral

__all__ = ["IP_WINDOW", "Marker", "markers_of", "raise_alerts"]

IP_WINDOW = timedelta(days=1)
_CHUNK = 500


@dataclass(frozen=True)
class Marker:
    """A digest of an identifier or address and when the lead was seen with it."""

    kind: str
    digest: str
    first_seen: datetime
    last_seen: datetime


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def markers_of(suspect: dict[str, Any]) -> list[Marker]:
    """The markers of a package suspect (its identifiers and its timeline's addresses)."""
    spans: dict[tuple[str, str], tuple[datetime, datetime]] = {}

    def see(kind: str, value: str, when: datetime) -> None:
        key = (kind, _digest(kind, value))
        first, last = spans.get(key, (when, when))
        spans[key] = (min(first, when), max(last, when))

    for event in suspect["timeline"]:
        when = _time(event["observed_at"])
        see("ip", event["ip"], when)
        for ident in event["identifiers"]:
            see("identifier", ident, when)
    for ident in suspect["identifiers"]:
        see("identifier", ident, _time(suspect["first_seen"]))
        see("identifier", ident, _time(suspect["last_seen"]))
    return [Marker(k, d, f, la) for (k, d), (f, la) in sorted(spans.items())]


def raise_alerts(session: Session, referral: Referral, lead_ids: list[int]) -> int:
    """Compare the markers of ``lead_ids`` (all of ``referral``) with every other
    referral's, and add an alert on both sides of each match; returns the pairs found."""
    mine = session.execute(select(LeadMarker).where(LeadMarker.lead_id.in_(lead_ids))
                           ).scalars().all() if lead_ids else []
    by_digest: dict[str, list[LeadMarker]] = defaultdict(list)
    for m in mine:
        by_digest[m.digest].append(m)
    pairs: dict[tuple[int, int], set[str]] = defaultdict(set)
    digests = sorted(by_digest)
    for i in range(0, len(digests), _CHUNK):
        rows = session.execute(
            select(LeadMarker, Lead.referral_id).join(Lead, Lead.id == LeadMarker.lead_id)
            .where(LeadMarker.digest.in_(digests[i:i + _CHUNK]),
                   Lead.referral_id != referral.id)).all()
        for other, _ in rows:
            for m in by_digest[other.digest]:
                if m.kind != other.kind:
                    continue
                if m.kind == "ip" and (other.first_seen - IP_WINDOW > m.last_seen
                                       or m.first_seen - IP_WINDOW > other.last_seen):
                    continue
                pairs[(m.lead_id, other.lead_id)].add(
                    "shared identifier" if m.kind == "identifier"
                    else "same address in an overlapping window")
    if not pairs:
        return 0
    info = {lid: (agency, op) for lid, agency, op in session.execute(
        select(Lead.id, Referral.agency_id, Referral.operation_id)
        .join(Referral, Referral.id == Lead.referral_id)
        .where(Lead.id.in_({b for _, b in pairs} | {a for a, _ in pairs})))}
    for (a, b), rules in sorted(pairs.items()):
        for lead, other_lead in ((a, b), (b, a)):
            existing = session.scalar(select(DeconflictionAlert).where(
                DeconflictionAlert.lead_id == lead, DeconflictionAlert.other_lead_id == other_lead))
            if existing is not None:
                existing.rules = sorted(set(existing.rules) | rules)
                continue
            agency, operation = info[other_lead]
            session.add(DeconflictionAlert(lead_id=lead, other_lead_id=other_lead,
                                           other_agency_id=agency,
                                           other_operation_id=operation, rules=sorted(rules)))
    session.flush()
    return len(pairs)
