"""The ``pdq`` hash kind: PDQ perceptual image hash (256 bits)."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class PdqKind(HashKind):
    """PDQ perceptual image hash (256 bits)."""

    NAME = "pdq"
    SIZE = 32
    TEXT = "hex"
    ACCEPTS_BASE32 = False
    DESCRIPTION = "PDQ perceptual image hash (256 bits)"


KIND = PdqKind()
