"""The hashdeep reader: column lines, commas in names, ignored columns, rejects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from icarus.bank.formats.hashdeep import FORMAT
from icarus.core.errors import CorruptInputError, FormatMismatchError, InputError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, md5, sha1, sha256

HASHDEEP = FIXTURES / "hashdeep"


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "hd.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_default_columns() -> None:
    records, sink = _read(HASHDEEP / "hashdeep.txt")
    assert records == [
        BankRecord(digests=(md5(71), sha256(71)), size=1024, name="/data/a.jpg"),
        BankRecord(digests=(md5(72), sha256(72)), size=2048, name="/data/b.jpg"),
    ]
    assert sink.rejects == [] and sink.warnings == []


def test_sha1_and_tiger_columns_and_commas_in_names() -> None:
    records, sink = _read(HASHDEEP / "hashdeep-sha1-commas.txt")
    assert records[0] == BankRecord(digests=(md5(73), sha1(73), sha256(73)), size=10,
                                    name="/data/one, two, three.jpg")
    assert records[1].name == "/data/plain.jpg"
    assert sink.warnings == []


def test_rejects() -> None:
    records, sink = _read(HASHDEEP / "hashdeep-rejects.txt")
    assert records == [BankRecord(digests=(md5(78),), size=50, name="/data/good.jpg")]
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("line 3", "not a size: 'ten'"),
        ("line 4", "expected 3 columns, found 2"),
        ("line 5", f"not a valid md5 value: {md5(77).value.hex()[:31]!r}"),
    ]


def test_unknown_columns_are_ignored_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "%%%% HASHDEEP-1.0", "%%%% md5,sha3,filename",
                  f"{md5(1).value.hex()},abcd,x.jpg")
    records, sink = _read(path)
    assert records == [BankRecord(digests=(md5(1),), name="x.jpg")]
    assert [(w.position, w.reason) for w in sink.warnings] == [
        ("line 2", "unknown columns ignored: sha3")]


def test_rows_before_the_column_line_are_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "%%%% HASHDEEP-1.0", f"1,{md5(1).value.hex()},x.jpg")
    records, sink = _read(path)
    assert records == []
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("line 2", "row before the %%%% column line")]


def test_no_usable_hash_column_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "%%%% HASHDEEP-1.0", "%%%% size,tiger,filename", "1,00,x")
    with pytest.raises(InputError, match="no md5, sha1 or sha256 column"):
        _read(path)


def test_filename_not_last_is_corrupt(tmp_path: Path) -> None:
    path = _write(tmp_path, "%%%% HASHDEEP-1.0", "%%%% filename,md5", "x,00")
    with pytest.raises(CorruptInputError, match="line 2"):
        _read(path)


def test_foreign_file_is_a_mismatch_naming_it() -> None:
    path = FIXTURES / "md5sum" / "md5sum.txt"
    with pytest.raises(FormatMismatchError, match=re.escape("md5sum.txt")):
        next(FORMAT.read(path, CollectingSink()))
