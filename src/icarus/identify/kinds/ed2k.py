"""The ``ed2k`` hash kind: eDonkey2000 hash: MD4 over 9,728,000-byte parts (eMule red variant)."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class Ed2kKind(HashKind):
    """eDonkey2000 hash: MD4 over 9,728,000-byte parts (eMule red variant)."""

    NAME = "ed2k"
    SIZE = 16
    TEXT = "hex"
    ACCEPTS_BASE32 = False
    DESCRIPTION = "eDonkey2000 hash: MD4 over 9,728,000-byte parts (eMule red variant)"


KIND = Ed2kKind()
