"""Lead scoring: an explainable priority for each subject, from its sightings.

A score is a weighted sum of bounded components, each in [0, 1] and monotone in one figure of
the subject's sightings (more distinct files never lowers the ``files`` component, an older
last sighting never raises ``recency``). Weights sum to 100, so a score lies in [0, 100].
Reasons for each weight: docs/intel/scoring.md. The analysis time ``now`` defaults to the
last observation of the input, so the same sightings always give the same scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError
from icarus.domain.categories import Severity
from icarus.intel.deconflict import aligned_subjects

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
TS = pa.timestamp("us", tz="UTC")

__all__ = ["COMPONENTS", "EVIDENCE_LEVELS", "SCORES", "WEIGHTS", "reasons", "score_subjects"]

W_EVIDENCE = 25.0
"""Best evidence level: a single-source download is the key evidence claim in court."""
W_SEVERITY_MAX = 15.0
"""Gravest material shared: victim risk comes first in the ICAC scale."""
W_SEVERITY_SUM = 10.0
"""Severity summed over distinct files: many grave files outrank one."""
W_FILES = 15.0
"""Distinct known files: high-volume traders (ICAC 5 and 6)."""
W_DISTRIBUTOR = 15.0
"""Distributor indicators: traders rank above collectors (ICAC 5)."""
W_PERSISTENCE = 10.0
"""Distinct days seen: repeat traders (ICAC 5), and a lead that persists can be acted on."""
W_VOLUME = 5.0
"""Sightings: weak on its own (it follows sensor coverage), so a small weight."""
W_RECENCY = 5.0
"""Days since last seen: a recent lead's address is more likely still held and logged."""

WEIGHTS: dict[str, float] = {
    "evidence": W_EVIDENCE, "severity_max": W_SEVERITY_MAX, "severity_sum": W_SEVERITY_SUM,
    "files": W_FILES, "distributor": W_DISTRIBUTOR, "persistence": W_PERSISTENCE,
    "volume": W_VOLUME, "recency": W_RECENCY,
}
"""Component name → weight (the score's column of that name is in [0, 1])."""
COMPONENTS = tuple(WEIGHTS)

FILES_CAP = 100
"""Distinct files at which ``files`` reaches 1 (log-scaled below)."""
SEVERITY_SUM_CAP = 3 * FILES_CAP
"""Summed severity at which ``severity_sum`` reaches 1: 100 files of the gravest grade."""
SIGHTINGS_CAP = 1000
"""Sightings at which ``volume`` reaches 1."""
DAYS_CAP = 60
"""Distinct days at which ``persistence`` reaches 1 (about two months of sharing)."""
RECENCY_HALF_LIFE_DAYS = 30.0
"""``recency`` halves with every 30 days since the last sighting."""
DISTRIBUTOR_FILES = 10
"""Distinct files from which a subject counts as sharing many files."""
DISTRIBUTOR_DAYS = 7
"""Distinct days from which a subject counts as a long-term sharer."""

EVIDENCE_LEVELS: dict[str, float] = {
    "advertised": 0.25, "browsed": 0.5, "handshake": 0.75, "download-verified": 1.0}
"""Evidence kind → its level: a verified single-source download proves possession and
distribution from that address; a handshake confirms a live peer offering the file; a browse
list is the peer's own listing; an advertisement is a claim relayed by the network."""

SCORES = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    *(pa.field(c, pa.float64(), nullable=False) for c in COMPONENTS),
    pa.field("n_files", pa.int64(), nullable=False),  # distinct known files
    pa.field("n_files_gravest", pa.int64(), nullable=False),  # of them, of Severity.HIGH
    pa.field("max_severity", pa.int64(), nullable=False),
    pa.field("sum_severity", pa.int64(), nullable=False),  # over distinct files
    pa.field("n_sightings", pa.int64(), nullable=False),
    pa.field("n_days", pa.int64(), nullable=False),  # distinct UTC days seen
    pa.field("span_days", pa.int64(), nullable=False),  # first to last UTC day, inclusive
    pa.field("days_since_last", pa.float64(), nullable=False),  # before the analysis time
    pa.field("best_evidence", pa.string(), nullable=False),  # an EVIDENCE_LEVELS key or none
    pa.field("n_downloads", pa.int64(), nullable=False),  # download-verified sightings
    pa.field("n_browsed", pa.int64(), nullable=False),
    pa.field("n_handshakes", pa.int64(), nullable=False),
    pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("last_seen", pa.timestamp("us", tz="UTC"), nullable=False),
])
"""What :func:`score_subjects` returns: subject, score, one column per component (in [0, 1]),
then the figures the components and the reasons are computed from."""

_NEEDED = ("sighting_id", "observed_at", "content_kind", "content_id", "evidence", "severity",
           "match_set")
_US_PER_DAY = 86_400_000_000


def _log_scaled(n: FloatArray | IntArray, cap: int) -> FloatArray:
    """log(1 + n) / log(1 + cap), capped at 1: each further unit counts less."""
    return np.minimum(1.0, np.log1p(n.astype(np.float64)) / math.log1p(cap))


def score_subjects(sightings: pa.Table, assignments: pa.Table, *,
                   now: datetime | None = None, items: pa.Table | None = None) -> pa.Table:
    """Score every subject of ``assignments`` (sighting_id → subject_id) from ``sightings``.

    Returns :data:`SCORES`, sorted by score (highest first), then subject id; equal inputs give
    equal tables whatever their row order. A file is a distinct item with a known match
    (non-empty ``match_set``): ``items`` (``content_kind``, ``content_id``, ``item``, e.g. from
    ``icarus.intel.analyze.bank_items``) names the bank entry each digest matched, so that the
    ed2k and the SHA-1 of one entry are one file; a digest it does not name (or every digest,
    without ``items``) is its own item. ``now`` (the analysis time) defaults to the last
    ``observed_at``. Raises :class:`InputError` if a column is missing, a sighting has no
    subject or ``items`` names a digest twice.
    """
    missing = [c for c in _NEEDED if c not in sightings.column_names]
    missing += [f"assignments.{c}" for c in ("sighting_id", "subject_id")
                if c not in assignments.column_names]
    if items is not None:
        missing += [f"items.{c}" for c in ("content_kind", "content_id", "item")
                    if c not in items.column_names]
    if missing:
        raise InputError(f"cannot score: column(s) {', '.join(missing)} missing")
    t = _joined(sightings, assignments)
    if t.num_rows == 0:
        return SCORES.empty_table()
    subj = t["subject_id"].combine_chunks().dictionary_encode()
    n = len(subj.dictionary)
    s = np.asarray(subj.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ts = np.asarray(pc.cast(t["observed_at"], pa.int64()).to_numpy(), dtype=np.int64)
    now_us = int(ts.max()) if now is None else int(pa.scalar(now, TS).cast(pa.int64()).as_py())
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, s, ts)
    np.maximum.at(last, s, ts)
    day = ts // _US_PER_DAY
    day -= day.min()
    days = np.bincount(np.unique(s * (int(day.max()) + 1) + day) // (int(day.max()) + 1),
                       minlength=n)
    del day
    age = np.maximum(0.0, (now_us - last) / _US_PER_DAY)
    ev = pc.dictionary_encode(t["evidence"]).combine_chunks()
    ev_code = np.asarray(ev.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ev_names = ev.dictionary.to_pylist()
    counts = {k: (np.bincount(s[ev_code == ev_names.index(k)], minlength=n) if k in ev_names
                  else np.zeros(n, dtype=np.int64)) for k in EVIDENCE_LEVELS}
    del ev, ev_code
    best = np.zeros(n)
    for k, level in EVIDENCE_LEVELS.items():
        best = np.where(counts[k] > 0, np.maximum(best, level), best)
    files, gravest, sev_max, sev_sum = _files(t, s, n, _item_codes(t, items))
    sighted = np.bincount(s, minlength=n)
    comp: dict[str, FloatArray] = {
        "evidence": best,
        "severity_max": sev_max / float(Severity.HIGH),
        "severity_sum": _log_scaled(sev_sum, SEVERITY_SUM_CAP),
        "files": _log_scaled(files, FILES_CAP),
        "distributor": ((counts["download-verified"] > 0).astype(np.float64)
                        + (files >= DISTRIBUTOR_FILES) + (days >= DISTRIBUTOR_DAYS)
                        + (counts["browsed"] > 0)) / 4.0,
        "persistence": _log_scaled(days, DAYS_CAP),
        "volume": _log_scaled(sighted, SIGHTINGS_CAP),
        "recency": np.power(0.5, age / RECENCY_HALF_LIFE_DAYS),
    }
    # Rounded so that float noise cannot reorder equal subjects across platforms.
    score = np.round(sum((WEIGHTS[k] * comp[k] for k in COMPONENTS), np.zeros(n)), 9)
    levels = list(EVIDENCE_LEVELS)
    best_name = [levels[list(EVIDENCE_LEVELS.values()).index(b)] if b > 0 else "none"
                 for b in best.tolist()]
    out = pa.table({
        "subject_id": subj.dictionary, "score": score,
        **{k: np.round(comp[k], 9) for k in COMPONENTS},
        "n_files": files, "n_files_gravest": gravest, "max_severity": sev_max,
        "sum_severity": sev_sum, "n_sightings": sighted, "n_days": days,
        "span_days": last // _US_PER_DAY - first // _US_PER_DAY + 1,
        "days_since_last": np.round(age, 6), "best_evidence": best_name,
        "n_downloads": counts["download-verified"], "n_browsed": counts["browsed"],
        "n_handshakes": counts["handshake"],
        "first_seen": pa.array(first, pa.int64()).cast(TS),
        "last_seen": pa.array(last, pa.int64()).cast(TS),
    }).cast(SCORES)
    return out.take(pc.sort_indices(out, [("score", "descending"), ("subject_id", "ascending")]))


def _joined(sightings: pa.Table, assignments: pa.Table) -> pa.Table:
    """The sightings' scoring columns with each one's ``subject_id`` (every sighting needs one)."""
    aligned = aligned_subjects(sightings, assignments)
    if aligned is not None:  # resolve's own row order: no join
        return sightings.select(list(_NEEDED)).append_column("subject_id", aligned)
    keys = assignments.select(["sighting_id", "subject_id"])
    keys = keys.set_column(0, "sighting_id", pc.cast(keys["sighting_id"], pa.binary()))
    cols = sightings.select(list(_NEEDED))
    cols = cols.set_column(0, "sighting_id", pc.cast(cols["sighting_id"], pa.binary()))
    joined = cols.join(keys, "sighting_id", join_type="left outer")
    if joined.num_rows != sightings.num_rows or joined["subject_id"].null_count:
        raise InputError("cannot score: a sighting has no subject, or a sighting_id repeats "
                         "in the assignments")
    return joined


def _item_codes(t: pa.Table, items: pa.Table | None) -> IntArray:
    """One code per row of ``t``: equal codes are one item (one bank entry, or one digest).

    Keys are tagged so that an item name can never equal a digest's key. The rows' digests
    are coded first; the mapping is looked up once per distinct digest."""
    pair = pc.binary_join_element_wise(pc.cast(t["content_kind"], pa.binary()),
                                       pc.cast(t["content_id"], pa.binary()), b"\x00")
    enc = pc.dictionary_encode(pa.chunked_array(pair).combine_chunks())
    del pair
    row_digest = np.asarray(enc.indices, np.int64)
    digest = pc.binary_join_element_wise(pa.scalar(b"d"), enc.dictionary, b"\x00")
    if items is not None and items.num_rows:
        mapping = pa.table({
            "d": pc.binary_join_element_wise(
                pa.scalar(b"d"), pc.cast(items["content_kind"], pa.binary()),
                pc.cast(items["content_id"], pa.binary()), b"\x00"),
            "key": pc.binary_join_element_wise(
                pa.scalar(b"i"), pc.cast(items["item"], pa.binary()), b"\x00")})
        if pc.count_distinct(mapping["d"]).as_py() != mapping.num_rows:
            raise InputError("cannot score: items names a (content_kind, content_id) twice")
        rows = pa.table({"d": digest, "r": pa.array(np.arange(len(digest)), pa.int64())})
        joined = rows.join(mapping, "d", join_type="left outer").sort_by("r")
        digest = pc.coalesce(joined["key"], joined["d"])
    code = pc.dictionary_encode(pa.chunked_array([digest]).combine_chunks()).indices
    return np.asarray(code, np.int64)[row_digest]


def _files(t: pa.Table, s: IntArray, n: int,
           item: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Per subject: distinct known files (items), those of the gravest grade, max and summed
    severity (a file's severity is the gravest any of its sightings carries)."""
    known = np.asarray(pc.not_equal(t["match_set"], "").to_numpy(zero_copy_only=False),
                       dtype=bool)
    sev = np.asarray(t["severity"].to_numpy(zero_copy_only=False), dtype=np.int64)
    zero = np.zeros(n, dtype=np.int64)
    if not known.any():
        return zero, zero.copy(), zero.copy(), zero.copy()
    width = int(item.max(initial=-1)) + 1
    uniq, inverse = np.unique(s[known] * width + item[known], return_inverse=True)
    file_sev = np.zeros(len(uniq), dtype=np.int64)
    np.maximum.at(file_sev, inverse.reshape(-1), sev[known])
    owner = uniq // width
    sev_max = zero.copy()
    np.maximum.at(sev_max, owner, file_sev)
    return (np.bincount(owner, minlength=n),
            np.bincount(owner[file_sev >= int(Severity.HIGH)], minlength=n),
            sev_max, np.bincount(owner, weights=file_sev, minlength=n).astype(np.int64))


_SEVERITY_NAME = {int(s): s.name.lower() for s in Severity}


def reasons(row: Mapping[str, Any]) -> list[str]:
    """Plain sentences explaining a row of :data:`SCORES` (a dict, e.g. from ``to_pylist``),
    strongest evidence first; never empty."""
    out: list[str] = []
    if row["n_downloads"]:
        out.append(f"single-source download verified {_times(row['n_downloads'])}")
    files, gravest = row["n_files"], row["n_files_gravest"]
    if files:
        top = row["max_severity"]
        grave = (f"{gravest} of the gravest severity" if gravest else
                 f"the gravest of severity {_SEVERITY_NAME.get(top, str(top))}" if top else
                 "none of a graded severity")
        out.append(f"{_plural(files, 'distinct known file')}, {grave}")
    else:
        out.append("no known file")
    out.append(f"seen on {_plural(row['n_days'], 'day')} over {_plural(row['span_days'], 'day')}"
               f" ({_plural(row['n_sightings'], 'sighting')})")
    if row["n_browsed"]:
        out.append(f"known files in its browse list {_times(row['n_browsed'])}")
    if row["n_handshakes"]:
        out.append(f"handshake confirmed {_times(row['n_handshakes'])}")
    if not (row["n_downloads"] or row["n_browsed"] or row["n_handshakes"]):
        out.append("advertised only (no direct contact)")
    age = float(row["days_since_last"])
    out.append("last seen less than a day before the analysis" if age < 1 else
               f"last seen {_plural(int(age), 'day')} before the analysis")
    return out


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n:,} times"
