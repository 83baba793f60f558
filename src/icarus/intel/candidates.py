"""Candidate new material: unknown content that suspects share, ranked for review.

Alert and unmatched sightings are resolved together (the rules of :mod:`icarus.intel.resolve`),
so an unmatched sighting belongs to a subject exactly when the analysis would have put it there.
The identifiers of one file on several networks (ed2k, SHA-1, BTIH) are grouped into one
candidate by their size and name (:mod:`icarus.intel.candidates_groups`). A *holder* of a
candidate is a subject sighted with any of its identifiers; a *suspect holder* is one that also
has an alert sighting. The statistic (docs/intel/candidates.md) is the suspects' share of the
holders, shrunk towards the base share ``p0`` by ``m`` pseudo-holders, over ``p0``::

    lift = ((suspect_holders + m * p0) / (holders + m)) / p0

so a file held (nearly) only by suspects ranks high, a popular file that many others hold too
ranks near 1 or below, and an item one suspect holds alone is not taken as proven.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.domain.digests import Digest
from icarus.identify.kinds import format_digest
from icarus.intel.candidates_groups import group_identifiers
from icarus.intel.deconflict import aligned_subjects
from icarus.intel.geo import Locator
from icarus.intel.resolve import LABELLED, subject_labels
from icarus.intel.resolve_graph import dictionary_codes
from icarus.sensors.schema import SIGHTINGS

__all__ = ["CANDIDATES", "PRIOR_HOLDERS", "find_candidates"]

PRIOR_HOLDERS = 5.0
"""``m``: the weight of the base share, in holders (docs/intel/candidates.md)."""

CANDIDATES = pa.schema([
    pa.field("rank", pa.int64(), nullable=False),
    pa.field("content_kind", pa.string(), nullable=False),  # the group's primary identifier
    pa.field("content_id", pa.string(), nullable=False),  # the kind's canonical text
    pa.field("identifiers", pa.string(), nullable=False),  # every KIND:DIGEST of the file
    pa.field("statistic", pa.float64(), nullable=False),
    pa.field("suspect_holders", pa.int64(), nullable=False),
    pa.field("holders", pa.int64(), nullable=False),
    pa.field("weighted_suspects", pa.float64(), nullable=False),
    pa.field("lift", pa.float64(), nullable=False),
    pa.field("file_size", pa.int64()),
    pa.field("file_name", pa.string()),
    pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("last_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("reasons", pa.string(), nullable=False),
])
"""``candidates.parquet``: results-v1's columns (rank, content_kind, content_id), every
identifier of the file, and why."""


def find_candidates(alert: pa.Table, unmatched: pa.Table, assignments: pa.Table,
                    scores: pa.Table, *, min_suspects: int = 1,
                    locator: Locator | None = None,
                    prior_holders: float = PRIOR_HOLDERS) -> pa.Table:
    """Rank the unknown files of ``unmatched`` that suspects hold (:data:`CANDIDATES`).

    ``alert`` are the analysed sightings, ``assignments`` their subjects (resolve's
    ASSIGNMENTS) and ``scores`` each subject's lead ``score``. Both tables of sightings need
    the columns resolution reads (:data:`~icarus.intel.resolve.LABELLED`); ``unmatched``
    also ``content_kind``, ``file_name`` (SIGHTINGS types). Only files held by at least
    ``min_suspects`` suspects are listed; ties are broken by suspect holders, then kind and
    digest, so the output depends only on the input.

    A caller may hand ``alert``, ``unmatched`` and ``assignments`` over without keeping them
    (ten million sightings): each column is let go as soon as it has been read.
    """
    if unmatched.num_rows == 0:
        return CANDIDATES.empty_table()
    n_alert = alert.num_rows
    weight = _row_weights(alert, assignments, scores)
    del assignments
    # The files first (grouping needs no subject): each unmatched sighting's file group.
    ids = group_identifiers(pa.table({
        "kind": unmatched["content_kind"], "id": unmatched["content_id"],
        "size": unmatched["file_size"], "name": unmatched["file_name"]}))
    file = _file_groups(unmatched["content_kind"], unmatched["content_id"], ids)
    seen_at = unmatched["observed_at"]
    # The joint subjects as integers (only which rows are one subject matters here): resolution
    # reads each column of both tables once, and no table here keeps it after.
    source = _Handover([alert.select(LABELLED), unmatched.select(LABELLED)])
    del alert, unmatched
    joint = subject_labels(source, locator=locator)
    del source
    # Each joint subject holding alert sightings (``s``): its best lead score over the best
    # lead's (``w``), at least 0.05 so that a weakly scored suspect stays a suspect.
    weights = pa.table({"s": joint[:n_alert], "w": weight}).group_by(
        "s", use_threads=False).aggregate([("w", "max")]).rename_columns({"w_max": "w"})
    del weight
    rows = pa.table({"group": file, "s": joint[n_alert:], "t": seen_at})
    del joint, file, seen_at
    # (file, holder): first and last seen
    per = rows.group_by(["group", "s"], use_threads=False).aggregate(
        [("t", "min"), ("t", "max")])
    del rows
    per = per.join(weights, "s", use_threads=False)
    w = pc.fill_null(per["w"], 0.0)
    per = per.set_column(per.schema.get_field_index("w"), "w", w).append_column(
        "is_s", pc.greater(w, 0.0))
    # Weights summed in one order whatever the input's row order (float sums depend on it).
    per = per.sort_by([("group", "ascending"), ("w", "ascending")])
    items = per.group_by(["group"], use_threads=False).aggregate([
        ("s", "count"), ("is_s", "sum"), ("w", "sum"), ("t_min", "min"), ("t_max", "max")])
    n_s = items["is_s_sum"].to_numpy(zero_copy_only=False).astype(np.float64)
    n_h = items["s_count"].to_numpy(zero_copy_only=False).astype(np.float64)
    # The base share: of all (file, holder) pairs, those of a suspect.
    p0 = float(n_s.sum() / max(n_h.sum(), 1.0)) or 1.0
    lift = ((n_s + prior_holders * p0) / (n_h + prior_holders)) / p0
    items = items.append_column("lift", pa.array(lift))
    items = items.filter(pc.greater_equal(items["is_s_sum"], max(min_suspects, 1)))
    primary = ids.filter(ids["primary"]).select(["group", "kind", "id", "size", "name"])
    items = items.join(primary, "group", use_threads=False)
    items = items.sort_by([("lift", "descending"), ("is_s_sum", "descending"),
                           ("kind", "ascending"), ("id", "ascending")])
    return _table(items, ids, p0)


class _Handover:
    """The columns of several tables (one row order: theirs, one after the other), each given
    once as one chunked array and dropped from the tables then."""

    def __init__(self, tables: list[pa.Table]) -> None:
        self.tables = tables

    def __call__(self, name: str) -> pa.ChunkedArray:
        kind = SIGHTINGS.field(name).type
        chunks = [c for t in self.tables for c in t[name].cast(kind).chunks]
        self.tables = [t.drop_columns([name]) for t in self.tables]
        return pa.chunked_array(chunks, kind)


def _row_weights(alert: pa.Table, assignments: pa.Table, scores: pa.Table) -> pa.Array:
    """Each alert sighting's weight: its subject's lead score over the best lead's, at least
    0.05 (a subject without a score counts 0)."""
    top = float(pc.max(scores["score"]).as_py() or 0.0) if scores.num_rows else 0.0
    top = top or 1.0
    subject = aligned_subjects(alert, assignments)
    if subject is None:  # another row order: look each sighting up
        keys = assignments["sighting_id"].combine_chunks()
        at = pc.index_in(alert["sighting_id"], value_set=keys.cast(alert["sighting_id"].type))
        subject = assignments["subject_id"].take(at)
    score = scores["score"].combine_chunks().take(
        pc.index_in(subject, value_set=scores["subject_id"].combine_chunks()))
    return pc.max_element_wise(pc.divide(pc.cast(pc.fill_null(score, 0.0), pa.float64()), top),
                               0.05).combine_chunks()


def _file_groups(kinds: pa.ChunkedArray, digests: pa.ChunkedArray, ids: pa.Table) -> pa.Array:
    """The ``group`` of ``ids`` (group_identifiers' rows) of each sighting's identifier."""
    kind, kind_values = dictionary_codes(kinds)
    digest, digest_values = dictionary_codes(digests)
    width = max(len(digest_values), 1)
    key = kind.astype(np.int64) * width + digest
    del kind, digest
    # the same key for each row of ids: sorted, then searched for each sighting's
    id_key = (_lookup(ids["kind"], kind_values) * width + _lookup(ids["id"], digest_values))
    order = np.argsort(id_key)
    at = order[np.searchsorted(id_key[order], key)]
    return ids["group"].combine_chunks().take(pa.array(at))


def _lookup(column: pa.ChunkedArray, values: pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(pc.index_in(column, value_set=values).to_numpy(), dtype=np.int64)


def _table(items: pa.Table, ids: pa.Table, p0: float) -> pa.Table:
    members: dict[int, list[str]] = {}
    order = np.lexsort((np.arange(ids.num_rows), ~ids["primary"].to_numpy(zero_copy_only=False)))
    for g, kind, value in zip(ids["group"].take(order).to_pylist(),
                              ids["kind"].take(order).to_pylist(),
                              ids["id"].take(order).to_pylist(), strict=True):
        members.setdefault(g, []).append(f"{kind}:{format_digest(Digest(kind, value))}")
    rows = []
    for rank, r in enumerate(items.to_pylist(), 1):
        listed = members[r["group"]]
        n_s, n_h, w_s = int(r["is_s_sum"]), int(r["s_count"]), float(r["w_sum"])
        rows.append({
            "rank": rank, "content_kind": r["kind"],
            "content_id": format_digest(Digest(r["kind"], r["id"])),
            "identifiers": " ".join(listed),
            "statistic": round(float(r["lift"]), 6), "suspect_holders": n_s,
            "holders": n_h, "weighted_suspects": round(w_s, 6),
            "lift": round(float(r["lift"]), 6), "file_size": r["size"],
            "file_name": r["name"], "first_seen": r["t_min_min"], "last_seen": r["t_max_max"],
            "reasons": (f"held by {n_s} suspect(s) of {n_h} holder(s) ({n_s / n_h:.0%}; "
                        f"base share {p0:.0%}); suspects' weight {w_s:.2f}"
                        + (f"; one file seen as {len(listed)} identifiers of the same size "
                           "and name" if len(listed) > 1 else ""))})
    return pa.Table.from_pylist(rows, schema=CANDIDATES)
