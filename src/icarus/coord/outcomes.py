"""The outcome workflow of a lead, with optimistic versioning.

Allowed transitions (docs/coord.md draws them)::

    received             -> under_investigation | no_further_action
    under_investigation  -> identified | not_located | no_further_action
    identified           -> searched | not_located | no_further_action
    searched             -> arrested | charged | no_further_action
    arrested             -> charged
    not_located          -> under_investigation      (the subject turned up again)
    charged, no_further_action: final
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, require
from icarus.coord.referrals import lead_scope, outcome_view
from icarus.coord.views import OutcomeView
from icarus.core.errors import ConflictError, InputError, NotFoundError, TransitionError
from icarus.store.base import utcnow
from icarus.store.models import Lead, Outcome, OutcomeChange, OutcomeState, Referral

__all__ = ["TRANSITIONS", "OutcomeUpdate", "Outcomes"]

S = OutcomeState
TRANSITIONS: dict[OutcomeState, frozenset[OutcomeState]] = {
    S.RECEIVED: frozenset({S.UNDER_INVESTIGATION, S.NO_FURTHER_ACTION}),
    S.UNDER_INVESTIGATION: frozenset({S.IDENTIFIED, S.NOT_LOCATED, S.NO_FURTHER_ACTION}),
    S.IDENTIFIED: frozenset({S.SEARCHED, S.NOT_LOCATED, S.NO_FURTHER_ACTION}),
    S.SEARCHED: frozenset({S.ARRESTED, S.CHARGED, S.NO_FURTHER_ACTION}),
    S.ARRESTED: frozenset({S.CHARGED}),
    S.NOT_LOCATED: frozenset({S.UNDER_INVESTIGATION}),
    S.CHARGED: frozenset(),
    S.NO_FURTHER_ACTION: frozenset(),
}
"""State -> the states it may move to."""


@dataclass(frozen=True)
class OutcomeUpdate:
    """What an agency reports. ``expected_version`` is the version it read; ``state`` None
    keeps the state (to correct notes, date or exhibits)."""

    expected_version: int
    state: OutcomeState | None = None
    occurred_on: date | None = None
    notes: str | None = None
    exhibits_seized: int | None = None


class Outcomes(UseCases):
    """Recording what became of a lead."""

    def record(self, actor: Actor, lead_id: int, update: OutcomeUpdate) -> OutcomeView:
        """Apply ``update`` to the lead's outcome. Raises :class:`ConflictError` when the
        outcome changed since ``expected_version`` was read (also when another transaction
        commits first, between our read and our write), :class:`TransitionError` for a move
        the workflow does not allow, :class:`NotFoundError` for a lead the actor may not see."""
        with self._transaction(actor, "outcome.update", "lead", lead_id) as s:
            scope = require(actor, Permission.RECORD_OUTCOMES)
            query = (select(Outcome).join(Lead, Lead.id == Outcome.lead_id)
                     .join(Referral, Referral.id == Lead.referral_id)
                     .where(Outcome.lead_id == lead_id))
            outcome = s.scalars(lead_scope(query, actor, scope)).one_or_none()
            if outcome is None:
                raise NotFoundError(f"lead {lead_id} not found")
            if outcome.version != update.expected_version:
                raise ConflictError(f"lead {lead_id}: the outcome was changed by someone else "
                                    f"(version {outcome.version}, you edited version "
                                    f"{update.expected_version}); reload and try again")
            current = OutcomeState(outcome.state)
            if update.state is not None and update.state is not current:
                if update.state not in TRANSITIONS[current]:
                    allowed = ", ".join(sorted(x.value for x in TRANSITIONS[current]))
                    raise TransitionError(f"lead {lead_id}: an outcome cannot go from "
                                          f"{current.value} to {update.state.value} "
                                          f"(allowed: {allowed or 'none, it is final'})")
                outcome.state = update.state.value
            if update.exhibits_seized is not None:
                if update.exhibits_seized < 0:
                    raise InputError("exhibits seized cannot be negative")
                outcome.exhibits_seized = update.exhibits_seized
            if update.notes is not None:
                outcome.notes = update.notes
            if update.occurred_on is not None:
                outcome.occurred_on = update.occurred_on
            outcome.updated_at, outcome.updated_by = utcnow(), actor.user_id
            try:
                s.flush()  # UPDATE ... WHERE version = <read>: 0 rows if someone was first
            except StaleDataError:
                raise ConflictError(f"lead {lead_id}: the outcome was changed by someone "
                                    "else meanwhile; reload and try again") from None
            s.add(OutcomeChange(outcome_id=outcome.id, version=outcome.version,
                                from_state=current.value, to_state=outcome.state,
                                occurred_on=outcome.occurred_on, notes=outcome.notes,
                                exhibits_seized=outcome.exhibits_seized,
                                changed_by=actor.user_id))
            self._audit(s, actor, "outcome.update", "lead", lead_id,
                        {"from": current.value, "to": outcome.state,
                         "version": outcome.version})
            return outcome_view(outcome)
