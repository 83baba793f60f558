"""Use cases of the coordination server (docs/coord.md).

Each use case takes an :class:`Actor`, checks the permissions table and the actor's agency,
runs in one transaction and records its audit event in that same transaction. The web layer
maps the errors: NotFoundError 404, PermissionDeniedError 403, AuthenticationError 401,
ConflictError and TransitionError 409, InputError 422.
"""

from __future__ import annotations

from icarus.coord.accounts import Accounts, LoginPolicy
from icarus.coord.actor import AGENCY_ROLES, Actor, Role
from icarus.coord.audit import AuditLog, ChainReport, verify_chain
from icarus.coord.operations import Operations
from icarus.coord.outcomes import TRANSITIONS, Outcomes, OutcomeUpdate
from icarus.coord.permissions import PERMISSIONS, Permission, Scope
from icarus.coord.referrals import Referrals
from icarus.store.models import OutcomeState

__all__ = [
           "AGENCY_ROLES",
           "PERMISSIONS",
           "TRANSITIONS",
           "Accounts",
           "Actor",
           "AuditLog",
           "ChainReport",
           "LoginPolicy",
           "Operations",
           "OutcomeState",
           "OutcomeUpdate",
           "Outcomes",
           "Permission",
           "Referrals",
           "Role",
           "Scope",
           "verify_chain",
]
