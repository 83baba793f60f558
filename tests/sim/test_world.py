"""The whole synthetic world: deterministic, complete, and readable by Icarus's own readers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from icarus.bank.service import BankService
from icarus.core.errors import ConfigError, UsageError
from icarus.core.settings import load_settings
from icarus.sim.config import load_config
from icarus.sim.tables import TABLES
from icarus.sim.world import build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("worlds") / "w1"
    build_world(load_config("tiny", seed=11), out, workers=2)
    return out


def test_same_seed_gives_byte_identical_world(world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_world(load_config("tiny", seed=11), again, workers=1)
    assert (again / "world.json").read_bytes() == (world / "world.json").read_bytes()
    manifest = json.loads((world / "world.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(world).as_posix() for p in world.rglob("*") if p.is_file()}
    assert on_disk - listed == {"world.json"}
    other = tmp_path / "other"
    build_world(load_config("tiny", seed=12), other, workers=2)
    assert (other / "world.json").read_bytes() != (world / "world.json").read_bytes()


def test_every_truth_table_is_written_with_its_schema(world: Path) -> None:
    for name, schema in TABLES.items():
        table = pq.read_table(world / "truth" / f"{name}.parquet")
        assert table.schema.equals(schema, check_metadata=False), name
    persons = pq.read_table(world / "truth" / "persons.parquet")
    assert sum(persons.column("should_identify").to_pylist()) > 0


def test_hash_sets_import_into_the_bank_without_rejects(world: Path, tmp_path: Path) -> None:
    service = BankService(load_settings(home=str(tmp_path / "home")))
    vics = service.import_file(world / "hashsets" / "known.vics.json", set_name="known")
    nsrl = service.import_file(world / "hashsets" / "NSRLFile.txt", set_name="nsrl")
    assert vics.record is not None and vics.record.rejects == 0 and vics.record.entries > 0
    assert nsrl.record is not None and nsrl.record.rejects == 0
    content = pq.read_table(world / "truth" / "content.parquet")
    known = [r for r in content.to_pylist() if r["status"] == "known"]
    assert vics.record.entries == len(known)
    # BitTorrent sightings name only the infohash: the known torrents must be in the bank
    torrents = [r["btih"] for r in known if r["btih"] is not None]
    assert torrents
    import numpy as np

    hits = service.matcher(["known"]).match_exact(
        "btih", np.frombuffer(b"".join(torrents), dtype=np.uint8).reshape(-1, 20))
    assert all(h for h in hits)


def test_sightings_follow_their_formats(world: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parents[2] / "src" / "icarus" / "data" /
                         "schemas" / "sightings-v1.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    manifest = json.loads((world / "world.json").read_text())
    truth = pq.read_table(world / "truth" / "sightings_truth.parquet")
    assert truth.num_rows == sum(s["truth_records"] for s in manifest["sightings"])
    good = bad = 0
    for path in sorted((world / "sightings").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if validator.is_valid(record):
                good += 1
            else:
                bad += 1
    assert good > 1000
    assert 0 < bad < good * 0.01


def test_exhibits_are_readable_disk_images(world: Path) -> None:
    if shutil.which("fls") is None:
        pytest.skip("sleuthkit (fls) is not installed")
    exhibits = pq.read_table(world / "truth" / "exhibits.parquet").to_pylist()
    assert exhibits
    for ex in exhibits:
        path = world / ex["path"]
        assert path.exists(), ex
        if ex["kind"] == "raw":
            listing = subprocess.run(["fls", "-r", "-p", str(path)], capture_output=True,
                                     text=True, check=True).stdout
            assert listing.strip(), ex["exhibit_id"]


def test_refuses_a_non_empty_output_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        build_world(load_config("tiny", seed=1), tmp_path / "x")
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_overrides_apply_and_bad_keys_are_named(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[population]\npeople = 120\n\n[exhibits]\nmax_searched = 2\n")
    out = tmp_path / "w"
    manifest = build_world(load_config("tiny", good, seed=3), out)
    assert manifest["counts"]["persons"] == 120
    bad = tmp_path / "bad.toml"
    bad.write_text("[exhibits]\nno_such_knob = 1\n")
    with pytest.raises(ConfigError, match="no_such_knob"):
        build_world(load_config("tiny", bad, seed=3), tmp_path / "w2")
    assert not (tmp_path / "w2").exists()
