"""eMule's tagged records (``CTag``) and a bounds-checked little-endian cursor to read them.

A tag is a type byte, a name and a value. eMule writes its files with the long form (type, a
uint16 name length of 1, the one-byte name id); the network and newer code also use the short
form (type | 0x80, then the id) and short strings (types 0x11-0x20, length = type - 0x10).
Writers here emit the long form, as eMule and aMule do in ``known.met``; the reader accepts
both, and names longer than one byte (``part.met`` gap tags) are kept as bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from icarus.core.errors import CorruptInputError, UsageError

TAGTYPE_HASH16 = 0x01
TAGTYPE_STRING = 0x02
TAGTYPE_UINT32 = 0x03
TAGTYPE_FLOAT32 = 0x04
TAGTYPE_BOOL = 0x05
TAGTYPE_BOOLARRAY = 0x06
TAGTYPE_BLOB = 0x07
TAGTYPE_UINT16 = 0x08
TAGTYPE_UINT8 = 0x09
TAGTYPE_BSOB = 0x0A
TAGTYPE_UINT64 = 0x0B
TAGTYPE_STR1 = 0x11
TAGTYPE_STR16 = 0x20

TagValue = int | float | bytes | str


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag: ``name`` is the one-byte id (an int) or a longer raw name; ``type`` as stored."""

    name: int | bytes
    type: int
    value: TagValue


class Cursor:
    """Reads little-endian fields from ``data``; running past the end names the file and record."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.source, self.pos = data, source, 0
        self.record = "header"

    def fail(self, problem: str) -> CorruptInputError:
        """An error naming the file, the record being read and the byte offset."""
        return CorruptInputError(f"{self.record}: {problem} at byte {self.pos}", path=self.source)

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes."""
        end = self.pos + count
        if count < 0 or end > len(self.data):
            raise self.fail(f"truncated: {count} bytes wanted, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> int:
        """One little-endian integer of struct format ``fmt`` (B, H, I or Q)."""
        value: int = struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    @property
    def left(self) -> int:
        """Bytes not yet read."""
        return len(self.data) - self.pos


def encode_tag(tag_id: int, value: TagValue, tag_type: int | None = None) -> bytes:
    """A tag in eMule's long file form; ``tag_type`` defaults from the value (str, bytes, int)."""
    if tag_type is None:
        if isinstance(value, str):
            tag_type = TAGTYPE_STRING
        elif isinstance(value, bytes):
            tag_type = TAGTYPE_HASH16
        else:
            tag_type = TAGTYPE_UINT64 if value > 0xFFFFFFFF else TAGTYPE_UINT32
    head = struct.pack("<BHB", tag_type, 1, tag_id)
    return head + _encode_value(tag_type, value)


def _encode_value(tag_type: int, value: TagValue) -> bytes:
    if tag_type == TAGTYPE_STRING and isinstance(value, str):
        raw = value.encode("utf-8")
        return struct.pack("<H", len(raw)) + raw
    if TAGTYPE_STR1 <= tag_type <= TAGTYPE_STR16 and isinstance(value, str):
        raw = value.encode("utf-8")
        if len(raw) != tag_type - 0x10:
            raise UsageError(f"short string tag type {tag_type:#x} needs {tag_type - 0x10} bytes")
        return raw
    if tag_type == TAGTYPE_HASH16 and isinstance(value, bytes) and len(value) == 16:
        return value
    if tag_type == TAGTYPE_BLOB and isinstance(value, bytes):
        return struct.pack("<I", len(value)) + value
    if tag_type == TAGTYPE_BSOB and isinstance(value, bytes):
        return struct.pack("<B", len(value)) + value
    if tag_type == TAGTYPE_FLOAT32 and isinstance(value, float):
        return struct.pack("<f", value)
    formats = {TAGTYPE_UINT8: "<B", TAGTYPE_UINT16: "<H", TAGTYPE_UINT32: "<I",
               TAGTYPE_UINT64: "<Q", TAGTYPE_BOOL: "<B"}
    if tag_type in formats and isinstance(value, int):
        return struct.pack(formats[tag_type], value)
    raise UsageError(f"cannot encode {type(value).__name__} as tag type {tag_type:#x}")


def read_tag(cur: Cursor) -> Tag:
    """Read one tag (long or short form) at the cursor."""
    tag_type = cur.unpack("B")
    name: int | bytes
    if tag_type & 0x80:
        tag_type &= 0x7F
        name = cur.unpack("B")
    else:
        raw = cur.take(cur.unpack("H"))
        name = raw[0] if len(raw) == 1 else raw
    return Tag(name, tag_type, _read_value(cur, tag_type))


def _read_value(cur: Cursor, tag_type: int) -> TagValue:
    if tag_type == TAGTYPE_STRING:
        return _text(cur.take(cur.unpack("H")))
    if TAGTYPE_STR1 <= tag_type <= TAGTYPE_STR16:
        return _text(cur.take(tag_type - 0x10))
    fixed = {TAGTYPE_UINT8: "B", TAGTYPE_BOOL: "B", TAGTYPE_UINT16: "H", TAGTYPE_UINT32: "I",
             TAGTYPE_UINT64: "Q"}
    if tag_type in fixed:
        return cur.unpack(fixed[tag_type])
    if tag_type == TAGTYPE_HASH16:
        return cur.take(16)
    if tag_type == TAGTYPE_FLOAT32:
        number: float = struct.unpack("<f", cur.take(4))[0]
        return number
    if tag_type == TAGTYPE_BLOB:
        return cur.take(cur.unpack("I"))
    if tag_type == TAGTYPE_BSOB:
        return cur.take(cur.unpack("B"))
    if tag_type == TAGTYPE_BOOLARRAY:
        return cur.take((cur.unpack("H") + 7) // 8)
    raise cur.fail(f"unknown tag type {tag_type:#04x}")


def _text(raw: bytes) -> str:
    # eMule marks UTF-8 names with a BOM when it writes one; older files are in the ANSI code page.
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
