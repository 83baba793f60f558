"""The ``tth`` hash kind: Tiger Tree Hash (THEX, 1024-byte leaves)."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class TthKind(HashKind):
    """Tiger Tree Hash (THEX, 1024-byte leaves)."""

    NAME = "tth"
    SIZE = 24
    TEXT = "base32"
    ACCEPTS_BASE32 = True
    DESCRIPTION = "Tiger Tree Hash (THEX, 1024-byte leaves)"


KIND = TthKind()
