"""``icarus networks import`` on a committed database (SQLite; the use case itself runs on
both backends in test_networks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from icarus.cli.main import main
from icarus.coord import AuditLog
from icarus.coord.networks import Networks
from icarus.store.engine import Database, make_engine
from icarus.store.migrate import upgrade
from tests.coord.world import OPERATION, build_world
from tests.web.networks_world import write_results


def test_cli_imports_the_networks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ICARUS_HOME", str(home))
    monkeypatch.delenv("ICARUS_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{home / 'coord.sqlite'}")
    upgrade(engine)
    world = build_world(Database(engine), Ed25519PrivateKey.generate(), tmp_path / "pkg")
    results = write_results(tmp_path / "results")
    assert main(["networks", "import", "--operation", OPERATION, str(results)]) == 0
    assert "2 networks, 5 members, 4 of them leads" in capsys.readouterr().out
    assert main(["networks", "import", "--operation", OPERATION, str(results)]) == 0
    assert "(replaced 2)" in capsys.readouterr().out
    assert len(Networks(world.db).list_networks(world.actors["coordinator"])) == 2
    events = AuditLog(world.db).list_events(world.actors["auditor"], limit=20).items
    imports = [e for e in events if e.action == "networks.import"]
    assert len(imports) == 2 and imports[0].actor.startswith("console:")
    # Bad input: a clear message naming the file, exit 3, no traceback.
    (results / "networks.csv").write_text("subject_id,network\n,x\n", "utf-8")
    assert main(["networks", "import", "--operation", OPERATION, str(results)]) == 3
    err = capsys.readouterr().err
    assert "networks.csv: row 1: column 'subject_id' is empty" in err
    assert "Traceback" not in err
    assert main(["networks", "import", "--operation", "nope", str(results)]) == 3
    engine.dispose()
