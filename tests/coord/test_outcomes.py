"""The outcome workflow: allowed and refused transitions, history, no lost update."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from icarus.coord import TRANSITIONS, Outcomes, OutcomeState, OutcomeUpdate, Referrals
from icarus.core.errors import ConflictError, InputError, TransitionError
from icarus.store.models import Outcome
from tests.coord.world import World

S = OutcomeState


def test_every_state_is_in_the_table_and_final_states_are_final() -> None:
    assert set(TRANSITIONS) == set(OutcomeState)
    assert all(S.RECEIVED not in targets for targets in TRANSITIONS.values())
    assert TRANSITIONS[S.CHARGED] == TRANSITIONS[S.NO_FURTHER_ACTION] == frozenset()


def test_the_road_to_an_arrest_is_recorded(world: World) -> None:
    officer, lead = world.actors["officer_fr"], world.leads["FR"][0]
    outcomes = Outcomes(world.db)
    steps = [(S.UNDER_INVESTIGATION, date(2026, 3, 1), 0), (S.IDENTIFIED, date(2026, 3, 5), 0),
             (S.SEARCHED, date(2026, 3, 9), 4), (S.ARRESTED, date(2026, 3, 9), 4)]
    for version, (state, when, exhibits) in enumerate(steps, start=1):
        view = outcomes.record(officer, lead, OutcomeUpdate(
            expected_version=version, state=state, occurred_on=when,
            notes=f"{state.value} noted", exhibits_seized=exhibits))
        assert (view.state, view.version) == (state.value, version + 1)
    detail = Referrals(world.db).get_lead(officer, lead)
    assert [(h.from_state, h.to_state) for h in detail.history] == [
        (None, "received"), ("received", "under_investigation"),
        ("under_investigation", "identified"), ("identified", "searched"),
        ("searched", "arrested")]
    assert detail.history[3].occurred_on == date(2026, 3, 9)
    assert detail.outcome.exhibits_seized == 4
    assert detail.summary.state == "arrested"


@pytest.mark.parametrize("start,target", [
    ([], S.ARRESTED), ([], S.IDENTIFIED), ([S.NO_FURTHER_ACTION], S.UNDER_INVESTIGATION),
    ([S.UNDER_INVESTIGATION], S.RECEIVED), ([S.UNDER_INVESTIGATION], S.SEARCHED)])
def test_illegal_transitions_are_refused(world: World, start: list[OutcomeState],
                                         target: OutcomeState) -> None:
    coordinator, lead = world.actors["coordinator"], world.leads["DE"][0]
    outcomes = Outcomes(world.db)
    for version, state in enumerate(start, start=1):
        outcomes.record(coordinator, lead, OutcomeUpdate(expected_version=version, state=state))
    current = start[-1].value if start else "received"
    with pytest.raises(TransitionError, match=f"from {current} to {target.value}"):
        outcomes.record(coordinator, lead,
                        OutcomeUpdate(expected_version=len(start) + 1, state=target))
    assert Referrals(world.db).get_lead(coordinator, lead).outcome.version == len(start) + 1


def test_notes_can_change_without_a_transition(world: World) -> None:
    outcomes = Outcomes(world.db)
    view = outcomes.record(world.actors["officer_fr"], world.leads["FR"][1],
                           OutcomeUpdate(expected_version=1, notes="called the ISP"))
    assert (view.state, view.notes, view.version) == ("received", "called the ISP", 2)
    with pytest.raises(InputError):
        outcomes.record(world.actors["officer_fr"], world.leads["FR"][1],
                        OutcomeUpdate(expected_version=2, exhibits_seized=-1))


def test_a_stale_version_is_a_conflict(world: World) -> None:
    lead, outcomes = world.leads["FR"][0], Outcomes(world.db)
    # Both users read version 1; the first to save wins, the second is told.
    outcomes.record(world.actors["officer_fr"], lead, OutcomeUpdate(
        expected_version=1, state=S.UNDER_INVESTIGATION, notes="first"))
    with pytest.raises(ConflictError, match="changed by someone else"):
        outcomes.record(world.actors["coordinator"], lead, OutcomeUpdate(
            expected_version=1, state=S.NO_FURTHER_ACTION, notes="second"))
    detail = Referrals(world.db).get_lead(world.actors["coordinator"], lead)
    assert (detail.outcome.notes, detail.outcome.version) == ("first", 2)


def test_concurrent_sessions_lose_no_update(committed_world: World) -> None:
    """Two sessions hold the same row at version 1: the second write fails although its
    own read was current when it was made (the UPDATE checks the version)."""
    db, lead = committed_world.db, committed_world.leads["FR"][0]
    if db.dialect == "sqlite":
        pytest.skip("SQLite serialises writing transactions (BEGIN IMMEDIATE): two cannot "
                    "interleave; the expected-version check covers it (test above)")
    with db.transaction() as first, db.transaction() as second:
        row1 = first.scalars(select(Outcome).where(Outcome.lead_id == lead)).one()
        row2 = second.scalars(select(Outcome).where(Outcome.lead_id == lead)).one()
        assert row1.version == row2.version == 1
        row1.notes = "first"
        first.commit()
        row2.notes = "second"
        with pytest.raises(Exception, match="expected to update 1 row"):
            second.flush()
        second.rollback()
    final = Referrals(db).get_lead(committed_world.actors["coordinator"], lead).outcome
    assert (final.notes, final.version) == ("first", 2)
