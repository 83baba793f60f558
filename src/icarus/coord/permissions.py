"""The permissions table: what each role may do, and over which agencies (docs/coord.md)."""

from __future__ import annotations

from enum import Enum

from icarus.coord.actor import Actor, Role
from icarus.core.errors import PermissionDeniedError

__all__ = ["PERMISSIONS", "Permission", "Scope", "require"]


class Permission(Enum):
    """An action class of the use cases."""

    MANAGE_ACCOUNTS = "manage agencies and users"
    MANAGE_OPERATIONS = "create operations and import packages"
    READ_OPERATIONS = "list operations"
    READ_LEADS = "read referrals, leads and deconfliction alerts"
    RECORD_OUTCOMES = "record outcomes"
    READ_AUDIT = "read and verify the audit log"


class Scope(Enum):
    """Over which records a permission holds."""

    ALL = "all agencies"
    OWN_AGENCY = "own agency only"


_A, _O = Scope.ALL, Scope.OWN_AGENCY
PERMISSIONS: dict[Role, dict[Permission, Scope]] = {
    Role.ADMINISTRATOR: {Permission.MANAGE_ACCOUNTS: _A, Permission.READ_OPERATIONS: _A},
    Role.COORDINATOR: {Permission.MANAGE_OPERATIONS: _A, Permission.READ_OPERATIONS: _A,
                       Permission.READ_LEADS: _A, Permission.RECORD_OUTCOMES: _A},
    Role.NATIONAL_OFFICER: {Permission.READ_OPERATIONS: _O, Permission.READ_LEADS: _O,
                            Permission.RECORD_OUTCOMES: _O},
    Role.ANALYST: {Permission.READ_OPERATIONS: _A, Permission.READ_LEADS: _A},
    Role.FORENSIC_EXAMINER: {Permission.READ_OPERATIONS: _O, Permission.READ_LEADS: _O},
    Role.AUDITOR: {Permission.READ_AUDIT: _A},
}
"""Role -> permission -> scope. A permission not listed is denied."""


def require(actor: Actor, permission: Permission) -> Scope:
    """The scope in which ``actor`` holds ``permission``; raises
    :class:`PermissionDeniedError` when the role does not hold it, or when an agency-scoped
    permission is held by a user without an agency."""
    scope = PERMISSIONS[actor.role].get(permission)
    if scope is None or (scope is Scope.OWN_AGENCY and actor.agency_id is None):
        raise PermissionDeniedError(f"the role {actor.role.value} may not "
                                    f"{permission.value}")
    return scope
