"""``icarus networks import-earlier-intel`` and ``icarus db purge-sessions`` on SQLite and
PostgreSQL: exit codes and messages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from icarus.cli.main import main
from icarus.coord import Accounts, Actor, Operations, Role
from icarus.store.engine import Database, make_engine
from tests.coord.test_cli import home
from tests.coord.test_earlier_intel import intel_file, subject
from tests.coord.world import FAST_HASHER

__all__ = ["home"]


def test_import_earlier_intel_and_purge_sessions(home: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(home)
    db = Database(engine)
    console = Actor.console()
    agency = Accounts(db, hasher=FAST_HASHER).create_agency(
        console, country="NL", name="Agency NL", contact="desk@nl.example")
    Operations(db).create_operation(replace(console, role=Role.COORDINATOR), name="op-cli",
                                    agency_ids=[agency.id])
    engine.dispose()
    path = intel_file(tmp_path / "earlier.json", [subject("S1", guid="01" * 16)])
    args = ["networks", "import-earlier-intel", "--operation", "op-cli", "--agency",
            "Agency NL", str(path)]
    capsys.readouterr()
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "earlier operation Operation Hypothetical 2025" in out and "1 subjects" in out
    assert main(args) == 3  # the same file again
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main([*args[:-1], str(bad)]) == 3
    assert main([*args[:3], "op-none", *args[4:]]) == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "already imported" in err and str(bad) in err and "op-none" in err
    assert "Traceback" not in err
    assert main(["db", "purge-sessions"]) == 0
    assert "purged 0 sessions and 0 login-throttle rows" in " ".join(
        capsys.readouterr().out.split())
    assert main(["audit", "verify"]) == 0
