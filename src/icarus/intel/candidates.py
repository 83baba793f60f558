"""Candidate new material: unknown content that suspects share, ranked for review.

Alert and unmatched sightings are resolved together (the rules of :mod:`icarus.intel.resolve`),
so an unmatched sighting belongs to a subject exactly when the analysis would have put it there.
A *holder* of an item (one ``content_kind``/``content_id``) is a subject sighted with it; a
*suspect holder* is one that also has an alert sighting, weighted by its lead score relative to
the best lead. The statistic (docs/intel/candidates.md)::

    statistic = weighted_suspects * suspect_holders / (holders + 1)

rewards items many (and strongly scored) suspects hold and penalises items many others hold too
(popular benign files); ``+ 1`` keeps an item one suspect holds alone from ranking as if proven.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.domain.digests import Digest
from icarus.identify.kinds import format_digest
from icarus.intel.geo import Locator
from icarus.intel.resolve import resolve_subjects
from icarus.sensors.schema import SIGHTINGS

__all__ = ["CANDIDATES", "find_candidates"]

CANDIDATES = pa.schema([
    pa.field("rank", pa.int64(), nullable=False),
    pa.field("content_kind", pa.string(), nullable=False),
    pa.field("content_id", pa.string(), nullable=False),  # the kind's canonical text
    pa.field("statistic", pa.float64(), nullable=False),
    pa.field("suspect_holders", pa.int64(), nullable=False),
    pa.field("holders", pa.int64(), nullable=False),
    pa.field("weighted_suspects", pa.float64(), nullable=False),
    pa.field("lift", pa.float64(), nullable=False),
    pa.field("file_size", pa.int64()),
    pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("last_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("reasons", pa.string(), nullable=False),
])
"""``candidates.parquet``: results-v1's columns (rank, content_kind, content_id) and why."""


def find_candidates(alert: pa.Table, unmatched: pa.Table, assignments: pa.Table,
                    scores: pa.Table, *, min_suspects: int = 1,
                    locator: Locator | None = None) -> pa.Table:
    """Rank the unknown items of ``unmatched`` (SIGHTINGS) that suspects hold (:data:`CANDIDATES`).

    ``alert`` are the analysed sightings, ``assignments`` their subjects (resolve's
    ASSIGNMENTS) and ``scores`` each subject's lead ``score``. Only items held by at least
    ``min_suspects`` suspects are listed; ties are broken by kind and digest, so the output
    depends only on the input.
    """
    if unmatched.num_rows == 0:
        return CANDIDATES.empty_table()
    union = pa.concat_tables([alert.select(SIGHTINGS.names).cast(SIGHTINGS),
                              unmatched.select(SIGHTINGS.names).cast(SIGHTINGS)])
    joint = resolve_subjects(union, locator=locator).assignments["subject_id"]
    n_alert = alert.num_rows
    weight = _weights(alert, assignments, scores, joint.slice(0, n_alert))
    holders = pa.table({"kind": unmatched["content_kind"], "id": unmatched["content_id"],
                        "s": joint.slice(n_alert), "t": unmatched["observed_at"],
                        "size": unmatched["file_size"]})
    per = holders.group_by(["kind", "id", "s"]).aggregate([("t", "min"), ("t", "max"),
                                                          ("size", "max")])
    w = np.array([weight.get(s, 0.0) for s in per["s"].to_pylist()])
    per = per.append_column("w", pa.array(w)).append_column("is_s", pa.array(w > 0))
    items = per.group_by(["kind", "id"]).aggregate([
        ("s", "count"), ("is_s", "sum"), ("w", "sum"), ("t_min", "min"), ("t_max", "max"),
        ("size_max", "max")])
    n_s = items["is_s_sum"].to_numpy(zero_copy_only=False).astype(np.int64)
    n_h = items["s_count"].to_numpy(zero_copy_only=False).astype(np.int64)
    w_s = items["w_sum"].to_numpy(zero_copy_only=False)
    # The base rate: the share of all holding subjects that are suspects.
    base = float(np.count_nonzero(w > 0)) / max(len(w), 1) or 1.0
    lift = (n_s / np.maximum(n_h, 1)) / base
    stat = w_s * n_s / (n_h + 1)
    items = items.append_column("stat", pa.array(stat)).append_column("lift", pa.array(lift))
    items = items.filter(pc.greater_equal(items["is_s_sum"], max(min_suspects, 1)))
    items = items.sort_by([("stat", "descending"), ("kind", "ascending"), ("id", "ascending")])
    return _table(items)


def _weights(alert: pa.Table, assignments: pa.Table, scores: pa.Table,
             joint: pa.ChunkedArray) -> dict[str, float]:
    """Each joint subject holding alert sightings: its best lead score over the best lead's."""
    score = dict(zip(scores["subject_id"].to_pylist(), scores["score"].to_pylist(),
                     strict=True))
    top = max((float(v) for v in score.values()), default=0.0) or 1.0
    by_sighting = dict(zip(assignments["sighting_id"].to_pylist(),
                           assignments["subject_id"].to_pylist(), strict=True))
    out: dict[str, float] = {}
    for sid, s in zip(alert["sighting_id"].to_pylist(), joint.to_pylist(), strict=True):
        # A floor keeps a weakly scored suspect a suspect (weight > 0).
        value = max(float(score.get(by_sighting.get(sid, ""), 0.0)) / top, 0.05)
        out[s] = max(out.get(s, 0.0), value)
    return out


def _table(items: pa.Table) -> pa.Table:
    rows = []
    for rank, r in enumerate(items.to_pylist(), 1):
        rows.append({
            "rank": rank, "content_kind": r["kind"],
            "content_id": format_digest(Digest(r["kind"], r["id"])),
            "statistic": round(float(r["stat"]), 6), "suspect_holders": int(r["is_s_sum"]),
            "holders": int(r["s_count"]), "weighted_suspects": round(float(r["w_sum"]), 6),
            "lift": round(float(r["lift"]), 6), "file_size": r["size_max_max"],
            "first_seen": r["t_min_min"], "last_seen": r["t_max_max"],
            "reasons": (f"held by {int(r['is_s_sum'])} suspect(s) of {int(r['s_count'])} "
                        f"holder(s); suspects' weight {float(r['w_sum']):.2f}; "
                        f"{float(r['lift']):.1f}x the suspects' base share")})
    return pa.Table.from_pylist(rows, schema=CANDIDATES)
