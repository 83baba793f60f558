"""BitTorrent traces: .torrent files, Transmission 3.00 ``.resume`` and qBittorrent 4.5
``.fastresume`` files (all bencoded), with readers for the resume files.

The resume keys are the ones these clients were observed to write (Transmission 3.00 and
qBittorrent 4.5.2 with libtorrent 2.0.8, seeding). Transmission names a resume file by the
40-hex infohash and keeps the torrent as ``torrents/<hash>.torrent``; the resume holds the
save folder (``destination``) but neither the infohash nor a peer id. qBittorrent keeps
``BT_backup/<hash>.fastresume`` beside ``<hash>.torrent`` (without ``announce``: its trackers
live in the fastresume), and the fastresume holds ``info-hash`` and ``save_path``. Neither
client stores its peer id: that is regenerated at each start.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from icarus.core.errors import CorruptInputError, InputError
from icarus.identify.bencode import decode_with_info_span

Bencodable = object
"""int, bytes, str, list or dict (str or bytes keys) of these: checked when encoded."""

DEFAULT_PIECE_LENGTH = 262_144


def bencode(value: Bencodable) -> bytes:
    """Canonical bencode: dictionary keys (str as UTF-8, or bytes) sorted as raw bytes."""
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans: use 0 or 1")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if not isinstance(value, dict):
        raise TypeError(f"cannot bencode {type(value).__name__}")
    items = sorted((k.encode("utf-8") if isinstance(k, str) else k, v) for k, v in value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


@dataclass(frozen=True, slots=True)
class Torrent:
    """A built .torrent: its bytes, v1 infohash, name, total size and number of pieces."""

    data: bytes
    infohash: bytes
    name: str
    size: int
    pieces: int


def build_torrent(name: str, content: bytes | Sequence[tuple[str, bytes]], *,
                  piece_length: int = DEFAULT_PIECE_LENGTH, announce: str | None = None,
                  created_by: str | None = None, creation_date: int | None = None,
                  comment: str | None = None) -> Torrent:
    """A v1 .torrent for one file (``content`` bytes) or several (``(relative path, bytes)``).

    The infohash depends only on ``name``, the files and ``piece_length``; trackers, dates
    and comment sit outside ``info``. Multi-file paths use ``/`` and are split into components.
    """
    if isinstance(content, bytes):
        info: dict[str, Bencodable] = {"length": len(content)}
        payload = content
    else:
        info = {"files": [{"length": len(data), "path": list(path.split("/"))}
                          for path, data in content]}
        payload = b"".join(data for _, data in content)
    view = memoryview(payload)
    hashes = [hashlib.sha1(view[i : i + piece_length], usedforsecurity=False).digest()
              for i in range(0, len(payload), piece_length)]
    info.update({"name": name, "piece length": piece_length, "pieces": b"".join(hashes)})
    root: dict[str, Bencodable] = {"info": info}
    if announce is not None:
        root["announce"] = announce
    if created_by is not None:
        root["created by"] = created_by
    if creation_date is not None:
        root["creation date"] = creation_date
    if comment is not None:
        root["comment"] = comment
    infohash = hashlib.sha1(bencode(info), usedforsecurity=False).digest()
    return Torrent(bencode(root), infohash, name, len(payload), len(hashes))


def without_announce(torrent: Torrent) -> bytes:
    """The torrent as qBittorrent keeps it in BT_backup: the same info, no ``announce``."""
    root, _ = decode_with_info_span(torrent.data, torrent.name)
    assert isinstance(root, dict)
    root.pop(b"announce", None)
    root.pop(b"announce-list", None)
    return bencode(root)


def compact_peers(peers: Sequence[tuple[str, int]]) -> bytes:
    """IPv4 peers in the 6-byte compact form (address and port in network order)."""
    return b"".join(ipaddress.IPv4Address(ip).packed + struct.pack(">H", port)
                    for ip, port in peers)


def transmission_resume(torrent: Torrent, *, destination: str, added: int, done: int,
                        activity: int, uploaded: int, seeding_seconds: int,
                        peers: Sequence[tuple[str, int]] = ()) -> bytes:
    """A Transmission 3.00 ``<infohash>.resume`` of a complete torrent being seeded.

    ``peers`` become ``peers2`` (24-byte tr_pex records: uint32 LE address type 0 = IPv4,
    16 address bytes, port in network order, flags, padding) as a leecher's file has them.
    """
    n_files = 1
    resume: dict[str, Bencodable] = {
        "activity-date": activity, "added-date": added, "bandwidth-priority": 0, "corrupt": 0,
        "destination": destination, "dnd": [0] * n_files, "done-date": done,
        "downloaded": torrent.size, "downloading-time-seconds": max(0, done - added),
        "idle-limit": {"idle-limit": 30, "idle-mode": 0}, "labels": [], "max-peers": 50,
        "name": torrent.name, "paused": 0, "priority": [0] * n_files,
        "progress": {"blocks": "all", "have": "all", "time-checked": [done] * n_files},
        "ratio-limit": {"ratio-limit": "2.000000", "ratio-mode": 0},
        "seeding-time-seconds": seeding_seconds,
        "speed-limit-down": {"speed-Bps": 100000, "use-global-speed-limit": 1,
                             "use-speed-limit": 0},
        "speed-limit-up": {"speed-Bps": 100000, "use-global-speed-limit": 1,
                           "use-speed-limit": 0},
        "uploaded": uploaded,
    }
    if peers:
        resume["peers2"] = b"".join(
            struct.pack("<I", 0) + ipaddress.IPv4Address(ip).packed.ljust(16, b"\0")
            + struct.pack(">HBB", port, 0x14, 0) for ip, port in peers)
    return bencode(resume)


def qbittorrent_fastresume(torrent: Torrent, *, save_path: str, added: int, completed: int,
                           last_active: int, uploaded: int, seeding_seconds: int,
                           trackers: Sequence[str] = (),
                           peers: Sequence[tuple[str, int]] = ()) -> bytes:
    """A qBittorrent 4.5.2 (libtorrent 2.0.8) ``<infohash>.fastresume`` of a seeded torrent."""
    resume: dict[str, Bencodable] = {
        "active_time": max(0, last_active - added), "added_time": added,
        "allocation": "sparse", "apply_ip_filter": 1, "auto_managed": 1,
        "banned_peers": b"", "banned_peers6": b"", "completed_time": completed,
        "disable_dht": 0, "disable_lsd": 0, "disable_pex": 0, "download_rate_limit": -1,
        "file-format": "libtorrent resume file", "file-version": 1, "file_priority": [1],
        "finished_time": max(0, last_active - completed), "httpseeds": [],
        "info-hash": torrent.infohash, "info-hash2": bytes(32),
        "last_download": completed, "last_seen_complete": last_active,
        "last_upload": last_active, "libtorrent-version": "2.0.8.0", "max_connections": 100,
        "max_uploads": -1, "name": torrent.name, "num_complete": 1, "num_downloaded": 0,
        "num_incomplete": 0, "paused": 0, "peers": compact_peers(peers), "peers6": b"",
        "pieces": b"\x01" * torrent.pieces, "qBt-category": "", "qBt-contentLayout": "Original",
        "qBt-downloadPath": "", "qBt-firstLastPiecePriority": 0, "qBt-name": "",
        "qBt-ratioLimit": -2000, "qBt-savePath": save_path, "qBt-seedStatus": 1,
        "qBt-seedingTimeLimit": -2, "qBt-stopCondition": "None", "qBt-tags": [],
        "save_path": save_path, "seed_mode": 0, "seeding_time": seeding_seconds,
        "sequential_download": 0, "share_mode": 0, "stop_when_ready": 0, "super_seeding": 0,
        "total_downloaded": torrent.size, "total_uploaded": uploaded,
        "trackers": [[url] for url in trackers], "upload_mode": 0, "upload_rate_limit": -1,
        "url-list": [],
    }
    return bencode(resume)


@dataclass(frozen=True, slots=True)
class ResumeRecord:
    """What a resume file says, whichever client wrote it."""

    client: str
    """``transmission`` or ``qbittorrent``."""
    name: str
    save_path: str
    info_hash: bytes | None
    uploaded: int
    downloaded: int
    added: int
    peers: tuple[tuple[str, int], ...] = field(default=())


def parse_resume(data: bytes, source: str = "resume") -> ResumeRecord:
    """Read a Transmission .resume or a qBittorrent .fastresume; the client is told by its keys.

    Raises CorruptInputError naming ``source`` when the bencode is invalid or the keys of
    neither client are there.
    """
    try:
        root, _ = decode_with_info_span(data, source)
    except InputError as exc:
        raise CorruptInputError(str(exc)) from None
    if not isinstance(root, dict):
        raise CorruptInputError("resume data is not a dictionary", path=source)
    if root.get(b"file-format") == b"libtorrent resume file":
        info_hash = root.get(b"info-hash")
        return ResumeRecord(
            "qbittorrent", _str(root, b"name", source), _str(root, b"save_path", source),
            info_hash if isinstance(info_hash, bytes) else None,
            _num(root, b"total_uploaded"), _num(root, b"total_downloaded"),
            _num(root, b"added_time"), _compact(root.get(b"peers"), 6, 0))
    if b"destination" in root and b"added-date" in root:
        return ResumeRecord(
            "transmission", _str(root, b"name", source), _str(root, b"destination", source),
            None, _num(root, b"uploaded"), _num(root, b"downloaded"), _num(root, b"added-date"),
            _compact(root.get(b"peers2"), 24, 4))
    raise CorruptInputError("neither a Transmission nor a qBittorrent resume file", path=source)


def _str(root: dict[bytes, object], key: bytes, source: str) -> str:
    value = root.get(key)
    if not isinstance(value, bytes):
        raise CorruptInputError(f"resume key {key.decode()!r} missing or not a string",
                                path=source)
    return value.decode("utf-8", errors="replace")


def _num(root: dict[bytes, object], key: bytes) -> int:
    value = root.get(key)
    return value if isinstance(value, int) else 0


def _compact(raw: object, size: int, offset: int) -> tuple[tuple[str, int], ...]:
    if not isinstance(raw, bytes):
        return ()
    peers = []
    for start in range(0, len(raw) - size + 1, size):
        ip = str(ipaddress.IPv4Address(raw[start + offset : start + offset + 4]))
        port = struct.unpack(">H", raw[start + offset + (4 if size == 6 else 16) :][:2])[0]
        peers.append((ip, port))
    return tuple(peers)
