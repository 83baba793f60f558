"""The NSRL RDS 2 reader: special codes, products beside the file, encodings, rejects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from icarus.bank.formats.nsrl_rds2 import FORMAT, find_products_file, load_products
from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, md5, sha1

NSRL = FIXTURES / "nsrl2"


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


def test_without_products_file() -> None:
    records, sink = _read(NSRL / "plain" / "NSRLFile.txt")
    assert records[0] == BankRecord(digests=(sha1(41), md5(41)), size=2_949_120,
                                    name="emule.exe", source_id="1001")
    assert [r.flags for r in records] == [
        frozenset(), frozenset({"nsrl-special"}), frozenset({"nsrl-malicious"})]
    assert all(r.product is None for r in records)
    assert sink.rejects == [] and sink.warnings == []


def test_with_products_file_names_products_and_flags_emule_p2p() -> None:
    records, sink = _read(NSRL / "with-products" / "NSRLFile.txt")
    assert records[0] == BankRecord(digests=(sha1(41), md5(41)), size=2_949_120,
                                    name="emule.exe", flags=frozenset({"p2p"}),
                                    source_id="1001", product="eMule")
    assert [(r.product, r.flags) for r in records[1:]] == [
        ("Microsoft Office", frozenset({"nsrl-special"})),
        ("VeraCrypt", frozenset({"nsrl-malicious", "encryption"})),
    ]
    assert sink.rejects == []


def test_products_keep_the_first_name_of_a_repeated_code() -> None:
    products = load_products(NSRL / "with-products" / "NSRLProd.txt")
    assert products == {
        "1001": ("eMule", frozenset({"p2p"})),
        "1002": ("Microsoft Office", frozenset()),
        "1003": ("VeraCrypt", frozenset({"encryption"})),
    }


def test_products_file_is_found_in_any_letter_case(tmp_path: Path) -> None:
    (tmp_path / "nsrlprod.TXT").write_text("x", encoding="utf-8")
    assert find_products_file(tmp_path / "NSRLFile.txt") == tmp_path / "nsrlprod.TXT"
    assert find_products_file(NSRL / "plain" / "NSRLFile.txt") is None


def test_rejects_warnings_and_latin1_names() -> None:
    records, sink = _read(NSRL / "rejects" / "NSRLFile.txt")
    assert records == [BankRecord(digests=(sha1(47), md5(47)), size=10, name="caf\u00e9.exe",
                                  source_id="1001")]
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("line 2", f"not a valid sha1 value: {sha1(44).value.hex()[:39]!r}"),
        ("line 3", "expected 8 columns, found 4"),
        ("line 4", "not a size: 'ten'"),
    ]
    assert [(w.position, w.reason) for w in sink.warnings] == [
        ("line 5", "unknown SpecialCode 'X': ignored")]


def test_foreign_file_is_a_mismatch_naming_it() -> None:
    path = FIXTURES / "icse" / "icse.csv"
    with pytest.raises(FormatMismatchError, match=re.escape("icse.csv")):
        next(FORMAT.read(path, CollectingSink()))
