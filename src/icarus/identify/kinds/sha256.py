"""The ``sha256`` hash kind: SHA-256."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class Sha256Kind(HashKind):
    """SHA-256."""

    NAME = "sha256"
    SIZE = 32
    TEXT = "hex"
    ACCEPTS_BASE32 = False
    DESCRIPTION = "SHA-256"


KIND = Sha256Kind()
