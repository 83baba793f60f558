"""Deconfliction: a new lead whose subject is already in another referral.

Two leads are the same subject when they share a client identifier (eMule user hash,
Gnutella GUID, BitTorrent peer id) or an address seen by both within ``IP_WINDOW`` of each
other (dynamic addresses pass to other subscribers, so only a short window says "same
person"). Anonymiser endpoints (VPN exits, hosting, Tor: ``icarus.intel.geo``) are left out
of the address rule: many unrelated people share them. Markers are kept as SHA-256
digests: the comparison never needs the raw value. A lead is also compared with the
subjects of the earlier-intelligence files imported into its operation
(``coord/earlier_intel.py``), by the same rules.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from icarus.store.engine import Session
from icarus.store.models import (
    DeconflictionAlert,
    EarlierIntelImport,
    EarlierMarker,
    EarlierSubject,
    Lead,
    LeadMarker,
    Referral,
)

__all__ = ["EARLIER_RULE", "IP_WINDOW", "Anonymiser", "Marker", "digest", "markers_of",
           "raise_alerts", "raise_earlier_alerts", "same_subject"]

Anonymiser = Callable[[str], object]
"""Truthy for an address that is an anonymiser endpoint (e.g. ``Locator.is_anonymiser``)."""

EARLIER_RULE = "earlier intelligence"

IP_WINDOW = timedelta(days=1)
_CHUNK = 500


@dataclass(frozen=True)
class Marker:
    """A digest of an identifier or address and when the lead was seen with it."""

    kind: str
    digest: str
    first_seen: datetime
    last_seen: datetime


def digest(kind: str, value: str) -> str:
    """The stored form of an identifier (``user_hash:<hex>``…) or an address."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def same_subject(kind: str, a: tuple[datetime, datetime],
                 b: tuple[datetime, datetime]) -> str | None:
    """The rule by which two markers of the same digest and ``kind``, seen over the spans
    ``a`` and ``b``, say "same subject"; None when the address spans are too far apart."""
    if kind == "identifier":
        return "shared identifier"
    if b[0] - IP_WINDOW > a[1] or a[0] - IP_WINDOW > b[1]:
        return None
    return "same address in an overlapping window"


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def markers_of(suspect: dict[str, Any], anonymiser: Anonymiser | None = None,
               ) -> list[Marker]:
    """The markers of a package suspect (its identifiers and its timeline's addresses, but
    not the addresses ``anonymiser`` calls anonymiser endpoints)."""
    spans: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    anonymous: dict[str, bool] = {}

    def see(kind: str, value: str, when: datetime) -> None:
        key = (kind, digest(kind, value))
        first, last = spans.get(key, (when, when))
        spans[key] = (min(first, when), max(last, when))

    for event in suspect["timeline"]:
        when = _time(event["observed_at"])
        ip = event["ip"]
        if anonymiser is not None and ip not in anonymous:
            anonymous[ip] = bool(anonymiser(ip))
        if not anonymous.get(ip, False):
            see("ip", ip, when)
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
                rule = same_subject(m.kind, (m.first_seen, m.last_seen),
                                    (other.first_seen, other.last_seen))
                if rule is not None:
                    pairs[(m.lead_id, other.lead_id)].add(rule)
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


def raise_earlier_alerts(session: Session, operation_id: int, *,
                         referral_id: int | None = None, import_id: int | None = None) -> int:
    """Compare the leads of ``operation_id`` with the subjects of the earlier-intelligence
    files imported into it: only the leads of ``referral_id`` (just imported) or only the
    subjects of ``import_id`` (just imported). Each match adds an alert on the lead naming
    the earlier operation and the agency that ran it; returns the pairs found."""
    query = (select(LeadMarker.lead_id, EarlierMarker.subject_id, LeadMarker.kind,
                    LeadMarker.first_seen, LeadMarker.last_seen, EarlierMarker.first_seen,
                    EarlierMarker.last_seen, EarlierIntelImport.id)
             .join(EarlierMarker, (EarlierMarker.digest == LeadMarker.digest)
                   & (EarlierMarker.kind == LeadMarker.kind))
             .join(EarlierSubject, EarlierSubject.id == EarlierMarker.subject_id)
             .join(EarlierIntelImport, EarlierIntelImport.id == EarlierSubject.import_id)
             .join(Lead, Lead.id == LeadMarker.lead_id)
             .join(Referral, Referral.id == Lead.referral_id)
             .where(Referral.operation_id == operation_id,
                    EarlierIntelImport.operation_id == operation_id))
    if referral_id is not None:
        query = query.where(Referral.id == referral_id)
    if import_id is not None:
        query = query.where(EarlierIntelImport.id == import_id)
    pairs: dict[tuple[int, int], set[str]] = defaultdict(set)
    source: dict[int, int] = {}
    for lead, subject, kind, l_first, l_last, e_first, e_last, origin in session.execute(query):
        rule = same_subject(kind, (l_first, l_last), (e_first, e_last))
        if rule is not None:
            pairs[(lead, subject)].add(rule)
            source[subject] = origin
    if not pairs:
        return 0
    imports = {i.id: i for i in session.scalars(select(EarlierIntelImport).where(
        EarlierIntelImport.id.in_(set(source.values()))))}
    for (lead, subject), rules in sorted(pairs.items()):
        existing = session.scalar(select(DeconflictionAlert).where(
            DeconflictionAlert.lead_id == lead, DeconflictionAlert.earlier_subject_id == subject))
        if existing is not None:
            existing.rules = sorted(set(existing.rules) | rules | {EARLIER_RULE})
            continue
        done = imports[source[subject]]
        session.add(DeconflictionAlert(lead_id=lead, earlier_subject_id=subject,
                                       other_agency_id=done.agency_id,
                                       other_operation_id=done.source_operation_id,
                                       rules=sorted(rules | {EARLIER_RULE})))
    session.flush()
    return len(pairs)
