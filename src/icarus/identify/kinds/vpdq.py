"""The ``vpdq`` kind: a video as the PDQ hashes of its frames (see :mod:`icarus.identify.vpdq`).

The value is the packed frames (45 bytes each: PDQ, quality, frame number, timestamp); the text
is the compact ``pdqhex,quality,timestamp,frame;...`` form (Meta's three-field entries are
accepted too). Hex of the packed bytes is also accepted.
"""

from __future__ import annotations

import random

from icarus.core.errors import InvalidIdentifierError
from icarus.identify.kinds.base import HashKind


class VpdqKind(HashKind):
    """vPDQ: frame hashes of a video, variable length."""

    NAME = "vpdq"
    SIZE = None
    TEXT = "vpdq"
    DESCRIPTION = "vPDQ video hash: PDQ of frames at one per second, with quality and time"

    def _decode(self, value: str) -> bytes:
        # imported here: icarus.identify.vpdq itself parses PDQ digests through this registry
        from icarus.identify.vpdq import pack_frames, parse_vpdq

        if "," not in value:
            try:
                return bytes.fromhex(value)
            except ValueError:
                raise InvalidIdentifierError(f"not a valid vpdq value: {value[:80]!r}") from None
        return pack_frames(parse_vpdq(value))

    def validate(self, value: bytes) -> None:
        from icarus.identify.vpdq import unpack_frames

        if not value:
            raise InvalidIdentifierError("a vpdq value needs at least one frame")
        unpack_frames(value)

    def format(self, value: bytes) -> str:
        from icarus.identify.vpdq import format_vpdq, unpack_frames

        return format_vpdq(unpack_frames(value))

    def sample(self, rng: random.Random) -> bytes:
        from icarus.identify.vpdq import VpdqFrame, pack_frames

        return pack_frames([
            VpdqFrame(rng.randbytes(32), rng.randint(0, 100), i, float(i))
            for i in range(rng.randint(1, 5))
        ])


KIND = VpdqKind()
