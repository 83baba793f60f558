"""The contract of a hash kind, and the text codecs kinds share."""

from __future__ import annotations

import base64
import binascii
import random
import re
from typing import ClassVar

from icarus.core.errors import InvalidIdentifierError
from icarus.domain.digests import Digest

_HEX = re.compile(r"^[0-9a-fA-F]*$")


class HashKind:
    """A kind of hash: its stable name, its size, and how its values are written as text.

    Subclasses set ``NAME``, ``SIZE`` and ``TEXT`` ("hex" or "base32": the canonical text form).
    ``parse`` accepts hex always and base32 where the kind is commonly written so (SHA-1 as in
    ``urn:sha1``, TTH, AICH, BitTorrent v1 infohashes in magnets).
    """

    NAME: ClassVar[str]
    SIZE: ClassVar[int | None]
    """Digest length in bytes; ``None`` for variable-length values."""
    TEXT: ClassVar[str] = "hex"
    ACCEPTS_BASE32: ClassVar[bool] = False
    DESCRIPTION: ClassVar[str] = ""

    def parse(self, text: str) -> Digest:
        """The digest written in ``text``; raises :class:`InvalidIdentifierError`."""
        value = text.strip()
        raw = self._decode(value)
        if self.SIZE is not None and len(raw) != self.SIZE:
            raise InvalidIdentifierError(
                f"{self.NAME} must be {self.SIZE} bytes "
                f"({self.SIZE * 2} hex characters), got {value[:80]!r}"
            )
        self.validate(raw)
        return Digest(self.NAME, raw)

    def format(self, value: bytes) -> str:
        """The canonical text of ``value``: lower-case hex, or upper-case unpadded base32."""
        if self.TEXT == "base32":
            return base32_encode(value)
        return value.hex()

    def validate(self, value: bytes) -> None:
        """Kind-specific checks beyond the length (none by default)."""

    def sample(self, rng: random.Random) -> bytes:
        """A random valid value (for contract tests and benchmarks)."""
        return rng.randbytes(self.SIZE if self.SIZE is not None else rng.randint(1, 64))

    def _decode(self, value: str) -> bytes:
        if self.SIZE is not None and len(value) == self.SIZE * 2 and _HEX.match(value):
            return bytes.fromhex(value)
        if self.SIZE is None and value and len(value) % 2 == 0 and _HEX.match(value):
            return bytes.fromhex(value)
        if self.ACCEPTS_BASE32 or self.TEXT == "base32":
            try:
                return base32_decode(value)
            except InvalidIdentifierError:
                pass
        raise InvalidIdentifierError(f"not a valid {self.NAME} value: {value[:80]!r}")


def base32_encode(value: bytes) -> str:
    """RFC 4648 base32, upper case, without padding (as in ``urn:sha1:`` and TTH)."""
    return base64.b32encode(value).decode("ascii").rstrip("=")


def base32_decode(text: str) -> bytes:
    """Decode RFC 4648 base32, any case, padding optional."""
    cleaned = text.strip().upper()
    if not cleaned or not re.fullmatch(r"[A-Z2-7]+=*", cleaned):
        raise InvalidIdentifierError(f"not base32: {text[:80]!r}")
    cleaned = cleaned.rstrip("=")
    try:
        return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except binascii.Error as exc:
        raise InvalidIdentifierError(f"not base32: {text[:80]!r} ({exc})") from None
