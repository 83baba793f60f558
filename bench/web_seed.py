"""Bench only: seed a coordination database with many leads, fast.

Agencies, users and the operation are created through the use cases (``Accounts``,
``Operations``). One referral (the smallest agency's) is imported the real way, from a signed
package through ``Operations.import_package``, and timed. The other referrals are written by
:func:`bulk_import`, which writes exactly the rows ``import_package`` writes (the referral, one
lead per suspect with its evidence summary and markers, an outcome ``received`` at version 1
and its first history row, the deconfliction alerts of ``raise_alerts`` and the
``package.import`` audit event, and the signed package kept as import keeps it) with
PostgreSQL COPY instead of one flush per lead; ids come from the tables' own sequences. It
skips the signature check (the bench builds and signs the suspects itself) and is not part
of Icarus: never use it on a real database.

The suspects are synthetic (addresses in the IPv6 documentation prefix 2001:db8::/32, random
client identifiers, generated file names); a small share of them shares an identifier with a
suspect of another agency, so that deconfliction alerts exist.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from icarus.coord import Accounts, Actor, Operations, Role
from icarus.coord.deconfliction import markers_of, raise_alerts
from icarus.coord.operations import _summary as evidence_summary
from icarus.coord.packages_store import store_package
from icarus.intel.packages import canonical_bytes, key_id, sign_document
from icarus.store.audit import append_event
from icarus.store.base import utcnow
from icarus.store.engine import Database
from icarus.store.models import (
    Lead,
    OutcomeState,
    Referral,
    User,
)

__all__ = ["PASSWORD", "Seeded", "bulk_import", "make_suspects", "seed"]

PASSWORD = "bench web load password"  # noqa: S105 - a synthetic bench account
OPERATION = "op-bench"
GENERATED_AT = "2026-02-01T00:00:00.000000Z"
COUNTRIES = ("DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "BR", "CA", "AU", "SE", "BE",
             "AT", "CH", "PT", "CZ", "DK", "NO", "FI", "IE", "RO", "HU", "GR")
"""24 agencies, one per country; lead counts fall off as 1/rank (Zipf), as in real
operations where a few large countries hold most of the suspects."""
NETWORKS = (("edonkey", "eMule", "user_hash"), ("gnutella", "Shareaza", "guid"),
            ("bittorrent", "qBittorrent", "peer_id"))


@dataclass
class Seeded:
    """What the load test needs: the database's users and the leads to work on."""

    operation: str
    accounts: list[dict[str, Any]]
    """username, role, agency_id, country, referral_id, hot (lead ids to post outcomes on)."""
    referrals: dict[str, int]
    leads: int
    timings: dict[str, float] = field(default_factory=dict)


def _shares(total: int, n: int) -> list[int]:
    weights = [1 / (i + 1) for i in range(n)]
    scale = total / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def make_suspects(country: str, n: int, rng: random.Random,
                  shared: list[str]) -> list[dict[str, Any]]:
    """``n`` synthetic package suspects of ``country`` (schema of intel.packages, v1), ranked
    by a falling score; about 1 in 200 carries one of the ``shared`` identifiers."""
    out = []
    for rank in range(1, n + 1):
        network, client, kind = rng.choice(NETWORKS)
        ident = f"{kind}:{rng.getrandbits(128):032x}"
        idents = [ident] + ([rng.choice(shared)] if shared and rng.random() < 0.005 else [])
        ip = f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"  # documentation
        day0 = rng.randrange(1, 20)
        events: list[dict[str, Any]] = []
        for k in range(rng.randrange(1, 7)):
            when = f"2026-01-{day0 + k:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}" \
                   f":00.000000Z"
            content = hashlib.md5(f"{country}{rank}{k}".encode(), usedforsecurity=False)
            events.append({
                "observed_at": when, "ip": ip, "port": 4662 + rng.randrange(1000),
                "network": network, "client": client, "nickname": None,
                "identifiers": idents, "file_name": f"synthetic-{rank}-{k}.jpg",
                "file_size": 1000 + rng.randrange(10**6),
                "content": "md5:" + content.hexdigest(), "category": rng.choice("12"),
                "severity": rng.randrange(1, 4), "match_set": "known",
                "sensor": f"s{rng.randrange(1, 4)}", "record_id": None, "evidence": "browsed",
                "source": {"sha256": content.hexdigest() * 2, "line": rank}})
        events.sort(key=lambda e: e["observed_at"])
        score = round(100.0 * (n - rank + 1) / n, 3)
        out.append({
            "subject_id": f"{country.lower()}-{rank:06d}", "rank": rank, "score": score,
            "components": {"volume": round(rng.random(), 3), "severity": round(rng.random(), 3)},
            "reasons": [f"shared {len(events)} known files", "seen on several days"],
            "jurisdiction": {"country": country, "asn_name": f"Example ISP {country}"},
            "first_seen": events[0]["observed_at"], "last_seen": events[-1]["observed_at"],
            "identifiers": idents, "n_files": len(events), "best_evidence": "browsed",
            "timeline": events})
    return out


def _package(suspects: list[dict[str, Any]], country: str) -> dict[str, Any]:
    return {
        "format": "icarus-package", "version": 1, "operation": OPERATION, "country": country,
        "generated_at": GENERATED_AT, "producer": "bench", "analysis_time": None,
        "summary": {"suspects": len(suspects),
                    "sightings": sum(len(s["timeline"]) for s in suspects), "files": 1,
                    "categories": {"1": 1}, "networks": {"edonkey": 1},
                    "evidence": {"browsed": 1},
                    "top": [s["subject_id"] for s in suspects][:10]},
        "suspects": suspects}


def bulk_import(db: Database, actor: Actor, *, operation_id: int, agency_id: int,
                country: str, suspects: list[dict[str, Any]], key: Ed25519PrivateKey) -> int:
    """Bench only: write what ``Operations.import_package`` writes for one agency, in bulk,
    in one transaction (the package is signed with ``key`` and kept, as import keeps it,
    but not verified); returns the referral id."""
    doc = _package(suspects, country)
    raw = canonical_bytes(doc)
    sha256 = hashlib.sha256(raw).hexdigest()
    signature = json.dumps(sign_document(doc, key)).encode("utf-8")
    with db.transaction() as s:
        referral = Referral(operation_id=operation_id, agency_id=agency_id, country=country,
                            package_id=f"{OPERATION}/{country}/{GENERATED_AT}",
                            package_sha256=sha256, signature_status="valid",
                            signing_key_id=key_id(key.public_key()),
                            generated_at=GENERATED_AT, imported_by=actor.user_id)
        s.add(referral)
        s.flush()
        store_package(s, referral.id, raw, signature, key.public_key())
        lead_ids = _copy_rows(s, actor, referral.id, suspects)
        alerts = raise_alerts(s, referral, lead_ids)
        append_event(s, actor_id=actor.user_id, actor=actor.username,
                     agency_id=actor.agency_id, action="package.import",
                     object_type="referral", object_id=str(referral.id),
                     remote_addr=actor.remote_addr,
                     details={"package_sha256": sha256, "agency_id": agency_id,
                              "leads": len(lead_ids), "deconfliction_pairs": alerts})
        return referral.id


def _ids(cur: Any, table: str, n: int) -> list[int]:
    """``n`` ids drawn from the table's own sequence (as its inserts would draw them)."""
    cur.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, %s)", (n,))
    return [int(r[0]) for r in cur.fetchall()]


def _copy_rows(s: Any, actor: Actor, referral_id: int, suspects: list[dict[str, Any]],
               ) -> list[int]:
    """The leads, markers, outcomes and first history rows of ``suspects`` by COPY (in the
    session's transaction); returns the lead ids in suspect order."""
    cur = s.connection().connection.dbapi_connection.cursor()
    lead_ids, outcome_ids = _ids(cur, "leads", len(suspects)), _ids(cur, "outcomes",
                                                                    len(suspects))
    now = utcnow().replace(tzinfo=None)
    with cur.copy("COPY leads (id, referral_id, subject_id, rank, score, components, reasons, "
                  "country, asn_name, first_seen, last_seen, n_files, best_evidence, "
                  "evidence_summary, evidence) FROM STDIN") as copy:
        for lid, x in zip(lead_ids, suspects, strict=True):
            copy.write_row((lid, referral_id, x["subject_id"], x["rank"], x["score"],
                            json.dumps(x["components"]), json.dumps(x["reasons"]),
                            x["jurisdiction"]["country"], x["jurisdiction"]["asn_name"],
                            x["first_seen"], x["last_seen"], x["n_files"],
                            x["best_evidence"], json.dumps(evidence_summary(x)),
                            json.dumps({"identifiers": x["identifiers"],
                                        "timeline": x["timeline"]})))
    with cur.copy("COPY lead_markers (lead_id, kind, digest, first_seen, last_seen) "
                  "FROM STDIN") as copy:
        for lid, x in zip(lead_ids, suspects, strict=True):
            for m in markers_of(x):
                copy.write_row((lid, m.kind, m.digest, m.first_seen.replace(tzinfo=None),
                                m.last_seen.replace(tzinfo=None)))
    state = OutcomeState.RECEIVED.value
    with cur.copy("COPY outcomes (id, lead_id, state, notes, exhibits_seized, version, "
                  "updated_at, updated_by) FROM STDIN") as copy:
        for oid, lid in zip(outcome_ids, lead_ids, strict=True):
            copy.write_row((oid, lid, state, "", 0, 1, now, actor.user_id))
    with cur.copy("COPY outcome_changes (outcome_id, version, from_state, to_state, notes, "
                  "exhibits_seized, changed_at, changed_by) FROM STDIN") as copy:
        for oid in outcome_ids:
            copy.write_row((oid, 1, None, state, "", 0, now, actor.user_id))
    return lead_ids


def seed(db: Database, total: int, work: Path, *, seed_value: int = 1,
         hot: int = 10) -> Seeded:
    """Agencies, users (two national officers in each of the ten largest agencies, one in
    the others, four coordinators), one operation
    and ``total`` leads over the agencies' referrals. ``hot`` top-scored leads of each
    referral are the ones the load test posts outcomes on (so that users meet)."""
    rng = random.Random(seed_value)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    accounts = Accounts(db, hasher=PasswordHasher())  # the server's default Argon2id
    console = Actor.console()
    agencies = {c: accounts.create_agency(console, country=c, name=f"Bench agency {c}",
                                          contact=f"desk@{c.lower()}.example").id
                for c in COUNTRIES}
    users: list[dict[str, Any]] = []
    for i in range(4):
        user = accounts.create_user(console, username=f"coordinator{i}", password=PASSWORD,
                                    role=Role.COORDINATOR)
        users.append({"username": user.username, "role": "coordinator", "agency_id": None,
                      "country": None})
    coordinator = Actor(_user_id(db, "coordinator0"), "coordinator0", Role.COORDINATOR,
                        None, "127.0.0.1")
    for n, c in enumerate(COUNTRIES):
        for k in range(2 if n < 10 else 1):
            user = accounts.create_user(console, username=f"officer_{c.lower()}{k}",
                                        password=PASSWORD, role=Role.NATIONAL_OFFICER,
                                        agency_id=agencies[c])
            users.append({"username": user.username, "role": "national_officer",
                          "agency_id": agencies[c], "country": c})
    ops = Operations(db)
    op = ops.create_operation(coordinator, name=OPERATION, title="Web load benchmark",
                              agency_ids=list(agencies.values()))
    timings["agencies, users, operation (use cases)"] = time.perf_counter() - start

    counts = dict(zip(COUNTRIES, _shares(total, len(COUNTRIES)), strict=True))
    shared = [f"user_hash:{rng.getrandbits(128):032x}" for _ in range(200)]
    key = Ed25519PrivateKey.generate()
    referrals: dict[str, int] = {}
    # The smallest referral the real way: signed package, verify, import_package.
    small = COUNTRIES[-1]
    suspects = make_suspects(small, counts[small], rng, shared)
    doc = _package(suspects, small)
    package = work / "package.json"
    package.write_bytes(canonical_bytes(doc))
    signature = work / "package.json.sig"
    signature.write_text(json.dumps(sign_document(doc, key)), encoding="utf-8")
    start = time.perf_counter()
    (ref,) = ops.import_package(coordinator, package, signature, key.public_key())
    timings[f"import_package, {counts[small]:,} leads"] = time.perf_counter() - start
    referrals[small] = ref.id
    start = time.perf_counter()
    bulk = 0
    for c in COUNTRIES[:-1]:
        suspects = make_suspects(c, counts[c], rng, shared)
        referrals[c] = bulk_import(db, coordinator, operation_id=op.id,
                                   agency_id=agencies[c], country=c, suspects=suspects,
                                   key=key)
        bulk += counts[c]
    timings[f"bulk_import, {bulk:,} leads"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.engine.connect() as conn:
        # What autovacuum does soon after an import: statistics and the visibility map.
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    timings["VACUUM ANALYZE"] = time.perf_counter() - start

    hot_leads = _hot_leads(db, referrals, hot)
    for u in users:
        u["referral_id"] = referrals.get(u["country"] or "")
        u["hot"] = hot_leads[u["country"]] if u["country"] else [
            lid for ids in hot_leads.values() for lid in ids]
    return Seeded(OPERATION, users, referrals, sum(counts.values()), timings)


def _user_id(db: Database, username: str) -> int:
    """A user's id (the seeding acts as the coordinator it created)."""
    with db.transaction() as s:
        return int(s.scalar(select(User.id).where(User.username == username)) or 0)


def _hot_leads(db: Database, referrals: dict[str, int], hot: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with db.transaction() as s:
        for c, rid in referrals.items():
            out[c] = list(s.scalars(select(Lead.id).where(Lead.referral_id == rid)
                                    .order_by(Lead.score.desc(), Lead.id).limit(hot)))
    return out
