"""``icarus serve``: refuses an unmigrated database, and serves the app under uvicorn on
loopback (SQLite workspace)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from icarus.cli.main import main
from tests.coord.world import PASSWORD


def test_serve_refuses_an_unmigrated_database(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ICARUS_DATABASE_URL", raising=False)
    assert main(["--home", str(tmp_path), "serve", "--port", "1"]) == 3
    assert "icarus db upgrade" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "serve", "--workers", "0"]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback only
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def test_serve_answers_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICARUS_DATABASE_URL", raising=False)
    home = str(tmp_path / "home")
    assert main(["--home", home, "db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--home", home, "users", "create", "--username", "admin", "--role",
                 "administrator", "--password-stdin"]) == 0
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICARUS_")}
    proc = subprocess.Popen([sys.executable, "-m", "icarus.cli.main", "-q", "--home", home,
                             "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # wait for the server to listen (not a timing assertion)
            try:
                status, headers, body = _get(base + "/login")
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.communicate()[1].decode()
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        assert status == 200 and 'action="/login"' in body
        assert headers["x-frame-options"] == "DENY" and "server" not in headers
        status, _, body = _get(base + "/api/v1/leads")
        assert status == 401 and '"unauthenticated"' in body
        status, _, body = _get(base + "/api/v1/openapi.json")
        assert status == 200 and "/api/v1/leads/{lead_id}" in body
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
