"""Array helpers of resolution: connected components, group representatives, id ranks.

All work on integer arrays without Python loops over rows, so ten million sightings resolve in
seconds with memory linear in the number of rows. Row indices, labels and codes are held as
int32 whenever they fit (:func:`index_type`): half the memory of int64 for the same values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError

I64 = npt.NDArray[np.int64]
Ints = npt.NDArray[np.signedinteger[Any]]
"""Integer arrays of either width (int32 or int64)."""

_CHECK_ROWS = 1 << 20
"""Sorted ids compared per step for repeats (a copy of this many ids at a time)."""


def index_type(n: int) -> type[np.signedinteger[Any]]:
    """The narrowest of int32 and int64 that holds every value in ``-1..n`` (row indices,
    labels, dictionary codes of ``n`` rows)."""
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def components(n: int, u: Ints, v: Ints) -> Ints:
    """Connected components of the graph on ``0..n-1`` with edges ``(u[k], v[k])``: each node's
    label is the smallest node of its component (an array of :func:`index_type` of ``n``).

    A vectorised union-find: every round hooks the larger of two roots under the smaller
    (so parents only ever decrease and no cycle forms), then compresses paths by pointer
    jumping; edges already inside one component are dropped.
    """
    kind = index_type(n)
    parent = np.arange(n, dtype=kind)
    u = np.asarray(u, dtype=kind)
    v = np.asarray(v, dtype=kind)
    while u.size:
        parent = _compress(parent)
        ru, rv = parent[u], parent[v]
        open_ = ru != rv
        u, v, ru, rv = u[open_], v[open_], ru[open_], rv[open_]
        np.minimum.at(parent, np.maximum(ru, rv), np.minimum(ru, rv))
    return _compress(parent)


def _compress(parent: Ints) -> Ints:
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return parent
        parent = up


def first_per_group(label: Ints, rank: Ints) -> I64:
    """For each row, the row of its label with the smallest ``rank`` (the representative)."""
    order = np.lexsort((rank, label))
    lab = label[order]
    start = np.ones(lab.size, dtype=bool)
    start[1:] = lab[1:] != lab[:-1]
    head = order[start]
    rep = np.empty(label.size, dtype=np.int64)
    rep[order] = np.repeat(head, np.diff(np.append(np.flatnonzero(start), lab.size)))
    return rep


def id_codes(ids: pa.Array | pa.ChunkedArray) -> Ints:
    """The rank of each id in byte order (:func:`index_type`). Raises :class:`InputError` on a
    null or repeated id."""
    if ids.null_count:
        raise InputError(f"{ids.null_count} sighting(s) have no sighting_id")
    n = len(ids)
    order = pc.sort_indices(ids)
    # Neighbours in sorted order compared a slice at a time: no sorted copy of every id.
    for lo in range(0, max(n - 1, 0), _CHECK_ROWS):
        part = ids.take(order.slice(lo, _CHECK_ROWS + 1))
        dup = pc.equal(part.slice(1), part.slice(0, len(part) - 1))
        if pc.any(dup).as_py():
            at = int(np.flatnonzero(np.asarray(dup.to_numpy(zero_copy_only=False)))[0])
            a, b = order[lo + at].as_py(), order[lo + at + 1].as_py()
            raise InputError(f"sighting_id {part[at].as_py().hex()} appears more than once "
                             f"(row {a + 1} and row {b + 1})")
    kind = index_type(n)
    rank = np.empty(n, dtype=kind)
    rank[np.asarray(order.to_numpy(), dtype=np.int64)] = np.arange(n, dtype=kind)
    return rank


def dictionary_codes(column: pa.ChunkedArray | pa.Array) -> tuple[Ints, pa.Array]:
    """Each value's index among the column's distinct values (-1 for null; :func:`index_type`),
    and those values in order of first appearance. A chunked column is coded chunk by chunk
    against one dictionary: no copy of the column is made."""
    enc = pc.dictionary_encode(column)
    if isinstance(enc, pa.ChunkedArray):  # one dictionary shared by every chunk
        chunks = enc.chunks
        values = chunks[0].dictionary if chunks else pa.array([], column.type)
        indices: pa.ChunkedArray | pa.Array = pa.chunked_array(
            [c.indices for c in chunks], pa.int32())
    else:
        values, indices = enc.dictionary, enc.indices
    del enc
    codes = np.asarray(pc.fill_null(indices, -1).to_numpy(), dtype=index_type(len(column)))
    return codes, values
