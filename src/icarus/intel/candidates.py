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
import pyarrow as pa
import pyarrow.compute as pc

from icarus.domain.digests import Digest
from icarus.identify.kinds import format_digest
from icarus.intel.candidates_groups import group_identifiers
from icarus.intel.deconflict import aligned_subjects
from icarus.intel.geo import Locator
from icarus.intel.resolve import LABELLED, subject_labels
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
    """
    if unmatched.num_rows == 0:
        return CANDIDATES.empty_table()
    labelled = pa.schema([SIGHTINGS.field(c) for c in LABELLED])
    union = pa.concat_tables([alert.select(LABELLED).cast(labelled),
                              unmatched.select(LABELLED).cast(labelled)])
    # What is needed once the subjects are known: the rest may go before resolution's peak
    # (the caller may hand ``unmatched`` over without keeping it).
    unmatched = unmatched.select(["content_kind", "content_id", "file_size", "file_name",
                                  "observed_at"])
    # The joint subjects as integers: only which rows are one subject matters here.
    joint = pa.chunked_array([subject_labels(union, locator=locator)])
    del union
    n_alert = alert.num_rows
    weights = _weights(alert, assignments, scores, joint.slice(0, n_alert))
    seen = pa.table({"kind": unmatched["content_kind"], "id": unmatched["content_id"],
                     "size": unmatched["file_size"], "name": unmatched["file_name"]})
    ids = group_identifiers(seen)
    del seen
    rows = pa.table({"kind": unmatched["content_kind"], "id": unmatched["content_id"],
                     "s": joint.slice(n_alert), "t": unmatched["observed_at"]})
    # (identifier, holder) first: far fewer rows than sightings to join with the groups
    pairs = rows.group_by(["kind", "id", "s"], use_threads=False).aggregate(
        [("t", "min"), ("t", "max")])
    del rows
    pairs = pairs.join(ids.select(["kind", "id", "group"]), ["kind", "id"], use_threads=False)
    per = pairs.group_by(["group", "s"], use_threads=False).aggregate(
        [("t_min", "min"), ("t_max", "max")]).rename_columns(
        {"t_min_min": "t_min", "t_max_max": "t_max"})
    del pairs
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


def _weights(alert: pa.Table, assignments: pa.Table, scores: pa.Table,
             joint: pa.ChunkedArray) -> pa.Table:
    """Each joint subject holding alert sightings (``s``): its best lead score over the best
    lead's (``w``), at least 0.05 so that a weakly scored suspect stays a suspect."""
    top = float(pc.max(scores["score"]).as_py() or 0.0) if scores.num_rows else 0.0
    top = top or 1.0
    aligned = aligned_subjects(alert, assignments)
    own = pa.table({"sighting_id": alert["sighting_id"], "s": joint})
    if aligned is not None:  # resolve's own row order: no join
        own = own.append_column("subject_id", aligned)
    else:
        own = own.join(assignments.select(["sighting_id", "subject_id"]), "sighting_id",
                       use_threads=False)
    own = own.join(scores.select(["subject_id", "score"]), "subject_id", use_threads=False)
    value = pc.max_element_wise(pc.divide(pc.cast(pc.fill_null(own["score"], 0.0),
                                                  pa.float64()), top), 0.05)
    best = pa.table({"s": own["s"], "w": value}).group_by("s", use_threads=False).aggregate(
        [("w", "max")])
    return best.rename_columns({"w_max": "w"})


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
