"""PDQ index: multi-index hashing over the 256-bit codes, exact for any radius.

The 256 bits are cut into ``m`` contiguous substrings. Pigeonhole: if two codes differ in at
most ``r = s*m + a`` bits (0 <= a < m), then one of the first ``a + 1`` substrings differs in at
most ``s`` bits, or one of the others in at most ``s - 1`` (otherwise the total would be at
least ``(a+1)(s+1) + (m-a-1)s = r + 1``). Each substring has a table: entry ids sorted by the
substring's value plus a CSR offsets array with one slot per possible value. A query probes,
in each table, its own value and every value within the table's radius, gathers the ids of
those buckets and verifies the full Hamming distance on the codes. Recall is exactly 1.

The number of substrings follows the size of the index: random gathers of candidate codes
dominate the cost, and with 16-bit substrings a 10 M bank yields ~41 k candidates per query;
with substrings of about log2(n) bits (11 of 23-24 bits at 10 M) it yields ~3 k for ~3 k
probes. Small indexes (and radii whose probes would cost more than a scan) are scanned.

Layout: ``codes.npy`` (n, 32) uint8 in input order (row = position), ``ids.npy`` (m, n) and
``offsets.npy`` (every table's 2**width + 1 offsets, concatenated).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

from icarus.bank.index.files import Manifest, expand_ranges, read_index, write_index
from icarus.core.errors import CorruptInputError, UsageError

FORMAT = "icarus-pdq-index"
VERSION = 1
CODE_BYTES = 32
BITS = 256
DEFAULT_RADIUS = 31
SCAN_BELOW = 4096
"""Indexes with fewer entries get no tables: a scan is cheaper than probing."""
MAX_WIDTH = 24
"""Widest substring: its offsets array has 2**24 + 1 slots (64 MiB)."""
_PROBES_PER_BATCH = 1 << 20
_MIXED_PROBES = 1 << 16
_CANDIDATES_PER_CHUNK = 1 << 19
_SCAN_PAIRS_PER_CHUNK = 1 << 16
# Measured costs (ns) of one probe, one candidate, one scanned pair, and the fixed numpy
# overhead of probing one table (it decides for small indexes and few queries).
_PROBE_COST, _CANDIDATE_COST, _SCAN_COST, _TABLE_COST = 30.0, 50.0, 12.0, 50_000.0

Hits = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, slots=True)
class Substring:
    """Bits [start, start + width) of the code, most significant bit of byte 0 first."""

    start: int
    width: int
    base: int
    """Where this table's offsets begin in the concatenated offsets array."""


class PdqIndex:
    """A read-only, memory-mapped set of PDQ codes; safe to query from many threads."""

    def __init__(self, directory: Path, arrays: dict[str, np.ndarray], widths: list[int]) -> None:
        """Wrap opened arrays (see :meth:`open`); raises CorruptInputError if they disagree."""
        self.directory = directory
        self._codes = arrays["codes"]
        self._ids = arrays.get("ids")
        self._offsets = arrays.get("offsets")
        self.substrings = _layout(widths)
        shapes = [None if a is None else a.shape for a in (self._codes, self._ids, self._offsets)]
        tables = [(len(widths), len(self._codes)), (sum((1 << w) + 1 for w in widths),)]
        if shapes != [(len(self._codes), CODE_BYTES), *(tables if widths else [None, None])]:
            raise CorruptInputError("PDQ index arrays do not match its manifest", path=directory)

    def __len__(self) -> int:
        return len(self._codes)

    @staticmethod
    def build(
        codes: np.ndarray, out_dir: Path, *, substrings: int | None = None, replace: bool = False
    ) -> None:
        """Compile ``codes`` ((n, 32) uint8, duplicates allowed) into an index at ``out_dir``.

        ``substrings`` overrides the automatic choice of tables (0: none, always scan).
        The directory is written atomically; an existing one raises
        :class:`~icarus.core.errors.StateError` unless ``replace``.
        """
        array = as_codes(codes, f"PDQ codes to index in {out_dir}")
        arrays, widths = compile_tables(array, substrings, where=str(out_dir))
        write_index(
            Path(out_dir),
            index_format=FORMAT,
            version=VERSION,
            kind="pdq",
            count=len(array),
            params={"widths": widths},
            arrays=arrays,
            replace=replace,
        )

    @classmethod
    def open(cls, directory: Path) -> PdqIndex:
        """Memory-map the index at ``directory`` (headers only: fast whatever the size)."""
        directory = Path(directory)
        manifest, arrays = read_index(directory, index_format=FORMAT, version=VERSION)
        return cls(directory, arrays, widths_of(manifest, directory))

    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> Hits:
        """Every (query, entry) pair at Hamming distance <= ``radius`` (inclusive), none beyond.

        ``queries`` is (m, 32) uint8. Returns (query position, row, distance) as int64, int64
        and int32 arrays ordered by query then row; row is the position in the built array.
        """
        wanted = as_codes(queries, f"PDQ queries to {self.directory}")
        if not 0 <= radius <= BITS:
            raise UsageError(f"PDQ radius must be between 0 and {BITS}, got {radius}")
        if len(wanted) == 0 or len(self) == 0:
            return _empty()
        radii = self._plan(radius, len(wanted))
        if radii is None:
            return self._scan(wanted, radius)
        return _dedup(self._probe(wanted, radius, radii), len(self))

    def _plan(self, radius: int, queries: int) -> list[int] | None:
        """Each table's probe radius, or None when scanning is cheaper."""
        widths = [part.width for part in self.substrings]
        if not widths:
            return None
        radii = _probe_radii(len(widths), radius)
        mih = queries * _query_cost(widths, radii, len(self))
        mih += sum(r >= 0 for r in radii) * _TABLE_COST
        return radii if mih < queries * len(self) * _SCAN_COST else None

    def _probe(self, queries: np.ndarray, radius: int, radii: list[int]) -> Iterator[Hits]:
        used = [t for t, r in enumerate(radii) if r >= 0]
        probes = len(queries) * sum(
            len(_flip_masks(self.substrings[t].width, radii[t])) for t in used
        )
        # Few queries: all tables at once, to pay numpy's per-call overhead once. Many: one
        # table at a time, whose offsets and ids stay hotter in the caches and TLB.
        groups = [used] if probes <= _MIXED_PROBES else [[t] for t in used]
        for group in groups:
            yield from self._probe_tables(queries, radius, {t: radii[t] for t in group})

    def _probe_tables(
        self, queries: np.ndarray, radius: int, radii: dict[int, int]
    ) -> Iterator[Hits]:
        assert self._ids is not None and self._offsets is not None
        tables, offsets = list(radii), self._offsets
        masks = [_flip_masks(self.substrings[t].width, radii[t]) for t in tables]
        # One column per (table, mask): the tables are probed in the same numpy passes.
        column_mask = np.concatenate(masks)
        column_slot = np.repeat(np.arange(len(tables)), [len(m) for m in masks])
        column_base = np.array([self.substrings[t].base for t in tables])[column_slot]
        column_shift = np.array(tables)[column_slot] * len(self)  # into the flat (m, n) ids
        # One table (many queries) spares the per-column gathers: the costly case stays lean.
        single = len(tables) == 1
        ids = self._ids[tables[0]] if single else self._ids.reshape(-1)
        keys = np.stack([_substring(queries, self.substrings[t]) for t in tables], axis=1)
        codes = self._codes.view("V32").reshape(-1)
        # The first two words of each query, gathered per candidate for the cheap first check.
        query_words = queries.view(np.uint64).reshape(-1, 4)
        query_head = np.ascontiguousarray(query_words[:, :2]).view("V16").reshape(-1)
        width = len(column_mask)
        batch = max(1, _PROBES_PER_BATCH // width)
        for q0 in range(0, len(queries), batch):
            block = keys[q0 : q0 + batch]
            probes = block ^ column_mask if single else block[:, column_slot] ^ column_mask
            probes += int(column_base[0]) if single else column_base
            probes = probes.ravel()
            # take() is about twice as fast as fancy indexing on these 1-D arrays.
            starts = offsets.take(probes)
            counts = offsets.take(probes + 1) - starts
            hit = np.flatnonzero(counts)
            owners = q0 + hit // width
            starts = starts[hit] if single else starts[hit] + column_shift[hit % width]
            for lo, count, who in _chunks(starts, counts[hit], owners):
                rows = ids.take(expand_ranges(lo, count))
                owner = np.repeat(who, count)
                words = codes.take(rows).view(np.uint64).reshape(-1, 4)
                head = query_head.take(owner).view(np.uint64).reshape(-1, 2)
                # Half the bits reject almost every random candidate (64 +- 5.7 bits apart).
                near = _popcount_rows(words[:, :2] ^ head) <= radius
                rows, owner, words = rows[near], owner[near], words[near]
                dist = _popcount_rows(words ^ query_words[owner])
                keep = dist <= radius
                yield owner[keep], rows[keep].astype(np.int64), dist[keep]

    def _scan(self, queries: np.ndarray, radius: int) -> Hits:
        bank = self._codes.view(np.uint64)
        mine = queries.view(np.uint64)
        rows_per_chunk = max(1, min(len(bank), _SCAN_PAIRS_PER_CHUNK))
        queries_per_chunk = max(1, _SCAN_PAIRS_PER_CHUNK // rows_per_chunk)
        found: list[Hits] = []
        for q0 in range(0, len(mine), queries_per_chunk):
            block = mine[q0 : q0 + queries_per_chunk]
            for r0 in range(0, len(bank), rows_per_chunk):
                rows = bank[r0 : r0 + rows_per_chunk]
                dist = _popcount_rows(block[:, None, :] ^ rows[None, :, :])
                qi, ri = np.nonzero(dist <= radius)
                found.append((qi + q0, ri + r0, dist[qi, ri]))
        return _concat(found)


def compile_tables(
    codes: np.ndarray, substrings: int | None = None, *, where: str = "PDQ index"
) -> tuple[dict[str, np.ndarray], list[int]]:
    """The arrays of an index over ``codes`` (checked (n, 32) uint8) and its substring widths."""
    n = len(codes)
    m = choose_substrings(n) if substrings is None else substrings
    if not 0 <= m <= BITS or (m and math.ceil(BITS / m) > MAX_WIDTH):
        raise UsageError(f"{where}: cannot cut 256 bits into {m} substrings of <= {MAX_WIDTH}")
    layout = _layout(_widths(m))
    arrays = {"codes": codes}
    if layout:
        id_type = np.uint32 if n < 2**32 else np.uint64
        ids = np.empty((len(layout), n), id_type)
        offsets = []
        for t, part in enumerate(layout):
            keys = _substring(codes, part)
            ids[t] = _radix_argsort(keys, part.width)
            counts = np.bincount(keys, minlength=1 << part.width)
            offsets.append(np.concatenate([[0], np.cumsum(counts)]).astype(id_type))
        arrays |= {"ids": ids, "offsets": np.concatenate(offsets)}
    return arrays, [p.width for p in layout]


def widths_of(manifest: Manifest, directory: Path) -> list[int]:
    """The substring widths recorded in the manifest of the index at ``directory``."""
    try:
        return [int(w) for w in manifest.params["widths"]]
    except (KeyError, TypeError, ValueError):
        raise CorruptInputError("manifest has no valid 'widths'", path=directory) from None


def choose_substrings(n: int) -> int:
    """The number of substrings whose tables answer radius-31 queries fastest for ``n`` entries.

    0 (no tables) below :data:`SCAN_BELOW`. Substrings are at most :data:`MAX_WIDTH` bits and
    at most about log2(n) + 1 bits, so no table's offsets outgrow twice its ids.
    """
    if n < SCAN_BELOW:
        return 0
    widest = min(MAX_WIDTH, math.log2(n) + 1)
    allowed = [m for m in range(1, 65) if _widths(m)[0] <= widest]
    return min(allowed, key=lambda m: _query_cost(_widths(m), _probe_radii(m, DEFAULT_RADIUS), n))


def _probe_radii(m: int, radius: int) -> list[int]:
    """The radius to probe each of ``m`` tables with (-1: skip it), by the pigeonhole above."""
    s, a = divmod(radius, m)
    return [s if t <= a else s - 1 for t in range(m)]


def _query_cost(widths: list[int], radii: list[int], n: int) -> float:
    """Estimated ns per query: probes, plus the candidates in the probed buckets."""
    cost = 0.0
    for width, r in zip(widths, radii, strict=True):
        volume = sum(math.comb(width, k) for k in range(r + 1))
        cost += volume * (_PROBE_COST + _CANDIDATE_COST * n / 2**width)
    return cost


def as_codes(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as a C-contiguous (n, 32) uint8 array, or a UsageError saying what is wrong."""
    array = np.asarray(values)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != CODE_BYTES:
        raise UsageError(f"{what}: expected an (n, 32) uint8 array, got {array.dtype}{array.shape}")
    return np.ascontiguousarray(array)


def _widths(m: int) -> list[int]:
    """``m`` widths adding up to 256, the wider first."""
    if m == 0:
        return []
    q, r = divmod(BITS, m)
    return [q + 1] * r + [q] * (m - r)


def _layout(widths: list[int]) -> list[Substring]:
    starts = np.concatenate([[0], np.cumsum(widths)]).tolist()
    bases = np.concatenate([[0], np.cumsum([(1 << w) + 1 for w in widths])]).tolist()
    return [Substring(int(s), w, int(b)) for s, w, b in zip(starts, widths, bases, strict=False)]


def _substring(codes: np.ndarray, part: Substring) -> np.ndarray:
    """The value of ``part`` in each code, as int64."""
    word, offset = divmod(part.start, 64)
    end = offset + part.width
    high = _word(codes, word)
    if end <= 64:
        value = high >> np.uint64(64 - end)
    else:
        value = (high << np.uint64(end - 64)) | (_word(codes, word + 1) >> np.uint64(128 - end))
    return (value & np.uint64((1 << part.width) - 1)).astype(np.int64)


def _word(codes: np.ndarray, index: int) -> np.ndarray:
    """The ``index``-th 64-bit word of each code, read big-endian."""
    chunk = np.ascontiguousarray(codes[:, 8 * index : 8 * index + 8])
    return chunk.view(">u8").reshape(-1).astype(np.uint64)


def _radix_argsort(keys: np.ndarray, width: int) -> np.ndarray:
    """A stable argsort of keys < 2**width, by 16-bit digits (numpy radix-sorts 16-bit keys)."""
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    if width > 16:
        high = (keys[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return order


@lru_cache(maxsize=64)
def _flip_masks(width: int, radius: int) -> np.ndarray:
    """Every ``width``-bit value with at most ``radius`` bits set (the probe offsets)."""
    masks = [
        sum(1 << bit for bit in bits)
        for k in range(min(radius, width) + 1)
        for bits in combinations(range(width), k)
    ]
    array = np.array(masks, np.int64)
    array.setflags(write=False)
    return array


def _chunks(
    starts: np.ndarray, counts: np.ndarray, owners: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Split probe ranges into groups of about ``_CANDIDATES_PER_CHUNK`` candidates."""
    limit = _CANDIDATES_PER_CHUNK
    if len(counts) and int(counts.max()) > limit:
        # Cut oversized buckets (many equal substrings) into pieces of at most ``limit``.
        pieces = (counts + limit - 1) // limit
        piece = expand_ranges(np.zeros_like(pieces), pieces)
        starts = np.repeat(starts, pieces) + piece * limit
        counts = np.minimum(np.repeat(counts, pieces) - piece * limit, limit)
        owners = np.repeat(owners, pieces)
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(limit, int(ends[-1]) if len(ends) else 0, limit))
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(counts)], strict=True):
        if hi > lo:
            yield starts[lo:hi], counts[lo:hi], owners[lo:hi]


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Bits set in each row of uint64 words (the last axis), as int32."""
    # Column adds: numpy's sum over a short last axis is several times slower.
    counts = np.bitwise_count(words)
    total: np.ndarray = counts[..., 0].astype(np.int32)
    for column in range(1, words.shape[-1]):
        total += counts[..., column]
    return total


def _dedup(found: Iterator[Hits], n: int) -> Hits:
    """Merge hits of all tables, keeping each (query, row) once, ordered by query then row."""
    query, row, dist = _concat(list(found))
    keys, first = np.unique(query * n + row, return_index=True)
    return keys // n, keys % n, dist[first]


def _concat(parts: list[Hits]) -> Hits:
    if not parts:
        return _empty()
    return (
        np.concatenate([p[0] for p in parts]).astype(np.int64),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
        np.concatenate([p[2] for p in parts]).astype(np.int32),
    )


def _empty() -> Hits:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
