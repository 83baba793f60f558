"""The authorisation matrix: every role, own agency and other agency, every use case.

Agency-scoped roles (national officer, forensic examiner) belong to FR here; "other" is DE.
Denied means: PermissionDeniedError for a role without the permission, and for another
agency's record exactly what a nonexistent id gives; lists and counts never include, or
count, what the actor may not see.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from icarus.coord import AuditLog, Operations, Outcomes, OutcomeState, OutcomeUpdate, Referrals
from icarus.core.errors import NotFoundError, PermissionDeniedError
from tests.coord.world import World, suspect, write_package

ROLES = ["admin", "coordinator", "analyst", "auditor", "officer_fr", "examiner_fr"]
READ_ALL = {"coordinator", "analyst"}
READ_OWN = {"officer_fr", "examiner_fr"}
WRITE_ALL = {"coordinator"}
WRITE_OWN = {"officer_fr"}
MISSING = 987_654


def _same_as_missing(exc: BaseException, real_id: int) -> bool:
    return re.sub(r"\d+", "N", str(exc)) == re.sub(r"\d+", "N", f"lead {MISSING} not found") \
        and str(real_id) in str(exc)


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("target", ["FR", "DE"])
def test_get_lead(world: World, who: str, target: str) -> None:
    actor, lead = world.actors[who], world.leads[target][0]
    referrals = Referrals(world.db)
    if who in READ_ALL or (who in READ_OWN and target == "FR"):
        detail = referrals.get_lead(actor, lead)
        assert detail.summary.id == lead and detail.summary.country == target
        assert detail.evidence["timeline"][0]["ip"]
        return
    expected = PermissionDeniedError if who not in READ_OWN else NotFoundError
    with pytest.raises(expected) as err:
        referrals.get_lead(actor, lead)
    if expected is NotFoundError:
        assert _same_as_missing(err.value, lead)
        with pytest.raises(NotFoundError) as missing:
            referrals.get_lead(actor, MISSING)
        assert type(missing.value) is type(err.value)
    assert target.lower() + "-" not in str(err.value)  # no subject id, no agency name


@pytest.mark.parametrize("who", ROLES)
def test_lists_and_counts(world: World, who: str) -> None:
    actor, referrals = world.actors[who], Referrals(world.db)
    if who not in READ_ALL | READ_OWN:
        for call in (lambda: referrals.list_leads(actor), lambda: referrals.count_leads(actor),
                     lambda: referrals.list_referrals(actor),
                     lambda: referrals.list_alerts(actor)):
            with pytest.raises(PermissionDeniedError):
                call()
        return
    visible = set(world.leads["FR"]) | (set(world.leads["DE"]) if who in READ_ALL else set())
    page = referrals.list_leads(actor, limit=100)
    assert {x.id for x in page.items} == visible
    assert page.total == len(visible) == referrals.count_leads(actor)
    # Filters naming the other agency's data find nothing, and count nothing.
    other = referrals.list_leads(actor, referral_id=world.referrals["DE"].id)
    by_country = referrals.list_leads(actor, country="DE")
    if who in READ_OWN:
        assert other.total == by_country.total == 0 and not other.items
        assert referrals.count_leads(actor, state=OutcomeState.RECEIVED) == 2
    else:
        assert other.total == by_country.total == 2
    refs = referrals.list_referrals(actor)
    assert {r.country for r in refs} == ({"FR", "DE"} if who in READ_ALL else {"FR"})
    alerts = referrals.list_alerts(actor)
    assert {a.lead_id for a in alerts} <= visible
    assert len(alerts) == (2 if who in READ_ALL else 1)


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("target", ["FR", "DE"])
def test_record_outcome(world: World, who: str, target: str) -> None:
    actor, lead = world.actors[who], world.leads[target][1]
    outcomes = Outcomes(world.db)
    update = OutcomeUpdate(expected_version=1, state=OutcomeState.UNDER_INVESTIGATION,
                           occurred_on=date(2026, 3, 2), notes="opened")
    if who in WRITE_ALL or (who in WRITE_OWN and target == "FR"):
        assert outcomes.record(actor, lead, update).state == "under_investigation"
        return
    expected = NotFoundError if who in WRITE_OWN else PermissionDeniedError
    with pytest.raises(expected) as err:
        outcomes.record(actor, lead, update)
    if expected is NotFoundError:
        assert _same_as_missing(err.value, lead)
    # Nothing changed.
    detail = Referrals(world.db).get_lead(world.actors["coordinator"], lead)
    assert (detail.outcome.state, detail.outcome.version) == ("received", 1)


@pytest.mark.parametrize("who", ROLES)
def test_audit_log_is_for_auditors_only(world: World, who: str) -> None:
    log = AuditLog(world.db)
    if who == "auditor":
        page = log.list_events(world.actors[who], limit=5)
        assert page.total > 5 and len(page.items) == 5
        assert page.items[0].seq > page.items[-1].seq
        assert log.verify(world.actors[who]).events == page.total + 2
        return
    with pytest.raises(PermissionDeniedError):
        log.list_events(world.actors[who])
    with pytest.raises(PermissionDeniedError):
        log.verify(world.actors[who])


@pytest.mark.parametrize("who", ROLES)
def test_operations(world: World, who: str) -> None:
    ops, actor = Operations(world.db), world.actors[who]
    if who == "auditor":
        with pytest.raises(PermissionDeniedError):
            ops.list_operations(actor)
    else:
        assert [o.name for o in ops.list_operations(actor)] == ["op-test"]
    if who == "coordinator":
        op = ops.create_operation(actor, name="op-2", agency_ids=[world.agency["DE"]])
        assert op.agency_ids == (world.agency["DE"],)
        assert [o.name for o in ops.list_operations(world.actors["officer_fr"])] == ["op-test"]
    else:
        with pytest.raises(PermissionDeniedError):
            ops.create_operation(actor, name="op-2", agency_ids=[world.agency["DE"]])


@pytest.mark.parametrize("who", [r for r in ROLES if r != "coordinator"])
def test_only_coordinators_import_packages(world: World, who: str, key: Ed25519PrivateKey,
                                           tmp_path: Path) -> None:
    Operations(world.db).create_operation(world.actors["coordinator"], name="op-3",
                                          agency_ids=[world.agency["FR"]])
    pkg, sig = write_package(tmp_path, key, "FR", [suspect("x", "FR", ip="192.0.2.50",
                                                           identifiers=[])], operation="op-3")
    with pytest.raises(PermissionDeniedError):
        Operations(world.db).import_package(world.actors[who], pkg, sig, key.public_key())


def test_denials_are_audited(world: World) -> None:
    with pytest.raises(NotFoundError):
        Referrals(world.db).get_lead(world.actors["officer_fr"], world.leads["DE"][0])
    log = AuditLog(world.db)
    denied = log.list_events(world.actors["auditor"], limit=1).items[0]
    assert (denied.action, denied.actor, denied.object_id) == (
        "access.denied", "officer_fr", str(world.leads["DE"][0]))
    assert denied.details == {"attempted": "lead.read", "reason": "NotFoundError"}
    # The auditor's read was recorded after the page was taken.
    assert log.list_events(world.actors["auditor"], limit=1).items[0].action == "audit.read"
