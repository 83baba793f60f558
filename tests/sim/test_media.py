"""Content items regenerate byte for byte from a seed; their variants stay perceptually close."""

from __future__ import annotations

import io
import itertools
import zipfile

import pytest
from PIL import Image

from icarus.core.errors import UsageError
from icarus.identify.pdq import DEFAULT_RADIUS, PdqHash, hamming, pdq_image
from icarus.sim import media

SEEDS = range(1000, 1030)


def _pdq(data: bytes) -> PdqHash:
    with Image.open(io.BytesIO(data)) as img:
        return pdq_image(img)


def test_pictures_are_deterministic_and_encoded_as_specified() -> None:
    for seed in SEEDS:
        data = media.image_bytes(seed)
        assert data == media.image_bytes(seed)
        spec = media.image_spec(seed)
        with Image.open(io.BytesIO(data)) as img:
            assert img.size == (spec.width, spec.height)
            assert img.format == spec.format.upper()
            assert "exif" not in img.info  # no camera metadata, no dates
        assert 320 * 240 <= spec.width * spec.height <= 640 * 480


def test_some_pictures_are_png() -> None:
    formats = {media.image_spec(seed).format for seed in range(200)}
    assert formats == {"jpeg", "png"}


def test_pictures_hash_well_and_apart() -> None:
    hashes = [_pdq(media.image_bytes(seed)) for seed in SEEDS]
    assert min(h.quality for h in hashes) >= 50
    distances = [hamming(a.value, b.value) for a, b in itertools.combinations(hashes, 2)]
    assert min(distances) > DEFAULT_RADIUS


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_picture_variants_are_near_duplicates_with_bytes_of_their_own(k: int) -> None:
    for seed in SEEDS:
        original = media.image_bytes(seed)
        copy = media.image_variant(seed, k)
        assert copy != original
        assert copy == media.image_variant(seed, k)
        assert hamming(_pdq(original).value, _pdq(copy).value) <= DEFAULT_RADIUS


def test_scene_is_the_same_picture_at_another_size() -> None:
    for seed in SEEDS:
        small, large = media.scene(seed, (160, 120)), media.scene(seed, (320, 240))
        assert hamming(pdq_image(small).value, pdq_image(large).value) <= DEFAULT_RADIUS


def test_archives_hold_their_members_with_fixed_dates() -> None:
    for seed in range(20):
        data = media.archive_bytes(seed)
        assert data == media.archive_bytes(seed)
        listing = media.archive_members(seed)
        assert 2 <= len(listing) <= 5
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            assert [i.filename for i in infos] == [name for name, _ in listing]
            assert len({i.date_time for i in infos}) == 1
            assert 2005 <= infos[0].date_time[0] <= 2011
            for (_, member), info in zip(listing, infos, strict=True):
                assert archive.read(info) == media.image_bytes(member)


def test_archive_variant_repacks_the_same_pictures() -> None:
    seed = 7
    original, repacked = media.archive_bytes(seed), media.archive_bytes(seed, variant=1)
    assert original != repacked
    with zipfile.ZipFile(io.BytesIO(original)) as a, zipfile.ZipFile(io.BytesIO(repacked)) as b:
        assert sorted((i.filename, a.read(i)) for i in a.infolist()) == sorted(
            (i.filename, b.read(i)) for i in b.infolist())


def test_other_files_are_small_random_bytes() -> None:
    sizes = []
    for seed in range(100):
        data = media.other_bytes(seed)
        assert data == media.other_bytes(seed)
        sizes.append(len(data))
    assert min(sizes) >= media.OTHER_SIZES[0]
    assert max(sizes) <= media.OTHER_SIZES[1]
    assert len(set(sizes)) > 90


def test_seeds_carry_the_variant_number() -> None:
    seed = 123_456_789
    assert media.split_seed(media.variant_seed(seed, 5)) == (seed, 5)
    assert media.media_bytes("image", media.variant_seed(seed, 2)) == media.image_variant(seed, 2)
    assert media.media_bytes("image", seed) == media.image_bytes(seed)
    with pytest.raises(UsageError):
        media.variant_seed(seed, 128)
    with pytest.raises(UsageError):
        media.split_seed(-1)


def test_bad_requests_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="media kind"):
        media.media_bytes("song", 1)
    with pytest.raises(UsageError, match="no perceptual variant"):
        media.media_bytes("other", media.variant_seed(1, 1))
    with pytest.raises(UsageError):
        media.image_variant(1, 0)
