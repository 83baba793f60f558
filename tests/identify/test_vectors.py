"""Published reference values for ed2k (red and blue), TTH and SHA-1 (hex and urn:sha1).

The values are facts, checked against RHash 1.4.3 (``rhash --printf``), the ed2k rules of eMule's
KnownFile.cpp (an extra MD4("") part hash at exact multiples of 9,728,000 bytes: "red") and the
THEX draft (Tiger tree, 1024-byte leaves). Each vector goes through hash_bytes, hash_file (a
real file), and the incremental hashers fed in odd chunk sizes that cut across 1024-byte leaves
and 9,728,000-byte ed2k parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from icarus.domain.digests import Digest
from icarus.identify.ed2k import PARTSIZE, Ed2kHasher, md4
from icarus.identify.kinds import parse_digest
from icarus.identify.kinds.base import base32_encode
from icarus.identify.multihash import hash_bytes, hash_file
from icarus.identify.tth import TthHasher, tth_available

HAVE_TTH = tth_available()
"""Without LibRHash the ed2k and SHA-1 vectors are still checked (test_tth.py reports the skip)."""


@dataclass(frozen=True)
class Vector:
    name: str
    make: Callable[[], bytes]
    ed2k_red: str
    ed2k_blue: str
    tth: str
    sha1: str
    urn_sha1: str


VECTORS = [
    Vector(
        "empty",
        lambda: b"",
        "31d6cfe0d16ae931b73c59d7e0c089c0",
        "31d6cfe0d16ae931b73c59d7e0c089c0",
        "LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ",
    ),
    Vector(
        "a",
        lambda: b"a",
        "bde52cb31de33e46245e05fbdbd6fb24",
        "bde52cb31de33e46245e05fbdbd6fb24",
        "CZQUWH3IYXBF5L3BGYUGZHASSMXU647IP2IKE4Y",
        "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
        "Q336IN72UWT7ZYK5DXOLT2XK5I3XMZ5Y",
    ),
    Vector(
        "one-zero-byte",
        lambda: b"\x00",
        "47c61a0fa8738ba77308a8a600f88e4b",
        "47c61a0fa8738ba77308a8a600f88e4b",
        "VK54ZIEEVTWNAUI5D5RDFIL37LX2IQNSTAXFKSA",
        "5ba93c9db0cff93f52b521d7420e43f6eda2784f",
        "LOUTZHNQZ74T6UVVEHLUEDSD63W2E6CP",
    ),
    Vector(
        "A*1024",
        lambda: b"A" * 1024,
        "ee9e857a30fe7d5a0dc88cf9fc68b2c7",
        "ee9e857a30fe7d5a0dc88cf9fc68b2c7",
        "L66Q4YVNAFWVS23X2HJIRA5ZJ7WXR3F26RSASFA",
        "746c3f4d286c531e065e8af76e0ac0868831c6b4",
        "ORWD6TJINRJR4BS6RL3W4CWAQ2EDDRVU",
    ),
    Vector(
        "A*1025",
        lambda: b"A" * 1025,
        "809d2cca45678f9e8f4abe56d266fa39",
        "809d2cca45678f9e8f4abe56d266fa39",
        "PZMRYHGY6LTBEH63ZWAHDORHSYTLO4LEFUIKHWY",
        "a50e7941e785dbdbf88cc2bc21fd09f84f9993ff",
        "UUHHSQPHQXN5X6EMYK6CD7IJ7BHZTE77",
    ),
    Vector(
        "zeros-9727999",
        lambda: bytes(9_727_999),
        "ac44b93fc9aff773ab0005c911f8396f",
        "ac44b93fc9aff773ab0005c911f8396f",
        "V7A6Z4LOVRC2HNHGUMF3FEKKITOY6C4DOPA6YZA",
        "3b8ce986e6448e359296088fd322f1d4e975c3ba",
        "HOGOTBXGISHDLEUWBCH5GIXR2TUXLQ52",
    ),
    Vector(
        "zeros-9728000",
        lambda: bytes(9_728_000),
        "fc21d9af828f92a8df64beac3357425d",
        "7afd7280385f4734932830cac10a92cf",
        "L375FY7XKPBVJOSCVNE74SL4IPHVOIXOBUD2MOI",
        "569deec5fdfe62c5e7cfaa880dd7c7c136e3e07e",
        "K2O65RP57ZRMLZ6PVKEA3V6HYE3OHYD6",
    ),
    Vector(
        "zeros-9728001",
        lambda: bytes(9_728_001),
        "06329e9dba1373512c06386fe29e3c65",
        "06329e9dba1373512c06386fe29e3c65",
        "H3TED23PNJPVEBA7B5PYQIWPYDPDEKGSAA5DLPA",
        "baee781d9c46776c85485d48ee262655a4f25634",
        "XLXHQHM4IZ3WZBKILVEO4JRGKWSPEVRU",
    ),
    Vector(
        "zeros-19456000",
        lambda: bytes(19_456_000),
        "114b21c63a74b6ca922291a11177dd5c",
        "194ee9e4fa79b2ee9f8829284c466051",
        "JNWOIGWQL4DPFHSRHTJHGNHBVO3MM3SK7PWH4ZI",
        "7bdb39bfa4defd50a15a68d1da9ef0254c0ea82e",
        "PPNTTP5E336VBIK2NDI5VHXQEVGA5KBO",
    ),
    Vector(
        "0x55-9728000",
        lambda: b"\x55" * 9_728_000,
        "49e80f377b7e4e706dbd3ecc89f39306",
        "9080ce995ad0871c9814b72404762742",
        "6K4CADVG25PYI24E5PCPHWUVRCPDVTLTIBJMQHI",
        "8cd79b71e90612af029393448a894c90cda20ffe",
        "RTLZW4PJAYJK6AUTSNCIVCKMSDG2ED76",
    ),
]

ODD_CHUNKS = (1, 7, 1023, 1025, 4096 + 3, 65_537, 1_000_003, PARTSIZE - 5)
"""Chunk sizes cycled through: they cut leaves and parts at ever different offsets."""


def _chunks(data: bytes) -> Iterator[memoryview]:
    view = memoryview(data)
    offset = 0
    turn = 0
    while offset < len(view):
        size = ODD_CHUNKS[turn % len(ODD_CHUNKS)]
        yield view[offset : offset + size]
        offset += size
        turn += 1


def _check(vector: Vector, size: int, red: bytes, blue: bytes, tth: bytes | None) -> None:
    assert size == len(vector.make())
    assert red.hex() == vector.ed2k_red
    assert blue.hex() == vector.ed2k_blue
    if HAVE_TTH:
        assert tth is not None
        assert base32_encode(tth) == vector.tth


@pytest.fixture(scope="module")
def data_cache() -> dict[str, bytes]:
    return {}


def _data(vector: Vector, cache: dict[str, bytes]) -> bytes:
    if vector.name not in cache:
        cache[vector.name] = vector.make()
    return cache[vector.name]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_hash_bytes_gives_the_reference_values(
    vector: Vector, data_cache: dict[str, bytes]
) -> None:
    digests = hash_bytes(_data(vector, data_cache), tth=HAVE_TTH)
    _check(vector, digests.size, digests.ed2k, digests.ed2k_blue, digests.tth)
    assert digests.sha1.hex() == vector.sha1


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_hash_file_gives_the_reference_values(
    vector: Vector, data_cache: dict[str, bytes], tmp_path: Path
) -> None:
    path = tmp_path / "content.bin"
    path.write_bytes(_data(vector, data_cache))
    digests = hash_file(path, tth=HAVE_TTH)
    _check(vector, digests.size, digests.ed2k, digests.ed2k_blue, digests.tth)
    assert digests.sha1.hex() == vector.sha1


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_incremental_hashers_cut_at_odd_offsets(
    vector: Vector, data_cache: dict[str, bytes]
) -> None:
    data = _data(vector, data_cache)
    ed2k = Ed2kHasher()
    tth = TthHasher() if HAVE_TTH else None
    for chunk in _chunks(data):
        ed2k.update(chunk)
        if tth is not None:
            tth.update(chunk)
    result = ed2k.digests()
    _check(vector, len(data), result.red, result.blue, tth.digest() if tth else None)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_sha1_as_gnutella_urn(vector: Vector, data_cache: dict[str, bytes]) -> None:
    sha1 = hash_bytes(_data(vector, data_cache)).sha1
    assert base32_encode(sha1) == vector.urn_sha1
    assert parse_digest("sha1", vector.urn_sha1) == Digest("sha1", sha1)


def test_md4_of_abc() -> None:
    # RFC 1320, appendix A.5.
    assert md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
