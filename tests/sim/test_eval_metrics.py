"""The metric functions of ``icarus eval`` against hand-computed values and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from icarus.sim.eval.metrics import (
    adjusted_rand_index,
    comb2,
    contingency,
    dense,
    jaccard,
    majority,
    normalized_mutual_info,
    pair_counts,
    ratio,
)


def _brute_pairs(a: list[int], b: list[int]) -> tuple[int, int, int]:
    both = first = second = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        first += a[i] == a[j]
        second += b[i] == b[j]
        both += a[i] == a[j] and b[i] == b[j]
    return both, first, second


def test_comb2_counts_pairs_inside_groups() -> None:
    assert comb2(np.array([0, 1, 2, 3, 10])) == 0 + 0 + 1 + 3 + 45
    assert comb2(np.array([], dtype=np.int64)) == 0
    # Large groups stay exact (no float rounding): C(10^7, 2).
    assert comb2(np.array([10_000_000])) == 10_000_000 * 9_999_999 // 2


def test_pair_counts_match_enumerating_every_pair() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(0, 60))
        a = rng.integers(0, 6, n).astype(np.int64)
        b = rng.integers(0, 4, n).astype(np.int64)
        p = pair_counts(contingency(a, b))
        assert (p.together_both, p.together_first, p.together_second) == _brute_pairs(
            a.tolist(), b.tolist())
        assert p.pairs == n * (n - 1) // 2


def test_majority_breaks_ties_towards_the_smallest_value() -> None:
    keys = np.array([0, 0, 0, 1, 1, 2], dtype=np.int64)
    values = np.array([5, 3, 9, 4, 2, 7], dtype=np.int64)
    counts = np.array([2, 2, 1, 1, 1, 3], dtype=np.int64)
    k, v = majority(keys, values, counts)
    assert k.tolist() == [0, 1, 2]
    assert v.tolist() == [3, 2, 7]  # key 0: 5 and 3 tie at 2 → 3; key 1: 4 and 2 tie → 2


def test_ari_identical_and_relabelled_partitions_score_one() -> None:
    truth = [0, 0, 1, 1, 2, 2, 2]
    assert adjusted_rand_index(truth, truth) == 1.0
    assert adjusted_rand_index(truth, [9, 9, 4, 4, 7, 7, 7]) == 1.0
    assert adjusted_rand_index([], []) == 1.0
    assert adjusted_rand_index([3], [8]) == 1.0


def test_ari_hand_computed_examples() -> None:
    # truth {a,b}{c,d}; found {a,b}{c}{d}. Pairs: 6. Together in both: ab → 1.
    # Σ C(truth sizes) = 2, Σ C(found sizes) = 1; expected = 2·1/6 = 1/3; max = 3/2.
    # ARI = (1 - 1/3) / (3/2 - 1/3) = 4/7.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    # Crossed partitions: index 0, expected 2·2/6 = 2/3, max 2 → (0 - 2/3)/(2 - 2/3) = -1/2.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    # One cluster against all singletons: no agreement beyond chance.
    assert adjusted_rand_index([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0


def test_nmi_hand_computed_examples() -> None:
    assert normalized_mutual_info([0, 0, 1, 1], [5, 5, 3, 3]) == pytest.approx(1.0)
    # H(truth) = ln 2; H(found) = 1.5 ln 2; MI = ½ln2 + ¼ln2 + ¼ln2 = ln 2.
    # NMI = ln2 / ((ln2 + 1.5 ln2) / 2) = 0.8.
    assert normalized_mutual_info([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(0.8)
    assert normalized_mutual_info([0, 0, 1, 1], [0, 1, 0, 1]) == 0.0
    assert normalized_mutual_info([1, 1, 1], [2, 2, 2]) == 1.0
    assert normalized_mutual_info([1, 1, 1], [0, 1, 2]) == 0.0
    # All singletons on both sides: MI = H = ln n.
    assert normalized_mutual_info([0, 1, 2, 3], [3, 2, 1, 0]) == pytest.approx(1.0)


def test_nmi_three_by_three_example() -> None:
    truth = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    found = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    n = 9
    cells = {(0, 0): 2, (0, 1): 1, (1, 1): 2, (1, 2): 1, (2, 2): 3}
    rows = {0: 3, 1: 3, 2: 3}
    cols = {0: 2, 1: 3, 2: 4}
    mi = sum(c / n * math.log(n * c / (rows[i] * cols[j])) for (i, j), c in cells.items())
    h = [-sum(s / n * math.log(s / n) for s in d.values()) for d in (rows, cols)]
    assert normalized_mutual_info(truth, found) == pytest.approx(mi / ((h[0] + h[1]) / 2))


def test_ari_nmi_agree_with_scikit_learn_when_installed() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(11)
    for _ in range(25):
        n = int(rng.integers(2, 200))
        a = rng.integers(0, int(rng.integers(1, 8)), n)
        b = rng.integers(0, int(rng.integers(1, 8)), n)
        assert adjusted_rand_index(a, b) == pytest.approx(metrics.adjusted_rand_score(a, b))
        assert normalized_mutual_info(a, b) == pytest.approx(
            metrics.normalized_mutual_info_score(a, b))


def test_dense_recodes_in_sorted_order() -> None:
    assert dense(["b", "a", "c", "a"]).tolist() == [1, 0, 2, 0]


def test_jaccard_and_ratio_edges() -> None:
    assert jaccard(2, 2, 4) == 0.5
    assert jaccard(0, 0, 0) == 0.0
    m = ratio("suspects.precision", 0, 0, empty="nothing named")
    assert (m.status, m.value, m.reason) == ("undefined", None, "nothing named")
    m = ratio("suspects.precision", 3, 5, empty="")
    assert (m.status, m.value, m.numerator, m.denominator) == ("ok", 0.6, 3, 5)
