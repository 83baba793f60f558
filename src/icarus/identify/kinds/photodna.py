"""The ``photodna`` kind: Microsoft PhotoDNA, kept as an opaque value.

Icarus cannot compute PhotoDNA (it is licensed, not public); values from hash sets are stored
and exported unchanged. Text is base64 (192 characters) or hex (288 characters).
"""

from __future__ import annotations

import base64
import binascii

from icarus.core.errors import InvalidIdentifierError
from icarus.identify.kinds.base import HashKind

_SIZE = 144


class PhotodnaKind(HashKind):
    """PhotoDNA: 144 opaque bytes."""

    NAME = "photodna"
    SIZE = _SIZE
    TEXT = "base64"
    DESCRIPTION = "Microsoft PhotoDNA, stored and exported as an opaque value"

    def _decode(self, value: str) -> bytes:
        if len(value) == _SIZE * 2:
            try:
                return bytes.fromhex(value)
            except ValueError:
                pass
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidIdentifierError(f"not a valid photodna value: {value[:80]!r}") from None

    def format(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")


KIND = PhotodnaKind()
