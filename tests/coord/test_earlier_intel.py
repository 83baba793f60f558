"""Deconfliction against earlier-intelligence files imported into an operation, and
anonymiser endpoints left out of the address rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from icarus.coord import Accounts, Actor, Operations, Referrals
from icarus.coord.earlier_intel import EarlierIntelligence
from icarus.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from icarus.store.models import AuditEvent, EarlierMarker
from tests.coord.world import FAST_HASHER, World, suspect, write_package

VPN = "198.51.100.1"  # de-1's address, an anonymiser endpoint for these tests
EARLIER = "Operation Hypothetical 2025"


def vpn_only(ip: str) -> str | None:
    return "vpn" if ip == VPN else None


def subject(ref: str, *, guid: str | None = None, user_hash: str | None = None,
            addresses: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    idents = ([{"kind": "gnutella-guid", "value": guid}] if guid else []) + (
        [{"kind": "edonkey-user-hash", "value": user_hash}] if user_hash else [])
    return {"ref": ref, "country": "NL", "network": None, "identifiers": idents,
            "addresses": [{"ip": ip, "seen": seen} for ip, seen in addresses]}


def intel_file(path: Path, subjects: list[dict[str, Any]], name: str = EARLIER) -> Path:
    path.write_text(json.dumps({
        "format": "icarus-earlier-intel", "version": 1,
        "operation": {"name": name, "reference": "EO-2025-1", "date": "2026-01-20"},
        "subjects": subjects, "networks": []}), encoding="utf-8")
    return path


def _agency(world: World) -> str:
    Accounts(world.db, hasher=FAST_HASHER).create_agency(
        Actor.console(), country="NL", name="Agency NL", contact="desk@nl.example")
    return "Agency NL"


@pytest.fixture
def imported(world: World, tmp_path: Path) -> World:
    """op-test with an earlier-intel file: one subject per rule, and two that must not match."""
    agency = _agency(world)
    path = intel_file(tmp_path / "earlier.json", [
        subject("S1", guid="01" * 16),                                   # fr-2's GUID
        subject("S2", addresses=(("198.51.100.2", "2026-01-02T03:00:00Z"),)),  # de-2, in window
        subject("S3", addresses=(("192.0.2.1", "2026-01-05T10:00:00Z"),)),     # fr-1, too late
        subject("S4", addresses=((VPN, "2026-01-01T10:00:00Z"),)),             # VPN exit
    ])
    done = EarlierIntelligence(world.db, anonymiser=vpn_only).import_file(
        world.actors["coordinator"], "op-test", path, agency=agency)
    assert (done.earlier_operation, done.agency, done.subjects, done.alert_pairs) == (
        EARLIER, "Agency NL", 4, 2)
    assert done.markers == 3  # the VPN address is not kept
    return world


def test_matching_leads_get_an_alert_naming_the_earlier_operation(imported: World) -> None:
    world, referrals = imported, Referrals(imported.db)
    fr1, fr2 = world.leads["FR"]
    de1, de2 = world.leads["DE"]
    (alert,) = referrals.get_lead(world.actors["officer_fr"], fr2).alerts
    assert (alert.other_agency, alert.other_country, alert.other_contact,
            alert.other_operation, alert.rules) == (
        "Agency NL", "NL", "desk@nl.example", EARLIER,
        ("earlier intelligence", "shared identifier"))
    (alert,) = referrals.get_lead(world.actors["officer_de"], de2).alerts
    assert alert.rules == ("earlier intelligence", "same address in an overlapping window")
    # fr-1 and de-1 keep only the alert they had (each other): too late, and a VPN exit.
    assert [a.other_agency for a in referrals.get_lead(world.actors["officer_fr"], fr1).alerts
            ] == ["Agency DE"]
    assert [a.other_agency for a in referrals.get_lead(world.actors["officer_de"], de1).alerts
            ] == ["Agency FR"]
    # Need to know: each agency sees the alerts on its own leads; coordinators all of them.
    own = referrals.list_alerts(world.actors["officer_fr"])
    assert {a.lead_id for a in own} == {fr1, fr2}
    everything = referrals.list_alerts(world.actors["coordinator"])
    assert {a.lead_id for a in everything if a.other_operation == EARLIER} == {fr2, de2}
    with pytest.raises(NotFoundError):
        referrals.get_lead(world.actors["officer_de"], fr2)


def test_the_earlier_operation_is_named_but_not_listed(imported: World) -> None:
    ops = Operations(imported.db).list_operations(imported.actors["coordinator"])
    assert [o.name for o in ops] == ["op-test"]


def test_markers_are_digests_and_the_import_is_audited(imported: World) -> None:
    with imported.db.transaction() as s:
        digests = s.scalars(select(EarlierMarker.digest)).all()
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "earlier_intel.import")).one()
    assert digests and not any("0101" in d or "198.51" in d for d in digests)
    assert event.actor == "coordinator"
    assert '"deconfliction_pairs":2' in event.details


def test_a_package_imported_later_is_compared_too(imported: World, key: Ed25519PrivateKey,
                                                  tmp_path: Path) -> None:
    world = imported
    coordinator = world.actors["coordinator"]
    ops = Operations(world.db, anonymiser=vpn_only)
    ops.create_operation(coordinator, name="op-two", agency_ids=[world.agency["FR"]])
    path = intel_file(tmp_path / "two.json", [subject("T1", user_hash="cd" * 16),
                                              subject("T2", user_hash="ab" * 16)],
                      name="Operation Two Earlier")
    done = EarlierIntelligence(world.db, anonymiser=vpn_only).import_file(
        coordinator, "op-two", path, agency="Agency NL")
    assert done.alert_pairs == 0  # op-two has no leads yet; op-test's fr-1 is not compared
    pkg, sig = write_package(tmp_path / "pkg", key, "FR", [
        suspect("two-1", "FR", ip="192.0.2.200", identifiers=["user_hash:" + "cd" * 16])],
        operation="op-two")
    (ref,) = ops.import_package(coordinator, pkg, sig, key.public_key())
    referrals = Referrals(world.db)
    (lead,) = referrals.list_leads(world.actors["officer_fr"], referral_id=ref.id).items
    (alert,) = referrals.get_lead(world.actors["officer_fr"], lead.id).alerts
    assert (alert.other_operation, alert.rules) == (
        "Operation Two Earlier", ("earlier intelligence", "shared identifier"))
    fr1 = referrals.get_lead(coordinator, world.leads["FR"][0]).alerts
    assert "Operation Two Earlier" not in {a.other_operation for a in fr1}


def test_refusals(imported: World, tmp_path: Path) -> None:
    world = imported
    earlier = EarlierIntelligence(world.db, anonymiser=vpn_only)
    coordinator = world.actors["coordinator"]
    same = intel_file(tmp_path / "same.json", [
        subject("S1", guid="01" * 16),
        subject("S2", addresses=(("198.51.100.2", "2026-01-02T03:00:00Z"),)),
        subject("S3", addresses=(("192.0.2.1", "2026-01-05T10:00:00Z"),)),
        subject("S4", addresses=((VPN, "2026-01-01T10:00:00Z"),))])
    with pytest.raises(ConflictError, match="already imported"):
        earlier.import_file(coordinator, "op-test", same, agency="Agency NL")
    for who in ("officer_fr", "analyst", "admin"):
        with pytest.raises(PermissionDeniedError):
            earlier.import_file(world.actors[who], "op-test", same, agency="Agency NL")
    with pytest.raises(NotFoundError, match="op-none"):
        earlier.import_file(coordinator, "op-none", same, agency="Agency NL")
    with pytest.raises(NotFoundError, match="Agency XX"):
        earlier.import_file(coordinator, "op-test", same, agency="Agency XX")
    bad = tmp_path / "bad.json"
    bad.write_text(same.read_text().replace('"01010101', '"zz010101'), encoding="utf-8")
    with pytest.raises(InputError) as err:
        earlier.import_file(coordinator, "op-test", bad, agency="Agency NL")
    assert str(bad) in str(err.value) and "subjects[0].identifiers[0]" in str(err.value)
    itself = intel_file(tmp_path / "self.json", [], name="op-test")
    with pytest.raises(InputError, match="imported into"):
        earlier.import_file(coordinator, "op-test", itself, agency="Agency NL")


@pytest.mark.parametrize("anonymised", [True, False])
def test_a_shared_vpn_exit_raises_no_alert(world: World, key: Ed25519PrivateKey,
                                           tmp_path: Path, anonymised: bool) -> None:
    coordinator = world.actors["coordinator"]
    ops = Operations(world.db, anonymiser=(lambda ip: "vpn" if ip == "203.0.113.66" else None)
                     if anonymised else (lambda ip: None))
    ops.create_operation(coordinator, name="op-vpn", agency_ids=list(world.agency.values()))
    refs = {}
    for cc in ("FR", "DE"):
        pkg, sig = write_package(tmp_path / cc, key, cc, [
            suspect(f"vpn-{cc}", cc, ip="203.0.113.66", identifiers=[])], operation="op-vpn")
        (refs[cc],) = ops.import_package(coordinator, pkg, sig, key.public_key())
    referrals = Referrals(world.db)
    (lead,) = referrals.list_leads(coordinator, referral_id=refs["FR"].id).items
    alerts = referrals.get_lead(coordinator, lead.id).alerts
    assert [a.other_agency for a in alerts] == ([] if anonymised else ["Agency DE"])
