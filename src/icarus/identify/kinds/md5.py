"""The ``md5`` hash kind: MD5 (RFC 1321)."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class Md5Kind(HashKind):
    """MD5 (RFC 1321)."""

    NAME = "md5"
    SIZE = 16
    TEXT = "hex"
    ACCEPTS_BASE32 = False
    DESCRIPTION = "MD5 (RFC 1321)"


KIND = Md5Kind()
