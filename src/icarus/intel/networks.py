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
of its community's *own files* (held by two or more of its holders, who are at least
``own_share`` of all its holders). Holders are counted as installations: sessions without a
persistent identifier holding an item from one address are one holder (one BitTorrent client
restarted many times is not a crowd). Without the subjects who hold no own file, each
community is split again, and the own-file test repeated. Labels are ``net-`` + the smallest
member's subject id. The rule for ``known_earlier`` is
:func:`icarus.intel.deconflict.known_networks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import UsageError
from icarus.domain.digests import Digest
from icarus.intel.deconflict import DeconflictConfig, known_networks, with_subjects
from icarus.intel.intel_file import EarlierIntel
from icarus.intel.networks_graph import (
    anchored,
    codes,
    edges,
    held_by_group,
    holdings,
    leiden,
    split_all,
)

__all__ = ["MEMBERSHIPS", "NETWORKS", "NetworksConfig", "NetworksResult", "find_networks"]

I64 = npt.NDArray[np.int64]

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
    ``own_share``: an item is a network's own file when two or more of its holders are
    members and they are at least this share of its holders; members must hold one, and the
    own files are the core files (``core_max`` listed at most); ``one_holder_per_address``:
    count sessions without a persistent identifier that hold an item from one address as one
    holder (else every subject is a holder); ``ip_window_s``: the address window of
    earlier-intelligence matching; ``known_min_members`` and ``known_member_share``: members
    matching subjects of one earlier network (a count, and a share of the members the
    package could have named: both needed), or ``known_min_digests``: own files in its
    content (digests of one file, per ``items``, count once), that make a network known to
    it.
    """

    min_size: int = 3
    max_holders: int = 500
    core_max: int = 25
    resolution: float = 1.0
    split_conductance: float = 0.05
    own_share: float = 0.9
    split_rounds: int = 3
    seed: int = 0
    one_holder_per_address: bool = True
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
    item = _item_codes(rows, items)
    address = (_bare_addresses(rows) if cfg.one_holder_per_address
               else np.full(rows.num_rows, -1, np.int64))
    p_item, p_node, p_unit = holdings(item, node, address, order.size)
    u, v, w = edges(p_item, p_node, cfg.max_holders)
    membership = leiden(order.size, u, v, w, cfg)
    keep = anchored(p_item, p_node, p_unit, membership, cfg.own_share)
    if not keep.all():  # without the strangers, a community may come apart: look again
        alone = int(membership.max()) + 1 + np.arange(membership.size)
        membership = np.unique(np.where(keep, membership, alone), return_inverse=True
                               )[1].reshape(-1).astype(np.int64)
        membership = split_all(membership, u, v, w, cfg)
        keep = anchored(p_item, p_node, p_unit, membership, cfg.own_share)
    sizes = np.bincount(membership[keep], minlength=int(membership.max(initial=-1)) + 1)
    keep &= sizes[membership] >= cfg.min_size
    label_node = np.full(sizes.size, order.size, dtype=np.int64)
    np.minimum.at(label_node, membership[keep], np.flatnonzero(keep))
    labels = np.array([f"net-{names[order[i]]}" if i < order.size else "" for i in label_node],
                      dtype=object)
    sorted_names = names[order]
    members = pa.table({"subject_id": pa.array(sorted_names[keep].tolist(), pa.string()),
                        "network": pa.array(labels[membership[keep]].tolist(), pa.string())},
                       schema=MEMBERSHIPS)
    members = members.sort_by([("network", "ascending"), ("subject_id", "ascending")])
    group = np.where(keep, membership, -1)
    i_item, i_group, inside, everyone, _ = held_by_group(p_item, p_node, p_unit, group)
    co = inside >= 2
    held_items = pa.table({"item": pa.array(i_item[co]),
                           "label": pa.array(labels[i_group[co]].tolist(), pa.string()),
                           "holders": pa.array(inside[co]),
                           "all_holders": pa.array(everyone[co])})
    out, held = _summarise(rows, item, members, held_items, countries, cfg)
    if earlier is not None:
        known = known_networks(rows, members, held, earlier, min_members=cfg.known_min_members,
                               member_share=cfg.known_member_share,
                               min_digests=cfg.known_min_digests, own_share=cfg.own_share,
                               same_file=_same_file(items),
                               cfg=DeconflictConfig(ip_window_s=cfg.ip_window_s))
        for row in out:
            if row["network"] in known:
                ref, evidence = known[row["network"]]
                row.update(known_earlier=True, earlier_ref=ref, earlier_evidence=evidence)
    return NetworksResult(members, pa.Table.from_pylist(out, schema=NETWORKS), int(u.size))


def _bare_addresses(rows: pa.Table) -> npt.NDArray[np.int64]:
    """Per row, a code of its address when the sighting shows no persistent identifier (no
    user hash, no GUID), else -1. Such sessions holding one item from one address cannot be
    told apart (BitTorrent peer ids change at each client start): one holder
    (docs/intel/networks.md)."""
    ips = pc.dictionary_encode(rows["ip"]).combine_chunks()
    code = np.asarray(ips.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    bare = np.asarray(pc.and_(pc.is_null(rows["user_hash"]), pc.is_null(rows["guid"])
                              ).to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(bare, code, -1)


def _summarise(rows: pa.Table, item: I64, members: pa.Table, held_items: pa.Table,
               countries: pa.Table | None, cfg: NetworksConfig
               ) -> tuple[list[dict[str, Any]], pa.Table]:
    """The :data:`NETWORKS` rows (not yet matched to earlier intelligence), and each
    network's co-shared digests: (label, content_kind, content_id, holders, all_holders).

    ``held_items`` (item, label, holders, all_holders) counts holders per item (a file seen
    as ed2k on eDonkey and as SHA-1 on Gnutella counts its holders on both); every digest of
    the item carries the item's counts, and a core file is shown by its most sighted digest."""
    members = members.rename_columns(["subject_id", "label"])  # "network" is the P2P network
    rows = rows.select(["subject_id", "observed_at", "content_kind", "content_id"]
                       ).append_column("item", pa.array(item, pa.int64()))
    labelled = rows.join(members, "subject_id", join_type="inner")
    spans = labelled.group_by("label").aggregate([("observed_at", "min"),
                                                    ("observed_at", "max")])
    span = {r["label"]: (r["observed_at_min"], r["observed_at_max"]) for r in spans.to_pylist()}
    counts = members.group_by("label").aggregate([([], "count_all")])
    size = dict(zip(counts["label"].to_pylist(), counts["count_all"].to_pylist(), strict=True))
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


def _same_file(items: pa.Table | None) -> dict[tuple[str, bytes], str] | None:
    """``items`` as a digest → item dictionary (the smallest item of a digest named twice)."""
    if items is None:
        return None
    mapping = items.select(["content_kind", "content_id", "item"]).group_by(
        ["content_kind", "content_id"]).aggregate([("item", "min")])
    return {(k, bytes(v)): str(i) for k, v, i in zip(
        mapping["content_kind"].to_pylist(), mapping["content_id"].to_pylist(),
        mapping["item_min"].to_pylist(), strict=True)}


def _item_codes(rows: pa.Table, items: pa.Table | None) -> I64:
    """A dense code per row: equal codes are one item (:func:`_item_keys`), which is looked
    up once per distinct digest rather than once per row."""
    digest = codes(pa.table({"k": rows["content_kind"], "v": rows["content_id"]}))
    _, first = np.unique(digest, return_index=True)  # a row of each digest, by code
    return codes(_item_keys(rows.select(["content_kind", "content_id"]).take(first), items)
                 )[digest]


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
