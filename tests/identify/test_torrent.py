""".torrent parsing: raw-info infohashes, files, metadata, refusals; libtorrent as oracle."""

from __future__ import annotations

import contextlib
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

# fastbencode re-exports without __all__, which strict mypy reads as private.
from fastbencode import bencode as _bencode  # type: ignore[attr-defined]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icarus.core.errors import InvalidIdentifierError, NotFoundError
from icarus.domain.digests import Digest
from icarus.identify import torrent
from icarus.identify.torrent import TorrentFile, parse_torrent, read_torrent

VECTOR_BTIH = "64ecbbf09c884e4298870d7c6f02baf67f02743b"


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def bencode(value: Any) -> bytes:
    return bytes(_bencode(value))


def v1_info(**extra: Any) -> dict[bytes, Any]:
    """The vector's info dictionary: one 1-byte file, one piece."""
    info = {b"length": 1, b"name": b"a.bin", b"piece length": 262144, b"pieces": sha1(b"a")}
    info.update({k.replace("_", " ").encode(): v for k, v in extra.items()})
    return info


def multi_info() -> dict[bytes, Any]:
    files = [
        {b"length": 3, b"path": [b"docs", b"x.txt"]},
        {b"attr": b"p", b"length": 16381, b"path": [b".pad", b"16381"]},
        {b"length": 5, b"path": [b"y.bin"]},
    ]
    return {b"files": files, b"name": b"folder", b"piece length": 16384, b"pieces": bytes(40)}


def v2_info(tree: dict[bytes, Any] | None = None) -> dict[bytes, Any]:
    leaf = {b"": {b"length": 1, b"pieces root": hashlib.sha256(b"root").digest()}}
    return {
        b"file tree": tree if tree is not None else {b"a.bin": leaf},
        b"meta version": 2,
        b"name": b"a.bin",
        b"piece length": 16384,
    }


def test_vector_infohash() -> None:
    parsed = parse_torrent(bencode({b"info": v1_info()}))
    assert parsed.btih == Digest("btih", bytes.fromhex(VECTOR_BTIH))
    assert parsed.btih_v2 is None and parsed.btih_v2_truncated is None
    assert parsed.files == (TorrentFile(("a.bin",), 1),)
    assert (parsed.name, parsed.total_size, parsed.piece_length) == ("a.bin", 1, 262144)


def test_multi_file_paths_sit_under_the_name_and_padding_is_left_out() -> None:
    info = multi_info()
    parsed = parse_torrent(bencode({b"announce": b"udp://t.invalid:1", b"info": info}))
    assert parsed.btih == Digest("btih", sha1(bencode(info)))
    assert parsed.files == (
        TorrentFile(("folder", "docs", "x.txt"), 3),
        TorrentFile(("folder", "y.bin"), 5),
    )
    assert parsed.total_size == 8


def test_infohash_is_over_the_raw_bytes_not_a_re_encoding() -> None:
    # Keys out of canonical order, as some real clients write them.
    raw_info = b"d4:name5:a.bin6:lengthi1e12:piece lengthi262144e6:pieces20:" + sha1(b"a") + b"e"
    data = b"d4:info" + raw_info + b"8:announce17:udp://t.invalid:1e"
    parsed = parse_torrent(data)
    assert parsed.btih == Digest("btih", sha1(raw_info))
    assert parsed.btih.hex != VECTOR_BTIH  # what re-encoding the same dictionary would give
    assert parsed.trackers == ("udp://t.invalid:1",)


def test_metadata() -> None:
    data = bencode(
        {
            b"announce": b"udp://a.invalid:1",
            b"announce-list": [[b"udp://a.invalid:1", b"udp://b.invalid:2"], [b"http://c/"]],
            b"comment": b"test \xc3\xa9",
            b"created by": b"hand",
            b"creation date": 1_700_000_000,
            b"info": v1_info(private=1),
        }
    )
    parsed = parse_torrent(data)
    assert parsed.trackers == ("udp://a.invalid:1", "udp://b.invalid:2", "http://c/")
    assert (parsed.comment, parsed.created_by, parsed.private) == ("test é", "hand", True)
    assert parsed.creation_date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_v2_only_reports_only_the_v2_infohash() -> None:
    info = v2_info()
    parsed = parse_torrent(bencode({b"info": info}))
    assert parsed.btih is None
    assert parsed.btih_v2 == Digest("btih-v2", hashlib.sha256(bencode(info)).digest())
    assert parsed.btih_v2_truncated == parsed.btih_v2.value[:20]
    assert parsed.digests == (parsed.btih_v2,)
    assert parsed.files == (TorrentFile(("a.bin",), 1),)


def test_hybrid_reports_both_and_v2_tree_paths() -> None:
    info = v2_info() | {b"length": 1, b"pieces": sha1(b"a")}
    parsed = parse_torrent(bencode({b"info": info}))
    assert parsed.btih == Digest("btih", sha1(bencode(info)))
    assert parsed.btih_v2 == Digest("btih-v2", hashlib.sha256(bencode(info)).digest())
    tree = {b"d": {b"e.txt": {b"": {b"length": 0}}}, b"f": {b"": {b"length": 0}}}
    nested = parse_torrent(bencode({b"info": v2_info(tree) | {b"name": b"top"}}))
    assert nested.files == (TorrentFile(("top", "d", "e.txt"), 0), TorrentFile(("top", "f"), 0))


def test_read_torrent_names_the_path(tmp_path: Path) -> None:
    good = tmp_path / "good.torrent"
    good.write_bytes(bencode({b"info": v1_info()}))
    assert read_torrent(good).btih == Digest("btih", bytes.fromhex(VECTOR_BTIH))
    bad = tmp_path / "bad.torrent"
    bad.write_bytes(b"<html>")
    with pytest.raises(InvalidIdentifierError, match=f"^{re.escape(str(bad))}: not valid bencode"):
        read_torrent(bad)
    with pytest.raises(NotFoundError, match=r"no such \.torrent file"):
        read_torrent(tmp_path / "missing.torrent")


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bencode({b"info": v1_info()})
    monkeypatch.setattr(torrent, "MAX_TORRENT_BYTES", len(data) - 1)
    with pytest.raises(InvalidIdentifierError, match=r"MiB limit for a \.torrent"):
        parse_torrent(data)


def files_info(*paths: list[bytes]) -> dict[bytes, Any]:
    files = [{b"length": 1, b"path": path} for path in paths]
    return {b"files": files, b"name": b"n", b"piece length": 16384, b"pieces": bytes(20)}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a torrent", "not valid bencode: unexpected byte b'n' at byte 0"),
        (b"d4:infod", "not valid bencode: unexpected end of data"),
        (b"i01e", "malformed integer"),
        (b"10:abc", "malformed or truncated string"),
        (b"l" * 200 + b"e" * 200, "nested more than 128 deep"),
        (b"d1:ai1e1:ai2ee", "duplicate key b'a'"),
        (b"di1ei2ee", "dictionary key is not a string"),
        (bencode({b"info": v1_info()}) + b"junk", "data after the end of the torrent"),
        (bencode([b"info"]), "the top level is not a dictionary"),
        (bencode({b"announce": b"x"}), "no info dictionary"),
        (bencode({b"info": v1_info(pieces=bytes(21))}), "pieces is 21 bytes, not a multiple of 20"),
        (bencode({b"info": v1_info(pieces=bytes(40))}), "pieces holds 2 hashes, but 1 bytes"),
        (bencode({b"info": v1_info(length=-1)}), "a.bin: negative length -1"),
        (bencode({b"info": v1_info(piece_length=0)}), "piece length 0 is not positive"),
        (bencode({b"info": v1_info(name=b"..")}), "path traversal path component '..'"),
        (bencode({b"info": v1_info(length=b"1")}), "info: 'length' must be of type int"),
        (bencode({b"info": v1_info(files=[])}), "exactly one of length (one file) and files"),
        (
            bencode({b"info": files_info([b"ok"], [b"..", b"etc", b"passwd"])}),
            "file #2 ('../etc/passwd'): path traversal path component '..' is refused",
        ),
        (
            bencode({b"info": files_info([b"/etc", b"passwd"])}),
            "absolute or nested path component '/etc' is refused",
        ),
        (
            bencode({b"info": files_info([b"C:", b"x"])}),
            "absolute or nested path component 'C:' is refused",
        ),
        (bencode({b"info": files_info([b"", b"x"])}), "empty or '.' path component ''"),
        (bencode({b"info": files_info([])}), "file #1: path must be a non-empty list"),
        (bencode({b"info": v2_info() | {b"meta version": 3}}), "unsupported meta version 3"),
        (bencode({b"info": v2_info() | {b"meta version": 1}}), "neither v1 pieces nor meta"),
        (bencode({b"info": v2_info() | {b"piece length": 1000}}), "not a power of two >= 16 KiB"),
        (bencode({b"info": v2_info({})}), "the file tree is empty"),
        (
            bencode({b"info": v2_info({b"d": {}})}),
            "file tree entry 'd' is not a file or a non-empty directory",
        ),
        (
            bencode({b"info": v2_info({b"a": {b"": {b"length": 5}}})}),
            "file tree entry 'a': pieces root must be 32 bytes",
        ),
        (
            bencode({b"info": v2_info({b"..": {b"": {b"length": 0}}})}),
            "file tree entry '..': path traversal",
        ),
        (
            bencode({b"info": v2_info() | {b"length": 2, b"pieces": sha1(b"a")}}),
            "hybrid torrent: the v1 files and the v2 file tree disagree",
        ),
    ],
)
def test_refusals_name_the_source_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_torrent(data, source="in/test.torrent")
    assert str(caught.value).startswith("in/test.torrent: ")
    assert message in str(caught.value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_torrents_fail_only_with_invalid_identifier(data: st.DataObject) -> None:
    good = bencode({b"announce": b"udp://t.invalid:1", b"info": multi_info()})
    damaged = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        damaged[data.draw(st.integers(0, len(good) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(good)))
    with contextlib.suppress(InvalidIdentifierError):
        parse_torrent(bytes(damaged[:cut]))


# --- libtorrent as the oracle for v2 and hybrid torrents (never a session: no network). ---


def libtorrent_case(tmp_path: Path, single: bool, flags_name: str) -> tuple[bytes, Any]:
    lt = pytest.importorskip("libtorrent")
    content = tmp_path / "content"
    (content / "sub").mkdir(parents=True)
    (content / "a.txt").write_bytes(b"hello")
    (content / "sub" / "b.txt").write_bytes(b"world!!")
    (content / "c.bin").write_bytes(bytes(range(256)) * 160)  # several 16 KiB pieces
    (content / "empty").write_bytes(b"")
    target = content / "c.bin" if single else content
    flags = getattr(lt.create_torrent, flags_name) if flags_name else 0
    creator = lt.create_torrent(lt.list_files(str(target)), 16384, flags)
    creator.set_comment("oracle")
    lt.set_piece_hashes(creator, str(target.parent))
    data = bytes(lt.bencode(creator.generate()))
    return data, lt.torrent_info(data)


@pytest.mark.oracle
@pytest.mark.parametrize("single", [False, True], ids=["folder", "one-file"])
@pytest.mark.parametrize("flags_name", ["", "v2_only", "v1_only"], ids=["hybrid", "v2", "v1"])
def test_infohashes_and_files_match_libtorrent(
    tmp_path: Path, single: bool, flags_name: str
) -> None:
    data, info = libtorrent_case(tmp_path, single, flags_name)
    parsed = parse_torrent(data)
    hashes = info.info_hashes()
    assert (parsed.btih is not None) == hashes.has_v1()
    assert (parsed.btih_v2 is not None) == hashes.has_v2()
    if parsed.btih is not None:
        assert parsed.btih.hex == str(hashes.v1)
    if parsed.btih_v2 is not None:
        assert parsed.btih_v2.hex == str(hashes.v2)
    layout = info.layout()
    expected = [
        TorrentFile(tuple(layout.file_path(i).split("/")), layout.file_size(i))
        for i in range(layout.num_files())
        if not layout.file_flags(i) & layout.flag_pad_file
    ]
    assert list(parsed.files) == expected
    assert parsed.total_size == sum(f.length for f in expected)
    assert (parsed.name, parsed.comment, parsed.piece_length) == (info.name(), "oracle", 16384)
