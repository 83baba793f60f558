"""Named random streams for the synthetic world, derived from the seed and the name only.

Every stage asks for its own streams by name (``streams.get("population.roles")``), so a stage's
draws never depend on how many numbers another stage drew, nor on the order stages run in. The
generator for a name comes from ``SeedSequence(entropy=seed, spawn_key=(crc32(name),))``:
CRC-32 is a fixed function of the name's UTF-8 bytes (unlike ``hash()``, which is salted per
process), so the same seed and name give the same stream on every machine and run.
"""

from __future__ import annotations

import zlib

import numpy as np

from icarus.core.errors import UsageError

__all__ = ["Streams", "stream_key"]


def stream_key(name: str) -> int:
    """The spawn key of a stream name: CRC-32 of its UTF-8 bytes (stable across processes)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """A factory of independent, reproducible numpy Generators keyed by name."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise UsageError(f"world seed must be a non-negative integer, got {seed!r}")
        self.seed = seed

    def get(self, name: str) -> np.random.Generator:
        """A fresh Generator for ``name``: the same (seed, name) always yields the same draws.

        Each call returns a new Generator positioned at the start of the stream, so two calls
        with the same name give identical sequences; use distinct names for independent draws.
        """
        if not name:
            raise UsageError("random stream name must not be empty")
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
        return np.random.default_rng(seq)
