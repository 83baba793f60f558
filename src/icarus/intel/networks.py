"""Sharing networks: communities of subjects who share the same known items.

The co-sharing graph has a node per subject and an edge between two subjects that share at
least one item (an item is a ``(content_kind, content_id)`` digest). The edge weight is the
**resource-allocation index** (Zhou, Lü and Zhang 2009): the sum over shared items of
``1 / holders(item)``. Each item hands every holder a total strength of ``(h - 1) / h < 1``,
spread over its ``h - 1`` co-holders, so a file held by everyone glues nobody to anybody in
particular, while a file held by a handful links them strongly. Items held by more than
``max_holders`` subjects are dropped before pairs are made (their weight would be < 1 /
``max_holders`` per edge and their pairs grow as ``h²``). Communities are found with Leiden
(igraph, modularity objective, iterated to convergence) under a seeded random generator, so the
same input gives the same communities. Sub-groups that hang to the rest of their community by
a thread (conductance under ``split_conductance``) are split off, since modularity merges
groups that are small against the whole graph; and a subject is a member only if it holds one
of its community's *own files* (held by two or more members, who are at least ``own_share``
of all its holders). Labels are ``net-`` + the smallest member's subject id. The rule for
``known_earlier`` is :func:`icarus.intel.deconflict.known_networks`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import igraph
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import UsageError
from icarus.domain.digests import Digest
from icarus.intel.deconflict import DeconflictConfig, known_networks, with_subjects
from icarus.intel.intel_file import EarlierIntel

__all__ = ["MEMBERSHIPS", "NETWORKS", "NetworksConfig", "NetworksResult", "find_networks"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

MEMBERSHIPS = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("network", pa.string(), nullable=False),
])
NETWORKS = pa.schema([
    pa.field("network", pa.string(), nullable=False),
    pa.field("size", pa.int64(), nullable=False),
    pa.field("countries", pa.list_(pa.string()), nullable=False),  # most members first
    pa.field("core_files", pa.list_(pa.string()), nullable=False),  # own files, most held first
    pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("last_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("known_earlier", pa.bool_(), nullable=False),
    pa.field("earlier_ref", pa.string()),  # the earlier network it matches, if any
    pa.field("earlier_evidence", pa.string()),  # why it is known
])
_NEEDED = ("sighting_id", "observed_at", "network", "ip", "user_hash", "guid",
           "content_kind", "content_id")


@dataclass(frozen=True)
class NetworksConfig:
    """Parameters of network finding (reasons in docs/intel/networks.md).

    ``min_size``: smaller communities are not networks; ``max_holders``: items held by more
    subjects are ignored; ``resolution``: Leiden's modularity resolution; ``seed``: its random
    generator; ``split_conductance``: a sub-group of a community tied to the rest by less than
    this share of its co-sharing weight is split off (``split_rounds`` at most; 0: never);
    ``own_share``: an item is a network's own file when two or more members hold it and they
    are at least this share of its holders; members must hold one, and the own files are the
    core files (``core_max`` listed at most); ``ip_window_s``: the address window of
    earlier-intelligence matching; ``known_min_members`` and ``known_member_share``: members
    matching subjects of one earlier network (a count, and a share of the members the
    package could have named: both needed), or ``known_min_digests``: own files in its
    content, that make a network known to it.
    """

    min_size: int = 3
    max_holders: int = 500
    core_max: int = 25
    resolution: float = 1.0
    split_conductance: float = 0.05
    own_share: float = 0.9
    split_rounds: int = 3
    seed: int = 0
    ip_window_s: float = 86_400.0
    known_min_members: int = 1
    known_member_share: float = 0.1
    known_min_digests: int = 2

    def __post_init__(self) -> None:
        if self.min_size < 1 or self.max_holders < 2 or self.core_max < 0:
            raise UsageError("min_size must be >= 1, max_holders >= 2 and core_max >= 0")
        if not 0 < self.own_share <= 1 or not self.resolution > 0:
            raise UsageError("own_share must be in (0, 1] and resolution > 0")
        if not 0 <= self.split_conductance < 1 or self.split_rounds < 0:
            raise UsageError("split_conductance must be in [0, 1) and split_rounds >= 0")
        if self.known_min_digests < 1 or self.known_min_members < 1:
            raise UsageError("known_min_digests and known_min_members must be >= 1")
        if not 0 <= self.known_member_share <= 1:
            raise UsageError("known_member_share must be in [0, 1]")


@dataclass(frozen=True)
class NetworksResult:
    """Networks found: who is in which (:data:`MEMBERSHIPS`) and what each is
    (:data:`NETWORKS`), both sorted by label."""

    memberships: pa.Table
    networks: pa.Table
    edges: int
    """Edges of the co-sharing graph (for reports)."""


def find_networks(sightings: pa.Table, assignments: pa.Table, *,
                  earlier: EarlierIntel | None = None, countries: pa.Table | None = None,
                  items: pa.Table | None = None,
                  cfg: NetworksConfig | None = None) -> NetworksResult:
    """Communities of co-sharing subjects of at least ``cfg.min_size`` members.

    ``sightings`` has the SIGHTINGS schema (the sightings of known material),
    ``assignments`` maps ``sighting_id`` to ``subject_id`` (``Resolution.assignments``);
    ``countries`` (``subject_id``, ``country``), e.g. ``geo.jurisdictions``, fills each
    network's countries; ``earlier`` decides ``known_earlier``; ``items`` (``content_kind``,
    ``content_id``, ``item``: text) says which digests are one item (an ed2k and a SHA-1 of
    one file, e.g. from a hash set's entries), else each digest is its own item.
    Deterministic for a given ``cfg.seed``, whatever the row order. Raises
    :class:`InputError` on missing columns.
    """
    cfg = cfg or NetworksConfig()
    rows = with_subjects(sightings, assignments, _NEEDED)
    subj = pc.dictionary_encode(rows["subject_id"]).combine_chunks()
    names = np.asarray(subj.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names.astype(str), kind="stable")  # node i = i-th smallest subject id
    node_of = np.empty(order.size, dtype=np.int64)
    node_of[order] = np.arange(order.size)
    node = node_of[np.asarray(subj.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    item = _codes(_item_keys(rows, items))
    pair_key = np.unique(item * max(order.size, 1) + node)
    p_item, p_node = pair_key // max(order.size, 1), pair_key % max(order.size, 1)
    u, v, w = _edges(p_item, p_node, cfg.max_holders)
    membership = _leiden(order.size, u, v, w, cfg)
    anchored = _anchored(p_item, p_node, membership, cfg.own_share)
    sizes = np.bincount(membership[anchored], minlength=int(membership.max(initial=-1)) + 1)
    keep = anchored & (sizes[membership] >= cfg.min_size)
    label_node = np.full(sizes.size, order.size, dtype=np.int64)
    np.minimum.at(label_node, membership[keep], np.flatnonzero(keep))
    labels = np.array([f"net-{names[order[i]]}" if i < order.size else "" for i in label_node],
                      dtype=object)
    sorted_names = names[order]
    members = pa.table({"subject_id": pa.array(sorted_names[keep].tolist(), pa.string()),
                        "network": pa.array(labels[membership[keep]].tolist(), pa.string())},
                       schema=MEMBERSHIPS)
    members = members.sort_by([("network", "ascending"), ("subject_id", "ascending")])
    out, held = _summarise(rows, item, members, countries, cfg)
    if earlier is not None:
        known = known_networks(rows, members, held, earlier, min_members=cfg.known_min_members,
                               member_share=cfg.known_member_share,
                               min_digests=cfg.known_min_digests, own_share=cfg.own_share,
                               cfg=DeconflictConfig(ip_window_s=cfg.ip_window_s))
        for row in out:
            if row["network"] in known:
                ref, evidence = known[row["network"]]
                row.update(known_earlier=True, earlier_ref=ref, earlier_evidence=evidence)
    return NetworksResult(members, pa.Table.from_pylist(out, schema=NETWORKS), int(u.size))


def _summarise(rows: pa.Table, item: I64, members: pa.Table, countries: pa.Table | None,
               cfg: NetworksConfig) -> tuple[list[dict[str, Any]], pa.Table]:
    """The :data:`NETWORKS` rows (not yet matched to earlier intelligence), and each
    network's co-shared digests: (label, content_kind, content_id, holders, all_holders).

    Holders are counted per item (``item``: the item code of each row), so a file seen as
    ed2k on eDonkey and as SHA-1 on Gnutella counts its holders on both; every digest of the
    item carries the item's counts, and a core file is shown by its most sighted digest."""
    members = members.rename_columns(["subject_id", "label"])  # "network" is the P2P network
    rows = rows.select(["subject_id", "observed_at", "content_kind", "content_id"]
                       ).append_column("item", pa.array(item, pa.int64()))
    labelled = rows.join(members, "subject_id", join_type="inner")
    spans = labelled.group_by("label").aggregate([("observed_at", "min"),
                                                    ("observed_at", "max")])
    span = {r["label"]: (r["observed_at_min"], r["observed_at_max"]) for r in spans.to_pylist()}
    counts = members.group_by("label").aggregate([([], "count_all")])
    size = dict(zip(counts["label"].to_pylist(), counts["count_all"].to_pylist(), strict=True))
    everyone = _holders(rows, ["item"], "all_holders")
    held_items = _holders(labelled, ["label", "item"], "holders").filter(
        pc.greater_equal(pc.field("holders"), 2)).join(everyone, "item")
    digests = rows.group_by(["item", "content_kind", "content_id"]).aggregate(
        [([], "count_all")])
    held = held_items.join(digests.select(["item", "content_kind", "content_id"]), "item")
    shown: dict[int, str] = {}  # item → its most sighted digest (ties: the smallest)
    for r in digests.sort_by([("count_all", "descending"), ("content_kind", "ascending"),
                              ("content_id", "ascending")]).to_pylist():
        shown.setdefault(r["item"], str(Digest(r["content_kind"], r["content_id"])))
    core: dict[str, list[tuple[int, str]]] = {label: [] for label in size}
    for r in held_items.to_pylist():
        if r["holders"] >= cfg.own_share * r["all_holders"]:
            core[r["label"]].append((-r["holders"], shown[r["item"]]))
    where: dict[str, list[tuple[int, str]]] = {label: [] for label in size}
    if countries is not None:
        located = members.join(countries.select(["subject_id", "country"]), "subject_id")
        counted = located.filter(pc.is_valid(located["country"])).group_by(
            ["label", "country"]).aggregate([([], "count_all")])
        for r in counted.to_pylist():
            where[r["label"]].append((-r["count_all"], r["country"]))
    out = [{"network": label, "size": size[label],
            "countries": [c for _, c in sorted(where[label])],
            "core_files": [t for _, t in sorted(core[label])[:cfg.core_max]],
            "first_seen": span[label][0], "last_seen": span[label][1],
            "known_earlier": False, "earlier_ref": None, "earlier_evidence": None}
           for label in sorted(size)]
    return out, held.select(["label", "content_kind", "content_id", "holders", "all_holders"])


def _codes(items: pa.Table) -> I64:
    """A dense integer per distinct (kind, digest)."""
    keys = pc.binary_join_element_wise(pc.cast(items["k"], pa.binary()),
                                       pc.cast(items["v"], pa.binary()), b":")
    enc = pc.dictionary_encode(keys).combine_chunks()
    return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _edges(p_item: I64, p_node: I64, max_holders: int) -> tuple[I64, I64, F64]:
    """Resource-allocation weights of every co-holder pair, summed over items (vectorised:
    items are grouped by holder count h, and each group's pairs come from one triu index)."""
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


def _leiden(n: int, u: I64, v: I64, w: F64, cfg: NetworksConfig) -> I64:
    """Leiden communities (modularity) with igraph's generator seeded, then restored; then
    loose sub-groups split off (:func:`_split_loose`)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = igraph.Graph(n=n, edges=np.column_stack([u, v]).tolist())
    igraph.set_random_number_generator(random.Random(cfg.seed))
    try:
        parts = graph.community_leiden(objective_function="modularity", weights=w.tolist(),
                                       resolution=cfg.resolution, n_iterations=-1)
        membership = np.asarray(parts.membership, dtype=np.int64)
        todo: set[int] | None = None  # first round: every community
        for _ in range(cfg.split_rounds):
            membership, todo = _split_loose(membership, u, v, w, cfg, todo)
            if not todo:
                break
    finally:
        igraph.set_random_number_generator(random)
    return membership


def _split_loose(membership: I64, u: I64, v: I64, w: F64, cfg: NetworksConfig,
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
        sub = igraph.Graph(n=nodes.size, edges=np.column_stack([a, b]).tolist())
        part = np.asarray(sub.community_leiden(
            objective_function="modularity", weights=cw[lo:hi].tolist(),
            n_iterations=-1).membership, dtype=np.int64)
        k = int(part.max()) + 1
        if k < 2:
            continue
        pa_, pb = part[a], part[b]
        vol = np.bincount(pa_, cw[lo:hi], k) + np.bincount(pb, cw[lo:hi], k)
        cross = pa_ != pb
        cut = np.bincount(pa_[cross], cw[lo:hi][cross], k) + \
            np.bincount(pb[cross], cw[lo:hi][cross], k)
        smaller = np.minimum(vol, vol.sum() - vol)
        count = np.bincount(part, minlength=k)
        loose = (count >= cfg.min_size) & (cut < cfg.split_conductance * smaller)
        if loose.all():  # the largest part keeps the community's label
            loose[int(np.argmax(count))] = False
        for p in np.flatnonzero(loose).tolist():
            out[nodes[part == p]] = label
            changed |= {c, label}
            label += 1
    return out, changed


def _anchored(p_item: I64, p_node: I64, membership: I64, own_share: float
              ) -> npt.NDArray[np.bool_]:
    """Which nodes hold one of their community's own items: held by two or more of its
    members, who are at least ``own_share`` of all the item's holders."""
    n = membership.size
    if own_share <= 0 or p_item.size == 0:
        return np.ones(n, dtype=bool)
    k = int(membership.max()) + 1
    everyone = np.bincount(p_item)
    key, inverse, inside = np.unique(p_item * k + membership[p_node], return_inverse=True,
                                     return_counts=True)
    own = (inside >= 2) & (inside >= own_share * everyone[key // k])
    out = np.zeros(n, dtype=bool)
    out[p_node[own[inverse.reshape(-1)]]] = True
    return out


def _holders(table: pa.Table, keys: list[str], name: str) -> pa.Table:
    """Distinct subjects per group of ``keys``, in a column ``name``."""
    counted = table.group_by(keys).aggregate([("subject_id", "count_distinct")])
    return counted.rename_columns([name if c == "subject_id_count_distinct" else c
                                   for c in counted.column_names])


def _item_keys(rows: pa.Table, items: pa.Table | None) -> pa.Table:
    """(k, v) per row: its item's key, ``("item", item)`` when ``items`` names one."""
    keys = pa.table({"k": rows["content_kind"], "v": pc.cast(rows["content_id"], pa.binary())})
    if items is None:
        return keys
    mapping = pa.table({"k": items["content_kind"], "v": pc.cast(items["content_id"], pa.binary()),
                        "item": pc.cast(items["item"], pa.binary())})
    mapping = mapping.group_by(["k", "v"]).aggregate([("item", "min")])
    joined = keys.append_column("row", pa.array(np.arange(keys.num_rows))).join(
        mapping, ["k", "v"], join_type="left outer").sort_by("row")
    named = pc.is_valid(joined["item_min"])
    return pa.table({"k": pc.if_else(named, "item", joined["k"]),
                     "v": pc.if_else(named, joined["item_min"], joined["v"])})
