"""Incremental eDonkey2000 (ed2k) hashing, giving both the "red" and the "blue" value.

The file is cut into parts of :data:`PARTSIZE` bytes and each part is hashed with MD4. A file
shorter than one part hashes to ``MD4(data)``; otherwise the hash is ``MD4`` of the concatenated
part hashes. Clients disagree only on sizes that are exact non-zero multiples of
:data:`PARTSIZE`: eMule (and RHash) append the MD4 of an empty last part ("red"), older clients
do not ("blue"). Icarus computes both in the same pass, since hash sets carry either.

MD4 comes from pycryptodome: OpenSSL 3 only offers it through its legacy provider, which
``hashlib`` cannot be relied on to load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from Crypto.Hash import MD4

from icarus.core.errors import InternalError

PARTSIZE = 9_728_000
"""Bytes per ed2k part (eMule ``PARTSIZE``)."""

EMPTY_MD4 = bytes.fromhex("31d6cfe0d16ae931b73c59d7e0c089c0")
"""MD4 of no bytes: the extra part hash of the red variant (and the ed2k of an empty file)."""


@dataclass(frozen=True, slots=True)
class Ed2kDigests:
    """Both ed2k variants of one content; they differ only at exact multiples of PARTSIZE."""

    red: bytes
    """As eMule and RHash compute it: the value seen on the eD2k network."""
    blue: bytes
    """Without the trailing empty part, as some older clients and hash sets have it."""


def _new_md4() -> Any:
    # MD4 is broken for security, but ed2k is defined on it: it identifies, it does not protect.
    return MD4.new()  # noqa: S303


def md4(data: bytes | bytearray | memoryview) -> bytes:
    """MD4 (RFC 1320) of ``data``."""
    hasher = _new_md4()
    hasher.update(data)
    return bytes(hasher.digest())


class Ed2kHasher:
    """Feed bytes in pieces of any size with :meth:`update`; :meth:`digests` gives both variants.

    Pieces may straddle part boundaries: a piece is split where a part ends. Memory is bounded
    by the list of part hashes (16 bytes per 9.7 MB of input).
    """

    __slots__ = ("_done", "_filled", "_part", "_parts", "_result")

    def __init__(self) -> None:
        self._part: Any = _new_md4()
        self._filled = 0
        """Bytes already fed into the current part."""
        self._parts: list[bytes] = []
        self._done = False
        self._result: Ed2kDigests | None = None

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add ``data`` (any length, including zero) to the content hashed so far."""
        if self._done:
            raise InternalError("ed2k hasher updated after its digests were taken")
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        total = len(view)
        room = PARTSIZE - self._filled
        if total < room:
            # The common case (a buffer well inside a part) costs one update and no slicing.
            self._part.update(view)
            self._filled += total
            return
        offset = 0
        while total - offset >= room:
            self._part.update(view[offset : offset + room])
            offset += room
            self._parts.append(bytes(self._part.digest()))
            self._part = _new_md4()
            self._filled = 0
            room = PARTSIZE
        if offset < total:
            self._part.update(view[offset:])
            self._filled = total - offset

    def digests(self) -> Ed2kDigests:
        """The red and blue ed2k of everything fed; no update is accepted afterwards."""
        if self._result is not None:
            return self._result
        self._done = True
        if not self._parts:
            value = bytes(self._part.digest())
            self._result = Ed2kDigests(red=value, blue=value)
        elif self._filled:
            value = md4(b"".join([*self._parts, bytes(self._part.digest())]))
            self._result = Ed2kDigests(red=value, blue=value)
        else:
            joined = b"".join(self._parts)
            self._result = Ed2kDigests(red=md4(joined + EMPTY_MD4), blue=md4(joined))
        return self._result


def ed2k_bytes(data: bytes | bytearray | memoryview) -> Ed2kDigests:
    """Both ed2k variants of ``data`` held in memory."""
    hasher = Ed2kHasher()
    hasher.update(data)
    return hasher.digests()
