"""The plain hash list: kinds by length, comments and trailing text, the sniffing rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from icarus.bank.formats.hashlist import FORMAT
from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, md5, sha1, sha256

HASHLIST = FIXTURES / "hashlist"


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


def test_md5_list_any_case() -> None:
    records, sink = _read(HASHLIST / "hashlist.txt")
    assert records == [BankRecord(digests=(md5(n),)) for n in (81, 82, 83)]
    assert sink.rejects == []


def test_comments_mixed_kinds_and_trailing_text() -> None:
    records, sink = _read(HASHLIST / "hashlist-comments.txt")
    assert [r.digests for r in records] == [(md5(84),), (sha1(85),), (sha256(86),), (md5(87),)]
    assert sink.rejects == []


def test_rejects() -> None:
    records, sink = _read(HASHLIST / "hashlist-rejects.txt")
    assert records == [BankRecord(digests=(md5(88),)), BankRecord(digests=(md5(91),))]
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("line 2", "no hash at the start of the line"),
        ("line 3", "a 20-character hash is not MD5, SHA-1 or SHA-256"),
        ("line 4", "no hash at the start of the line"),
    ]


@pytest.mark.parametrize(("first_line", "claimed"), [
    (f"{'a' * 32}", True),
    (f"{'a' * 40}\tname.jpg", True),
    (f"{'a' * 64};note", True),
    (f"{'a' * 32} note", True),
    (f"{'a' * 32}  name.jpg", False),  # md5sum text mode
    (f"{'a' * 32} *name.jpg", False),  # md5sum binary mode
    ("%%%% HASHDEEP-1.0", False),
    (f"{'a' * 30}", False),
    ("# only a comment", False),
])
def test_sniffing_rule(tmp_path: Path, first_line: str, claimed: bool) -> None:
    head = f"# a comment\n\n{first_line}\n".encode()
    assert FORMAT.sniff(tmp_path / "x.txt", head) is claimed


def test_md5sum_file_is_a_mismatch() -> None:
    path = FIXTURES / "md5sum" / "md5sum.txt"
    with pytest.raises(FormatMismatchError, match=re.escape("md5sum.txt")):
        next(FORMAT.read(path, CollectingSink()))


def test_kind_prefixed_lines(tmp_path: Path) -> None:
    path = tmp_path / "named.txt"
    path.write_text(
        "# hashes that plain hex cannot tell apart\n"
        "ed2k:31d6cfe0d16ae931b73c59d7e0c089c0\n"
        "btih:64ecbbf09c884e4298870d7c6f02baf67f02743b  a torrent\n"
        "tth:LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ\n"
        "ed2k:not-hex\n"
        f"{md5(7).hex}\n", encoding="utf-8")
    assert FORMAT.sniff(path, path.read_bytes())
    records, sink = _read(path)
    assert [(d.kind, d.value.hex()) for r in records for d in r.digests] == [
        ("ed2k", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        ("btih", "64ecbbf09c884e4298870d7c6f02baf67f02743b"),
        ("tth", "5d9ed00a030e638bdb753a6a24fb900e5a63b8e73e6c25b6"),
        ("md5", md5(7).hex),
    ]
    assert [(r.position, "ed2k" in r.reason) for r in sink.rejects] == [("line 5", True)]
