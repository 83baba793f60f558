"""The PDQ multi-index against a brute-force oracle: exact recall, inclusive radius."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icarus.bank.index import pdq
from icarus.bank.index.pdq import PdqIndex
from icarus.core.errors import CorruptInputError, StateError, UsageError

# Popcount of every byte: an oracle that shares no code with the index's bitwise_count.
POPCOUNT = np.array([bin(b).count("1") for b in range(256)], np.int32)

Triples = list[tuple[int, int, int]]


def oracle(bank: np.ndarray, queries: np.ndarray, radius: int) -> Triples:
    """Every (query, row, distance) within ``radius``, by comparing each query with every row."""
    found = []
    for q, code in enumerate(queries):
        distances = POPCOUNT[bank ^ code].sum(axis=1)
        for row in np.flatnonzero(distances <= radius).tolist():
            found.append((q, row, int(distances[row])))
    return found


def triples(hits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Triples:
    return list(zip(*(a.tolist() for a in hits), strict=True))


def flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """``code`` with ``bits`` distinct random bits flipped."""
    unpacked = np.unpackbits(code)
    unpacked[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def planted_bank(n: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random codes, and queries each with bank neighbours at distances 0..40 and duplicates."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    wanted = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    slots = iter(rng.permutation(n).tolist())
    for q in range(queries):
        for distance in range(41):
            bank[next(slots)] = flip(wanted[q], distance, rng)
        bank[next(slots)] = wanted[q]  # an exact duplicate besides the distance-0 one
    return bank, wanted


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray, Path]:
    bank, queries = planted_bank(100_000, 40, seed=11)
    directory = tmp_path_factory.mktemp("pdq") / "auto"
    PdqIndex.build(bank, directory)
    return bank, queries, directory


@pytest.mark.parametrize("one_table_at_a_time", [False, True])
@pytest.mark.parametrize("radius", [31, 32, 10, 0, 40])
def test_tables_find_exactly_the_codes_within_radius(
    planted: tuple[np.ndarray, np.ndarray, Path],
    radius: int,
    one_table_at_a_time: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bank, queries, directory = planted
    if one_table_at_a_time:  # as for large batches; small ones probe all tables together
        monkeypatch.setattr(pdq, "_MIXED_PROBES", 0)
    index = PdqIndex.open(directory)
    assert index._plan(radius, len(queries)) is not None or radius == 40
    assert triples(index.search(queries, radius)) == oracle(bank, queries, radius)


def test_default_radius_is_31_inclusive(planted: tuple[np.ndarray, np.ndarray, Path]) -> None:
    bank, queries, directory = planted
    found = triples(PdqIndex.open(directory).search(queries))
    distances = {d for _, _, d in found}
    assert max(distances) == 31 and 32 not in distances
    assert found == oracle(bank, queries, 31)


@pytest.mark.parametrize("substrings", [0, 13, 25, 40, 64])
def test_every_table_layout_is_exact(tmp_path: Path, substrings: int) -> None:
    # 13 and 25 substrings cross 64-bit word boundaries; 40 and 64 leave tables unprobed at 31.
    bank, queries = planted_bank(30_000, 12, seed=substrings)
    PdqIndex.build(bank, tmp_path / "idx", substrings=substrings)
    index = PdqIndex.open(tmp_path / "idx")
    assert len(index.substrings) == substrings
    for radius in (0, 5, 31, 33):
        expected = oracle(bank, queries, radius)
        assert triples(index.search(queries, radius)) == expected
        if substrings:
            with mock.patch.object(pdq, "_SCAN_COST", 1e12):  # the tables must answer too
                assert index._plan(radius, len(queries)) is not None
                assert triples(index.search(queries, radius)) == expected


@pytest.mark.parametrize("mixed_probes", [0, 1 << 16])
def test_small_chunks_and_huge_buckets_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mixed_probes: int
) -> None:
    bank, queries = planted_bank(20_000, 10, seed=3)
    bank[:3000] = bank[0]  # one bucket of 3000 equal codes in every table
    queries = np.concatenate([queries, bank[:1], flip(bank[0], 20, np.random.default_rng(1))[None]])
    PdqIndex.build(bank, tmp_path / "idx", substrings=16)
    monkeypatch.setattr(pdq, "_CANDIDATES_PER_CHUNK", 257)
    monkeypatch.setattr(pdq, "_PROBES_PER_BATCH", 100)
    monkeypatch.setattr(pdq, "_MIXED_PROBES", mixed_probes)
    index = PdqIndex.open(tmp_path / "idx")
    assert index._plan(31, len(queries)) is not None
    assert triples(index.search(queries, 31)) == oracle(bank, queries, 31)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    substrings=st.sampled_from([0, 32, 64, 128]),
    radius=st.integers(0, 256),
)
def test_any_radius_on_small_indexes(seed: int, n: int, substrings: int, radius: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    bank = np.zeros((n, 32), np.uint8)
    for row, distance in enumerate(rng.integers(0, 80, n).tolist()):
        bank[row] = flip(base[0], distance, rng)
    queries = np.concatenate([base, rng.integers(0, 256, (2, 32), dtype=np.uint8)])
    expected = oracle(bank, queries, radius)
    with tempfile.TemporaryDirectory() as tmp:
        PdqIndex.build(bank, Path(tmp) / "idx", substrings=substrings)
        index = PdqIndex.open(Path(tmp) / "idx")
        assert triples(index.search(queries, radius)) == expected
        # Make scanning look ruinous so that the tables answer too, whatever the radius.
        with mock.patch.object(pdq, "_SCAN_COST", 1e12):
            assert substrings * n == 0 or index._plan(radius, len(queries)) is not None
            assert triples(index.search(queries, radius)) == expected


def test_reopened_index_is_read_only_and_answers_the_same(tmp_path: Path) -> None:
    bank, queries = planted_bank(10_000, 5, seed=8)
    PdqIndex.build(bank, tmp_path / "idx")
    first, second = PdqIndex.open(tmp_path / "idx"), PdqIndex.open(tmp_path / "idx")
    assert triples(first.search(queries)) == triples(second.search(queries))
    with pytest.raises(ValueError, match="read-only"):
        first._codes[0, 0] = 1
    for name in ("codes", "ids", "offsets"):
        assert not np.load(tmp_path / "idx" / f"{name}.npy", allow_pickle=False).dtype.hasobject


def test_empty_index_and_empty_queries(tmp_path: Path) -> None:
    PdqIndex.build(np.zeros((0, 32), np.uint8), tmp_path / "empty")
    empty = PdqIndex.open(tmp_path / "empty")
    assert len(empty) == 0 and triples(empty.search(np.zeros((2, 32), np.uint8))) == []
    bank, _ = planted_bank(5000, 2, seed=9)
    PdqIndex.build(bank, tmp_path / "idx")
    assert triples(PdqIndex.open(tmp_path / "idx").search(np.zeros((0, 32), np.uint8))) == []


def test_bad_input_raises_project_errors(tmp_path: Path) -> None:
    bank = np.zeros((10, 32), np.uint8)
    with pytest.raises(UsageError, match="cannot cut 256 bits into 8 substrings"):
        PdqIndex.build(bank, tmp_path / "a", substrings=8)
    with pytest.raises(UsageError, match=r"\(n, 32\) uint8"):
        PdqIndex.build(np.zeros((10, 16), np.uint8), tmp_path / "a")
    PdqIndex.build(bank, tmp_path / "a")
    with pytest.raises(StateError):
        PdqIndex.build(bank, tmp_path / "a")
    index = PdqIndex.open(tmp_path / "a")
    with pytest.raises(UsageError, match="radius"):
        index.search(bank, radius=-1)
    with pytest.raises(UsageError, match="radius"):
        index.search(bank, radius=257)
    with pytest.raises(UsageError, match="uint8"):
        index.search(bank.astype(np.int32))


def test_damaged_manifest_is_reported_with_its_path(tmp_path: Path) -> None:
    PdqIndex.build(planted_bank(5000, 2, seed=10)[0], tmp_path / "idx")
    manifest = tmp_path / "idx" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["params"]["widths"] = document["params"]["widths"][1:]
    manifest.write_text(json.dumps(document))
    with pytest.raises(CorruptInputError, match=re.escape(str(tmp_path / "idx"))):
        PdqIndex.open(tmp_path / "idx")
    del document["params"]["widths"]
    manifest.write_text(json.dumps(document))
    with pytest.raises(CorruptInputError, match="widths"):
        PdqIndex.open(tmp_path / "idx")
    document["format"] = "icarus-exact-index"
    manifest.write_text(json.dumps(document))
    with pytest.raises(CorruptInputError, match="not a 'icarus-pdq-index'"):
        PdqIndex.open(tmp_path / "idx")
