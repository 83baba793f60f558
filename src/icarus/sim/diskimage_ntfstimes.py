"""Replace the clock's times in an NTFS image with a fixed time, for byte-identical images.

libntfs-3g stamps new records and the MFT-change time with the current time. This pass reads
the image's MFT (boot sector, then ``$MFT``'s own data runs) and, in every file record and
every ``INDX`` block of a folder index (``$I30``), rewrites each 8-byte value that falls inside
the window of ticks during which the image was written: the times in ``$STANDARD_INFORMATION``,
``$FILE_NAME`` and index entries, and also stale copies left in slack after ``ntfs_delete``
removed an index entry. Values are searched at every byte offset, not only where a time is
expected; a value of metadata that is not a time has a chance of about 1e-11 to fall in a
window of ten seconds. Times outside the window (the files' own, mkntfs's 1970 times) are
left alone. Records and index blocks are protected
by update sequence arrays ("fixups"): they are undone before and redone after the change.

NTFS times count 100 ns ticks since 1601-01-01 UTC.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

TICKS = 10_000_000
NTFS_EPOCH_OFFSET = 116_444_736_000_000_000
"""Ticks from 1601-01-01 to 1970-01-01."""

AT_STANDARD_INFORMATION = 0x10
AT_FILE_NAME = 0x30
AT_INDEX_ROOT = 0x90
AT_INDEX_ALLOCATION = 0xA0
AT_END = 0xFFFFFFFF


def normalise_times(image: Path, start: float, end: float, epoch: int) -> int:
    """Set every NTFS time of ``image`` between ``start`` and ``end`` (Unix seconds) to
    ``epoch``; the number of fields changed."""
    low = int(start * TICKS) + NTFS_EPOCH_OFFSET
    high = int(end * TICKS) + NTFS_EPOCH_OFFSET
    fixed = epoch * TICKS + NTFS_EPOCH_OFFSET
    with image.open("r+b") as disk:
        boot = disk.read(512)
        sector = struct.unpack_from("<H", boot, 0x0B)[0]
        cluster = sector * boot[0x0D]
        mft_lcn = struct.unpack_from("<q", boot, 0x30)[0]
        record_size = _unit(struct.unpack_from("<b", boot, 0x40)[0], cluster)
        disk.seek(mft_lcn * cluster)
        first = bytearray(disk.read(record_size))
        _unfix(first, sector)
        mft_runs = list(_data_runs(first))
        changed = 0
        for offset in _record_offsets(mft_runs, cluster, record_size):
            disk.seek(offset)
            record = bytearray(disk.read(record_size))
            if record[:4] != b"FILE" or not _unfix(record, sector):
                continue
            count, index_blocks = _fix_record(record, low, high, fixed)
            if count:
                _refix(record, sector)
                disk.seek(offset)
                disk.write(record)
                changed += count
            for lcn, length, block_size in index_blocks:
                changed += _fix_index_blocks(disk, lcn * cluster, length * cluster, block_size,
                                             sector, low, high, fixed)
    return changed


def _unit(value: int, cluster: int) -> int:
    """A record or index-block size from the boot sector: clusters, or 2^-n bytes if negative."""
    return cluster * value if value > 0 else 1 << -value


def _unfix(buf: bytearray, sector: int) -> bool:
    usa_ofs, usa_count = struct.unpack_from("<HH", buf, 4)
    usn = buf[usa_ofs : usa_ofs + 2]
    for i in range(1, usa_count):
        end = i * sector - 2
        if end + 2 > len(buf) or buf[end : end + 2] != usn:
            return False
        buf[end : end + 2] = buf[usa_ofs + 2 * i : usa_ofs + 2 * i + 2]
    return True


def _refix(buf: bytearray, sector: int) -> None:
    usa_ofs, usa_count = struct.unpack_from("<HH", buf, 4)
    usn = bytes(buf[usa_ofs : usa_ofs + 2])
    for i in range(1, usa_count):
        end = i * sector - 2
        buf[usa_ofs + 2 * i : usa_ofs + 2 * i + 2] = buf[end : end + 2]
        buf[end : end + 2] = usn


def _attributes(record: bytearray) -> Iterator[tuple[int, int]]:
    """(type, offset) of each attribute of a file record."""
    offset = struct.unpack_from("<H", record, 0x14)[0]
    while offset + 8 <= len(record):
        kind, length = struct.unpack_from("<II", record, offset)
        if kind == AT_END or length == 0:
            return
        yield kind, offset
        offset += length


def _runs(record: bytearray, attr: int) -> Iterator[tuple[int, int]]:
    """(first cluster, clusters) of a non-resident attribute's runs (sparse runs skipped)."""
    pos = attr + struct.unpack_from("<H", record, attr + 0x20)[0]
    lcn = 0
    while record[pos]:
        size_len, off_len = record[pos] & 0x0F, record[pos] >> 4
        length = int.from_bytes(record[pos + 1 : pos + 1 + size_len], "little")
        delta = int.from_bytes(record[pos + 1 + size_len : pos + 1 + size_len + off_len],
                               "little", signed=True)
        pos += 1 + size_len + off_len
        if off_len:
            lcn += delta
            yield lcn, length


def _data_runs(record: bytearray) -> Iterator[tuple[int, int]]:
    for kind, attr in _attributes(record):
        if kind == 0x80 and record[attr + 8]:
            yield from _runs(record, attr)


def _record_offsets(runs: list[tuple[int, int]], cluster: int,
                    record_size: int) -> Iterator[int]:
    for lcn, length in runs:
        yield from range(lcn * cluster, (lcn + length) * cluster, record_size)


def _fix(buf: bytearray, low: int, high: int, fixed: int) -> int:
    """Replace every 8-byte little-endian value in [low, high], at any byte offset."""
    count = 0
    for shift in range(8):
        usable = (len(buf) - shift) // 8 * 8
        values = np.frombuffer(bytes(buf[shift : shift + usable]), dtype="<u8")
        for index in np.flatnonzero((values >= low) & (values <= high)).tolist():
            struct.pack_into("<Q", buf, shift + 8 * index, fixed)
            count += 1
    return count


def _is_i30(record: bytearray, attr: int) -> bool:
    name_length, name_offset = record[attr + 9], struct.unpack_from("<H", record, attr + 10)[0]
    return record[attr + name_offset : attr + name_offset + 2 * name_length] == "$I30".encode(
        "utf-16-le")


def _fix_record(record: bytearray, low: int, high: int,
                fixed: int) -> tuple[int, list[tuple[int, int, int]]]:
    """Fix the record's times; the (cluster, clusters, block size) of its $I30 INDX runs."""
    block_size = 4096
    runs: list[tuple[int, int]] = []
    for kind, attr in _attributes(record):
        if kind == AT_INDEX_ROOT and not record[attr + 8] and _is_i30(record, attr):
            value = attr + struct.unpack_from("<H", record, attr + 0x14)[0]
            block_size = struct.unpack_from("<I", record, value + 8)[0]
        elif kind == AT_INDEX_ALLOCATION and record[attr + 8] and _is_i30(record, attr):
            runs.extend(_runs(record, attr))
    return _fix(record, low, high, fixed), [(lcn, n, block_size) for lcn, n in runs]


def _fix_index_blocks(disk: BinaryIO, start: int, size: int, block_size: int, sector: int,
                      low: int, high: int, fixed: int) -> int:
    count = 0
    for offset in range(start, start + size, block_size):
        disk.seek(offset)
        block = bytearray(disk.read(block_size))
        if block[:4] != b"INDX" or not _unfix(block, sector):
            continue
        changed = _fix(block, low, high, fixed)
        if changed:
            _refix(block, sector)
            disk.seek(offset)
            disk.write(block)
            count += changed
    return count
