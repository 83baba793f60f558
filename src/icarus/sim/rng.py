"""Named random streams for the synthetic world, derived from the seed and the name only.

Every stage asks for its own streams by name (``streams.get("population.roles")``), so a stage's
draws never depend on how many numbers another stage drew, nor on the order stages run in. The
generator for a name comes from ``SeedSequence(entropy=seed, spawn_key=(crc32(name),))``:
CRC-32 is a fixed function of the name's UTF-8 bytes (unlike ``hash()``, which is salted per
process), so the same seed and name give the same stream on every machine and run.

The module also holds the few vectorised sampling helpers the stages share.
"""

from __future__ import annotations

import zlib

import numpy as np

from icarus.core.errors import UsageError

__all__ = ["Streams", "draw_distinct", "pareto_int", "ranks", "stream_key", "zipf_weights"]


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


def pareto_int(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """Integers X >= 1 with P(X >= x) = x^-alpha exactly (floor of a continuous Pareto)."""
    u = 1.0 - rng.random(alpha.size)  # in (0, 1]
    out: np.ndarray = np.floor(np.minimum(u ** (-1.0 / alpha), 2.0**40)).astype(np.int64)
    return out


def ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each c in ``counts``, concatenated (positions within groups)."""
    out: np.ndarray = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts,
                                                               counts)
    return out


def zipf_weights(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Zipf weights over ``n`` items in a random order (popularity is not tied to ids)."""
    weight = np.empty(n)
    weight[rng.permutation(n)] = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return weight


def draw_distinct(rng: np.random.Generator, need: np.ndarray, pool: np.ndarray,
                  weight: np.ndarray, held: tuple[np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(owner, item) pairs: for each owner o, ``need[o]`` distinct items of ``pool`` (as many
    as the pool allows), drawn by ``weight``, none of those ``held`` (owner, item) already has.

    Small requests are drawn with replacement and deduplicated (approximately sampling without
    replacement); requests above an eighth of the pool are sampled exactly without replacement.
    """
    size = pool.size
    if size == 0 or not need.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pos_of = np.full(int(pool.max()) + 1, -1, np.int64)
    pos_of[pool] = np.arange(size)
    taken = np.zeros(0, np.int64)
    if held is not None and held[0].size:
        pos = pos_of[np.minimum(held[1], pos_of.size - 1)]
        ok = (held[1] < pos_of.size) & (pos >= 0)
        taken = held[0][ok] * size + pos[ok]
    deficit = np.minimum(need, size - np.bincount(taken // size, minlength=need.size))
    deficit = np.maximum(deficit, 0)
    got = []
    p = weight / weight.sum()
    # Libraries of a sizeable part of the pool: exact weighted sampling without replacement
    # (Efraimidis-Spirakis keys), person by person; they are few (the Pareto tail).
    for person in np.flatnonzero(deficit > size // 8):
        score = np.log(1.0 - rng.random(size)) / np.maximum(p, 1e-300)
        score[taken[taken // size == person] % size] = -np.inf
        best = np.argsort(-score, kind="stable")[: deficit[person]]
        got.append(person * size + best)
        deficit[person] = 0
    taken = np.sort(np.concatenate([taken, *got]))
    # Everyone else: draw with replacement, keep first occurrences of new items, repeat.
    for attempt in range(40):
        who = np.flatnonzero(deficit > 0)
        if not who.size:
            break
        draws = deficit[who] + deficit[who] // 4 + 1
        owner = np.repeat(who, draws)
        pos = rng.choice(size, size=owner.size, p=p if attempt < 8 else None)
        keys, first = np.unique(owner * size + pos, return_index=True)
        at = np.minimum(np.searchsorted(taken, keys), max(taken.size - 1, 0))
        fresh = taken[at] != keys if taken.size else np.ones(keys.size, bool)
        keys = keys[fresh][np.argsort(first[fresh], kind="stable")]  # in draw order
        keys = keys[np.argsort(keys // size, kind="stable")]
        owner = keys // size
        rank = ranks(np.bincount(owner)[np.unique(owner)])
        keys = keys[rank < deficit[owner]]
        got.append(keys)
        taken = np.sort(np.concatenate([taken, keys]))
        deficit -= np.bincount(keys // size, minlength=need.size)
    for person in np.flatnonzero(deficit > 0):  # unlucky leftovers: fill uniformly
        rest = np.setdiff1d(np.arange(size), taken[taken // size == person] % size)
        got.append(person * size + rng.permutation(rest)[: deficit[person]])
    keys = np.concatenate(got) if got else np.zeros(0, np.int64)
    return keys // size, pool[keys % size]
