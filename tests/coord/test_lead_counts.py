"""Lead list totals: the count query joins only what the filters and the scope need, so it
must agree with the rows the list itself returns, for every filter and both scopes."""

from __future__ import annotations

import itertools

import pytest

from icarus.coord import Outcomes, OutcomeState, OutcomeUpdate, Referrals
from tests.coord.world import OPERATION, World

S = OutcomeState


@pytest.mark.parametrize("who", ["coordinator", "officer_fr", "examiner_de"])
def test_total_matches_the_listed_leads_for_every_filter(world: World, who: str) -> None:
    # One lead of each country moves on, so that the state filter splits the leads.
    coordinator = world.actors["coordinator"]
    for moved in ("FR", "DE"):
        Outcomes(world.db).record(coordinator, world.leads[moved][1], OutcomeUpdate(
            expected_version=1, state=S.UNDER_INVESTIGATION))
    referrals = Referrals(world.db)
    actor = world.actors[who]
    everything = {x.id: x for x in referrals.list_leads(coordinator, limit=500).items}
    operations = [None, OPERATION, "no-such-operation"]
    referral_ids = [None, world.referrals["FR"].id, world.referrals["DE"].id]
    states = [None, S.RECEIVED, S.UNDER_INVESTIGATION, S.ARRESTED]
    countries = [None, "FR", "DE", "US"]
    seen_totals = set()
    for operation, referral_id, state, country in itertools.product(
            operations, referral_ids, states, countries):
        page = referrals.list_leads(actor, operation=operation, referral_id=referral_id,
                                    state=state, country=country, limit=500)
        expected = [x for x in everything.values()
                    if (actor.agency_id is None or x.agency_id == actor.agency_id)
                    and (operation in (None, OPERATION))
                    and (referral_id is None or x.referral_id == referral_id)
                    and (state is None or x.state == state.value)
                    and (country is None or x.country == country)]
        assert page.total == len(page.items) == len(expected), (operation, referral_id,
                                                                 state, country)
        assert {x.id for x in page.items} == {x.id for x in expected}
        if operation is None and referral_id is None and country is None:
            assert referrals.count_leads(actor, state=state) == page.total
        seen_totals.add(page.total)
    assert {0, 1, 2} <= seen_totals  # the filters did split the leads
