"""Deconfliction: several countries, and matches with earlier operations' subjects."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus.intel.deconflict import DeconflictConfig, deconflict
from icarus.intel.geo import AnonymiserList, Locator
from icarus.intel.intel_file import (
    Address,
    EarlierIntel,
    EarlierSubject,
    Identifier,
    Operation,
    read_earlier_intel,
)
from icarus.intel.resolve import resolve_subjects
from icarus.sensors.schema import SIGHTINGS
from tests.intel.world_sightings import world_sightings

T0 = datetime(2024, 4, 1, 12, tzinfo=UTC)
HASH = bytes.fromhex("5d2f1a0c9b0e4a3f8e2d1c0b6f8e6f9d")


class FakeDatabase:
    name = "test"
    table: ClassVar[dict[str, tuple[str, str]]] = {
        "1.0.0.1": ("DE", "Home ISP"), "2.0.0.1": ("FR", "Home ISP"),
        "3.0.0.1": ("NL", "Some VPN"), "4.0.0.1": ("DE", "Home ISP")}

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        return self.table.get(ip, (None, None))


LOCATOR = Locator(FakeDatabase(), AnonymiserList({"some vpn": "vpn"}))


def _table(rows: list[tuple[str, str, str, bytes | None]]) -> tuple[pa.Table, pa.Table]:
    """(subject, ip, network, user_hash) rows, one hour apart."""
    out, assigned = [], []
    for k, (subject, ip, network, user_hash) in enumerate(rows):
        sid = bytes([k]) + bytes(15)
        out.append({f.name: None for f in SIGHTINGS} | {
            "sighting_id": sid, "observed_at": T0 + timedelta(hours=k), "network": network,
            "ip": ip, "user_hash": user_hash})
        assigned.append({"sighting_id": sid, "subject_id": subject})
    return pa.Table.from_pylist(out, schema=SIGHTINGS
                                ).select(["sighting_id", "observed_at", "network", "ip",
                                          "user_hash", "guid"]), pa.Table.from_pylist(assigned)


def _earlier() -> EarlierIntel:
    return EarlierIntel(Operation("Op", date(2024, 4, 5), "EO-1"), (
        EarlierSubject("E1", "DK", None, (Identifier("edonkey-user-hash", HASH),), ()),
        EarlierSubject("E2", "DE", None, (), (Address("4.0.0.1", T0 - timedelta(hours=3)),)),
        EarlierSubject("E3", "NL", None, (), (Address("3.0.0.1", T0),)),
    ), ())


def test_several_countries_but_not_through_a_vpn() -> None:
    sightings, assigned = _table([("a", "1.0.0.1", "edonkey", None),
                                  ("a", "2.0.0.1", "edonkey", None),
                                  ("a", "1.0.0.1", "edonkey", None),
                                  ("b", "1.0.0.1", "edonkey", None),
                                  ("b", "3.0.0.1", "edonkey", None)])
    rows = deconflict(sightings, assigned, locator=LOCATOR).to_pylist()
    assert [(r["subject_id"], r["reason"], r["countries"]) for r in rows] == [
        ("a", "several-countries", ["DE", "FR"])]
    assert rows[0]["detail"] == "DE 2, FR 1 sightings"


def test_earlier_subject_by_user_hash_and_by_address_in_window() -> None:
    sightings, assigned = _table([("a", "1.0.0.1", "edonkey", HASH),  # same user hash
                                  ("b", "1.0.0.1", "gnutella", HASH),  # a GUID is no user hash
                                  ("c", "4.0.0.1", "edonkey", None),  # 5 h after E2 was there
                                  ("d", "3.0.0.1", "edonkey", None)])  # VPN: never matches
    rows = deconflict(sightings, assigned, earlier=_earlier(), locator=LOCATOR).to_pylist()
    assert [(r["subject_id"], r["earlier_ref"]) for r in rows] == [("a", "E1"), ("c", "E2")]
    assert rows[0]["detail"] == f"user-hash {HASH.hex()}"
    assert rows[1]["earlier_operation"] == "EO-1" and rows[1]["reason"] == "earlier-subject"
    short = deconflict(sightings, assigned, earlier=_earlier(), locator=LOCATOR,
                       cfg=DeconflictConfig(ip_window_s=3600))
    assert short["subject_id"].to_pylist() == ["a"]


def test_the_worlds_earlier_intel_persons_are_found(tiny_world: Path) -> None:
    sightings = world_sightings(tiny_world)
    assignments = resolve_subjects(sightings).assignments
    earlier = read_earlier_intel(tiny_world / "hashsets" / "earlier-intel.json")
    rows = deconflict(sightings, assignments, earlier=earlier)
    truth = pq.read_table(tiny_world / "truth" / "sightings_truth.parquet")
    person = dict(zip(zip(truth["sensor"].to_pylist(), truth["record_id"].to_pylist(),
                          strict=True), truth["person_id"].to_pylist(), strict=True))
    votes: dict[str, Counter[int]] = {}
    for a in assignments.to_pylist():
        who = person.get((a["sensor"], a["record_id"]))  # sensor noise has no person
        if who is not None:
            votes.setdefault(a["subject_id"], Counter())[who] += 1
    persons = pq.read_table(tiny_world / "truth" / "persons.parquet")
    named = {p for p, flag in zip(persons["person_id"].to_pylist(),
                                  persons["in_earlier_intel"].to_pylist(), strict=True) if flag}
    matched = rows.filter(pc.equal(rows["reason"], "earlier-subject"))
    found = {votes[s].most_common(1)[0][0] for s in matched["subject_id"].to_pylist()
             if s in votes}
    print(f"earlier-intel persons found: {len(found & named)} of {len(named)}; "
          f"others flagged: {len(found - named)}")
    assert found and found <= named  # every match is a person the earlier operation named
