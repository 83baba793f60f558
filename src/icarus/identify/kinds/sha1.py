"""The ``sha1`` hash kind: SHA-1; also written as base32 in Gnutella urn:sha1."""

from __future__ import annotations

from icarus.identify.kinds.base import HashKind


class Sha1Kind(HashKind):
    """SHA-1; also written as base32 in Gnutella urn:sha1."""

    NAME = "sha1"
    SIZE = 20
    TEXT = "hex"
    ACCEPTS_BASE32 = True
    DESCRIPTION = "SHA-1; also written as base32 in Gnutella urn:sha1"


KIND = Sha1Kind()
