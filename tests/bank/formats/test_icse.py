"""The ICSE reader: header tolerance, flag columns, rejects, foreign files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from icarus.bank.formats.icse import FORMAT
from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, md5, photodna, sha1

ICSE = FIXTURES / "icse"


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


def test_valid_export() -> None:
    records, sink = _read(ICSE / "icse.csv")
    assert len(records) == 3
    assert records[0] == BankRecord(
        digests=(md5(31), sha1(31), photodna(31)),
        flags=frozenset({"distributed", "offender-identified", "file-available", "baseline"}),
        series="Series-I", source_id="IMG-31",
    )
    assert records[1] == BankRecord(digests=(md5(32), sha1(32)), source_id="IMG-32")
    assert records[2].flags == frozenset({"victim-identified"})
    assert sink.rejects == [] and sink.warnings == []


def test_bom_odd_header_casing_crlf_and_letter_booleans() -> None:
    records, sink = _read(ICSE / "icse-bom-casing.csv")
    assert records == [
        BankRecord(digests=(md5(34), sha1(34)), source_id="IMG-34",
                   flags=frozenset({"distributed", "file-available", "baseline"})),
        BankRecord(digests=(md5(35),), source_id="IMG-35", flags=frozenset({"victim-identified"})),
    ]
    assert sink.warnings == []


def test_rejects_and_warnings() -> None:
    records, sink = _read(ICSE / "icse-rejects.csv")
    assert records == [
        BankRecord(digests=(sha1(38),), source_id="IMG-38"),
        BankRecord(digests=(md5(39),), source_id="IMG-39"),
    ]
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("line 2", "expected 12 columns, found 6"),
        ("line 3", "no valid MD5 or SHA1"),
    ]
    assert [(w.position, w.reason) for w in sink.warnings] == [
        ("line 4", f"MD5 dropped: not a valid md5 value: {md5(38).value.hex()[:30]!r}"),
        ("line 4", "Is distributed 'perhaps' is not a boolean: ignored"),
    ]


def test_a_header_with_a_missing_column_is_not_icse(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("MD5;SHA1;PhotoDNA;Image ID\n", encoding="utf-8")
    assert not FORMAT.sniff(path, path.read_bytes())


def test_foreign_file_is_a_mismatch_naming_it() -> None:
    path = FIXTURES / "nsrl2" / "plain" / "NSRLFile.txt"
    with pytest.raises(FormatMismatchError, match=re.escape("NSRLFile.txt")):
        next(FORMAT.read(path, CollectingSink()))
