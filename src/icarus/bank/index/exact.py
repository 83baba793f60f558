"""Exact-digest index: sorted 64-bit prefixes, searched in batches, verified on the full digest.

Layout (one directory, see :mod:`icarus.bank.index.files`):

* ``prefixes.npy`` - uint64, the first 8 bytes of each digest read big-endian, sorted;
* ``rows.npy`` - uint32 (uint64 past 2**32 entries): the input position of each sorted entry;
* ``digests.npy`` - (n, size) uint8, the full digests in the same sorted order.

A lookup sorts the query prefixes (so consecutive binary searches walk neighbouring pages),
finds each one's run of equal prefixes with :func:`numpy.searchsorted` and keeps the entries
whose full digest is equal. Equal prefixes of different digests are therefore harmless, and
duplicate digests all come back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from icarus.bank.index.files import Manifest, expand_ranges, read_index, write_index
from icarus.core.errors import CorruptInputError, UsageError
from icarus.identify.kinds import KINDS

FORMAT = "icarus-exact-index"
VERSION = 1
_ARRAYS = ("prefixes", "rows", "digests")


class ExactIndex:
    """A read-only, memory-mapped set of digests of one kind; safe to query from many threads."""

    def __init__(self, directory: Path, manifest: Manifest, arrays: dict[str, np.ndarray]) -> None:
        """Wrap opened arrays (see :meth:`open`); raises CorruptInputError if they disagree."""
        self.directory = directory
        self.manifest = manifest
        self.kind = manifest.kind
        n, size = manifest.count, manifest.params.get("size")
        shapes = [arrays[name].shape if name in arrays else None for name in _ARRAYS]
        if not isinstance(size, int) or size < 1 or shapes != [(n,), (n,), (n, size)]:
            raise CorruptInputError("exact index arrays do not match its manifest", path=directory)
        self.size = size
        self._prefixes = arrays["prefixes"]
        self._rows = arrays["rows"]
        self._digests = arrays["digests"].view(f"V{size}").reshape(-1)

    def __len__(self) -> int:
        return self.manifest.count

    @staticmethod
    def build(digests: np.ndarray, out_dir: Path, *, kind: str, replace: bool = False) -> None:
        """Compile ``digests`` ((n, size) uint8, duplicates allowed) into an index at ``out_dir``.

        ``kind`` must be a registered hash kind whose size matches the array's width. The
        directory is written atomically; an existing one raises
        :class:`~icarus.core.errors.StateError` unless ``replace``.
        """
        array = _as_digests(digests, f"digests to index in {out_dir}", _kind_size(kind))
        size = array.shape[1]
        prefixes = _prefixes(array)
        order = np.argsort(prefixes, kind="stable")
        row_type = np.uint32 if len(array) < 2**32 else np.uint64
        sorted_digests = array.view(f"V{size}").reshape(-1).take(order)
        write_index(
            Path(out_dir),
            index_format=FORMAT,
            version=VERSION,
            kind=kind,
            count=len(array),
            params={"size": size},
            arrays={
                "prefixes": prefixes[order],
                "rows": order.astype(row_type),
                "digests": sorted_digests.view(np.uint8).reshape(-1, size),
            },
            replace=replace,
        )

    @classmethod
    def open(cls, directory: Path) -> ExactIndex:
        """Memory-map the index at ``directory`` (headers only: fast whatever the size)."""
        directory = Path(directory)
        manifest, arrays = read_index(directory, index_format=FORMAT, version=VERSION)
        return cls(directory, manifest, arrays)

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query position, row) pair whose digests are equal, ordered by query then row.

        ``queries`` is (m, size) uint8. ``row`` is the entry's position in the array given to
        :meth:`build`. Both returned arrays are int64 and of equal length.
        """
        wanted = _as_digests(queries, f"queries to {self.directory}", self.size)
        empty = np.zeros(0, np.int64)
        if len(wanted) == 0 or len(self) == 0:
            return empty, empty.copy()
        query_prefixes = _prefixes(wanted)
        order = np.argsort(query_prefixes)
        sorted_prefixes = query_prefixes[order]
        starts, stops, owners = self._runs(sorted_prefixes, order)
        counts = stops - starts
        if len(counts) == 0:
            return empty, empty.copy()
        if int(counts.max()) == 1:
            positions, owner_of = starts, owners
        else:
            owner_of = np.repeat(owners, counts)
            positions = expand_ranges(starts, counts)
        query_values = wanted.view(f"V{self.size}").reshape(-1)
        equal = self._digests[positions] == query_values[owner_of]
        query_idx = owner_of[equal]
        rows = self._rows[positions[equal]].astype(np.int64)
        by_query = np.argsort(query_idx, kind="stable")
        return query_idx[by_query], rows[by_query]

    def rows_of(self, digest: bytes) -> np.ndarray:
        """The rows (int64, ascending) holding ``digest``; empty if it is not indexed."""
        if len(digest) != self.size:
            raise UsageError(
                f"{self.directory}: a {self.kind} digest is {self.size} bytes, got {len(digest)}"
            )
        _, rows = self.lookup(np.frombuffer(digest, np.uint8).reshape(1, -1))
        return rows

    def contains(self, digest: bytes) -> bool:
        """True if ``digest`` is in the index."""
        return len(self.rows_of(digest)) > 0

    def _runs(
        self, sorted_prefixes: np.ndarray, order: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each query whose prefix is present: the [start, stop) of its run, and its index."""
        table = self._prefixes
        n = len(table)
        starts = np.searchsorted(table, sorted_prefixes, "left")
        found = table[np.minimum(starts, n - 1)] == sorted_prefixes
        found &= starts < n
        starts, prefixes, owners = starts[found], sorted_prefixes[found], order[found]
        stops = starts + 1
        # Runs longer than one (duplicates, shared prefixes) are rare: search their end only.
        longer = stops < n
        longer[longer] = table[stops[longer]] == prefixes[longer]
        if longer.any():
            stops[longer] = np.searchsorted(table, prefixes[longer], "right")
        return starts, stops, owners


def _prefixes(digests: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each digest as a big-endian number (zero-padded if shorter)."""
    width = min(8, digests.shape[1])
    padded = np.zeros((len(digests), 8), np.uint8)
    padded[:, :width] = digests[:, :width]
    return padded.view(">u8").reshape(-1).astype(np.uint64)


def _kind_size(kind: str) -> int | None:
    return KINDS.get(kind).SIZE


def _as_digests(values: np.ndarray, what: str, size: int | None) -> np.ndarray:
    """``values`` as a C-contiguous (n, size) uint8 array, or a UsageError saying what is wrong."""
    array = np.asarray(values)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] == 0:
        raise UsageError(
            f"{what}: expected an (n, size) uint8 array, got {array.dtype}{list(array.shape)}"
        )
    if size is not None and array.shape[1] != size:
        raise UsageError(f"{what}: digests are {array.shape[1]} bytes wide, expected {size}")
    return np.ascontiguousarray(array)
