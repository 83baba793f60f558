"""The ``btih`` hash kind: BitTorrent v1 infohash: SHA-1 of the bencoded info dictionary."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class BtihKind(HashKind):
    """BitTorrent v1 infohash: SHA-1 of the bencoded info dictionary."""

    NAME = "btih"
    SIZE = 20
    TEXT = "hex"
    ACCEPTS_BASE32 = True
    DESCRIPTION = "BitTorrent v1 infohash: SHA-1 of the bencoded info dictionary"


KIND = BtihKind()
