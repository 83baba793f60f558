"""The metric functions of ``icarus eval``: pure, vectorised, and defined in docs/sim/eval.md.

Everything that counts pairs works on the contingency table (how many items fall in each
(predicted, true) cell) and sums ``C(n, 2)`` over cells, rows and columns, so pair-based scores
over ten million sightings never materialise a pair. Counts are Python integers where products
of pair counts could leave int64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Status = Literal["ok", "undefined", "not-evaluated"]
Detail = int | float | str | None


TITLES: dict[str, str] = {
    "identity.ingested": "Sightings ingested (of all emitted)",
    "identity.pairwise_precision": "Identity resolution: pairwise precision",
    "identity.pairwise_recall": "Identity resolution: pairwise recall",
    "identity.pairwise_f1": "Identity resolution: pairwise F1",
    "suspects.precision": "Suspects: precision (distinct persons)",
    "suspects.recall": "Suspects: recall (persons to identify, sighted)",
    "suspects.recall_all": "Suspects: recall (all persons to identify)",
    "suspects.fragmentation": "Suspects: subjects per named person",
    "country.accuracy": "Country attribution: all named persons",
    "country.accuracy_direct": "Country attribution: not using anonymisers",
    "country.accuracy_anonymiser": "Country attribution: anonymiser users",
    "networks.ari": "Networks: adjusted Rand index",
    "networks.nmi": "Networks: normalised mutual information",
    "networks.new_recall": "Networks unknown earlier: recall",
    "candidates.precision_at_10": "Candidate material: precision at 10",
    "candidates.precision_at_50": "Candidate material: precision at 50",
    "exhibits.link_accuracy": "Exhibits linked to the right person",
}
"""Every metric of the report, in report order, with its title (docs/sim/eval.md)."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure of the report: its value with the counts it comes from, or why it has none.

    ``status`` is ``ok`` (``value`` is set), ``undefined`` (the population is empty, e.g. no
    suspects named: the ratio is 0/0) or ``not-evaluated`` (an input is absent). ``value`` is
    ``None`` unless the status is ``ok``; ``reason`` says why it is not.
    """

    key: str
    title: str
    value: float | None
    numerator: int | None = None
    denominator: int | None = None
    status: Status = "ok"
    reason: str | None = None
    details: Mapping[str, Detail] = field(default_factory=dict)


def ratio(key: str, numerator: int, denominator: int, *, empty: str,
          details: Mapping[str, Detail] | None = None) -> Metric:
    """``numerator / denominator``; ``undefined`` with reason ``empty`` if the denominator is 0."""
    extra = dict(details or {})
    title = TITLES[key]
    if denominator == 0:
        return Metric(key, title, None, numerator, denominator, "undefined", empty, extra)
    return Metric(key, title, numerator / denominator, numerator, denominator, details=extra)


def not_evaluated(key: str, reason: str) -> Metric:
    """A metric that could not be computed because an input is absent (this is not a zero)."""
    return Metric(key, TITLES[key], None, status="not-evaluated", reason=reason)


def comb2(counts: npt.NDArray[np.integer]) -> int:
    """``sum(C(n, 2))`` over ``counts``: the number of unordered pairs inside each group."""
    n = np.asarray(counts, dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def dense(labels: npt.ArrayLike) -> IntArray:
    """``labels`` (any sortable values) recoded as 0..k-1, in the sorted order of the values."""
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    return np.asarray(codes, dtype=np.int64).reshape(-1)


@dataclass(frozen=True, slots=True)
class Contingency:
    """The non-empty cells of the contingency table of two non-negative integer labelings."""

    row: IntArray
    """The first labeling's value of each cell (sorted by row, then column)."""
    col: IntArray
    count: IntArray
    n: int
    """The number of items."""


def contingency(rows: IntArray, cols: IntArray) -> Contingency:
    """Cells of (rows[i], cols[i]) with their counts; both arrays non-negative, same length."""
    if rows.shape != cols.shape:
        raise ValueError("labelings differ in length")
    if rows.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Contingency(empty, empty, empty, 0)
    width = int(cols.max()) + 1
    keys, counts = np.unique(rows.astype(np.int64) * width + cols, return_counts=True)
    return Contingency(keys // width, keys % width, counts.astype(np.int64), int(rows.size))


@dataclass(frozen=True, slots=True)
class PairCounts:
    """Pairs of items: together in both labelings, together in the first, in the second."""

    together_both: int
    together_first: int
    together_second: int
    pairs: int
    """All unordered pairs, ``C(n, 2)``."""


def pair_counts(table: Contingency) -> PairCounts:
    """Pair counts from a contingency table, without enumerating pairs."""
    rows = np.bincount(table.row, weights=table.count).astype(np.int64) if table.n else table.row
    cols = np.bincount(table.col, weights=table.count).astype(np.int64) if table.n else table.col
    return PairCounts(comb2(table.count), comb2(rows), comb2(cols), table.n * (table.n - 1) // 2)


def majority(keys: IntArray, values: IntArray, counts: IntArray) -> tuple[IntArray, IntArray]:
    """For each distinct key, the value with the largest count; ties go to the smallest value.

    Returns ``(distinct keys sorted, winning value of each)``.
    """
    if keys.size == 0:
        return keys, values
    order = np.lexsort((values, -counts, keys))
    k = keys[order]
    first = np.ones(k.size, dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return k[first], values[order][first]


def adjusted_rand_index(truth: npt.ArrayLike, found: npt.ArrayLike) -> float:
    """Hubert and Arabie's adjusted Rand index of two labelings of the same items.

    1.0 for identical partitions (and for fewer than two items); about 0 for independent ones;
    can be negative. Equal to scikit-learn's ``adjusted_rand_score``.
    """
    p = pair_counts(contingency(dense(truth), dense(found)))
    tp = p.together_both
    fn = p.together_first - tp
    fp = p.together_second - tp
    tn = p.pairs - tp - fn - fp
    if fn == 0 and fp == 0:
        return 1.0
    denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)
    return 2.0 * (tp * tn - fn * fp) / denominator if denominator else 0.0


def normalized_mutual_info(truth: npt.ArrayLike, found: npt.ArrayLike) -> float:
    """Mutual information over the arithmetic mean of the two entropies, in [0, 1].

    1.0 when both labelings have a single cluster (or no item); 0.0 when the mutual information
    is 0. Equal to scikit-learn's ``normalized_mutual_info_score`` (average_method="arithmetic").
    """
    table = contingency(dense(truth), dense(found))
    rows = np.zeros(0, dtype=np.float64)
    cols = np.zeros(0, dtype=np.float64)
    if table.n:
        rows = np.bincount(table.row, weights=table.count).astype(np.float64)
        cols = np.bincount(table.col, weights=table.count).astype(np.float64)
    if rows.size <= 1 and cols.size <= 1:
        return 1.0
    n = float(table.n)
    c = table.count.astype(np.float64)
    mi = float(np.sum(c / n * (np.log(c * n) - np.log(rows[table.row] * cols[table.col]))))
    mi = max(mi, 0.0)
    if mi == 0.0:
        return 0.0
    return min(1.0, mi / ((_entropy(rows, n) + _entropy(cols, n)) / 2.0))


def _entropy(sizes: npt.NDArray[np.float64], n: float) -> float:
    share = sizes[sizes > 0] / n
    return float(-np.sum(share * np.log(share)))


def jaccard(intersection: int, first: int, second: int) -> float:
    """``|A ∩ B| / |A ∪ B|`` from the sizes; 0.0 for two empty sets."""
    union = first + second - intersection
    return intersection / union if union else 0.0


def f1_ratio(pairs: PairCounts) -> tuple[int, int]:
    """F1 of pair predictions as a ratio: ``2·TP / (predicted pairs + true pairs)``."""
    return 2 * pairs.together_both, pairs.together_first + pairs.together_second
