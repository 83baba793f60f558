"""``icarus demo``: the whole operation set up on a tiny synthetic world (through the use
cases), checked through the use cases; a second run rebuilds without duplicating and serves
on loopback; bad states are refused before any work."""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from icarus.cli.main import main
from icarus.coord import Accounts, Actor, Operations, Referrals, Role
from icarus.coord.dashboard import Dashboard
from icarus.core.errors import AuthenticationError
from icarus.core.settings import Settings
from icarus.intel.packages import load_public_key, verify
from icarus.sim.config import load_config
from icarus.sim.geo import load_geo
from icarus.store.engine import Database

PG_URL_THAT_MUST_NOT_BE_USED = "postgresql://nobody@127.0.0.1:9/not-for-the-demo"


@dataclass(frozen=True)
class Built:
    home: Path
    folder: Path
    out: str
    logins: dict[str, tuple[str, str, str]]  # username -> role, agency, password


def _logins(out: str) -> dict[str, tuple[str, str, str]]:
    """The printed logins table: username -> (role, agency's first line, password)."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 6 and cells[1] and cells[1] != "username" and cells[4]:
            rows[cells[1]] = (cells[2], cells[3], cells[4])
    return rows


def _counts(home: Path) -> dict[str, int]:
    console = Actor.console()
    coordinator = Actor(None, "test", Role.COORDINATOR, None)
    db = Database.open(Settings(home=home, database_url=None))
    try:
        return {"operations": len(Operations(db).list_operations(coordinator)),
                "agencies": len(Accounts(db).list_agencies(console)),
                "users": len(Accounts(db).list_users(console)),
                "referrals": len(Referrals(db).list_referrals(coordinator)),
                "leads": Referrals(db).count_leads(coordinator)}
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """``icarus --home H demo --no-serve --scale tiny`` once for the module, with a database
    URL in the environment that the demo must not use."""
    home = tmp_path_factory.mktemp("demo") / "h"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ICARUS_DATABASE_URL", PG_URL_THAT_MUST_NOT_BE_USED)
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = main(["-q", "--home", str(home), "demo", "--no-serve", "--scale", "tiny"])
        out = buf.getvalue()
    assert code == 0, out
    yield Built(home, home / "demo", out, _logins(out))


def _db(built: Built) -> Database:
    return Database.open(Settings(home=built.folder / "home", database_url=None))


def test_the_stages_are_reported_with_their_figures(built: Built) -> None:
    lines = [x for x in built.out.splitlines() if re.match(r"^\d\. ", x)]
    assert [int(x.split(".")[0]) for x in lines] == list(range(1, 10))
    assert "synthetic world generated (seed 1, tiny)" in lines[0]
    assert "hash set known" in lines[1] and "sightings ingested" in lines[2]
    assert "suspects located in" in lines[3] and "country packages built" in lines[4]
    assert "DEMO key" in lines[4]
    assert "Not serving (--no-serve)" in built.out and "Demo set up in" in built.out


def test_the_database_holds_the_operation_agencies_and_referrals(built: Built) -> None:
    home = built.folder / "home"
    assert (home / "coord.sqlite").is_file()  # ICARUS_DATABASE_URL was not used
    packages = sorted(p.name for p in (home / "operations" / "demo" / "packages").iterdir())
    world_countries = set(load_geo(load_config("tiny", seed=1).geo.countries).codes)
    db = _db(built)
    try:
        coordinator = Actor(None, "test", Role.COORDINATOR, None)
        agencies = Accounts(db).list_agencies(Actor.console())
        assert sorted(a.country for a in agencies) == sorted(world_countries | set(packages))
        (operation,) = Operations(db).list_operations(coordinator)
        assert operation.name == "demo"
        assert sorted(operation.agency_ids) == sorted(a.id for a in agencies)
        referrals = Referrals(db).list_referrals(coordinator, operation="demo")
        # one referral per package, each for the agency of the package's country
        assert sorted(r.country for r in referrals) == packages
        by_id = {a.id: a for a in agencies}
        assert all(by_id[r.agency_id].country == r.country for r in referrals)
        assert len({r.agency_id for r in referrals}) == len(referrals)
        public = load_public_key(home / "keys" / "demo-packages-ed25519.pub.pem")
        for r in referrals:
            folder = home / "operations" / "demo" / "packages" / r.country
            report = verify(folder / "package.json", folder / "package.json.sig", public)
            assert report.ok, report.problems
            assert report.suspects == r.leads > 0
            assert r.signing_key_id == report.key_id
        readme = (home / "keys" / "DEMO-KEY-README.txt").read_text(encoding="utf-8")
        assert "DEMO KEY" in readme and referrals[0].signing_key_id in readme
    finally:
        db.dispose()


def test_a_user_of_every_role_can_log_in(built: Built) -> None:
    logins = built.logins
    assert {role for role, _, _ in logins.values()} == {r.value for r in Role}
    officers = [u for u, (role, _, _) in logins.items() if role == "national_officer"]
    examiners = [u for u, (role, _, _) in logins.items() if role == "forensic_examiner"]
    assert len(officers) >= 2 and len(examiners) >= 2
    db = _db(built)
    try:
        accounts = Accounts(db)
        agency_of = {a.id: a for a in accounts.list_agencies(Actor.console())}
        seen_agencies = set()
        for username, (role, agency, password) in logins.items():
            actor = accounts.authenticate(username, password, "test")
            assert actor.role.value == role
            if actor.agency_id is not None:
                assert agency_of[actor.agency_id].name.startswith(agency)
                seen_agencies.add((role, actor.agency_id))
            else:
                assert agency == "-"
        assert len({a for r, a in seen_agencies if r == "national_officer"}) >= 2
        with pytest.raises(AuthenticationError):
            accounts.authenticate("coordinator", "not-the-demo-password", "test")
    finally:
        db.dispose()


def test_the_outcomes_show_on_the_dashboards(built: Built) -> None:
    db = _db(built)
    try:
        accounts = Accounts(db)
        coordinator = accounts.authenticate("coordinator", built.logins["coordinator"][2])
        view = Dashboard(db).summary(coordinator, operation="demo")
        assert view.identified > 0 and view.arrested > 0
        assert view.reached["searched"] >= view.arrested
        assert len(view.countries_with_arrests) >= 2
        for username, (role, _, password) in built.logins.items():
            if role != "national_officer":
                continue
            officer = accounts.authenticate(username, password)
            own = Dashboard(db).summary(officer, operation="demo")
            (country,) = {c.country for c in own.countries}
            assert own.arrested > 0 and own.countries_with_arrests == (country,)
            # the officer recorded the outcomes of its agency's leads
            arrested = Referrals(db).list_leads(officer, operation="demo", state=None,
                                                sort="score", limit=1).items[0]
            history = Referrals(db).get_lead(officer, arrested.id).history
            assert [h.changed_by for h in history[1:]] == [officer.user_id] * (len(history) - 1)
            assert "arrested" in [h.to_state for h in history]
    finally:
        db.dispose()


# -- a second run, serving ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data,  # noqa: S310 - loopback
                                         headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def test_a_second_run_rebuilds_without_duplicates_and_serves(built: Built) -> None:
    before = _counts(built.folder / "home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICARUS_")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "icarus.cli.main", "-q", "--home", str(built.home), "demo",
         "--port", str(port)], env=env, cwd=built.home.parent, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        out = ""
        while "Serving the demo on" not in out:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the demo ended: {out}{proc.communicate()[1]}")
            out += line
        assert "synthetic world reused" in out
        assert f"http://127.0.0.1:{port}/" in out
        logins = _logins(out)
        assert set(logins) == set(built.logins)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # wait for the server to listen (not a timing assertion)
            try:
                urllib.request.urlopen(base + "/login", timeout=5).close()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.communicate()[1]
                time.sleep(0.1)
        coordinator = _Client(base)
        # rebuilt: the first run's password is gone, the new one works
        old = {"username": "coordinator", "password": built.logins["coordinator"][2]}
        assert coordinator.call("/api/v1/auth/login", old)[0] == 401
        new = {"username": "coordinator", "password": logins["coordinator"][2]}
        assert coordinator.call("/api/v1/auth/login", new)[0] == 200
        status, body = coordinator.call("/api/v1/dashboard?operation=demo")
        dashboard = json.loads(body)
        assert status == 200 and dashboard["arrested"] > 0 and dashboard["identified"] > 0
        status, page = coordinator.call("/dashboard?operation=demo")
        assert status == 200 and "demo" in page
        officer_name = next(u for u, (r, _, _) in logins.items() if r == "national_officer")
        officer = _Client(base)
        assert officer.call("/api/v1/auth/login", {"username": officer_name,
                                                   "password": logins[officer_name][2]})[0] == 200
        own = json.loads(officer.call("/api/v1/dashboard?operation=demo")[1])
        assert len(own["countries"]) == 1 and own["leads"] < dashboard["leads"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert _counts(built.folder / "home") == before
    assert before["operations"] == 1 and before["users"] == len(built.logins)


# -- refusals before any work -----------------------------------------------------------

def test_a_folder_that_is_not_a_demo_folder_is_refused(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       ) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["-q", "--home", str(tmp_path / "h"), "demo", "--no-serve", "--out",
                 str(folder)]) == 2
    assert "not a demo folder" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_serving_is_refused_off_loopback_or_on_a_busy_port(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          ) -> None:
    out = tmp_path / "d"
    assert main(["-q", "--home", str(tmp_path), "demo", "--host", "0.0.0.0", "--out",  # noqa: S104
                 str(out)]) == 2
    assert "loopback only" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["-q", "--home", str(tmp_path), "demo", "--port", str(port), "--out",
                     str(out)]) == 3
    assert "cannot serve on" in capsys.readouterr().err
    assert not out.exists()
