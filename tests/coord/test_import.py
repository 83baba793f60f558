"""Importing signed packages into referrals, and deconfliction alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from icarus.coord import Operations, Referrals
from icarus.core.errors import ConflictError, InputError, NotFoundError, StateError
from icarus.store.models import LeadMarker
from tests.coord.world import World, suspect, write_package


def test_one_referral_per_agency_with_its_leads(world: World) -> None:
    coordinator = world.actors["coordinator"]
    refs = Referrals(world.db).list_referrals(coordinator)
    assert [(r.country, r.leads, r.signature_status) for r in refs] == [
        ("DE", 2, "valid"), ("FR", 2, "valid")]
    assert all(len(r.package_sha256) == 64 and r.package_id.startswith("op-test/")
               for r in refs)
    detail = Referrals(world.db).get_lead(coordinator, world.leads["FR"][0])
    assert detail.summary.subject_id == "fr-1" and detail.summary.score == 80
    assert detail.reasons == ("fr-1: shared 3 known files",)
    assert detail.evidence["timeline"][0]["ip"] == "192.0.2.1"
    assert detail.evidence_summary["sightings"] == 1
    assert detail.outcome.state == "received" and detail.outcome.version == 1


def test_alerts_show_only_the_fact_and_the_other_agencys_contact(world: World) -> None:
    officer = world.actors["officer_fr"]
    detail = Referrals(world.db).get_lead(officer, world.leads["FR"][0])
    (alert,) = detail.alerts
    assert (alert.other_agency, alert.other_country, alert.other_contact,
            alert.other_operation, alert.rules) == (
        "Agency DE", "DE", "desk@de.example", "op-test", ("shared identifier",))
    shown = json.dumps(alert.__dict__, default=str)
    assert "de-1" not in shown and "198.51.100" not in shown
    # No field names the other lead or its subject.
    assert set(alert.__dict__) == {"id", "lead_id", "other_agency", "other_country",
                                   "other_contact", "other_operation", "rules", "created_at"}
    assert alert.lead_id == world.leads["FR"][0]
    (other,) = Referrals(world.db).get_lead(world.actors["officer_de"],
                                            world.leads["DE"][0]).alerts
    assert other.other_agency == "Agency FR"
    # The lead without a shared marker has no alert.
    assert Referrals(world.db).get_lead(officer, world.leads["FR"][1]).alerts == ()


def test_markers_hold_digests_only(world: World) -> None:
    with world.db.transaction() as s:
        digests = s.scalars(select(LeadMarker.digest)).all()
    assert digests and all(len(d) == 64 for d in digests)
    assert not any("192.0.2" in d or "abab" in d for d in digests)


def _new_operation(world: World, name: str, country: str = "FR") -> None:
    Operations(world.db).create_operation(world.actors["coordinator"], name=name,
                                          agency_ids=[world.agency[country]])


@pytest.mark.parametrize("day,alerted", [(1, True), (2, True), (4, False)])
def test_an_earlier_operation_with_the_same_address_in_the_window(
        world: World, key: Ed25519PrivateKey, tmp_path: Path, day: int, alerted: bool) -> None:
    _new_operation(world, "op-later")
    pkg, sig = write_package(tmp_path, key, "FR", [
        suspect("later-1", "FR", ip="192.0.2.2", identifiers=[], day=day)], operation="op-later")
    (ref,) = Operations(world.db).import_package(world.actors["coordinator"], pkg, sig,
                                                 key.public_key())
    referrals = Referrals(world.db)
    (lead,) = referrals.list_leads(world.actors["officer_fr"], referral_id=ref.id).items
    alerts = referrals.get_lead(world.actors["officer_fr"], lead.id).alerts
    if alerted:
        assert [(a.other_operation, a.rules) for a in alerts] == [
            ("op-test", ("same address in an overlapping window",))]
        earlier = referrals.get_lead(world.actors["officer_fr"], world.leads["FR"][1]).alerts
        assert [a.other_operation for a in earlier] == ["op-later"]
    else:
        assert alerts == ()


def test_bad_packages_are_refused_whole(world: World, key: Ed25519PrivateKey,
                                        tmp_path: Path) -> None:
    ops, coordinator = Operations(world.db), world.actors["coordinator"]
    _new_operation(world, "op-bad")
    before = Referrals(world.db).count_leads(coordinator)
    pkg, sig = write_package(tmp_path / "a", key, "FR", [
        suspect("x-1", "FR", ip="192.0.2.9", identifiers=[])], operation="op-bad")
    pkg.write_bytes(pkg.read_bytes().replace(b'"score":50.0', b'"score":51.0'))
    with pytest.raises(InputError, match="bad signature") as err:
        ops.import_package(coordinator, pkg, sig, key.public_key())
    assert str(pkg) in str(err.value)
    other_key = Ed25519PrivateKey.generate()
    pkg, sig = write_package(tmp_path / "b", other_key, "FR", [
        suspect("x-1", "FR", ip="192.0.2.9", identifiers=[])], operation="op-bad")
    with pytest.raises(InputError, match="not with the given public key"):
        ops.import_package(coordinator, pkg, sig, key.public_key())
    pkg.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid UTF-8 JSON"):
        ops.import_package(coordinator, pkg, sig, key.public_key())
    assert Referrals(world.db).count_leads(coordinator) == before


def test_import_refusals(world: World, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    ops, coordinator = Operations(world.db), world.actors["coordinator"]
    one = [suspect("y-1", "NL", ip="192.0.2.77", identifiers=[])]
    pkg, sig = write_package(tmp_path / "nl", key, "NL", one)
    with pytest.raises(StateError, match="no agency of NL"):
        ops.import_package(coordinator, pkg, sig, key.public_key())
    pkg, sig = write_package(tmp_path / "none", key, "FR", [
        suspect("y-1", "FR", ip="192.0.2.77", identifiers=[])], operation="op-none")
    with pytest.raises(NotFoundError, match="create it first"):
        ops.import_package(coordinator, pkg, sig, key.public_key())
    pkg, sig = write_package(tmp_path / "again", key, "FR", [
        suspect("y-1", "FR", ip="192.0.2.77", identifiers=[])])
    with pytest.raises(ConflictError, match="already has its referral"):
        ops.import_package(coordinator, pkg, sig, key.public_key())
    with pytest.raises(ConflictError):
        ops.create_operation(coordinator, name="op-test", agency_ids=[])
    with pytest.raises(InputError):
        ops.create_operation(coordinator, name="bad name!", agency_ids=[])
    with pytest.raises(NotFoundError):
        ops.create_operation(coordinator, name="op-x", agency_ids=[999_999])


def test_lead_lists_page_and_sort(world: World) -> None:
    referrals, coordinator = Referrals(world.db), world.actors["coordinator"]
    by_score = referrals.list_leads(coordinator, sort="score", limit=3)
    assert [x.score for x in by_score.items] == [80, 70, 40] and by_score.total == 4
    rest = referrals.list_leads(coordinator, sort="score", offset=3, limit=3)
    assert [x.score for x in rest.items] == [30] and rest.total == 4
    assert [x.subject_id for x in referrals.list_leads(coordinator, sort="subject").items] == [
        "de-1", "de-2", "fr-1", "fr-2"]
    assert referrals.list_leads(coordinator, limit=10_000).limit == 500
    with pytest.raises(InputError, match="unknown sort"):
        referrals.list_leads(coordinator, sort="password")
