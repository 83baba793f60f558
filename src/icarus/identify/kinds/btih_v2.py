"""The ``btih-v2`` hash kind: BitTorrent v2 infohash: SHA-256 of the bencoded info dictionary."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class BtihV2Kind(HashKind):
    """BitTorrent v2 infohash: SHA-256 of the bencoded info dictionary."""

    NAME = "btih-v2"
    SIZE = 32
    TEXT = "hex"
    ACCEPTS_BASE32 = False
    DESCRIPTION = "BitTorrent v2 infohash: SHA-256 of the bencoded info dictionary"


KIND = BtihV2Kind()
