"""Digests: a hash value of a named kind.

The kind's name is one of the hash-kind plugins of :mod:`icarus.identify.kinds` (md5, sha1,
sha256, ed2k, btih, btmh, tth, aich, pdq, photodna...). Parsing text into a :class:`Digest` and
formatting it back happens in one place, the kind's plugin; here a digest is raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """One hash value: ``kind`` is a registered hash-kind name, ``value`` the raw bytes."""

    kind: str
    value: bytes

    @property
    def hex(self) -> str:
        """Lower-case hexadecimal of the value."""
        return self.value.hex()

    def __str__(self) -> str:
        return f"{self.kind}:{self.value.hex()}"


@dataclass(frozen=True, slots=True)
class FileDigests:
    """Every digest of one file's content, computed in one read."""

    size: int
    md5: bytes
    sha1: bytes
    sha256: bytes
    ed2k: bytes
    """ed2k as eMule computes it ("red"): the value to use for eD2k network observations."""
    ed2k_blue: bytes
    """ed2k without the trailing empty part; differs from red only at multiples of 9,728,000."""
    tth: bytes | None = None

    def digests(self, *, ed2k_variant: str = "red") -> list[Digest]:
        """The digests as :class:`Digest` objects (ed2k in the requested variant)."""
        out = [
            Digest("md5", self.md5),
            Digest("sha1", self.sha1),
            Digest("sha256", self.sha256),
            Digest("ed2k", self.ed2k if ed2k_variant == "red" else self.ed2k_blue),
        ]
        if self.tth is not None:
            out.append(Digest("tth", self.tth))
        return out
