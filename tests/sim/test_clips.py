"""Video clips: reproducible bytes, one vPDQ frame per second, transcoded variants that match."""

from __future__ import annotations

import pytest

from icarus.identify.vpdq import vpdq_compare
from icarus.sim import clips

# Found by looking at video_spec: one seed of each container.
SEEDS = [s for s in range(40) if clips.video_spec(s).container == "mp4"][:2] + [
    s for s in range(40) if clips.video_spec(s).container == "avi"][:2]


def test_both_containers_are_made() -> None:
    assert {clips.video_spec(s).container for s in SEEDS} == {"mp4", "avi"}


@pytest.mark.parametrize("seed", SEEDS)
def test_clips_are_reproducible_and_hash_one_frame_a_second(seed: int) -> None:
    spec = clips.video_spec(seed)
    data = clips.video_bytes(seed)
    assert data == clips.video_bytes(seed)
    if spec.container == "mp4":
        assert data[4:8] == b"ftyp"
    else:
        assert data[:4] == b"RIFF" and data[8:12] == b"AVI "
    frames = clips.video_vpdq(data)
    assert clips.SECONDS[0] <= spec.seconds <= clips.SECONDS[1]
    assert len(frames) == spec.seconds
    assert min(f.quality for f in frames) >= 50
    assert len({f.pdq for f in frames}) == spec.seconds  # one distinct scene a second


@pytest.mark.parametrize("seed", SEEDS)
def test_a_transcoded_variant_matches_its_original_only(seed: int) -> None:
    original = clips.video_vpdq(clips.video_bytes(seed))
    data = clips.video_bytes(seed, variant=1)
    assert data != clips.video_bytes(seed)
    assert clips.video_spec(seed, 1).container != clips.video_spec(seed).container
    score = vpdq_compare(original, clips.video_vpdq(data))
    assert score.query_percent >= 80 and score.compared_percent >= 80
    other = clips.video_vpdq(clips.video_bytes(seed + 1000))
    assert vpdq_compare(original, other).query_percent == 0
