"""The md5sum reader: text and binary modes, escaped names, one kind per file, rejects."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from icarus.bank.formats.md5sum import FORMAT, unescape_name
from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, md5, sha1

MD5SUM = FIXTURES / "md5sum"


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


def test_text_mode() -> None:
    records, sink = _read(MD5SUM / "md5sum.txt")
    assert records == [
        BankRecord(digests=(md5(51),), name="photos/one.jpg"),
        BankRecord(digests=(md5(52),), name="two.png"),
        BankRecord(digests=(md5(53),), name="three with  spaces.gif"),
    ]
    assert sink.rejects == []


def test_binary_mode_and_escaped_names() -> None:
    records, sink = _read(MD5SUM / "sha1sum-binary-escaped.txt")
    assert records == [
        BankRecord(digests=(sha1(54),), name="bin/file.exe"),
        BankRecord(digests=(sha1(55),), name="dir\\back\nslash.txt"),
        BankRecord(digests=(sha1(56),), name="plain.txt"),
    ]
    assert sink.rejects == []


def test_rejects() -> None:
    records, sink = _read(MD5SUM / "md5sum-rejects.txt")
    assert [r.name for r in records] == ["good.jpg", "last.jpg"]
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("line 2", "sha1 hash in a md5 file (set by line 1)"),
        ("line 3", "not a '<hash> <space or *><name>' line"),
        ("line 4", "unknown escape '\\q' in the name"),
        ("line 5", "a 128-character hash is not MD5, SHA-1 or SHA-256"),
    ]


def test_sha256sum(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"icarus-test-1").hexdigest()
    path = tmp_path / "SHA256SUMS"
    path.write_text(f"{digest}  a.iso\n", encoding="utf-8")
    records, _ = _read(path)
    assert records[0].digest("sha256") == bytes.fromhex(digest)


@pytest.mark.parametrize(("escaped", "name"), [
    ("a\\\\b", "a\\b"), ("line\\nbreak", "line\nbreak"), ("cr\\r", "cr\r"), ("plain", "plain"),
])
def test_unescape_name(escaped: str, name: str) -> None:
    assert unescape_name(escaped) == name


def test_a_bare_hash_list_is_not_md5sum() -> None:
    path = FIXTURES / "hashlist" / "hashlist.txt"
    with pytest.raises(FormatMismatchError, match=re.escape("hashlist.txt")):
        next(FORMAT.read(path, CollectingSink()))
