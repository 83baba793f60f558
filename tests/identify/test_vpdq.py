"""vPDQ: hashing generated videos in six containers, matching copies and clips, the text form."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from icarus.core.errors import InvalidIdentifierError, UsageError
from icarus.identify.vpdq import (
    VIDEO_EXTENSIONS,
    VpdqFrame,
    VpdqScore,
    format_vpdq,
    pack_frames,
    parse_vpdq,
    unpack_frames,
    vpdq_compare,
    vpdq_file,
)
from tests.identify.synthetic import VIDEO_FORMATS, reencode_video, write_video

SCENES = list(range(12))
"""Twelve distinct generated scenes, one a second: a 12-second video."""
CONTAINERS = ["mp4", "avi", "mkv", "wmv", "flv", "3gp"]
QUERY_THRESHOLD, COMPARED_THRESHOLD = 80.0, 0.0
"""ThreatExchange's defaults, passed explicitly as every caller must."""


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 12-scene video in every container, plus a degraded copy, a clip and a stranger."""
    folder = tmp_path_factory.mktemp("videos")
    made = {ext: write_video(folder / f"scenes.{ext}", SCENES) for ext in CONTAINERS}
    made["copy"] = reencode_video(
        made["mp4"], folder / "copy.mp4", size=(160, 120), bit_rate=150_000
    )
    made["clip"] = reencode_video(made["mp4"], folder / "clip.avi", start=3.0, end=8.0)
    made["stranger"] = write_video(folder / "stranger.mkv", range(100, 110))
    return made


@pytest.fixture(scope="module")
def frames(videos: dict[str, Path]) -> dict[str, tuple[VpdqFrame, ...]]:
    """The vPDQ frames of each generated video."""
    hashed = {}
    for name, path in videos.items():
        outcome = vpdq_file(path)
        assert outcome.ok and outcome.warnings == (), (name, outcome)
        hashed[name] = outcome.frames
    return hashed


def test_extensions_cover_the_p2p_containers() -> None:
    assert {f".{e}" for e in VIDEO_FORMATS} <= VIDEO_EXTENSIONS


@pytest.mark.parametrize("container", CONTAINERS)
def test_one_frame_a_second_in_every_container(
    container: str, frames: dict[str, tuple[VpdqFrame, ...]]
) -> None:
    hashed = frames[container]
    assert len(hashed) == len(SCENES)
    assert [f.timestamp for f in hashed] == pytest.approx(range(len(SCENES)), abs=0.15)
    numbers = [f.frame_number for f in hashed]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert all(f.quality >= 50 for f in hashed)
    score = vpdq_compare(hashed, frames["mp4"])
    assert score == VpdqScore(100.0, 100.0)


def test_degraded_copy_matches_both_ways(frames: dict[str, tuple[VpdqFrame, ...]]) -> None:
    for query, target in (("copy", "mp4"), ("mp4", "copy")):
        score = vpdq_compare(frames[query], frames[target])
        assert score.query_percent >= 90 and score.compared_percent >= 90, score
        assert score.matches(QUERY_THRESHOLD, COMPARED_THRESHOLD)


def test_clip_matches_as_query_but_not_the_reverse(
    frames: dict[str, tuple[VpdqFrame, ...]],
) -> None:
    assert len(frames["clip"]) == 5
    as_query = vpdq_compare(frames["clip"], frames["mp4"])
    assert as_query.query_percent >= 80 and as_query.compared_percent <= 50, as_query
    assert as_query.matches(QUERY_THRESHOLD, COMPARED_THRESHOLD)
    assert not as_query.matches(QUERY_THRESHOLD, 80.0)
    reverse = vpdq_compare(frames["mp4"], frames["clip"])
    assert reverse.query_percent <= 50 and reverse.compared_percent >= 80, reverse
    assert not reverse.matches(QUERY_THRESHOLD, COMPARED_THRESHOLD)


def test_unrelated_video_shares_nothing(frames: dict[str, tuple[VpdqFrame, ...]]) -> None:
    score = vpdq_compare(frames["stranger"], frames["mp4"])
    assert score.query_percent <= 10 and score.compared_percent <= 10, score
    assert not score.matches(QUERY_THRESHOLD, COMPARED_THRESHOLD)


def test_broken_videos_give_error_outcomes(tmp_path: Path, videos: dict[str, Path]) -> None:
    whole = videos["mp4"].read_bytes()
    broken = {
        "noise.mp4": random.Random(4).randbytes(50_000),
        "empty.mp4": b"",
        "text.mkv": b"not a video\n",
        # An MP4 written by PyAV keeps its index at the end: cut, it cannot be opened.
        "truncated.mp4": whole[: len(whole) // 2],
    }
    for name, data in broken.items():
        path = tmp_path / name
        path.write_bytes(data)
        outcome = vpdq_file(path)
        assert not outcome.ok and outcome.frames == (), name
        assert outcome.error is not None and str(path) in outcome.error
    for missing in (tmp_path / "absent.mp4", tmp_path):
        outcome = vpdq_file(missing)
        assert outcome.error is not None and str(missing) in outcome.error
    with pytest.raises(UsageError):
        vpdq_file(videos["mp4"], seconds_per_hash=-1)


def _frame(bits_set: int, quality: int = 100, number: int = 0) -> VpdqFrame:
    """A frame whose PDQ hash has its first ``bits_set`` bits set."""
    value = ((1 << bits_set) - 1) << (256 - bits_set) if bits_set else 0
    return VpdqFrame(value.to_bytes(32, "big"), quality, number, float(number))


def test_compare_semantics() -> None:
    base = _frame(0)
    # The radius is inclusive: 31 bits apart match, 32 do not.
    assert vpdq_compare([base], [_frame(31)]) == VpdqScore(100.0, 100.0)
    assert vpdq_compare([base], [_frame(32)]) == VpdqScore(0.0, 0.0)
    assert vpdq_compare([base], [_frame(32)], radius=32) == VpdqScore(100.0, 100.0)
    # Identical hashes count once; frames under the quality floor do not count at all.
    query = [base, base, base, _frame(100)]
    assert vpdq_compare(query, [base]) == VpdqScore(50.0, 100.0)
    assert vpdq_compare([*query, _frame(200, quality=49)], [base]) == VpdqScore(50.0, 100.0)
    assert vpdq_compare([_frame(200, quality=49)], [_frame(200)]) == VpdqScore(0.0, 0.0)
    assert vpdq_compare([_frame(200, quality=49)], [_frame(200)], min_quality=0) == VpdqScore(
        100.0, 100.0
    )
    assert vpdq_compare([], [base]) == VpdqScore(0.0, 0.0)
    # The shares are of each side's own frames.
    assert vpdq_compare([base], [base, _frame(100), _frame(200), _frame(150)]) == VpdqScore(
        100.0, 25.0
    )


def test_score_thresholds_are_inclusive() -> None:
    score = VpdqScore(80.0, 20.0)
    assert score.matches(80.0, 20.0)
    assert not score.matches(80.1, 0.0) and not score.matches(0.0, 20.1)


def test_text_and_bytes_round_trip(frames: dict[str, tuple[VpdqFrame, ...]]) -> None:
    hashed = frames["mp4"]
    text = format_vpdq(hashed)
    assert text.count(";") == len(hashed) - 1
    assert parse_vpdq(text) == hashed
    assert parse_vpdq(f"  {text.upper()}\n") == hashed
    assert unpack_frames(pack_frames(hashed)) == hashed
    assert parse_vpdq("") == () and format_vpdq(()) == ""


def test_meta_compact_entries_are_accepted() -> None:
    a, b = "ab" * 32, "0f" * 32
    frames = parse_vpdq(f"{a},100,0.000;{b},73,1.5")
    assert frames == (
        VpdqFrame(bytes.fromhex(a), 100, 0, 0.0),
        VpdqFrame(bytes.fromhex(b), 73, 1, 1.5),
    )


@pytest.mark.parametrize(
    "bad",
    [
        "ab" * 32,
        f"{'ab' * 32},100",
        f"{'ab' * 32},100,1.0,2,3",
        f"{'ab' * 31},100,1.0",
        f"{'zz' * 32},100,1.0",
        f"{'ab' * 32},101,1.0",
        f"{'ab' * 32},-1,1.0",
        f"{'ab' * 32},100,-2.0",
        f"{'ab' * 32},100,nan",
        f"{'ab' * 32},100,inf",
        f"{'ab' * 32},high,1.0",
        f"{'ab' * 32},100,1.0,-4",
        f"{'ab' * 32},100,1.0;;",
    ],
)
def test_bad_text_is_refused(bad: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="vPDQ entry"):
        parse_vpdq(bad)


def test_bad_bytes_are_refused() -> None:
    packed = pack_frames([_frame(3)])
    with pytest.raises(InvalidIdentifierError):
        unpack_frames(packed[:-1])
    with pytest.raises(InvalidIdentifierError):
        unpack_frames(packed[:32] + b"\xff" + packed[33:])  # quality 255
