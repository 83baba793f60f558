"""A small coordination world: two countries' agencies, a user of every role, one operation,
and signed packages built here (synthetic suspects; no real data)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine

from icarus.coord import Accounts, Actor, Operations, Referrals, Role
from icarus.coord.views import ReferralView
from icarus.intel.packages import canonical_bytes, sign_document
from icarus.store.engine import Database

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"  # noqa: S105 - a test account
OPERATION = "op-test"


def suspect(subject_id: str, country: str, *, ip: str, identifiers: list[str],
            day: int = 1, rank: int = 1, score: float = 50.0) -> dict[str, Any]:
    """A package suspect seen once, on ``ip`` on day ``day`` of January 2026."""
    when = f"2026-01-{day:02d}T10:00:00.000000Z"
    return {
        "subject_id": subject_id, "rank": rank, "score": score,
        "components": {"volume": 0.5}, "reasons": [f"{subject_id}: shared 3 known files"],
        "jurisdiction": {"country": country, "asn_name": "Example ISP"},
        "first_seen": when, "last_seen": when, "identifiers": identifiers, "n_files": 3,
        "best_evidence": "browsed",
        "timeline": [{
            "observed_at": when, "ip": ip, "port": 4662, "network": "edonkey",
            "client": "eMule", "nickname": None, "identifiers": identifiers,
            "file_name": "synthetic.jpg", "file_size": 1000, "content": "md5:" + "0" * 32,
            "category": "1", "severity": 2, "match_set": "known", "sensor": "s1",
            "record_id": None, "evidence": "browsed",
            "source": {"sha256": hashlib.sha256(subject_id.encode()).hexdigest(), "line": 1},
        }],
    }


def write_package(folder: Path, key: Ed25519PrivateKey, country: str,
                  suspects: list[dict[str, Any]], operation: str = OPERATION,
                  ) -> tuple[Path, Path]:
    """A signed package of ``suspects``: (package.json, package.json.sig)."""
    doc = {
        "format": "icarus-package", "version": 1, "operation": operation, "country": country,
        "generated_at": "2026-02-01T00:00:00.000000Z", "producer": "tests",
        "analysis_time": None,
        "summary": {"suspects": len(suspects),
                    "sightings": sum(len(s["timeline"]) for s in suspects),
                    "files": 3, "categories": {"1": 3}, "networks": {"edonkey": 1},
                    "evidence": {"browsed": 1}, "top": [s["subject_id"] for s in suspects][:10]},
        "suspects": suspects,
    }
    folder.mkdir(parents=True, exist_ok=True)
    package = folder / "package.json"
    package.write_bytes(canonical_bytes(doc))
    signature = folder / "package.json.sig"
    signature.write_text(json.dumps(sign_document(doc, key)), encoding="utf-8")
    return package, signature


@dataclass
class World:
    """Agencies FR and DE in one operation; each referral has 2 leads, and subject
    ``shared`` is in both (same eMule user hash), so each side has one alert."""

    db: Database
    actors: dict[str, Actor]
    agency: dict[str, int]
    referrals: dict[str, ReferralView]
    leads: dict[str, list[int]]
    """Country -> lead ids of its referral."""

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.db, hasher=FAST_HASHER)


ROLE_USERS = {
    "admin": (Role.ADMINISTRATOR, None), "coordinator": (Role.COORDINATOR, None),
    "analyst": (Role.ANALYST, None), "auditor": (Role.AUDITOR, None),
    "officer_fr": (Role.NATIONAL_OFFICER, "FR"), "officer_de": (Role.NATIONAL_OFFICER, "DE"),
    "examiner_fr": (Role.FORENSIC_EXAMINER, "FR"), "examiner_de": (Role.FORENSIC_EXAMINER, "DE"),
}


def build_world(db: Database, key: Ed25519PrivateKey, folder: Path) -> World:
    """Create the agencies, users, operation and both referrals through the use cases."""
    accounts = Accounts(db, hasher=FAST_HASHER)
    console = Actor.console()
    agency = {c: accounts.create_agency(console, country=c, name=f"Agency {c}",
                                        contact=f"desk@{c.lower()}.example").id
              for c in ("FR", "DE")}
    actors = {}
    for name, (role, country) in ROLE_USERS.items():
        user = accounts.create_user(console, username=name, password=PASSWORD, role=role,
                                    agency_id=agency[country] if country else None)
        actors[name] = Actor(user.id, user.username, role, user.agency_id, "127.0.0.1")
    ops = Operations(db)
    ops.create_operation(actors["coordinator"], name=OPERATION, title="Test",
                         agency_ids=list(agency.values()))
    shared = "user_hash:" + "ab" * 16
    packages = {
        "FR": [suspect("fr-1", "FR", ip="192.0.2.1", identifiers=[shared], rank=1, score=80),
               suspect("fr-2", "FR", ip="192.0.2.2", identifiers=["guid:" + "01" * 16],
                       rank=2, score=40)],
        "DE": [suspect("de-1", "DE", ip="198.51.100.1", identifiers=[shared], rank=1,
                       score=70),
               suspect("de-2", "DE", ip="198.51.100.2", identifiers=["guid:" + "02" * 16],
                       rank=2, score=30)],
    }
    referrals = {}
    for country, suspects in packages.items():
        pkg, sig = write_package(folder / country, key, country, suspects)
        (ref,) = ops.import_package(actors["coordinator"], pkg, sig, key.public_key())
        referrals[country] = ref
    leads = {c: [x.id for x in Referrals(db).list_leads(
        actors["coordinator"], referral_id=r.id, sort="rank").items]
        for c, r in referrals.items()}
    return World(db, actors, agency, referrals, leads)


@pytest.fixture(scope="session")
def key() -> Ed25519PrivateKey:
    """The packages' signing key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def shared_world(migrated_engine: Engine, key: Ed25519PrivateKey,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The world, built once per module and backend in a transaction rolled back at the end
    (it holds the write lock meanwhile: the module's tests must all use it)."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        yield build_world(Database(connection), key, tmp_path_factory.mktemp("packages"))
        outer.rollback()


@pytest.fixture
def world(shared_world: World) -> Iterator[World]:
    """The world; whatever a test changes is rolled back (a savepoint) after it."""
    connection = shared_world.db.bind
    assert isinstance(connection, Connection)
    nested = connection.begin_nested()
    yield shared_world
    nested.rollback()


@pytest.fixture
def committed_world(committed_db: Database, key: Ed25519PrivateKey,
                    tmp_path: Path) -> Iterator[World]:
    """The world in a database whose transactions really commit."""
    yield build_world(committed_db, key, tmp_path / "packages")
