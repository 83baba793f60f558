"""Reading referrals, leads and alerts, scoped to what the actor needs to know.

An agency-scoped actor asking for another agency's record gets the same
:class:`NotFoundError` as for an id that does not exist, and counts cover only what the
actor may see: nothing tells that other records exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import load_only

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, Scope, require
from icarus.coord.views import (
    AlertView,
    LeadDetail,
    LeadSummary,
    OutcomeChangeView,
    OutcomeView,
    Page,
    ReferralView,
)
from icarus.core.errors import InputError, NotFoundError
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

__all__ = ["MAX_PAGE", "Referrals", "lead_scope", "outcome_view"]

MAX_PAGE = 500
_Q = TypeVar("_Q", bound=Select[*tuple[Any, ...]])
_SORTS = {"score": (Lead.score.desc(), Lead.id), "rank": (Lead.rank, Lead.id),
          "subject": (Lead.subject_id, Lead.id), "id": (Lead.id,)}


def lead_scope(query: _Q, actor: Actor, scope: Scope) -> _Q:
    """``query`` (which joins ``Referral``) limited to the actor's agency when so scoped."""
    if scope is Scope.OWN_AGENCY:
        return query.where(Referral.agency_id == actor.agency_id)
    return query


def outcome_view(o: Outcome) -> OutcomeView:
    """The view of an outcome row."""
    return OutcomeView(o.lead_id, o.state, o.occurred_on, o.notes, o.exhibits_seized,
                       o.version, o.updated_at)


def _page_bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(0, offset), min(max(1, limit), MAX_PAGE)


class Referrals(UseCases):
    """Referrals, leads and their deconfliction alerts."""

    def list_referrals(self, actor: Actor, *, operation: str | None = None,
                       ) -> tuple[ReferralView, ...]:
        """The referrals the actor may see, with their lead counts."""
        with self._transaction(actor, "referral.list") as s:
            scope = require(actor, Permission.READ_LEADS)
            # Counted per visible referral (an index-only scan of its leads), not grouped
            # over every lead of the database.
            count = (select(func.count()).where(Lead.referral_id == Referral.id)
                     .correlate(Referral).scalar_subquery())
            query = (select(Referral, Operation.name, Agency.name, count)
                     .join(Operation, Operation.id == Referral.operation_id)
                     .join(Agency, Agency.id == Referral.agency_id)
                     .order_by(Operation.name, Referral.country, Agency.name))
            if operation is not None:
                query = query.where(Operation.name == operation)
            rows = s.execute(lead_scope(query, actor, scope)).all()
            self._audit(s, actor, "referral.list", details={"operation": operation,
                                                            "returned": len(rows)})
            return tuple(ReferralView(r.id, op, r.agency_id, agency, r.country, r.package_id,
                                      r.package_sha256, r.signature_status, r.signing_key_id,
                                      r.imported_at, n or 0) for r, op, agency, n in rows)

    def _lead_query(self, actor: Actor, scope: Scope, *, operation: str | None,
                    referral_id: int | None, state: OutcomeState | None,
                    country: str | None, count: bool = False) -> Select[*tuple[Any, ...]]:
        """The leads the actor may see with the filters; ``count``: only their number, with
        only the tables the filters and the scope need (every lead has one referral, one
        operation and one outcome, so the number is the same, and an index can count it)."""
        query: Select[*tuple[Any, ...]]
        if count:
            needs_referral = scope is Scope.OWN_AGENCY or operation is not None
            needs_lead = needs_referral or referral_id is not None or country is not None
            if state is not None:
                query = select(func.count()).select_from(Outcome)
                if needs_lead:
                    query = query.join(Lead, Lead.id == Outcome.lead_id)
            else:
                query = select(func.count()).select_from(Lead)
            if needs_referral:
                query = query.join(Referral, Referral.id == Lead.referral_id)
            if operation is not None:
                query = query.join(Operation, Operation.id == Referral.operation_id)
        else:
            query = (select(Lead, Referral.agency_id, Operation.name, Outcome.state,
                            Outcome.version)
                     .join(Referral, Referral.id == Lead.referral_id)
                     .join(Operation, Operation.id == Referral.operation_id)
                     .join(Outcome, Outcome.lead_id == Lead.id))
        if operation is not None:
            query = query.where(Operation.name == operation)
        if referral_id is not None:
            query = query.where(Lead.referral_id == referral_id)
        if state is not None:
            query = query.where(Outcome.state == state.value)
        if country is not None:
            query = query.where(Lead.country == country)
        return lead_scope(query, actor, scope)

    def list_leads(self, actor: Actor, *, operation: str | None = None,
                   referral_id: int | None = None, state: OutcomeState | None = None,
                   country: str | None = None, sort: str = "score", offset: int = 0,
                   limit: int = 50) -> Page[LeadSummary]:
        """A page of the leads the actor may see, filtered and sorted (``score``, ``rank``,
        ``subject`` or ``id``); ``total`` counts only those leads. Audited."""
        with self._transaction(actor, "lead.list") as s:
            scope = require(actor, Permission.READ_LEADS)
            if sort not in _SORTS:
                raise InputError(f"unknown sort {sort!r} (one of {', '.join(_SORTS)})")
            offset, limit = _page_bounds(offset, limit)
            total = s.scalar(self._lead_query(
                actor, scope, operation=operation, referral_id=referral_id, state=state,
                country=country, count=True)) or 0
            # The list shows none of the large columns (evidence, reasons): not loaded.
            query = self._lead_query(
                actor, scope, operation=operation, referral_id=referral_id, state=state,
                country=country).options(load_only(
                Lead.id, Lead.referral_id, Lead.subject_id, Lead.rank, Lead.score,
                Lead.country))
            rows = s.execute(query.order_by(*_SORTS[sort]).offset(offset).limit(limit)).all()
            alerts = self._alert_counts(s, [row[0].id for row in rows])
            items = tuple(LeadSummary(lead.id, lead.referral_id, agency, op, lead.subject_id,
                                      lead.rank, lead.score, lead.country, st, version,
                                      alerts.get(lead.id, 0))
                          for lead, agency, op, st, version in rows)
            self._audit(s, actor, "lead.list", "lead", None, {
                "filters": {"operation": operation, "referral_id": referral_id,
                            "state": state.value if state else None, "country": country},
                "offset": offset, "lead_ids": [x.id for x in items]})
            return Page(items, total, offset, limit)

    def count_leads(self, actor: Actor, *, operation: str | None = None,
                    state: OutcomeState | None = None) -> int:
        """How many leads the actor may see (with the filters)."""
        with self._transaction(actor, "lead.count") as s:
            scope = require(actor, Permission.READ_LEADS)
            return s.scalar(self._lead_query(actor, scope, operation=operation,
                                             referral_id=None, state=state, country=None,
                                             count=True)) or 0

    @staticmethod
    def _alert_counts(s: Session, lead_ids: list[int]) -> dict[int, int]:
        if not lead_ids:
            return {}
        rows = s.execute(select(DeconflictionAlert.lead_id, func.count())
                         .where(DeconflictionAlert.lead_id.in_(lead_ids))
                         .group_by(DeconflictionAlert.lead_id)).all()
        return {int(lid): int(n) for lid, n in rows}

    def get_lead(self, actor: Actor, lead_id: int) -> LeadDetail:
        """A lead in full: evidence, reasons, outcome and history, deconfliction alerts.
        Another agency's lead is "not found" for an agency-scoped actor. Audited."""
        with self._transaction(actor, "lead.read", "lead", lead_id) as s:
            scope = require(actor, Permission.READ_LEADS)
            row = s.execute(self._lead_query(actor, scope, operation=None, referral_id=None,
                                             state=None, country=None)
                            .where(Lead.id == lead_id)).first()
            if row is None:
                raise NotFoundError(f"lead {lead_id} not found")
            lead, agency, op, state, version = row
            outcome = s.scalars(select(Outcome).where(Outcome.lead_id == lead.id)).one()
            history = s.scalars(select(OutcomeChange).where(
                OutcomeChange.outcome_id == outcome.id).order_by(OutcomeChange.version)).all()
            alerts = self._alerts(s, lead.id)
            self._audit(s, actor, "lead.read", "lead", lead.id,
                        {"referral_id": lead.referral_id, "agency_id": agency})
            return LeadDetail(
                LeadSummary(lead.id, lead.referral_id, agency, op, lead.subject_id, lead.rank,
                            lead.score, lead.country, state, version, len(alerts)),
                dict(lead.components), tuple(lead.reasons), lead.asn_name, lead.first_seen,
                lead.last_seen, lead.n_files, lead.best_evidence, dict(lead.evidence_summary),
                dict(lead.evidence), outcome_view(outcome),
                tuple(OutcomeChangeView(h.version, h.from_state, h.to_state, h.occurred_on,
                                        h.notes, h.exhibits_seized, h.changed_at,
                                        h.changed_by) for h in history),
                alerts)

    @staticmethod
    def _alerts(s: Session, lead_id: int) -> tuple[AlertView, ...]:
        rows = s.execute(select(DeconflictionAlert, Agency, Operation.name)
                         .join(Agency, Agency.id == DeconflictionAlert.other_agency_id)
                         .join(Operation, Operation.id == DeconflictionAlert.other_operation_id)
                         .where(DeconflictionAlert.lead_id == lead_id)
                         .order_by(DeconflictionAlert.id)).all()
        return tuple(AlertView(a.id, a.lead_id, ag.name, ag.country, ag.contact, op,
                               tuple(a.rules), a.created_at) for a, ag, op in rows)

    def list_alerts(self, actor: Actor, *, operation: str | None = None,
                    ) -> tuple[AlertView, ...]:
        """The deconfliction alerts on the leads the actor may see. Audited."""
        with self._transaction(actor, "alert.list") as s:
            scope = require(actor, Permission.READ_LEADS)
            query = (select(DeconflictionAlert.lead_id)
                     .join(Lead, Lead.id == DeconflictionAlert.lead_id)
                     .join(Referral, Referral.id == Lead.referral_id)
                     .join(Operation, Operation.id == Referral.operation_id))
            if operation is not None:
                query = query.where(Operation.name == operation)
            lead_ids = sorted(set(s.scalars(lead_scope(query, actor, scope)).all()))
            out = tuple(a for lid in lead_ids for a in self._alerts(s, lid))
            self._audit(s, actor, "alert.list", details={"operation": operation,
                                                         "returned": len(out)})
            return out
