"""Reports: the outcome timeline and the data behind the exports (CSV, PDF).

The exports go through the same scoping as the lists: an agency-scoped actor exports only its
own agency's leads, and the dashboard's figures count only them. Every export is audited
(``export.dashboard``, ``export.leads`` with the lead ids written), as is the timeline.
Rendering (CSV, PDF) is the web tier's (``icarus.web.exports_render``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.dashboard import Dashboard, DashboardView
from icarus.coord.permissions import Permission, Scope, require
from icarus.coord.referrals import lead_scope
from icarus.core.errors import InputError
from icarus.store.engine import Session
from icarus.store.models import (
    Agency,
    DeconflictionAlert,
    Lead,
    Operation,
    Outcome,
    OutcomeChange,
    OutcomeState,
    Referral,
)

__all__ = ["MAX_EXPORT_ROWS", "TIMELINE_STATES", "LeadRow", "Reports", "WeekCounts"]

MAX_EXPORT_ROWS = 100_000
"""An export of more leads is refused: narrow the filters."""
S = OutcomeState
TIMELINE_STATES = (S.IDENTIFIED.value, S.SEARCHED.value, S.ARRESTED.value)
_SORTS = {"score": (Lead.score.desc(), Lead.id), "rank": (Lead.rank, Lead.id),
          "subject": (Lead.subject_id, Lead.id), "id": (Lead.id,)}


@dataclass(frozen=True)
class WeekCounts:
    """Leads that first reached each state in the ISO week starting ``week`` (a Monday),
    dated by the step's date (``occurred_on``), or the day it was recorded when it has
    none."""

    week: date
    identified: int
    searched: int
    arrested: int


@dataclass(frozen=True)
class LeadRow:
    """A lead as exports list it (no address, identifier or file name)."""

    id: int
    operation: str
    agency: str
    country: str
    subject_id: str
    rank: int
    score: float
    state: str
    occurred_on: date | None
    alerts: int
    first_seen: str
    last_seen: str


def monday(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


class Reports(UseCases):
    """The timeline and the exports, scoped like the lists."""

    @staticmethod
    def _leads(actor: Actor, scope: Scope, operation: str | None,
               ) -> Select[*tuple[Any, ...]]:
        query: Select[*tuple[Any, ...]] = (
            select(Lead.id).join(Referral, Referral.id == Lead.referral_id)
            .join(Operation, Operation.id == Referral.operation_id))
        if operation is not None:
            query = query.where(Operation.name == operation)
        return lead_scope(query, actor, scope)

    def _timeline(self, s: Session, actor: Actor, scope: Scope, operation: str | None,
                  ) -> tuple[WeekCounts, ...]:
        leads = self._leads(actor, scope, operation).subquery()
        rows = s.execute(
            select(leads.c.id, OutcomeChange.to_state, OutcomeChange.occurred_on,
                   OutcomeChange.changed_at)
            .join(Outcome, Outcome.lead_id == leads.c.id)
            .join(OutcomeChange, OutcomeChange.outcome_id == Outcome.id)
            .where(OutcomeChange.to_state.in_(TIMELINE_STATES))).all()
        first: dict[tuple[int, str], date] = {}
        for lead_id, state, occurred, changed in rows:
            day = occurred or changed.date()
            key = (int(lead_id), str(state))
            if key not in first or day < first[key]:
                first[key] = day
        weeks: dict[date, dict[str, int]] = {}
        for (_lead, state), day in first.items():
            counts = weeks.setdefault(monday(day), dict.fromkeys(TIMELINE_STATES, 0))
            counts[state] += 1
        if not weeks:
            return ()
        out = []
        week, last = min(weeks), max(weeks)
        while week <= last:  # every week, empty ones too: the chart's axis is time
            c = weeks.get(week, dict.fromkeys(TIMELINE_STATES, 0))
            out.append(WeekCounts(week, c[S.IDENTIFIED.value], c[S.SEARCHED.value],
                                  c[S.ARRESTED.value]))
            week += timedelta(days=7)
        return tuple(out)

    def timeline(self, actor: Actor, *, operation: str | None = None,
                 ) -> tuple[WeekCounts, ...]:
        """Per week, the leads the actor may see that first reached identified, searched and
        arrested. Audited ``dashboard.timeline``."""
        with self._transaction(actor, "dashboard.timeline") as s:
            scope = require(actor, Permission.READ_LEADS)
            out = self._timeline(s, actor, scope, operation)
            self._audit(s, actor, "dashboard.timeline", details={"operation": operation})
            return out

    def dashboard_export(self, actor: Actor, *, operation: str | None, fmt: str,
                         ) -> tuple[DashboardView, tuple[WeekCounts, ...]]:
        """The dashboard's figures and timeline for an export. Audited ``export.dashboard``
        (and ``dashboard.read`` by the dashboard's use case)."""
        view = Dashboard(self.db).summary(actor, operation=operation)
        with self._transaction(actor, "export.dashboard") as s:
            scope = require(actor, Permission.READ_LEADS)
            timeline = self._timeline(s, actor, scope, operation)
            self._audit(s, actor, "export.dashboard", details={
                "operation": operation, "format": fmt, "leads": view.leads})
            return view, timeline

    def leads_export(self, actor: Actor, *, fmt: str, operation: str | None = None,
                     referral_id: int | None = None, state: OutcomeState | None = None,
                     country: str | None = None, sort: str = "score",
                     ) -> tuple[LeadRow, ...]:
        """Every lead the actor may see with the list's filters and sort (at most
        :data:`MAX_EXPORT_ROWS`). Audited ``export.leads`` with the ids written."""
        with self._transaction(actor, "export.leads") as s:
            scope = require(actor, Permission.READ_LEADS)
            if sort not in _SORTS:
                raise InputError(f"unknown sort {sort!r} (one of {', '.join(_SORTS)})")
            alerts = (select(DeconflictionAlert.lead_id, func.count().label("n"))
                      .group_by(DeconflictionAlert.lead_id).subquery())
            query: Select[*tuple[Any, ...]] = (
                select(Lead.id, Lead.country, Lead.subject_id, Lead.rank, Lead.score,
                       Lead.first_seen, Lead.last_seen, Operation.name, Agency.name,
                       Outcome.state, Outcome.occurred_on, alerts.c.n)
                .join(Referral, Referral.id == Lead.referral_id)
                .join(Operation, Operation.id == Referral.operation_id)
                .join(Agency, Agency.id == Referral.agency_id)
                .join(Outcome, Outcome.lead_id == Lead.id)
                .outerjoin(alerts, alerts.c.lead_id == Lead.id))
            if operation is not None:
                query = query.where(Operation.name == operation)
            if referral_id is not None:
                query = query.where(Lead.referral_id == referral_id)
            if state is not None:
                query = query.where(Outcome.state == state.value)
            if country is not None:
                query = query.where(Lead.country == country)
            query = lead_scope(query, actor, scope)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            if total > MAX_EXPORT_ROWS:
                raise InputError(f"{total} leads: an export holds at most {MAX_EXPORT_ROWS}; "
                                 "narrow the filters")
            rows = tuple(
                LeadRow(lid, op, agency, c, sid, rank, score, st, occurred, int(n or 0),
                        first, last)
                for lid, c, sid, rank, score, first, last, op, agency, st, occurred, n
                in s.execute(
                    query.order_by(*_SORTS[sort])).all())
            self._audit(s, actor, "export.leads", "lead", None, {
                "format": fmt,
                "filters": {"operation": operation, "referral_id": referral_id,
                            "state": state.value if state else None, "country": country},
                "lead_ids": [r.id for r in rows]})
            return rows
