"""The co-sharing graph of :mod:`icarus.intel.networks`: holders, weights, communities.

Everything here works on integer codes: ``p_item``/``p_node``/``p_unit`` list each distinct
(item, subject) holding, sorted by item then subject, and the *holder* (installation) it is
counted as. Reasons for each step are in docs/intel/networks.md.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import igraph
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from icarus.intel.networks import NetworksConfig

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def _pairs(u: I64, v: I64) -> I64:
    """An (m, 2) int64 edge array: igraph reads it as a buffer, with no Python pair per
    edge (a list of millions of pairs costs seconds and a gigabyte)."""
    return np.ascontiguousarray(np.column_stack([u, v]), dtype=np.int64)


def codes(keys: pa.Table) -> I64:
    """A dense integer per distinct (k, v) row."""
    joined = pc.binary_join_element_wise(pc.cast(keys["k"], pa.binary()),
                                         pc.cast(keys["v"], pa.binary()), b":")
    enc = pc.dictionary_encode(joined).combine_chunks()
    return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def holdings(item: I64, node: I64, address: I64, n_nodes: int) -> tuple[I64, I64, I64]:
    """Each distinct (item, subject) holding and the holder it counts as.

    ``item``, ``node`` and ``address`` are per sighting; ``address`` is a code >= 0 for a
    sighting whose sessions may be one installation's fragments (no persistent identifier,
    not an anonymiser endpoint), else -1. Subjects that hold an item from a common such
    address are one holder of it (connected components over the shared addresses); the
    holder ids are dense. Returns ``(p_item, p_node, p_unit)`` sorted by item, then node.
    """
    width = max(n_nodes, 1)
    pair_key, row_pair = np.unique(item * width + node, return_inverse=True)
    row_pair = row_pair.reshape(-1)
    p_item, p_node = pair_key // width, pair_key % width
    n_pairs = pair_key.size
    usable = address >= 0
    if not usable.any():
        return p_item, p_node, np.arange(n_pairs, dtype=np.int64)
    n_addr = int(address.max()) + 1
    addr_key, row_addr = np.unique(item[usable] * n_addr + address[usable], return_inverse=True)
    link = np.unique(row_pair[usable] * addr_key.size + row_addr.reshape(-1))
    links = np.column_stack([link // addr_key.size, n_pairs + link % addr_key.size])
    graph = igraph.Graph(n=n_pairs + addr_key.size, edges=links)
    component = np.asarray(graph.connected_components().membership, dtype=np.int64)[:n_pairs]
    _, unit = np.unique(component, return_inverse=True)
    return p_item, p_node, unit.reshape(-1).astype(np.int64)


def edges(p_item: I64, p_node: I64, max_holders: int) -> tuple[I64, I64, F64]:
    """Resource-allocation weights between subjects (``1 / h`` per item held by ``h``
    subjects), summed over items; items held by more than ``max_holders`` subjects are left
    out. Vectorised: items are grouped by holder count, each group's pairs come from one
    triu index."""
    start = np.flatnonzero(np.r_[True, p_item[1:] != p_item[:-1]])
    count = np.diff(np.r_[start, p_item.size])
    us, vs, ws = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for h in np.unique(count[(count >= 2) & (count <= max_holders)]).tolist():
        first = start[count == h]
        block = p_node[first[:, None] + np.arange(h)]  # one row of holders per item, sorted
        a, b = np.triu_indices(h, 1)
        us.append(block[:, a].reshape(-1))
        vs.append(block[:, b].reshape(-1))
        ws.append(np.full(first.size * a.size, 1.0 / h))
    u, v, w = np.concatenate(us), np.concatenate(vs), np.concatenate(ws)
    n = int(max(u.max(initial=-1), v.max(initial=-1))) + 1
    key, inverse = np.unique(u * n + v, return_inverse=True)
    weight = np.bincount(inverse.reshape(-1), weights=w).astype(np.float64)
    return (key // max(n, 1)).astype(np.int64), (key % max(n, 1)).astype(np.int64), weight


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """igraph's random generator seeded for the block, then restored."""
    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)


def leiden(n: int, u: I64, v: I64, w: F64, cfg: NetworksConfig) -> I64:
    """Leiden communities (modularity) under a seeded generator, then loose sub-groups split
    off (:func:`split_all`)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = igraph.Graph(n=n, edges=_pairs(u, v))
    with _seeded(cfg.seed):
        parts = graph.community_leiden(objective_function="modularity", weights=w,
                                       resolution=cfg.resolution, n_iterations=-1)
    return split_all(np.asarray(parts.membership, dtype=np.int64), u, v, w, cfg)


def split_all(membership: I64, u: I64, v: I64, w: F64, cfg: NetworksConfig) -> I64:
    """:func:`split_loose` on every community, then on those that changed, until nothing
    splits (``cfg.split_rounds`` at most), under a seeded generator."""
    todo: set[int] | None = None  # first round: every community
    with _seeded(cfg.seed):
        for _ in range(cfg.split_rounds):
            membership, todo = split_loose(membership, u, v, w, cfg, todo)
            if not todo:
                break
    return membership


def split_loose(membership: I64, u: I64, v: I64, w: F64, cfg: NetworksConfig,
                todo: set[int] | None = None) -> tuple[I64, set[int]]:
    """Split off the sub-groups of each community that hang to the rest of it by a thread.

    Modularity merges groups that are small against the whole graph (its resolution limit):
    a small ring tied to a bigger one, or to a cluster of unrelated sharers of one uncommon
    file, by a few co-shared files. Each community of ``2 * min_size`` or more is re-divided
    on its own (Leiden, modularity of the subgraph); a part of ``min_size`` or more whose
    conductance (its weight to the rest of the community over the smaller of the two
    volumes) is below ``split_conductance`` becomes a community of its own. Only the
    communities in ``todo`` are looked at (all when ``None``); returns the new membership and
    the communities that changed (split ones and their split-off parts), to look at again.
    """
    if cfg.split_conductance <= 0:
        return membership, set()
    out = membership.copy()
    label = int(membership.max(initial=-1)) + 1
    sizes = np.bincount(membership)
    inside = membership[u] == membership[v]
    cu, cv, cw = u[inside], v[inside], w[inside]
    by = np.argsort(membership[cu], kind="stable")
    cu, cv, cw = cu[by], cv[by], cw[by]
    comm = membership[cu]
    bounds = np.searchsorted(comm, np.arange(sizes.size + 1))
    nodes_by = np.argsort(membership, kind="stable")
    node_bounds = np.searchsorted(membership[nodes_by], np.arange(sizes.size + 1))
    changed: set[int] = set()
    for c in np.flatnonzero(sizes >= 2 * cfg.min_size).tolist():
        if todo is not None and c not in todo:
            continue
        lo, hi = bounds[c], bounds[c + 1]
        if hi == lo:
            continue
        nodes = nodes_by[node_bounds[c]:node_bounds[c + 1]]  # sorted: stable argsort
        a = np.searchsorted(nodes, cu[lo:hi])
        b = np.searchsorted(nodes, cv[lo:hi])
        sub = igraph.Graph(n=nodes.size, edges=_pairs(a, b))
        part = np.asarray(sub.community_leiden(
            objective_function="modularity", weights=cw[lo:hi],
            n_iterations=-1).membership, dtype=np.int64)
        if int(part.max()) < 1:
            continue
        alone = _loose(part, a, b, cw[lo:hi], cfg)  # a part on its own
        group = _join_tied(part, a, b, cw[lo:hi], cfg.split_conductance)
        together = _loose(group, a, b, cw[lo:hi], cfg)  # parts tied to each other, together
        together[np.unique(group[alone[part]])] = False  # holding a loose part: split already
        for sets, mask in ((part, alone), (group, together)):
            for p in np.flatnonzero(mask).tolist():
                out[nodes[sets == p]] = label
                changed |= {c, label}
                label += 1
    return out, changed


def _loose(part: I64, a: I64, b: I64, w: F64, cfg: NetworksConfig) -> B:
    """Which parts (``part[node]``, dense) of a community hang to the rest by a thread:
    ``min_size`` nodes or more, conductance under ``cfg.split_conductance``. When every part
    is that loose, the largest is not (it keeps the community's label)."""
    k = int(part.max()) + 1
    if k < 2:
        return np.zeros(k, dtype=bool)
    pa_, pb = part[a], part[b]
    vol = np.bincount(pa_, w, k) + np.bincount(pb, w, k)
    cross = pa_ != pb
    cut = np.bincount(pa_[cross], w[cross], k) + np.bincount(pb[cross], w[cross], k)
    smaller = np.minimum(vol, vol.sum() - vol)
    count = np.bincount(part, minlength=k)
    loose = (count >= cfg.min_size) & (cut < cfg.split_conductance * smaller)
    if loose.all():
        loose[int(np.argmax(count))] = False
    return np.asarray(loose, dtype=bool)


def _join_tied(part: I64, a: I64, b: I64, w: F64, conductance: float) -> I64:
    """Leiden's parts joined where they are tied by more than a thread: parts i and j whose
    weight between them is at least ``conductance`` times the smaller of their volumes are one
    (connected components). Leiden may cut one ring into pieces that hold tightly to each
    other; the ring as a whole can still hang to the rest by a thread."""
    k = int(part.max()) + 1
    pa_, pb = part[a], part[b]
    vol = np.bincount(pa_, w, k) + np.bincount(pb, w, k)
    cross = pa_ != pb
    lo, hi = np.minimum(pa_, pb)[cross], np.maximum(pa_, pb)[cross]
    key, inverse = np.unique(lo * k + hi, return_inverse=True)
    between = np.bincount(inverse.reshape(-1), w[cross])
    i, j = key // k, key % k
    tied = between >= conductance * np.minimum(vol[i], vol[j])
    joined = igraph.Graph(n=k, edges=_pairs(i[tied], j[tied]))
    group = np.asarray(joined.connected_components().membership, dtype=np.int64)
    return group[part]


def held_by_group(p_item: I64, p_node: I64, p_unit: I64, group: I64
                  ) -> tuple[I64, I64, I64, I64, I64]:
    """Holders of each item inside each group (``group[node]``, -1: none) and in all.

    Returns ``(item, grp, inside, everyone, pair_row)``: one row per distinct (item, group)
    with the holders (:func:`holdings`) of the item among the group's subjects and among
    all subjects; ``pair_row`` gives each holding's row (-1 for nodes in no group)."""
    n_units = int(p_unit.max(initial=-1)) + 1
    everyone = per_item(p_item, p_unit)
    g = group[p_node]
    ok = g >= 0
    k = int(group.max(initial=-1)) + 1
    pair_row = np.full(p_item.size, -1, dtype=np.int64)
    if not ok.any():
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty, pair_row
    key, row = np.unique(p_item[ok] * k + g[ok], return_inverse=True)
    pair_row[ok] = row.reshape(-1)
    # distinct (row, unit): holders inside
    ru = np.unique(row.reshape(-1) * max(n_units, 1) + p_unit[ok])
    inside = np.bincount(ru // max(n_units, 1), minlength=key.size).astype(np.int64)
    item = key // k
    return item, key % k, inside, everyone[item].astype(np.int64), pair_row


def per_item(p_item: I64, p_unit: I64) -> I64:
    """Holders per item (a holder holds one item: :func:`holdings` groups within items)."""
    item_of_unit = np.zeros(int(p_unit.max(initial=-1)) + 1, dtype=np.int64)
    item_of_unit[p_unit] = p_item
    return np.bincount(item_of_unit, minlength=int(p_item.max(initial=-1)) + 1)


def anchored(p_item: I64, p_node: I64, p_unit: I64, membership: I64, own_share: float) -> B:
    """Which nodes hold one of their community's own items: two or more of its holders are
    members, and they are at least ``own_share`` of all its holders."""
    n = membership.size
    if own_share <= 0 or p_item.size == 0:
        return np.ones(n, dtype=bool)
    _, _, inside, everyone, pair_row = held_by_group(p_item, p_node, p_unit, membership)
    own = (inside >= 2) & (inside >= own_share * everyone)
    out = np.zeros(n, dtype=bool)
    grouped = pair_row >= 0
    out[p_node[grouped][own[pair_row[grouped]]]] = True
    return out
