"""The world's hash sets are read by Icarus's own importers, whole and as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from icarus.bank.formats import FORMATS, detect_format
from icarus.bank.service import BankService
from icarus.core.errors import UsageError
from icarus.core.settings import load_settings
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Flag, SetKind
from icarus.identify.vpdq import unpack_frames
from icarus.sim.clips import video_vpdq
from icarus.sim.content import Catalogue, build_catalogue, content_bytes
from icarus.sim.content_config import ContentConfig
from icarus.sim.hashsets import software_files, write_nsrl, write_vics
from icarus.sim.rng import Streams
from icarus.sim.software import PRODUCTS


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return build_catalogue(ContentConfig(known=30, unknown_illicit=8, benign=12), Streams(21), 2)


def _read(fmt: str, path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMATS.get(fmt).read(path, sink)), sink


def test_vics_lists_every_known_item_with_its_hashes(catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "known.vics.json"
    written = write_vics(catalogue.table, path, vpdq=catalogue.vpdq)
    assert detect_format(path).NAME == "vics"
    records, sink = _read("vics", path)
    assert not sink.rejects and not sink.warnings
    known = [r for r in catalogue.table.to_pylist() if r["status"] == "known"]
    assert written == len(records) == len(known)
    for record, row in zip(records, known, strict=True):
        assert record.digest("md5") == row["md5"] and record.digest("sha1") == row["sha1"]
        assert record.digest("sha256") == row["sha256"] and record.digest("ed2k") == row["ed2k"]
        assert record.source_category == str(row["vics_category"])
        assert record.size == row["size"] and record.name == row["name"]
        assert record.digest("pdq") == row["pdq"]
        frames = record.digest("vpdq")
        assert (frames is not None) == (row["media"] == "video")
        if frames is not None:
            assert unpack_frames(frames) == video_vpdq(content_bytes(row))


def test_vics_recomputes_vpdq_to_the_same_file(catalogue: Catalogue, tmp_path: Path) -> None:
    given, recomputed = tmp_path / "a.json", tmp_path / "b.json"
    write_vics(catalogue.table, given, vpdq=catalogue.vpdq)
    write_vics(catalogue.table, recomputed)
    assert given.read_bytes() == recomputed.read_bytes()


def test_nsrl_lists_the_software_with_products_and_flags(tmp_path: Path) -> None:
    paths = write_nsrl(tmp_path, Streams(4), extra_files=50)
    assert [p.name for p in paths] == ["NSRLFile.txt", "NSRLProd.txt"]
    assert all(b"\r\n" in p.read_bytes() for p in paths)
    assert detect_format(paths[0]).NAME == "nsrl-rds2"
    records, sink = _read("nsrl-rds2", paths[0])
    assert not sink.rejects and not sink.warnings
    files = software_files()
    assert len(records) == len(files) + 50
    for record, f in zip(records[: len(files)], files, strict=True):
        assert record.digest("md5") == f.md5 and record.digest("sha1") == f.sha1
        assert record.name == f.name and record.size == len(f.data)
        assert f"{record.product} {PRODUCTS[f.product].version}" == f.product
        assert bool(record.flags) == PRODUCTS[f.product].flagged
    assert not any(r.flags for r in records[len(files) :])  # filler: ordinary products only
    emule = [r for r in records if r.product == "eMule"]
    assert emule and all(Flag.P2P.value in r.flags for r in emule)
    assert write_nsrl(tmp_path / "again", Streams(4), extra_files=50)[0].read_bytes() == (
        paths[0].read_bytes())
    with pytest.raises(UsageError):
        write_nsrl(tmp_path, Streams(4), extra_files=-1)


def test_software_files_are_fixed_program_files() -> None:
    files = software_files()
    assert files == software_files()
    assert {f.product for f in files} == set(PRODUCTS)
    assert len({(f.name, f.product) for f in files}) == len(files)
    assert len({f.md5 for f in files}) == len(files)
    assert all(f.data[:2] == b"MZ" for f in files)
    clients = {f.product for f in files}
    assert {"eMule 0.50a", "Shareaza 2.7.10.2", "uTorrent 3.5.5"} <= clients


def test_a_workspace_imports_both_sets_without_rejects(catalogue: Catalogue,
                                                      tmp_path: Path) -> None:
    vics = tmp_path / "known.vics.json"
    write_vics(catalogue.table, vics, vpdq=catalogue.vpdq)
    nsrl = write_nsrl(tmp_path / "nsrl", Streams(4), extra_files=20)[0]
    service = BankService(load_settings(home=str(tmp_path / "home")))
    alert = service.import_file(vics, set_name="known")
    software = service.import_file(nsrl, set_name="nsrl")
    assert alert.record is not None and alert.record.rejects == 0 and not alert.warnings
    assert software.record is not None and software.record.rejects == 0
    assert (alert.set.kind, software.set.kind) == (SetKind.ALERT, SetKind.KNOWN)
    known = catalogue.table.filter(catalogue.table.column("status").to_numpy() == "known")
    expected: dict[str, int] = {}
    for category in known.column("category").to_pylist():
        expected[category] = expected.get(category, 0) + 1
    assert service.category_counts("known") == expected
