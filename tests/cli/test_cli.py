"""The ``icarus`` command: help everywhere, exit codes, outputs, no tracebacks."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from icarus.cli.main import cli, main
from tests.bank.conftest import vics_media, write_vics


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("ICARUS_HOME", str(h))
    return h


@pytest.mark.parametrize("command", _commands(cli), ids=lambda c: " ".join(c) or "icarus")
def test_every_command_has_help(command: tuple[str, ...], home: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Usage:" in text and len(text.splitlines()) > 3


def test_exit_codes_of_import(home: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    good = write_vics(tmp_path / "good.json", [vics_media(1), vics_media(2)])
    assert main(["-q", "bank", "import", str(good), "--name", "vic"]) == 0
    assert main(["-q", "bank", "import", str(good), "--name", "vic"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    bad = write_vics(tmp_path / "bad.json", [vics_media(3), {"MediaID": 4, "MD5": "zz"}])
    assert main(["-q", "bank", "import", str(bad), "--name", "vic"]) == 1
    err = capsys.readouterr().err
    assert "1 records rejected" in err and "rejects.jsonl" in err
    assert main(["-q", "bank", "import", str(tmp_path / "missing.json"), "--name", "x"]) == 3
    assert "missing.json" in capsys.readouterr().err
    assert main(["-q", "bank", "import", str(good), "--name", "x", "--format", "icse"]) == 3
    assert str(good) in capsys.readouterr().err
    assert main(["-q", "bank", "import", str(good), "--name", "x", "--format", "nope"]) == 2
    assert main(["-q", "bank", "import", str(good), "--name", "Bad Name"]) == 2
    assert main(["bank", "show", "absent"]) == 3


def test_list_show_stats_export_remove(home: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = write_vics(tmp_path / "s.json", [vics_media(i, category=i % 2) for i in range(1, 7)])
    assert main(["-q", "bank", "import", str(src), "--name", "vic", "--source", "unit"]) == 0
    capsys.readouterr()
    assert main(["bank", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["entries"]) for s in listed] == [("vic", 6)]
    assert main(["bank", "show", "vic", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["categories"] == {"csam": 3, "non-pertinent": 3}
    assert shown["imports"][0]["source"] == "unit"
    assert main(["bank", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["entries"] == 6 and stats["digests"]["md5"] == 6
    assert main(["bank", "export", "vic", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 6 and {r["category"] for r in rows} == {"csam", "non-pertinent"}
    assert main(["bank", "remove", "vic", "--yes"]) == 0
    assert main(["bank", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1]) == []


def test_hash_outputs_the_digests(home: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "f"
    (folder / "sub").mkdir(parents=True)
    data = {folder / "a.bin": b"icarus" * 1000, folder / "sub" / "b.txt": b""}
    for p, content in data.items():
        p.write_bytes(content)
    assert main(["-q", "hash", str(folder)]) == 0
    records = {r["path"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    for p, content in data.items():
        r = records[str(p)]
        assert r["md5"] == hashlib.md5(content).hexdigest()  # noqa: S324
        assert r["sha256"] == hashlib.sha256(content).hexdigest()
        assert r["size"] == len(content)
    empty = records[str(folder / "sub" / "b.txt")]
    assert empty["ed2k"] == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert empty["urn_sha1"] == "urn:sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
    out = tmp_path / "h.csv"
    assert main(["-q", "hash", "--format", "csv", "-o", str(out), "--tth", str(folder)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["tth"] for r in rows if r["size"] == "0"} == {
        "LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ"}


def test_match_finds_exact_and_perceptual_copies(home: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # The bundled synthetic set and its generated "seized" folder (the former demo).
    from icarus.sim.demo_data import BUNDLED_VICS, write_demo_folder

    assert main(["-q", "bank", "import", str(BUNDLED_VICS), "--name", "demo-vics"]) == 0
    folder = tmp_path / "seized"
    write_demo_folder(folder)
    capsys.readouterr()
    matches = tmp_path / "matches.jsonl"
    assert main(["-q", "match", str(folder), "--output", str(matches)]) == 0
    assert "matched exactly: 5; perceptually only: 4" in capsys.readouterr().out
    reports = [json.loads(x) for x in matches.read_text().splitlines()]
    assert len(reports) == 29
    by_name = {Path(r["path"]).name: r for r in reports}
    assert by_name["IMG_0101.bmp"]["matches"][0]["by"] in {"md5", "sha1", "sha256"}
    near = by_name["resized_0104.jpg"]["matches"]
    assert [(m["by"], m["category"]) for m in near] == [("pdq", "csam")]
    assert 0 < near[0]["distance"] <= 31
    assert all(not r["matches"] for n, r in by_name.items() if n.startswith("holiday_"))


def test_internal_error_exit_code(home: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("icarus.bank.service.BankService.list_sets", boom)
    assert main(["bank", "list"]) == 4
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err
    log = (home / "logs" / "icarus.log").read_text()
    assert "simulated bug" in log and "Traceback" in log


def test_bad_settings_are_a_usage_error(home: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ICARUS_PDQ_RADIUS", "500")
    assert main(["bank", "list"]) == 2
    assert "pdq_radius" in capsys.readouterr().err


def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "icarus.cli.main", "bank", "import", str(tmp_path / "nope.json"),
         "--name", "x"], capture_output=True, text=True, check=False,
        env={"ICARUS_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 3
    assert "nope.json" in proc.stderr and "Traceback" not in proc.stderr


def test_eval_command_scores_and_writes_json(home: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from icarus.sim.eval import write_results
    from tests.sim.test_eval import perfect_tables, random_world

    w = random_world(tmp_path / "world", np.random.default_rng(3))
    results = tmp_path / "results"
    write_results(results, perfect_tables(w))
    assert main(["eval", "--truth", str(tmp_path / "world"), "--results", str(results)]) == 0
    report = json.loads((results / "eval.json").read_text())
    assert report["metrics"] and all(m["value"] == pytest.approx(1.0)
                                     for m in report["metrics"].values())
    assert "suspect" in capsys.readouterr().out.lower()
    assert main(["eval", "--truth", str(tmp_path / "world"), "--results",
                 str(tmp_path / "world")]) == 3


def test_analyze_refuses_an_empty_dataset_and_a_bad_name(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "analyze", "--operation", "icarus-2011"]) == 3
    assert "sighting" in capsys.readouterr().err.lower()
    assert main(["-q", "analyze", "--operation", "../escape"]) == 2
