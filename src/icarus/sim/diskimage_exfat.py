"""A small writer of exFAT directory entries, to fill an image that ``mkfs.exfat`` made.

Debian's exfatprogs can make, check and label an exFAT volume but not copy files into an
unmounted one, so this module writes the few structures that holding files needs (Microsoft's
exFAT specification, sections 3 and 7): for each file or folder an entry set of a File entry
(0x85), a Stream Extension (0xC0) and File Name entries (0xC1, 15 UTF-16 units each) with the
set checksum and the up-cased name hash; the data in contiguous clusters marked "NoFatChain"
(so the FAT is not used); the clusters' bits in the allocation bitmap. A deleted file is
written the same way, then its entries' in-use bit (0x80 of the type) is cleared and its
clusters are left free in the bitmap: what Windows leaves after a deletion.

Limits, enough for synthetic exhibits: top-level entries must fit in the root folder's
existing clusters (a 4 KiB cluster holds 125 entries beside mkfs's three); the name hash
up-cases with Python's ``str.upper`` per character, which equals the volume's up-case table for
ASCII and for most other letters. The volume serial is set to a fixed value and the boot
checksum recomputed, so the image is byte-identical from run to run.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from icarus.core.errors import CorruptInputError, UsageError

_ENTRY = 32
_NAME_UNITS = 15


def _checksum16(data: bytes, skip: tuple[int, ...] = ()) -> int:
    value = 0
    for index, byte in enumerate(data):
        if index not in skip:
            value = (((value << 15) | (value >> 1)) + byte) & 0xFFFF
    return value


def _name_hash(name: str) -> int:
    value = 0
    for unit in struct.unpack(f"<{len(name.encode('utf-16-le')) // 2}H",
                              name.encode("utf-16-le")):
        upper = chr(unit).upper()
        unit = ord(upper) if len(upper) == 1 else unit
        for byte in (unit & 0xFF, unit >> 8):
            value = (((value << 15) | (value >> 1)) + byte) & 0xFFFF
    return value


def _timestamp(unix: int) -> tuple[int, int]:
    """exFAT's DOS-style timestamp and its 10 ms increment (which carries the odd second)."""
    moment = datetime.fromtimestamp(max(unix, 315_532_800), UTC)
    stamp = ((moment.year - 1980) << 25 | moment.month << 21 | moment.day << 16
             | moment.hour << 11 | moment.minute << 5 | moment.second // 2)
    return stamp, 100 * (moment.second % 2)


def entry_set(name: str, *, folder: bool, first_cluster: int, length: int, mtime: int,
              deleted: bool = False) -> bytes:
    """The File, Stream Extension and File Name entries of one file or folder."""
    units = len(name.encode("utf-16-le")) // 2
    if not 0 < units <= 255:
        raise UsageError(f"exFAT name {name!r} must have 1 to 255 UTF-16 units")
    name_entries = -(-units // _NAME_UNITS)
    stamp, increment = _timestamp(mtime)
    primary = struct.pack("<BBHHHIIIBBBBB7x", 0x85, 1 + name_entries, 0,
                          0x10 if folder else 0x20, 0, stamp, stamp, stamp, increment,
                          increment, 0x80, 0x80, 0x80)
    flags = (0x03 if length else 0x01)  # AllocationPossible, and NoFatChain when data exist
    stream = struct.pack("<BBBBHHQIIQ", 0xC0, flags, 0, units, _name_hash(name), 0, length, 0,
                         first_cluster if length else 0, length)
    encoded = name.encode("utf-16-le").ljust(name_entries * _NAME_UNITS * 2, b"\0")
    names = b"".join(b"\xc1\x00" + encoded[i : i + 30] for i in range(0, len(encoded), 30))
    whole = bytearray(primary + stream + names)
    struct.pack_into("<H", whole, 2, _checksum16(bytes(whole), skip=(2, 3)))
    if deleted:
        for offset in range(0, len(whole), _ENTRY):
            whole[offset] &= 0x7F
    return bytes(whole)


class _Volume:
    def __init__(self, data: bytearray, source: str) -> None:
        if data[3:11] != b"EXFAT   ":
            raise CorruptInputError("not an exFAT volume", path=source)
        self.data, self.source = data, source
        self.sector = 1 << data[0x6C]
        self.cluster = self.sector << data[0x6D]
        fat_offset, heap, self.count, root = struct.unpack_from("<I4xIII", data, 0x50)
        self.fat = fat_offset * self.sector
        self.heap = heap * self.sector
        self.root = self.chain(root)
        entries = b"".join(self.read(c) for c in self.root)
        self.free_slot = next(i for i in range(0, len(entries), _ENTRY) if entries[i] == 0)
        bitmap = next(i for i in range(0, len(entries), _ENTRY) if entries[i] == 0x81)
        first, size = struct.unpack_from("<IQ", entries, bitmap + 20)
        self.bitmap_at = self.offset(first)
        self.bitmap = bytearray(data[self.bitmap_at : self.bitmap_at + size])
        used = [c for c in range(self.count) if self.bitmap[c // 8] >> (c % 8) & 1]
        self.next = (max(used) + 1 if used else 0) + 2

    def offset(self, cluster: int) -> int:
        return int(self.heap + (cluster - 2) * self.cluster)

    def read(self, cluster: int) -> bytes:
        return bytes(self.data[self.offset(cluster) : self.offset(cluster) + self.cluster])

    def chain(self, cluster: int) -> list[int]:
        clusters: list[int] = []
        while 2 <= cluster < 0xFFFFFFF7 and len(clusters) <= self.count:
            clusters.append(cluster)
            cluster = struct.unpack_from("<I", self.data, self.fat + 4 * cluster)[0]
        return clusters

    def allocate(self, size: int, *, mark: bool) -> int:
        clusters = max(1, -(-size // self.cluster))
        first = self.next
        if first - 2 + clusters > self.count:
            raise UsageError(f"{self.source}: the exFAT image is too small for its files")
        self.next += clusters
        if mark:
            for c in range(first - 2, first - 2 + clusters):
                self.bitmap[c // 8] |= 1 << (c % 8)
        return first

    def write(self, cluster: int, data: bytes) -> None:
        self.data[self.offset(cluster) : self.offset(cluster) + len(data)] = data

    def write_root(self, entries: bytes) -> None:
        room = len(self.root) * self.cluster - self.free_slot
        if len(entries) > room:
            raise UsageError(f"{self.source}: too many top-level names for the exFAT root")
        start = self.free_slot
        for index, cluster in enumerate(self.root):
            base = index * self.cluster
            lo, hi = max(start, base), min(start + len(entries), base + self.cluster)
            if lo < hi:
                at = self.offset(cluster) + lo - base
                self.data[at : at + hi - lo] = entries[lo - start : hi - start]


def populate(image: Path, files: Sequence[tuple[str, bytes, int]],
             deleted: Sequence[tuple[str, bytes]], epoch: int, serial: int) -> None:
    """Add ``files`` and then-deleted ``deleted`` to the fresh exFAT volume in ``image``."""
    volume = _Volume(bytearray(image.read_bytes()), str(image))
    items = [(p, d, m, False) for p, d, m in files] + [(p, d, epoch, True) for p, d in deleted]
    children: dict[str, list[tuple[str, bool, int, int, bool, int]]] = {}
    folders = sorted({str(PurePosixPath(p).parents[i]) for p, *_ in items
                      for i in range(len(PurePosixPath(p).parts) - 1)},
                     key=lambda f: (f.count("/"), f))
    cluster_of: dict[str, int] = {}
    for folder in folders:
        names = [*_children_names(folder, folders), *_files_in(folder, items)]
        size = sum(_ENTRY * (2 + -(-len(n) // _NAME_UNITS)) for n in names)
        cluster_of[folder] = volume.allocate(size, mark=True)
        children.setdefault(str(PurePosixPath(folder).parent), []).append(
            (PurePosixPath(folder).name, True, cluster_of[folder],
             max(1, -(-size // volume.cluster)) * volume.cluster, False, epoch))
    for path, data, mtime, gone in items:
        first = volume.allocate(len(data), mark=not gone) if data else 0
        if data:
            volume.write(first, data)
        children.setdefault(str(PurePosixPath(path).parent), []).append(
            (PurePosixPath(path).name, False, first, len(data), gone, mtime))
    for parent, entries in sorted(children.items()):
        blob = b"".join(
            entry_set(name, folder=is_dir, first_cluster=first, length=length, deleted=gone,
                      mtime=mtime)
            for name, is_dir, first, length, gone, mtime in entries)
        if parent == ".":
            volume.write_root(blob)
        else:
            volume.write(cluster_of[parent], blob)
    volume.data[volume.bitmap_at : volume.bitmap_at + len(volume.bitmap)] = volume.bitmap
    volume.data[0x70] = min(100, (volume.next - 2) * 100 // max(volume.count, 1))
    _set_serial(volume.data, volume.sector, serial)
    image.write_bytes(volume.data)


def _children_names(folder: str, folders: list[str]) -> list[str]:
    return [PurePosixPath(f).name for f in folders if str(PurePosixPath(f).parent) == folder]


def _files_in(folder: str, items: Sequence[tuple[str, bytes, int, bool]]) -> list[str]:
    return [PurePosixPath(p).name for p, *_ in items if str(PurePosixPath(p).parent) == folder]


def _set_serial(data: bytearray, sector: int, serial: int) -> None:
    """Write the volume serial into both boot regions and recompute their checksums."""
    for region in (0, 12 * sector):
        struct.pack_into("<I", data, region + 0x64, serial)
        value = 0
        for index, byte in enumerate(data[region : region + 11 * sector]):
            if index not in (106, 107, 112):
                value = (((value << 31) | (value >> 1)) + byte) & 0xFFFFFFFF
        data[region + 11 * sector : region + 12 * sector] = struct.pack("<I", value) * (
            sector // 4)
