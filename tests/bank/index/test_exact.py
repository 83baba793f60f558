"""The exact-digest index against a dict oracle, on disk and memory-mapped."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icarus.bank.index import files
from icarus.bank.index.exact import ExactIndex
from icarus.core.errors import CorruptInputError, NotFoundError, StateError, UsageError

KIND_SIZES = {"md5": 16, "sha1": 20, "tth": 24, "sha256": 32}


def oracle(bank: np.ndarray, queries: np.ndarray) -> list[tuple[int, int]]:
    """Every (query, row) with equal digests, by a dict of bytes."""
    rows: dict[bytes, list[int]] = defaultdict(list)
    for row, digest in enumerate(bank):
        rows[digest.tobytes()].append(row)
    return [(q, r) for q, digest in enumerate(queries) for r in rows.get(digest.tobytes(), [])]


def pairs(result: tuple[np.ndarray, np.ndarray]) -> list[tuple[int, int]]:
    return list(zip(result[0].tolist(), result[1].tolist(), strict=True))


def tricky_bank(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random digests plus duplicates and digests sharing their 8-byte prefix; and queries."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, (3000, size), dtype=np.uint8)
    bank[100:110] = bank[5]  # ten duplicates of row 5 (eleven copies)
    bank[200:260, :8] = bank[7, :8]  # sixty distinct digests sharing row 7's prefix
    bank[300:305] = bank[200]  # and duplicates among those
    absent_same_prefix = bank[7].copy()
    absent_same_prefix[-1] ^= 0xFF
    absent_same_prefix[-2] ^= 0x01
    queries = np.concatenate(
        [
            bank[rng.integers(0, len(bank), 400)],
            rng.integers(0, 256, (400, size), dtype=np.uint8),
            bank[[5, 7, 200, 230]],
            absent_same_prefix[None, :],
        ]
    )
    rng.shuffle(queries)
    return bank, queries


@pytest.mark.parametrize(("kind", "size"), sorted(KIND_SIZES.items()))
def test_lookup_equals_dict_oracle_with_duplicates_and_shared_prefixes(
    tmp_path: Path, kind: str, size: int
) -> None:
    bank, queries = tricky_bank(size, seed=size)
    ExactIndex.build(bank, tmp_path / "idx", kind=kind)
    index = ExactIndex.open(tmp_path / "idx")
    got = pairs(index.lookup(queries))
    assert got == oracle(bank, queries)
    assert sum(1 for q, _ in got if bytes(queries[q]) == bytes(bank[5])) % 11 == 0
    assert index.rows_of(bank[5].tobytes()).tolist() == [5, *range(100, 110)]
    assert index.rows_of(bank[200].tobytes()).tolist() == [200, *range(300, 305)]


PREFIXES = [bytes([b]) * 8 for b in (0, 1, 0x80, 0xFF)]
TAILS = [bytes([b]) * 8 for b in (0, 1, 0x7F, 0xFE)]


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=60),
    probes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=20),
)
def test_random_small_sets_match_oracle(
    entries: list[tuple[int, int]], probes: list[tuple[int, int]]
) -> None:
    # Four prefixes for up to sixty entries: prefix collisions are the rule, not the exception.
    def digests(picks: list[tuple[int, int]]) -> np.ndarray:
        raw = b"".join(PREFIXES[p] + TAILS[t] for p, t in picks)
        return np.frombuffer(raw, np.uint8).reshape(-1, 16)

    bank, queries = digests(entries), digests(probes)
    with tempfile.TemporaryDirectory() as tmp:
        ExactIndex.build(bank, Path(tmp) / "idx", kind="md5")
        got = pairs(ExactIndex.open(Path(tmp) / "idx").lookup(queries))
    assert got == oracle(bank, queries)


def test_empty_index_and_empty_queries(tmp_path: Path) -> None:
    ExactIndex.build(np.zeros((0, 20), np.uint8), tmp_path / "empty", kind="sha1")
    empty = ExactIndex.open(tmp_path / "empty")
    assert len(empty) == 0
    assert pairs(empty.lookup(np.ones((3, 20), np.uint8))) == []
    assert not empty.contains(b"\1" * 20)
    bank, _ = tricky_bank(20, seed=1)
    ExactIndex.build(bank, tmp_path / "full", kind="sha1")
    assert pairs(ExactIndex.open(tmp_path / "full").lookup(np.zeros((0, 20), np.uint8))) == []


def test_reopened_index_is_memory_mapped_read_only_and_answers_the_same(tmp_path: Path) -> None:
    bank, queries = tricky_bank(16, seed=3)
    ExactIndex.build(bank, tmp_path / "idx", kind="md5")
    first = ExactIndex.open(tmp_path / "idx")
    second = ExactIndex.open(tmp_path / "idx")
    assert pairs(first.lookup(queries)) == pairs(second.lookup(queries))
    assert first.contains(bank[42].tobytes())
    mapped = np.load(tmp_path / "idx" / "digests.npy", mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    with pytest.raises(ValueError, match="read-only"):
        first._prefixes[0] = 0


def test_files_load_without_pickle_and_manifest_describes_them(tmp_path: Path) -> None:
    bank, _ = tricky_bank(32, seed=4)
    ExactIndex.build(bank, tmp_path / "idx", kind="sha256")
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["format"] == "icarus-exact-index"
    assert (manifest["kind"], manifest["count"], manifest["version"]) == ("sha256", 3000, 1)
    assert manifest["built_at"].endswith("+00:00")
    for name, spec in manifest["arrays"].items():
        array = np.load(tmp_path / "idx" / f"{name}.npy", allow_pickle=False)
        assert array.dtype.str == spec["dtype"] and list(array.shape) == spec["shape"]
        assert not array.dtype.hasobject
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [
        "digests.npy",
        "manifest.json",
        "prefixes.npy",
        "rows.npy",
    ]


def test_failed_build_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = files._save_array
    saved: list[Path] = []

    def failing_save(path: Path, array: np.ndarray) -> None:
        if saved:
            raise OSError("disk full")
        saved.append(path)
        real_save(path, array)

    monkeypatch.setattr(files, "_save_array", failing_save)
    bank, _ = tricky_bank(16, seed=5)
    with pytest.raises(OSError, match="disk full"):
        ExactIndex.build(bank, tmp_path / "idx", kind="md5")
    assert saved, "the failure must happen after a file was written"
    assert list(tmp_path.iterdir()) == []


def test_existing_index_is_kept_unless_replace(tmp_path: Path) -> None:
    bank, _ = tricky_bank(16, seed=6)
    ExactIndex.build(bank[:10], tmp_path / "idx", kind="md5")
    with pytest.raises(StateError, match="already exists"):
        ExactIndex.build(bank, tmp_path / "idx", kind="md5")
    assert len(ExactIndex.open(tmp_path / "idx")) == 10
    ExactIndex.build(bank, tmp_path / "idx", kind="md5", replace=True)
    assert len(ExactIndex.open(tmp_path / "idx")) == len(bank)
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]


def test_bad_input_raises_project_errors(tmp_path: Path) -> None:
    digests = np.zeros((4, 16), np.uint8)
    with pytest.raises(UsageError, match="unknown hash kind"):
        ExactIndex.build(digests, tmp_path / "a", kind="md6")
    with pytest.raises(UsageError, match="16 bytes wide, expected 20"):
        ExactIndex.build(digests, tmp_path / "a", kind="sha1")
    with pytest.raises(UsageError, match="uint8"):
        ExactIndex.build(digests.astype(np.int64), tmp_path / "a", kind="md5")
    ExactIndex.build(digests, tmp_path / "a", kind="md5")
    index = ExactIndex.open(tmp_path / "a")
    with pytest.raises(UsageError, match="expected 16"):
        index.lookup(np.zeros((1, 20), np.uint8))
    with pytest.raises(UsageError, match="16 bytes"):
        index.contains(b"short")


def test_missing_or_damaged_index_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no index here"):
        ExactIndex.open(tmp_path / "nothing")
    ExactIndex.build(np.zeros((4, 16), np.uint8), tmp_path / "idx", kind="md5")
    manifest = tmp_path / "idx" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["arrays"]["rows"]["shape"] = [5]
    manifest.write_text(json.dumps(document))
    with pytest.raises(CorruptInputError, match=r"rows\.npy"):
        ExactIndex.open(tmp_path / "idx")
    document["arrays"]["rows"]["shape"] = [4]
    document["params"] = {}
    manifest.write_text(json.dumps(document))
    with pytest.raises(CorruptInputError, match="do not match its manifest"):
        ExactIndex.open(tmp_path / "idx")
    manifest.write_text("{not json")
    with pytest.raises(CorruptInputError, match=r"manifest\.json"):
        ExactIndex.open(tmp_path / "idx")
