"""Who is acting: the value every use case takes first."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from icarus.store.models import Role

__all__ = ["AGENCY_ROLES", "Actor", "Role"]

AGENCY_ROLES = frozenset({Role.NATIONAL_OFFICER, Role.FORENSIC_EXAMINER})
"""Roles that act for one agency and need one."""


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated user (or the local console: ``user_id`` None), with the address the
    request came from (recorded in the audit log)."""

    user_id: int | None
    username: str
    role: Role
    agency_id: int | None
    remote_addr: str | None = None

    @classmethod
    def console(cls) -> Actor:
        """The person at this machine's console (``icarus users create``): whoever can open
        the database already holds every right, so this actor is an administrator."""
        try:
            login = getpass.getuser()
        except (OSError, KeyError):
            login = "unknown"
        return cls(user_id=None, username=f"console:{login}", role=Role.ADMINISTRATOR,
                   agency_id=None, remote_addr="local")
