"""The operation dashboard: counts of leads and outcomes, scoped to what the actor may see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, require
from icarus.coord.referrals import lead_scope
from icarus.store.models import Lead, Operation, Outcome, OutcomeChange, OutcomeState, Referral

__all__ = ["FUNNEL", "CountryCounts", "Dashboard", "DashboardView"]

S = OutcomeState
FUNNEL = (S.RECEIVED, S.UNDER_INVESTIGATION, S.IDENTIFIED, S.SEARCHED, S.ARRESTED,
          S.CHARGED, S.NOT_LOCATED, S.NO_FURTHER_ACTION)
"""The states in workflow order, as the funnel lists them."""
_IDENTIFIED = {S.IDENTIFIED.value, S.SEARCHED.value, S.ARRESTED.value, S.CHARGED.value}


@dataclass(frozen=True)
class CountryCounts:
    """One country's leads, identified and arrested subjects."""

    country: str
    leads: int
    identified: int
    arrested: int


@dataclass(frozen=True)
class DashboardView:
    """Counts over the leads the actor may see. ``reached`` counts leads that were ever in a
    state (from the outcome history), ``current`` those in it now."""

    operation: str | None
    leads: int
    identified: int
    arrested: int
    countries_with_arrests: tuple[str, ...]
    reached: dict[str, int]
    current: dict[str, int]
    countries: tuple[CountryCounts, ...]


class Dashboard(UseCases):
    """Aggregates for coordinators (everything) and agencies (their own leads)."""

    def summary(self, actor: Actor, *, operation: str | None = None) -> DashboardView:
        """The dashboard's counts. Identified: the lead reached identified, searched, arrested
        or charged; arrested: it reached arrested."""
        with self._transaction(actor, "dashboard.read") as s:
            scope = require(actor, Permission.READ_LEADS)
            base = (select(Lead.country, Lead.id)
                    .join(Referral, Referral.id == Lead.referral_id)
                    .join(Operation, Operation.id == Referral.operation_id))
            if operation is not None:
                base = base.where(Operation.name == operation)
            base = lead_scope(base, actor, scope)
            leads = base.subquery()
            history = s.execute(
                select(leads.c.country, OutcomeChange.to_state,
                       func.count(func.distinct(leads.c.id)))
                .join(Outcome, Outcome.lead_id == leads.c.id)
                .join(OutcomeChange, OutcomeChange.outcome_id == Outcome.id)
                .group_by(leads.c.country, OutcomeChange.to_state)).all()
            identified_rows = s.execute(
                select(leads.c.country, func.count(func.distinct(leads.c.id)))
                .join(Outcome, Outcome.lead_id == leads.c.id)
                .join(OutcomeChange, OutcomeChange.outcome_id == Outcome.id)
                .where(OutcomeChange.to_state.in_(sorted(_IDENTIFIED)))
                .group_by(leads.c.country)).all()
            current = s.execute(
                select(leads.c.country, Outcome.state, func.count())
                .join(Outcome, Outcome.lead_id == leads.c.id)
                .group_by(leads.c.country, Outcome.state)).all()
            self._audit(s, actor, "dashboard.read", details={"operation": operation})
        reached: dict[str, int] = defaultdict(int)
        arrested: dict[str, int] = defaultdict(int)
        for country, state, n in history:
            reached[state] += n
            if state == S.ARRESTED.value:
                arrested[country] += n
        now: dict[str, int] = defaultdict(int)
        per_country: dict[str, int] = defaultdict(int)
        for country, state, n in current:
            now[state] += n
            per_country[country] += n
        identified = {c: int(n) for c, n in identified_rows}
        countries = tuple(CountryCounts(c, per_country[c], identified.get(c, 0),
                                        arrested.get(c, 0)) for c in sorted(per_country))
        return DashboardView(
            operation, sum(per_country.values()), sum(identified.values()),
            sum(arrested.values()), tuple(c for c in sorted(arrested) if arrested[c]),
            {st.value: reached.get(st.value, 0) for st in FUNNEL},
            {st.value: now.get(st.value, 0) for st in FUNNEL}, countries)
