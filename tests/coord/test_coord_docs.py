"""docs/coord.md states the permissions and the outcome workflow the code enforces."""

from __future__ import annotations

from pathlib import Path

from icarus.coord import PERMISSIONS, TRANSITIONS, OutcomeState, Permission, Role, Scope

DOC = Path(__file__).resolve().parents[2] / "docs" / "coord.md"
ROLE_COLUMNS = [Role.ADMINISTRATOR, Role.COORDINATOR, Role.NATIONAL_OFFICER, Role.ANALYST,
                Role.FORENSIC_EXAMINER, Role.AUDITOR]
PERMISSION_ROWS = {
    "manage agencies and users": Permission.MANAGE_ACCOUNTS,
    "create operations, import packages": Permission.MANAGE_OPERATIONS,
    "list operations": Permission.READ_OPERATIONS,
    "read referrals, leads, alerts (list, count, get)": Permission.READ_LEADS,
    "record outcomes": Permission.RECORD_OUTCOMES,
    "read and verify the audit log": Permission.READ_AUDIT,
}


def _rows(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_permissions_table_matches_the_code() -> None:
    rows = {r[0]: r[1:] for r in _rows(DOC.read_text("utf-8"), "| permission | administrator")}
    assert set(PERMISSION_ROWS) <= set(rows)
    words = {Scope.ALL: "all", Scope.OWN_AGENCY: "own", None: "–"}
    for label, permission in PERMISSION_ROWS.items():
        expected = [words[PERMISSIONS[role].get(permission)] for role in ROLE_COLUMNS]
        assert rows[label] == expected, label
    assert {p for role in PERMISSIONS.values() for p in role} == set(Permission)


def test_transition_table_matches_the_code() -> None:
    rows = _rows(DOC.read_text("utf-8"), "| from | allowed to |")
    documented: dict[OutcomeState, frozenset[OutcomeState]] = {}
    for sources, targets in rows:
        allowed = frozenset() if targets.startswith("—") else frozenset(
            OutcomeState(t.split(" (")[0].strip()) for t in targets.split(","))
        for source in sources.split(","):
            documented[OutcomeState(source.strip())] = allowed
    assert documented == TRANSITIONS
