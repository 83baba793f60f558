"""eMule's AICH hash tree, and the ed2k part hashes, of content held in memory.

AICH (Advanced Intelligent Corruption Handling) is a SHA-1 Merkle tree over blocks of
:data:`EMBLOCKSIZE` bytes that never straddle an ed2k part of :data:`PARTSIZE` bytes. The tree's
shape is eMule's (``SHAHashSet.cpp``): a node covering more than one part splits on part
boundaries, a node inside one part on block boundaries, and when the unit count is odd the
extra unit goes to the left child if the node is itself a left child (the root counts as
one), otherwise to the right child. A leaf is the SHA-1 of its block; an inner node the SHA-1
of its two children's hashes. The results agree with ``rhash --aich`` (see the tests).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from icarus.identify.ed2k import EMPTY_MD4, PARTSIZE, md4

EMBLOCKSIZE = 184_320
"""Bytes per AICH block (180 KiB); a part holds 52 full blocks and one of 140 KiB."""


@dataclass(frozen=True, slots=True)
class AichTree:
    """The AICH root and the lowest-level block hashes, in file order, of one content."""

    root: bytes
    blocks: tuple[bytes, ...]


def _sha1(data: bytes | memoryview) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def aich_tree(data: bytes) -> AichTree:
    """The AICH root and block hashes of ``data`` (empty data: one block, SHA-1 of nothing)."""
    view = memoryview(data)
    leaves: list[bytes] = []

    def node(offset: int, size: int, is_left: bool) -> bytes:
        unit = PARTSIZE if size > PARTSIZE else EMBLOCKSIZE
        if size <= unit:
            leaf = _sha1(view[offset : offset + size])
            leaves.append(leaf)
            return leaf
        units = -(-size // unit)
        left = ((units + 1) // 2 if is_left else units // 2) * unit
        return _sha1(node(offset, left, True) + node(offset + left, size - left, False))

    root = node(0, len(view), True)
    return AichTree(root=root, blocks=tuple(leaves))


def ed2k_part_hashes(data: bytes) -> tuple[bytes, ...]:
    """The part hashes eMule stores for ``data``: none below one part, else the MD4 of each part.

    From one full part on there are ``floor(size / PARTSIZE) + 1`` of them: a size that is an
    exact multiple of PARTSIZE gets the MD4 of an empty last part (the "red" rule of eMule).
    """
    size = len(data)
    if size < PARTSIZE:
        return ()
    view = memoryview(data)
    parts = [md4(view[i : i + PARTSIZE]) for i in range(0, size, PARTSIZE)]
    if size % PARTSIZE == 0:
        parts.append(EMPTY_MD4)
    return tuple(parts)


def ed2k_from_parts(data: bytes, parts: tuple[bytes, ...]) -> bytes:
    """The ed2k (red) file hash: MD4 of the data below one part, else MD4 of the part hashes."""
    return md4(b"".join(parts)) if parts else md4(data)
