"""``icarus db``, ``icarus users`` and ``icarus audit`` on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from icarus.cli.main import main
from icarus.coord import Accounts, Role
from icarus.store.engine import Database, make_engine
from tests.coord.world import FAST_HASHER, PASSWORD
from tests.store.databases import fresh_database


@pytest.fixture
def home(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A workspace whose database is a fresh one of ``backend`` (its URL)."""
    monkeypatch.setenv("ICARUS_HOME", str(tmp_path / "home"))
    with fresh_database(backend, tmp_path) as url:
        if backend == "sqlite":
            monkeypatch.delenv("ICARUS_DATABASE_URL", raising=False)
            url = f"sqlite:///{tmp_path / 'home' / 'coord.sqlite'}"
        else:
            monkeypatch.setenv("ICARUS_DATABASE_URL", url)
        yield url


def _create(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = PASSWORD) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["users", "create", *args, "--password-stdin"])


def test_commands_refuse_an_unmigrated_database(home: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "status"]) == 0
    assert "none (empty)" in capsys.readouterr().out
    assert _create(monkeypatch, "--username", "root", "--role", "administrator") == 3
    assert main(["audit", "verify"]) == 3
    assert capsys.readouterr().err.count("run `icarus db upgrade`") == 2


def test_first_administrator_and_audit_verify(home: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "(was empty)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert _create(monkeypatch, "--username", "root", "--role", "administrator") == 0
    assert "created user root" in capsys.readouterr().out
    engine = make_engine(home)
    db = Database(engine)
    assert Accounts(db, hasher=FAST_HASHER).authenticate("root", PASSWORD).role is \
        Role.ADMINISTRATOR
    # Refusals: taken name, missing agency, unknown agency, short password, no stdin.
    assert _create(monkeypatch, "--username", "root", "--role", "analyst") == 3
    assert _create(monkeypatch, "--username", "o1", "--role", "national_officer") == 3
    assert _create(monkeypatch, "--username", "o1", "--role", "national_officer",
                   "--agency", "Nowhere") == 3
    assert _create(monkeypatch, "--username", "a1", "--role", "analyst",
                   password="short") == 3  # noqa: S106
    assert _create(monkeypatch, "--username", "a1", "--role", "analyst", password="") == 2
    assert main(["users", "create", "--username", "a1", "--role", "analyst",
                 "--password", PASSWORD]) == 2  # never on the command line
    err = capsys.readouterr().err
    assert "taken" in err and "acts for an agency" in err and "Nowhere" in err
    assert "Traceback" not in err
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'someone' WHERE seq = 1"))
    assert main(["audit", "verify"]) == 3
    assert "audit log entry 1:" in capsys.readouterr().err
    engine.dispose()


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ICARUS_HOME", str(tmp_path / "home"))
    # Port 9 on loopback (discard): nothing listens, the connection is refused at once.
    monkeypatch.setenv("ICARUS_DATABASE_URL",
                       "postgresql://icarus:secret@127.0.0.1:9/nothing?connect_timeout=2")
    assert main(["db", "status"]) == 3
    err = capsys.readouterr().err
    assert "cannot use the database" in err and "127.0.0.1:9" in err
    assert "secret" not in err and "Traceback" not in err
