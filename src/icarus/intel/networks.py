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
same input gives the same communities; labels are ``net-`` + the smallest member's subject id.
The rule for ``known_earlier`` is :func:`icarus.intel.deconflict.known_networks`.
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
    pa.field("core_files", pa.list_(pa.string()), nullable=False),  # "kind:hex", most held first
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
    subjects are ignored; ``core_share``: an item is a core file when at least this share of
    the members hold it (``core_max`` listed at most); ``resolution``: Leiden's modularity
    resolution; ``seed``: its random generator; ``ip_window_s``: the address window of
    earlier-intelligence matching; ``known_min_members``: members matching subjects of one
    earlier network, or ``known_min_digests``: co-shared digests in its content, that make a
    network known to it.
    """

    min_size: int = 3
    max_holders: int = 500
    core_share: float = 0.5
    core_max: int = 25
    resolution: float = 1.0
    seed: int = 0
    ip_window_s: float = 86_400.0
    known_min_members: int = 1
    known_min_digests: int = 2

    def __post_init__(self) -> None:
        if self.min_size < 1 or self.max_holders < 2 or self.core_max < 0:
            raise UsageError("min_size must be >= 1, max_holders >= 2 and core_max >= 0")
        if not 0 < self.core_share <= 1 or not self.resolution > 0:
            raise UsageError("core_share must be in (0, 1] and resolution > 0")
        if self.known_min_digests < 1 or self.known_min_members < 1:
            raise UsageError("known_min_digests and known_min_members must be >= 1")


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
    sizes = np.bincount(membership, minlength=int(membership.max(initial=-1)) + 1)
    keep = sizes[membership] >= cfg.min_size
    label_node = np.full(sizes.size, order.size, dtype=np.int64)
    np.minimum.at(label_node, membership, np.arange(order.size))
    labels = np.array([f"net-{names[order[i]]}" if i < order.size else "" for i in label_node],
                      dtype=object)
    sorted_names = names[order]
    members = pa.table({"subject_id": pa.array(sorted_names[keep].tolist(), pa.string()),
                        "network": pa.array(labels[membership[keep]].tolist(), pa.string())},
                       schema=MEMBERSHIPS)
    members = members.sort_by([("network", "ascending"), ("subject_id", "ascending")])
    out, held = _summarise(rows, members, countries, cfg)
    if earlier is not None:
        known = known_networks(rows, members, held, earlier, min_members=cfg.known_min_members,
                               min_digests=cfg.known_min_digests,
                               cfg=DeconflictConfig(ip_window_s=cfg.ip_window_s))
        for row in out:
            if row["network"] in known:
                ref, evidence = known[row["network"]]
                row.update(known_earlier=True, earlier_ref=ref, earlier_evidence=evidence)
    return NetworksResult(members, pa.Table.from_pylist(out, schema=NETWORKS), int(u.size))


def _summarise(rows: pa.Table, members: pa.Table, countries: pa.Table | None,
               cfg: NetworksConfig) -> tuple[list[dict[str, Any]], pa.Table]:
    """The :data:`NETWORKS` rows (not yet matched to earlier intelligence), and each
    network's co-shared items: (label, content_kind, content_id, holders, all_holders)."""
    members = members.rename_columns(["subject_id", "label"])  # "network" is the P2P network
    labelled = rows.join(members, "subject_id", join_type="inner")
    spans = labelled.group_by("label").aggregate([("observed_at", "min"),
                                                    ("observed_at", "max")])
    span = {r["label"]: (r["observed_at_min"], r["observed_at_max"]) for r in spans.to_pylist()}
    counts = members.group_by("label").aggregate([([], "count_all")])
    size = dict(zip(counts["label"].to_pylist(), counts["count_all"].to_pylist(), strict=True))
    everyone = _holders(rows, ["content_kind", "content_id"], "all_holders")
    held = _holders(labelled, ["label", "content_kind", "content_id"], "holders")
    held = held.join(everyone, ["content_kind", "content_id"]).filter(
        pc.greater_equal(pc.field("holders"), 2))
    core: dict[str, list[tuple[int, str]]] = {label: [] for label in size}
    for r in held.to_pylist():
        if r["holders"] >= cfg.core_share * size[r["label"]]:
            text = str(Digest(r["content_kind"], r["content_id"]))
            core[r["label"]].append((-r["holders"], text))
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
    return out, held


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
    """Leiden communities (modularity) with igraph's generator seeded, then restored."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = igraph.Graph(n=n, edges=np.column_stack([u, v]).tolist())
    igraph.set_random_number_generator(random.Random(cfg.seed))
    try:
        parts = graph.community_leiden(objective_function="modularity", weights=w.tolist(),
                                       resolution=cfg.resolution, n_iterations=-1)
    finally:
        igraph.set_random_number_generator(random)
    return np.asarray(parts.membership, dtype=np.int64)


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
