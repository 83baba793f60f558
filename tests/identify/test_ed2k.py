"""The incremental ed2k hasher: part boundaries, red/blue variants, misuse."""

from __future__ import annotations

import array
import random
from collections.abc import Callable

import pytest

from icarus.core.errors import InternalError
from icarus.identify.ed2k import EMPTY_MD4, PARTSIZE, Ed2kHasher, ed2k_bytes, md4


def _by_definition(data: bytes) -> tuple[bytes, bytes]:
    """ed2k (red, blue) written straight from the rules, slicing the whole content at once."""
    if len(data) < PARTSIZE:
        return md4(data), md4(data)
    parts = [md4(data[i : i + PARTSIZE]) for i in range(0, len(data), PARTSIZE)]
    blue = md4(b"".join(parts))
    red = md4(b"".join([*parts, EMPTY_MD4])) if len(data) % PARTSIZE == 0 else blue
    return red, blue


@pytest.mark.parametrize(
    "size",
    [0, 1, PARTSIZE - 1, PARTSIZE, PARTSIZE + 1, 2 * PARTSIZE, 2 * PARTSIZE + 12_345],
)
def test_matches_the_definition_at_every_boundary(
    size: int, random_bytes: Callable[[int, int], bytes]
) -> None:
    data = random_bytes(size, size)
    result = ed2k_bytes(data)
    assert (result.red, result.blue) == _by_definition(data)
    assert (result.red == result.blue) == (size == 0 or size % PARTSIZE != 0)


@pytest.mark.parametrize("seed", range(4))
def test_random_chunking_gives_the_same_value(
    seed: int, random_bytes: Callable[[int, int], bytes]
) -> None:
    data = random_bytes(99, 2 * PARTSIZE)
    rng = random.Random(seed)
    hasher = Ed2kHasher()
    offset = 0
    while offset < len(data):
        # Mostly small pieces, now and then one that spans a whole part or more.
        size = rng.choice([0, 1, rng.randrange(1, 70_000), rng.randrange(PARTSIZE, 2 * PARTSIZE)])
        hasher.update(data[offset : offset + size])
        offset += size
    assert hasher.digests() == ed2k_bytes(data)


def test_a_piece_ending_exactly_on_a_part_boundary() -> None:
    data = bytes(range(256)) * (2 * PARTSIZE // 256)
    hasher = Ed2kHasher()
    hasher.update(data[:PARTSIZE])
    hasher.update(b"")
    hasher.update(data[PARTSIZE:])
    assert (hasher.digests().red, hasher.digests().blue) == _by_definition(data)


def test_accepts_bytearray_and_wide_memoryviews() -> None:
    words = array.array("I", range(5000))
    expected = ed2k_bytes(words.tobytes())
    assert ed2k_bytes(memoryview(words)) == expected
    assert ed2k_bytes(bytearray(words.tobytes())) == expected


def test_digests_are_final() -> None:
    hasher = Ed2kHasher()
    hasher.update(b"abc")
    first = hasher.digests()
    assert hasher.digests() is first
    with pytest.raises(InternalError, match="after its digests"):
        hasher.update(b"more")


def test_md4_known_answers() -> None:
    # RFC 1320, appendix A.5.
    assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert md4(b"a").hex() == "bde52cb31de33e46245e05fbdbd6fb24"
    assert md4(b"message digest").hex() == "d9130a8164549fe818874806e1c7014b"
