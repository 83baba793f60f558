"""The ``aich`` hash kind: eMule AICH root: SHA-1 tree over 180 KiB blocks."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class AichKind(HashKind):
    """eMule AICH root: SHA-1 tree over 180 KiB blocks."""

    NAME = "aich"
    SIZE = 20
    TEXT = "base32"
    ACCEPTS_BASE32 = True
    DESCRIPTION = "eMule AICH root: SHA-1 tree over 180 KiB blocks"


KIND = AichKind()
