""".torrent files: their infohashes, files and metadata.

The v1 infohash (``btih``) is the SHA-1, and the v2 infohash (``btih-v2``, BEP 52) the SHA-256,
of the bencoded ``info`` dictionary *exactly as its bytes appear in the file*: it is never
re-encoded, since a dictionary whose keys are not in canonical order would re-encode to other
bytes and so another hash. A torrent with ``pieces`` is v1; one with ``meta version`` 2 (and a
``file tree``) is v2; a hybrid has both and reports both hashes; a v2-only torrent has no v1
infohash at all (the SHA-1 of its info dictionary names nothing and is never reported).

File paths are refused, not cleaned, when a component is ``..``, ``.``, empty, absolute (a
separator or a drive letter inside a component) or contains NUL: such a torrent is hostile or
broken. Metadata outside ``info`` (trackers, comment, dates) is read leniently: a field of the
wrong type is ignored, since it does not change what the torrent identifies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from icarus.core.errors import InputError, InvalidIdentifierError, NotFoundError
from icarus.domain.digests import Digest
from icarus.identify.bencode import decode_with_info_span

MAX_TORRENT_BYTES = 64 * 1024 * 1024
"""Largest .torrent accepted: real ones are kilobytes to a few megabytes."""

_T = TypeVar("_T")
_Dict = dict[bytes, object]


@dataclass(frozen=True, slots=True)
class TorrentFile:
    """One file of the content: its path (torrent name first for multi-file) and length."""

    path: tuple[str, ...]
    length: int


@dataclass(frozen=True, slots=True)
class TorrentInfo:
    """What a .torrent says. Padding files (BEP 47) are left out of ``files`` and ``total_size``."""

    name: str
    btih: Digest | None
    btih_v2: Digest | None
    files: tuple[TorrentFile, ...]
    piece_length: int
    total_size: int
    private: bool
    trackers: tuple[str, ...]
    comment: str | None
    created_by: str | None
    creation_date: datetime | None

    @property
    def btih_v2_truncated(self) -> bytes | None:
        """The v2 infohash cut to its first 20 bytes, or ``None`` for a v1-only torrent.

        This is how a v2 or hybrid swarm is named where only 20 bytes fit: the v1 wire protocol
        handshake, trackers and the DHT (BEP 52). On the wire it looks like a v1 infohash, so
        match observed 20-byte infohashes against it as well as against ``btih``.
        """
        return self.btih_v2.value[:20] if self.btih_v2 is not None else None

    @property
    def digests(self) -> tuple[Digest, ...]:
        """The infohashes this torrent has (v1, v2 or both)."""
        return tuple(d for d in (self.btih, self.btih_v2) if d is not None)


def read_torrent(path: Path | str) -> TorrentInfo:
    """Read and parse a .torrent file; errors name the path (see :func:`parse_torrent`)."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            data = handle.read(MAX_TORRENT_BYTES + 1)
    except FileNotFoundError:
        raise NotFoundError(f"no such .torrent file: {source}") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=source) from None
    return parse_torrent(data, source=str(source))


def parse_torrent(data: bytes, *, source: str = "<bytes>") -> TorrentInfo:
    """Parse .torrent bytes: infohashes from the raw info bytes, validated file list.

    Raises :class:`InvalidIdentifierError` (prefixed with ``source``) for input larger than
    :data:`MAX_TORRENT_BYTES`, bad bencode, a missing or malformed info dictionary, a ``pieces``
    length that is not a multiple of 20 or does not match the content size, negative lengths,
    unsafe paths, or v1 and v2 file lists of a hybrid that disagree.
    """
    if len(data) > MAX_TORRENT_BYTES:
        raise _bad(f"larger than the {MAX_TORRENT_BYTES >> 20} MiB limit for a .torrent", source)
    root, span = decode_with_info_span(data, source)
    if not isinstance(root, dict):
        raise _bad("not a torrent: the top level is not a dictionary", source)
    info = root.get(b"info")
    if not isinstance(info, dict) or span is None:
        raise _bad("not a torrent: no info dictionary", source)
    raw_info = data[span[0] : span[1]]
    name = _text(_field(info, b"name.utf-8", bytes, source) or _need(info, b"name", bytes, source))
    _check_component(name, "the torrent name", source)
    piece_length = _need(info, b"piece length", int, source)
    if piece_length <= 0:
        raise _bad(f"piece length {piece_length} is not positive", source)
    version = _field(info, b"meta version", int, source)
    if version not in (None, 1, 2):
        raise _bad(f"unsupported meta version {version}", source)
    has_v1 = b"pieces" in info
    if not has_v1 and version != 2:
        raise _bad("info has neither v1 pieces nor meta version 2", source)
    v1 = _v1_files(info, name, piece_length, source) if has_v1 else None
    v2 = _v2_files(info, piece_length, source) if version == 2 else None
    if v1 is not None and v2 is not None and sorted(v1) != sorted(v2):
        # BEP 52: a hybrid's two views must describe the same files, or the two swarms differ.
        raise _bad("hybrid torrent: the v1 files and the v2 file tree disagree", source)
    # A single-file torrent's one path is its name; other paths live in a folder of that name.
    # v2 has no "length" key to tell them apart: libtorrent reads one file at the root of the
    # file tree as a single-file torrent, whatever the name, and so do we.
    if v1 is not None:
        relative, single = v1, b"length" in info
    else:
        relative = v2 or []
        single = len(relative) == 1 and len(relative[0][0]) == 1
    files = tuple(TorrentFile(p if single else (name, *p), n) for p, n in relative)
    v1_hash = hashlib.sha1(raw_info, usedforsecurity=False).digest() if has_v1 else None
    v2_hash = hashlib.sha256(raw_info).digest() if version == 2 else None
    return TorrentInfo(
        name=name,
        btih=Digest("btih", v1_hash) if v1_hash else None,
        btih_v2=Digest("btih-v2", v2_hash) if v2_hash else None,
        files=files,
        piece_length=piece_length,
        total_size=sum(f.length for f in files),
        private=info.get(b"private") == 1,
        trackers=_trackers(root),
        comment=_loose_text(root, b"comment.utf-8") or _loose_text(root, b"comment"),
        created_by=_loose_text(root, b"created by"),
        creation_date=_date(root.get(b"creation date")),
    )


_Entries = list[tuple[tuple[str, ...], int]]


def _v1_files(info: _Dict, name: str, piece_length: int, source: str) -> _Entries:
    """Non-padding files as (path below the torrent folder, length); checks ``pieces``."""
    pieces = _need(info, b"pieces", bytes, source)
    if len(pieces) % 20:
        raise _bad(f"pieces is {len(pieces)} bytes, not a multiple of 20 (SHA-1 hashes)", source)
    if (b"length" in info) == (b"files" in info):
        raise _bad("info must have exactly one of length (one file) and files (several)", source)
    entries: _Entries = []
    if b"length" in info:
        entries.append(((name,), _length(_need(info, b"length", int, source), name, source)))
        content = entries[0][1]
    else:
        listed = _need(info, b"files", list, source)
        if not listed:
            raise _bad("the files list is empty", source)
        content = 0
        for index, entry in enumerate(listed):
            where = f"file #{index + 1}"
            if not isinstance(entry, dict):
                raise _bad(f"{where} is not a dictionary", source)
            raw = _field(entry, b"path.utf-8", list, source, where) or _need(
                entry, b"path", list, source, where
            )
            if not raw or not all(isinstance(c, bytes) for c in raw):
                raise _bad(f"{where}: path must be a non-empty list of strings", source)
            path = tuple(_text(c) for c in raw)
            where = f"file #{index + 1} ({'/'.join(path)[:200]!r})"
            for component in path:
                _check_component(component, where, source)
            length = _length(_need(entry, b"length", int, source, where), where, source)
            content += length
            attr = entry.get(b"attr")
            if not (isinstance(attr, bytes) and b"p" in attr):  # BEP 47 padding file
                entries.append((path, length))
    expected = -(-content // piece_length)
    if len(pieces) // 20 != expected:
        raise _bad(
            f"pieces holds {len(pieces) // 20} hashes, but {content} bytes in pieces of "
            f"{piece_length} need {expected}",
            source,
        )
    return entries


def _v2_files(info: _Dict, piece_length: int, source: str) -> _Entries:
    """Files of the BEP 52 ``file tree`` as (path below the torrent folder, length)."""
    if piece_length < 16384 or piece_length & (piece_length - 1):
        raise _bad(f"v2 piece length {piece_length} is not a power of two >= 16 KiB", source)
    tree = _need(info, b"file tree", dict, source)
    if not tree:
        raise _bad("the file tree is empty", source)
    entries: _Entries = []
    # Depth-first in file order, without recursion (the decoder already bounds the depth).
    stack: list[tuple[tuple[str, ...], Iterator[tuple[bytes, object]]]] = [((), iter(tree.items()))]
    while stack:
        prefix, children = stack[-1]
        key, child = next(children, (None, None))
        if key is None:
            stack.pop()
            continue
        path = (*prefix, _text(key))
        where = f"file tree entry {'/'.join(path)[:200]!r}"
        _check_component(path[-1], where, source)
        if not isinstance(child, dict) or not child:
            raise _bad(f"{where} is not a file or a non-empty directory", source)
        if b"" not in child:
            stack.append((path, iter(child.items())))
            continue
        leaf = child[b""]
        if len(child) != 1 or not isinstance(leaf, dict):
            raise _bad(f"{where}: a file entry must be {{'': {{length, ...}}}}", source)
        length = _length(_need(leaf, b"length", int, source, where), where, source)
        root = leaf.get(b"pieces root")
        if length and not (isinstance(root, bytes) and len(root) == 32):
            raise _bad(f"{where}: pieces root must be 32 bytes", source)
        entries.append((path, length))
    return entries


def _check_component(component: str, where: str, source: str) -> None:
    if component in ("", ".", ".."):
        kind = "path traversal" if component == ".." else "empty or '.'"
        raise _bad(f"{where}: {kind} path component {component!r} is refused", source)
    if "/" in component or "\\" in component or re.match(r"[A-Za-z]:", component):
        raise _bad(f"{where}: absolute or nested path component {component!r} is refused", source)
    if "\x00" in component:
        raise _bad(f"{where}: NUL in path component {component!r} is refused", source)


def _length(value: int, where: str, source: str) -> int:
    if value < 0:
        raise _bad(f"{where}: negative length {value}", source)
    return value


def _field(
    mapping: _Dict, key: bytes, kind: type[_T], source: str, where: str = "info"
) -> _T | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise _bad(f"{where}: {key.decode()!r} must be of type {kind.__name__}", source)
    return value


def _need(mapping: _Dict, key: bytes, kind: type[_T], source: str, where: str = "info") -> _T:
    value = _field(mapping, key, kind, source, where)
    if value is None:
        raise _bad(f"{where}: {key.decode()!r} is missing", source)
    return value


def _text(raw: bytes) -> str:
    # v1 names need not be UTF-8 (and v2 ones must be): keep what decodes, mark the rest.
    return raw.decode("utf-8", "replace")


def _loose_text(root: _Dict, key: bytes) -> str | None:
    value = root.get(key)
    return _text(value) if isinstance(value, bytes) else None


def _trackers(root: _Dict) -> tuple[str, ...]:
    found: list[object] = [root.get(b"announce")]
    tiers = root.get(b"announce-list")
    if isinstance(tiers, list):
        for tier in tiers:
            found.extend(tier if isinstance(tier, list) else [])
    urls = (_text(u).strip() for u in found if isinstance(u, bytes))
    return tuple(dict.fromkeys(u for u in urls if u))


def _date(value: object) -> datetime | None:
    if not isinstance(value, int):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _bad(problem: str, source: str) -> InvalidIdentifierError:
    return InvalidIdentifierError(problem, path=source)
