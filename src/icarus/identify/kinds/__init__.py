"""Hash kinds are plugins: one module each, registered here, in one registry.

To add a kind, write a module with a ``HashKind`` subclass and a ``KIND`` instance, and list it
in ``BUILTIN``. The registry refuses a name registered twice.
"""

from __future__ import annotations

from icarus.core.plugins import Registry
from icarus.domain.digests import Digest
from icarus.identify.kinds import (
    aich,
    btih,
    btih_v2,
    ed2k,
    md5,
    pdq,
    photodna,
    sha1,
    sha256,
    tth,
    vpdq,
)
from icarus.identify.kinds.base import HashKind

BUILTIN = (md5, sha1, sha256, ed2k, btih, btih_v2, tth, aich, pdq, photodna, vpdq)

KINDS: Registry[HashKind] = Registry("hash kind")
for _module in BUILTIN:
    KINDS.register(_module.KIND)


def parse_digest(kind: str, text: str) -> Digest:
    """Parse ``text`` as a digest of ``kind`` (the one place where digests are normalised)."""
    return KINDS.get(kind).parse(text)


def format_digest(digest: Digest) -> str:
    """The canonical text of ``digest``."""
    return KINDS.get(digest.kind).format(digest.value)


__all__ = ["BUILTIN", "KINDS", "HashKind", "format_digest", "parse_digest"]
