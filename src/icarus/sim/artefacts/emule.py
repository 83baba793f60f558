"""eMule's files on a seized machine: writers and readers of the exact binary layouts.

All integers are little-endian (eMule source: ``KnownFileList.cpp``, ``KnownFile.cpp``,
``SHAHashSet.cpp``, ``Preferences.h``, ``ClientCredits.h``; aMule 2.3.3 writes the same).

- ``known.met``: ``0x0E`` (``0x0F`` when a file is over 4 GiB), uint32 count, then per file:
  uint32 last-modified (the file's mtime, UTC time_t), 16-byte ed2k hash, uint16 part-hash
  count and the part hashes, uint32 tag count and the tags: FT_FILENAME, FT_FILESIZE (uint32,
  or uint64 above 4 GiB as eMule 0.50 and aMule write it), FT_AICH_HASH (base32), FT_LASTSHARED,
  then the all-time statistics FT_ATTRANSFERRED (+ FT_ATTRANSFERREDHI), FT_ATREQUESTED and
  FT_ATACCEPTED, which are evidence that the machine *distributed* the file.
- ``known2_64.met``: ``0x02``, then per file the 20-byte AICH root, a uint32 count and that
  many 20-byte block hashes.
- ``preferences.dat``: a version byte (0x14), the 16-byte user hash, then eMule's
  WINDOWPLACEMENT (44 bytes, written as zeros here: the window's position proves nothing).
  aMule writes only the first 17 bytes; the reader accepts both.
- ``clients.met`` (the credit file): version 0x12, uint32 count, then per peer 119 bytes: the
  peer's user hash, uint32 uploaded-lo, downloaded-lo, last-seen, uploaded-hi, downloaded-hi,
  uint16 reserved, uint8 key size and an 80-byte public-key field. It names, by user hash, the
  peers this installation traded with.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from icarus.core.errors import UsageError
from icarus.identify.kinds.base import base32_decode, base32_encode
from icarus.sim.artefacts.aich import AichTree, aich_tree, ed2k_from_parts, ed2k_part_hashes
from icarus.sim.artefacts.mettags import (
    TAGTYPE_STRING,
    TAGTYPE_UINT32,
    TAGTYPE_UINT64,
    Cursor,
    encode_tag,
    read_tag,
)

MET_HEADER = 0x0E
MET_HEADER_I64TAGS = 0x0F
KNOWN2_MET_VERSION = 0x02
PREFERENCES_VERSION = 0x14
CREDITFILE_VERSION = 0x12
WINDOWPLACEMENT_SIZE = 44
"""sizeof(WINDOWPLACEMENT) on Windows: 3 UINTs, 2 POINTs, 1 RECT."""
SECURE_IDENT_SIZE = 80
CREDIT_RECORD_SIZE = 16 + 5 * 4 + 2 + 1 + SECURE_IDENT_SIZE

FT_FILENAME = 0x01
FT_FILESIZE = 0x02
FT_AICH_HASH = 0x27
FT_LASTSHARED = 0x34
FT_FILESIZE_HI = 0x3A
FT_ATTRANSFERRED = 0x50
FT_ATREQUESTED = 0x51
FT_ATACCEPTED = 0x52
FT_ATTRANSFERREDHI = 0x54

_U32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class KnownFile:
    """One record of known.met: a file this installation hashed and shared."""

    name: str
    size: int
    ed2k: bytes
    part_hashes: tuple[bytes, ...]
    last_modified: int
    aich: bytes | None = None
    last_shared: int | None = None
    requested: int = 0
    accepted: int = 0
    transferred: int = 0

    @classmethod
    def of(cls, name: str, data: bytes, *, last_modified: int, last_shared: int | None = None,
           requested: int = 0, accepted: int = 0, transferred: int = 0) -> KnownFile:
        """The record eMule writes after hashing ``data``: real ed2k, part hashes and AICH."""
        parts = ed2k_part_hashes(data)
        return cls(name, len(data), ed2k_from_parts(data, parts), parts, last_modified,
                   aich_tree(data).root, last_shared, requested, accepted, transferred)


def known_met_bytes(files: Sequence[KnownFile]) -> bytes:
    """known.met holding ``files`` in the given order."""
    large = any(f.size > _U32 for f in files)
    out = [struct.pack("<BI", MET_HEADER_I64TAGS if large else MET_HEADER, len(files))]
    for f in files:
        if len(f.ed2k) != 16 or any(len(p) != 16 for p in f.part_hashes):
            raise UsageError(f"{f.name}: ed2k and part hashes must be 16 bytes")
        size_type = TAGTYPE_UINT64 if f.size > _U32 else TAGTYPE_UINT32
        tags = [encode_tag(FT_FILENAME, f.name, TAGTYPE_STRING),
                encode_tag(FT_FILESIZE, f.size, size_type)]
        if f.aich is not None:
            tags.append(encode_tag(FT_AICH_HASH, base32_encode(f.aich), TAGTYPE_STRING))
        if f.last_shared is not None:
            tags.append(encode_tag(FT_LASTSHARED, f.last_shared, TAGTYPE_UINT32))
        if f.transferred:
            tags.append(encode_tag(FT_ATTRANSFERRED, f.transferred & _U32, TAGTYPE_UINT32))
            if f.transferred > _U32:
                tags.append(encode_tag(FT_ATTRANSFERREDHI, f.transferred >> 32, TAGTYPE_UINT32))
        if f.requested:
            tags.append(encode_tag(FT_ATREQUESTED, f.requested, TAGTYPE_UINT32))
        if f.accepted:
            tags.append(encode_tag(FT_ATACCEPTED, f.accepted, TAGTYPE_UINT32))
        out.append(struct.pack("<I", f.last_modified) + f.ed2k)
        out.append(struct.pack("<H", len(f.part_hashes)) + b"".join(f.part_hashes))
        out.append(struct.pack("<I", len(tags)) + b"".join(tags))
    return b"".join(out)


def parse_known_met(data: bytes, source: str = "known.met") -> list[KnownFile]:
    """The records of a known.met, in file order (history records included).

    The first FT_FILENAME wins (aMule adds a second, legacy-encoded copy); FT_FILESIZE_HI or a
    uint64 FT_FILESIZE give sizes over 4 GiB. Raises CorruptInputError naming ``source`` and
    the record for a wrong header or a truncated record.
    """
    cur = Cursor(data, source)
    header = cur.unpack("B")
    if header not in (MET_HEADER, MET_HEADER_I64TAGS):
        raise cur.fail(f"not a known.met: header byte {header:#04x}")
    count = cur.unpack("I")
    files = []
    for index in range(count):
        cur.record = f"record {index}"
        modified = cur.unpack("I")
        ed2k = cur.take(16)
        parts = tuple(cur.take(16) for _ in range(cur.unpack("H")))
        values: dict[int | bytes, object] = {}
        for _ in range(cur.unpack("I")):
            tag = read_tag(cur)
            values.setdefault(tag.name, tag.value)
        size = _int(values.get(FT_FILESIZE)) | (_int(values.get(FT_FILESIZE_HI)) << 32)
        aich_text = values.get(FT_AICH_HASH)
        files.append(KnownFile(
            name=str(values.get(FT_FILENAME, "")), size=size, ed2k=ed2k, part_hashes=parts,
            last_modified=modified,
            aich=base32_decode(aich_text) if isinstance(aich_text, str) else None,
            last_shared=_int(values[FT_LASTSHARED]) if FT_LASTSHARED in values else None,
            requested=_int(values.get(FT_ATREQUESTED)), accepted=_int(values.get(FT_ATACCEPTED)),
            transferred=_int(values.get(FT_ATTRANSFERRED))
            | (_int(values.get(FT_ATTRANSFERREDHI)) << 32)))
    return files


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def known2_bytes(trees: Iterable[AichTree]) -> bytes:
    """known2_64.met holding the AICH root and block hashes of each file."""
    out = [bytes([KNOWN2_MET_VERSION])]
    for tree in trees:
        out.append(tree.root + struct.pack("<I", len(tree.blocks)) + b"".join(tree.blocks))
    return b"".join(out)


def parse_known2(data: bytes, source: str = "known2_64.met") -> list[AichTree]:
    """The AICH hash sets of a known2_64.met, in file order."""
    cur = Cursor(data, source)
    if (version := cur.unpack("B")) != KNOWN2_MET_VERSION:
        raise cur.fail(f"not a known2_64.met: version byte {version:#04x}")
    trees: list[AichTree] = []
    while cur.left:
        cur.record = f"hash set {len(trees)}"
        root = cur.take(20)
        trees.append(AichTree(root, tuple(cur.take(20) for _ in range(cur.unpack("I")))))
    return trees


@dataclass(frozen=True, slots=True)
class Preferences:
    """What preferences.dat says: its version and the installation's persistent user hash."""

    version: int
    user_hash: bytes


def preferences_bytes(user_hash: bytes, *, version: int = PREFERENCES_VERSION,
                      window_placement: bool = True) -> bytes:
    """preferences.dat: eMule's 61 bytes, or aMule's 17 with ``window_placement=False``."""
    if len(user_hash) != 16:
        raise UsageError("an eMule user hash has 16 bytes")
    tail = bytes(WINDOWPLACEMENT_SIZE) if window_placement else b""
    return bytes([version]) + user_hash + tail


def parse_preferences(data: bytes, source: str = "preferences.dat") -> Preferences:
    """The version and user hash of an eMule or aMule preferences.dat."""
    cur = Cursor(data, source)
    version = cur.unpack("B")
    return Preferences(version, cur.take(16))


@dataclass(frozen=True, slots=True)
class Credit:
    """One peer of clients.met: its user hash, bytes exchanged with it and when it was last seen."""

    user_hash: bytes
    uploaded: int
    downloaded: int
    last_seen: int
    key: bytes = b""


def clients_met_bytes(credits: Sequence[Credit]) -> bytes:
    """clients.met (the credit file) listing ``credits``."""
    out = [struct.pack("<BI", CREDITFILE_VERSION, len(credits))]
    for c in credits:
        if len(c.user_hash) != 16 or len(c.key) > SECURE_IDENT_SIZE:
            raise UsageError("a credit needs a 16-byte user hash and at most an 80-byte key")
        out.append(c.user_hash + struct.pack(
            "<IIIIIHB", c.uploaded & _U32, c.downloaded & _U32, c.last_seen,
            c.uploaded >> 32, c.downloaded >> 32, 0, len(c.key)))
        out.append(c.key.ljust(SECURE_IDENT_SIZE, b"\0"))
    return b"".join(out)


def parse_clients_met(data: bytes, source: str = "clients.met") -> list[Credit]:
    """The peers of a clients.met, in file order."""
    cur = Cursor(data, source)
    if (version := cur.unpack("B")) != CREDITFILE_VERSION:
        raise cur.fail(f"not a clients.met: version byte {version:#04x}")
    credits = []
    for index in range(cur.unpack("I")):
        cur.record = f"record {index}"
        user_hash = cur.take(16)
        up_lo, down_lo, seen, up_hi, down_hi, _, key_size = struct.unpack(
            "<IIIIIHB", cur.take(23))
        if key_size > SECURE_IDENT_SIZE:
            raise cur.fail(f"key size {key_size} exceeds {SECURE_IDENT_SIZE}")
        key = cur.take(SECURE_IDENT_SIZE)[:key_size]
        credits.append(Credit(user_hash, up_lo | up_hi << 32, down_lo | down_hi << 32, seen, key))
    return credits
