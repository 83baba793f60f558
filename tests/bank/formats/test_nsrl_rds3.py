"""The NSRL RDSv3 reader: minimal (tables) and full (views) databases, read-only, rejects."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest

from icarus.bank.formats.nsrl_rds3 import FORMAT
from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, build_rds3_minimal, md5, sha1, sha256


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


EMULE = BankRecord(digests=(md5(91), sha1(91), sha256(91)), size=2_949_120, name="emule.exe",
                   flags=frozenset({"p2p"}), source_id="1", product="eMule")


@pytest.mark.parametrize("shape", ["minimal", "full"])
def test_reads_files_with_their_package(rds3_dir: Path, shape: str) -> None:
    records, sink = _read(rds3_dir / f"{shape}.db")
    # one record per FILE row: eMule's two languages must not double its files
    assert len(records) == 5
    assert EMULE in records
    by_name = {(r.name, r.source_id): r for r in records}
    assert by_name["CCleaner64.exe", "3"].flags == frozenset({"anti-forensic"})
    assert by_name["winword.exe", "2"].flags == frozenset()
    assert by_name["msvcr100.dll", "1"].product == "eMule"
    assert by_name["msvcr100.dll", "2"].product == "Microsoft Office"
    assert sink.rejects == []


def test_minimal_and_full_agree(rds3_dir: Path) -> None:
    minimal, _ = _read(rds3_dir / "minimal.db")
    full, _ = _read(rds3_dir / "full.db")
    assert sorted(map(repr, minimal)) == sorted(map(repr, full))


def test_database_is_not_written(rds3_dir: Path) -> None:
    path = rds3_dir / "full.db"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    _read(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in rds3_dir.iterdir()) == ["full.db", "minimal.db"]


def test_rejects_name_the_row(tmp_path: Path) -> None:
    bad_md5 = md5(95).value.hex()[:31]
    path = build_rds3_minimal(tmp_path / "rejects.db", files=[(96, "ok.exe", 10, 2)], raw_rows=[
        ("", "", bad_md5, "0", "bad.exe", 10, 2),
        ("", "", "", "0", "nohash.exe", 10, 2),
        ("", "", md5(97).value.hex(), "0", "neg.exe", -1, 2),
    ])
    records, sink = _read(path)
    assert [r.name for r in records] == ["ok.exe"]
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("row 2 of FILE", f"not a valid md5 value: {bad_md5!r}"),
        ("row 3 of FILE", "no hash"),
        ("row 4 of FILE", "negative size: -1"),
    ]


def test_sqlite_without_file_table_is_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE things (x)")
    db.commit()
    db.close()
    assert not FORMAT.sniff(path, path.read_bytes()[:100])
    with pytest.raises(FormatMismatchError, match=re.escape("other.db")):
        next(FORMAT.read(path, CollectingSink()))


def test_text_file_is_a_mismatch() -> None:
    path = FIXTURES / "hashlist" / "hashlist.txt"
    with pytest.raises(FormatMismatchError, match=re.escape("hashlist.txt")):
        next(FORMAT.read(path, CollectingSink()))
