"""The vPDQ index against a brute-force oracle of the vPDQ matching rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icarus.bank.index.vpdq import VpdqHit, VpdqIndex
from icarus.core.errors import UsageError

POPCOUNT = np.array([bin(b).count("1") for b in range(256)], np.int32)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances."""
    result: np.ndarray = POPCOUNT[a[:, None, :] ^ b[None, :, :]].sum(axis=2)
    return result


def distinct(frames: np.ndarray) -> np.ndarray:
    raw = b"".join(sorted({f.tobytes() for f in frames}))
    return np.frombuffer(raw, np.uint8).reshape(-1, 32)


def oracle(
    videos: list[np.ndarray], query: np.ndarray, radius: int, q_min: float, c_min: float
) -> list[tuple[int, float, float]]:
    """The vPDQ rule, video by video, frame by frame."""
    q = distinct(query)
    found = []
    for row, video in enumerate(videos):
        v = distinct(video)
        if len(v) == 0:
            continue
        close = distances(q, v) <= radius
        q_pct = 100.0 * close.any(axis=1).sum() / len(q)
        c_pct = 100.0 * close.any(axis=0).sum() / len(v)
        if close.any() and q_pct >= q_min and c_pct >= c_min:
            found.append((row, q_pct, c_pct))
    return found


def flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    unpacked = np.unpackbits(code)
    unpacked[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def noisy(frames: np.ndarray, max_bits: int, rng: np.random.Generator) -> np.ndarray:
    """Each frame with up to ``max_bits`` random bits flipped (a re-encoded copy)."""
    return np.stack([flip(f, int(rng.integers(0, max_bits + 1)), rng) for f in frames])


def as_tuples(hits: list[VpdqHit]) -> list[tuple[int, float, float]]:
    return [(h.video_row, h.query_percent, h.compared_percent) for h in hits]


@pytest.fixture(scope="module")
def library() -> list[np.ndarray]:
    """Video 0: 60 frames; 1: a clip of frames 10-24 of video 0, re-encoded; 2: unrelated;
    3: video 0 with every frame twice; 4: no frames (all filtered out)."""
    rng = np.random.default_rng(21)
    full = rng.integers(0, 256, (60, 32), dtype=np.uint8)
    clip = noisy(full[10:25], 12, rng)
    unrelated = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    return [full, clip, unrelated, np.concatenate([full, full]), np.zeros((0, 32), np.uint8)]


def test_clip_and_full_video_are_asymmetric(tmp_path: Path, library: list[np.ndarray]) -> None:
    VpdqIndex.build(library, tmp_path / "idx")
    index = VpdqIndex.open(tmp_path / "idx")
    assert len(index) == 5
    clip_query = library[1]
    hits = index.search(clip_query, query_threshold=0, compared_threshold=0)
    assert as_tuples(hits) == [(0, 100.0, 25.0), (1, 100.0, 100.0), (3, 100.0, 25.0)]
    full_query = noisy(library[0], 10, np.random.default_rng(2))
    hits = index.search(full_query, query_threshold=0, compared_threshold=0)
    assert as_tuples(hits) == [(0, 100.0, 100.0), (1, 25.0, 100.0), (3, 100.0, 100.0)]
    assert as_tuples(hits) == oracle(library, full_query, 31, 0, 0)


def test_thresholds_are_inclusive_and_both_required(
    tmp_path: Path, library: list[np.ndarray]
) -> None:
    VpdqIndex.build(library, tmp_path / "idx")
    index = VpdqIndex.open(tmp_path / "idx")
    clip_query = library[1]
    assert [
        h.video_row for h in index.search(clip_query, query_threshold=100, compared_threshold=25)
    ] == [0, 1, 3]
    assert [
        h.video_row for h in index.search(clip_query, query_threshold=100, compared_threshold=25.1)
    ] == [1]
    with pytest.raises(TypeError):
        index.search(clip_query)  # type: ignore[call-arg]
    with pytest.raises(UsageError, match="percentage"):
        index.search(clip_query, query_threshold=0.5, compared_threshold=101)


def test_repeated_query_frames_count_once(tmp_path: Path, library: list[np.ndarray]) -> None:
    VpdqIndex.build(library, tmp_path / "idx")
    index = VpdqIndex.open(tmp_path / "idx")
    rng = np.random.default_rng(5)
    # Five clip frames repeated ten times, and five unrelated frames: 50 % of distinct frames.
    query = np.concatenate(
        [np.repeat(library[1][:5], 10, axis=0), rng.integers(0, 256, (5, 32), dtype=np.uint8)]
    )
    hits = as_tuples(index.search(query, query_threshold=50, compared_threshold=0))
    assert hits == oracle(library, query, 31, 50, 0)
    assert hits[0][1] == 50.0


@pytest.mark.parametrize("radius", [4, 16, 31, 40])
def test_random_libraries_match_the_oracle(tmp_path: Path, radius: int) -> None:
    rng = np.random.default_rng(radius)
    pool = rng.integers(0, 256, (12, 32), dtype=np.uint8)
    # Videos drawing noisy frames from a small shared pool: partial overlaps of every size.
    videos = [noisy(pool[rng.choice(12, int(rng.integers(1, 8)))], 12, rng) for _ in range(25)]
    VpdqIndex.build(videos, tmp_path / "idx", substrings=16)
    index = VpdqIndex.open(tmp_path / "idx")
    reported = 0
    for _ in range(5):
        query = noisy(pool[rng.choice(12, 6, replace=False)], 12, rng)
        for q_min, c_min in ((0, 0), (30, 40), (60, 60)):
            got = index.search(
                query, radius=radius, query_threshold=q_min, compared_threshold=c_min
            )
            assert as_tuples(got) == oracle(videos, query, radius, q_min, c_min)
            reported += len(got)
    assert reported > 0


def test_empty_library_and_empty_query(tmp_path: Path, library: list[np.ndarray]) -> None:
    VpdqIndex.build([], tmp_path / "none")
    assert (
        VpdqIndex.open(tmp_path / "none").search(
            library[0], query_threshold=0, compared_threshold=0
        )
        == []
    )
    VpdqIndex.build(library, tmp_path / "idx")
    index = VpdqIndex.open(tmp_path / "idx")
    assert index.search(np.zeros((0, 32), np.uint8), query_threshold=0, compared_threshold=0) == []
    with pytest.raises(UsageError, match="video 1"):
        VpdqIndex.build([library[0], library[1][:, :16]], tmp_path / "bad")
