"""eMule and BitTorrent artefacts: byte layouts field by field, published vectors, round trips."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from icarus.core.errors import CorruptInputError
from icarus.identify.ed2k import EMPTY_MD4, PARTSIZE, ed2k_bytes
from icarus.identify.kinds.base import base32_encode
from icarus.identify.torrent import parse_torrent
from icarus.sim.artefacts.aich import aich_tree, ed2k_part_hashes
from icarus.sim.artefacts.emule import (
    Credit,
    KnownFile,
    clients_met_bytes,
    known2_bytes,
    known_met_bytes,
    parse_clients_met,
    parse_known2,
    parse_known_met,
    parse_preferences,
    preferences_bytes,
)
from icarus.sim.artefacts.torrents import (
    bencode,
    build_torrent,
    parse_resume,
    qbittorrent_fastresume,
    transmission_resume,
    without_announce,
)

USER_HASH = bytes.fromhex("5d2f1a0c9b0e4a3f8e2d1c0b6f8e6f9d")  # byte 5 = 0x0e, byte 14 = 0x6f

# ed2k (red) and AICH of runs of zero bytes: docs/reference vectors (RHash 1.4.3).
ZERO_VECTORS = {
    9_727_999: ("ac44b93fc9aff773ab0005c911f8396f", "L6SPMD2CM6PRZBGRQ6UFC4HJFFOATRA4", 0, 53),
    9_728_000: ("fc21d9af828f92a8df64beac3357425d", "5D3N4HQHIUMQ7IU7A5QLPLI6RHSWOR7B", 2, 53),
    9_728_001: ("06329e9dba1373512c06386fe29e3c65", "HL3TFXORIUEPXUWFPY3JLR7SMKGTO4IH", 2, 54),
    19_456_000: ("114b21c63a74b6ca922291a11177dd5c", "EEXRXRAV5SIJN5I2EITKIBPCXQ6QWG4E", 3, 106),
}


@pytest.mark.parametrize("size", sorted(ZERO_VECTORS))
def test_part_hashes_and_aich_at_the_partsize_boundaries(size: int) -> None:
    ed2k, aich, parts, blocks = ZERO_VECTORS[size]
    data = bytes(size)
    record = KnownFile.of("zeros.bin", data, last_modified=0)
    assert record.ed2k.hex() == ed2k
    assert len(record.part_hashes) == parts
    if size % PARTSIZE == 0:
        assert record.part_hashes[-1] == EMPTY_MD4  # eMule's extra empty part ("red")
    assert base32_encode(aich_tree(data).root) == aich
    assert len(aich_tree(data).blocks) == blocks


def test_small_vectors() -> None:
    assert base32_encode(aich_tree(b"a").root) == "Q336IN72UWT7ZYK5DXOLT2XK5I3XMZ5Y"
    assert base32_encode(aich_tree(b"A" * 1025).root) == "UUHHSQPHQXN5X6EMYK6CD7IJ7BHZTE77"
    assert ed2k_part_hashes(b"a") == ()
    assert KnownFile.of("a", b"a", last_modified=0).ed2k.hex() == (
        "bde52cb31de33e46245e05fbdbd6fb24")


def test_known_met_layout_field_by_field() -> None:
    data = bytes(range(256)) * 4
    record = KnownFile.of("holiday.avi", data, last_modified=0x01020304, last_shared=0x0A0B0C0D,
                          requested=7, accepted=5, transferred=4096)
    raw = known_met_bytes([record])
    assert raw[0] == 0x0E
    assert struct.unpack_from("<I", raw, 1)[0] == 1
    assert struct.unpack_from("<I", raw, 5)[0] == 0x01020304
    assert raw[9:25] == ed2k_bytes(data).red
    assert struct.unpack_from("<H", raw, 25)[0] == 0  # below one part: no part hashes
    assert struct.unpack_from("<I", raw, 27)[0] == 7  # name, size, AICH, last shared, 3 counters
    # FT_FILENAME in the long form: type 0x02, name length 1, id 0x01, uint16 length, UTF-8.
    assert raw[31:35] == b"\x02\x01\x00\x01"
    assert struct.unpack_from("<H", raw, 35)[0] == len("holiday.avi")
    assert raw[37:48] == b"holiday.avi"
    # FT_FILESIZE: type 0x03 (uint32), id 0x02.
    assert raw[48:52] == b"\x03\x01\x00\x02" and struct.unpack_from("<I", raw, 52)[0] == 1024
    tags = raw[56:]
    assert b"\x03\x01\x00\x51" + struct.pack("<I", 7) in tags  # FT_ATREQUESTED
    assert b"\x03\x01\x00\x52" + struct.pack("<I", 5) in tags  # FT_ATACCEPTED
    assert b"\x03\x01\x00\x50" + struct.pack("<I", 4096) in tags  # FT_ATTRANSFERRED
    assert b"\x03\x01\x00\x34" + struct.pack("<I", 0x0A0B0C0D) in tags  # FT_LASTSHARED
    aich = base32_encode(aich_tree(data).root).encode()
    assert b"\x02\x01\x00\x27" + struct.pack("<H", 32) + aich in tags  # FT_AICH_HASH
    assert parse_known_met(raw) == [record]


def test_known_met_with_parts_and_a_large_file_round_trip() -> None:
    parted = KnownFile.of("big.bin", bytes(PARTSIZE), last_modified=5)
    large = KnownFile("huge.iso", 5 << 30, b"\x11" * 16, (b"\x22" * 16,) * 553, 6,
                      transferred=(6 << 30) + 3)
    raw = known_met_bytes([parted, large])
    assert raw[0] == 0x0F  # a file over 4 GiB: uint64 sizes
    assert parse_known_met(raw) == [parted, large]


def test_known_met_reader_accepts_short_tags_and_keeps_the_first_name() -> None:
    tags = (b"\x82\x01" + struct.pack("<H", 5) + b"first"  # short form FT_FILENAME
            + b"\x95\x01" + b"other"  # short string (0x15: 5 bytes) named 0x01: ignored
            + b"\x83\x02" + struct.pack("<I", 99))
    raw = (b"\x0e" + struct.pack("<I", 1) + struct.pack("<I", 1) + b"\x33" * 16
           + struct.pack("<H", 0) + struct.pack("<I", 3) + tags)
    (record,) = parse_known_met(raw)
    assert (record.name, record.size, record.aich) == ("first", 99, None)


def test_truncated_known_met_names_file_and_record() -> None:
    raw = known_met_bytes([KnownFile.of("a", b"abc", last_modified=1)] * 2)
    with pytest.raises(CorruptInputError, match=r"seized/known\.met: record 1: truncated"):
        parse_known_met(raw[:-3], "seized/known.met")
    with pytest.raises(CorruptInputError, match="header byte 0x0d"):
        parse_known_met(b"\x0d" + raw[1:])


def test_known2_layout_and_round_trip() -> None:
    trees = [aich_tree(b"x" * 400_000), aich_tree(b"y")]
    raw = known2_bytes(trees)
    assert raw[0] == 0x02
    assert raw[1:21] == trees[0].root
    assert struct.unpack_from("<I", raw, 21)[0] == 3  # 400,000 bytes: three 180 KiB blocks
    assert raw[25:85] == b"".join(trees[0].blocks)
    assert parse_known2(raw) == trees


def test_preferences_dat_emule_and_amule() -> None:
    emule = preferences_bytes(USER_HASH)
    assert len(emule) == 1 + 16 + 44 and emule[0] == 0x14 and emule[1:17] == USER_HASH
    assert emule[17:] == bytes(44)
    amule = preferences_bytes(USER_HASH, window_placement=False)
    assert len(amule) == 17  # as aMule 2.3.3 writes it
    for raw in (emule, amule):
        prefs = parse_preferences(raw)
        assert (prefs.version, prefs.user_hash) == (0x14, USER_HASH)
        assert prefs.user_hash[5] == 0x0E and prefs.user_hash[14] == 0x6F


def test_clients_met_layout_and_round_trip() -> None:
    credits = [Credit(USER_HASH, (1 << 32) + 5, 77, 1_600_000_000, b"k" * 76),
               Credit(b"\x01" * 16, 0, 0, 0)]
    raw = clients_met_bytes(credits)
    assert raw[0] == 0x12 and struct.unpack_from("<I", raw, 1)[0] == 2
    assert len(raw) == 5 + 2 * 119
    assert raw[5:21] == USER_HASH
    assert struct.unpack_from("<IIIIIHB", raw, 21) == (5, 77, 1_600_000_000, 1, 0, 0, 76)
    assert parse_clients_met(raw) == credits


def test_torrent_infohash_vector_and_parse() -> None:
    one = build_torrent("a.bin", b"a")
    assert one.infohash.hex() == "64ecbbf09c884e4298870d7c6f02baf67f02743b"
    multi = build_torrent("set", [("x/1.jpg", b"1" * 300_000), ("2.jpg", b"2")],
                          announce="udp://t.invalid:1/announce", creation_date=5)
    info = parse_torrent(multi.data)
    assert info.btih is not None and info.btih.value == multi.infohash
    assert [f.path for f in info.files] == [("set", "x", "1.jpg"), ("set", "2.jpg")]
    assert info.trackers == ("udp://t.invalid:1/announce",)
    kept = parse_torrent(without_announce(multi))
    assert kept.trackers == () and kept.btih == info.btih


TRANSMISSION_KEYS = {
    "activity-date", "added-date", "bandwidth-priority", "corrupt", "destination", "dnd",
    "done-date", "downloaded", "downloading-time-seconds", "idle-limit", "labels", "max-peers",
    "name", "paused", "priority", "progress", "ratio-limit", "seeding-time-seconds",
    "speed-limit-down", "speed-limit-up", "uploaded"}
QBT_KEYS = {
    "active_time", "added_time", "info-hash", "info-hash2", "save_path", "qBt-savePath", "name",
    "peers", "pieces", "trackers", "total_uploaded", "total_downloaded", "file-format",
    "file-version", "libtorrent-version", "qBt-tags", "seeding_time", "completed_time"}


def _keys(raw: bytes) -> set[str]:
    from icarus.identify.bencode import decode_with_info_span

    root, _ = decode_with_info_span(raw, "resume")
    assert isinstance(root, dict)
    return {k.decode() for k in root}


def test_transmission_resume_keys_and_round_trip() -> None:
    torrent = build_torrent("clip.mp4", b"v" * 600_000)
    raw = transmission_resume(torrent, destination="/home/bob/Downloads", added=10, done=70,
                              activity=500, uploaded=1234, seeding_seconds=400,
                              peers=[("10.77.0.12", 8999)])
    assert _keys(raw) == TRANSMISSION_KEYS | {"peers2"}
    peers2 = raw[raw.index(b"6:peers2") + 8 :]
    assert peers2.startswith(b"24:")
    record = peers2[3:27]  # uint32 LE type 0, IPv4 in 16 bytes, port big-endian, flags, pad
    assert record[:4] == b"\0\0\0\0" and record[4:8] == bytes([10, 77, 0, 12])
    assert record[20:22] == struct.pack(">H", 8999)
    resume = parse_resume(raw)
    assert (resume.client, resume.name, resume.save_path) == (
        "transmission", "clip.mp4", "/home/bob/Downloads")
    assert (resume.uploaded, resume.downloaded, resume.added, resume.info_hash) == (
        1234, 600_000, 10, None)
    assert resume.peers == (("10.77.0.12", 8999),)


def test_qbittorrent_fastresume_keys_and_round_trip() -> None:
    torrent = build_torrent("clip.mp4", b"v" * 600_000)
    raw = qbittorrent_fastresume(torrent, save_path="C:/Users/bob/Downloads", added=10,
                                 completed=70, last_active=500, uploaded=99, seeding_seconds=3,
                                 trackers=["udp://t.invalid:1/announce"],
                                 peers=[("10.77.0.11", 51413)])
    assert _keys(raw) >= QBT_KEYS
    resume = parse_resume(raw, "BT_backup/x.fastresume")
    assert resume.client == "qbittorrent" and resume.info_hash == torrent.infohash
    assert resume.save_path == "C:/Users/bob/Downloads" and resume.uploaded == 99
    assert resume.peers == (("10.77.0.11", 51413),)
    assert b"6:piecesi" not in raw and b"6:pieces3:\x01\x01\x01" in raw  # one byte per piece


def test_parse_resume_refuses_other_data() -> None:
    with pytest.raises(CorruptInputError, match="neither"):
        parse_resume(bencode({"a": 1}), "x.resume")
    with pytest.raises(CorruptInputError, match=r"x\.resume"):
        parse_resume(b"d3:abc", "x.resume")


@pytest.mark.oracle
@pytest.mark.skipif(shutil.which("rhash") is None, reason="rhash not installed")
def test_aich_and_ed2k_agree_with_rhash(tmp_path: Path) -> None:
    for size in (1, 184_320, 184_321, 9_728_001, 20_000_000):
        data = hashlib.shake_256(str(size).encode()).digest(size)
        path = tmp_path / f"{size}.bin"
        path.write_bytes(data)
        out = subprocess.run(["rhash", "-p", "%{aich} %{ed2k}", str(path)],
                             capture_output=True, text=True, check=True).stdout.split()
        record = KnownFile.of(path.name, data, last_modified=0)
        assert record.aich is not None
        assert base32_encode(record.aich) == out[0].upper()
        assert record.ed2k.hex() == out[1]
