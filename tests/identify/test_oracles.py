"""Icarus against independent tools: Debian's rhash and hashdeep on files of awkward sizes.

The files are random (seeded) and sized around the boundaries that matter: TTH leaves (1024),
the read buffer, ed2k parts (9,728,000). rhash prints eMule's ("red") ed2k and TTH in base32.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from icarus.domain.digests import FileDigests
from icarus.identify.ed2k import PARTSIZE
from icarus.identify.kinds.base import base32_encode
from icarus.identify.multihash import BUFFER_SIZE, hash_file, hash_files
from icarus.identify.tth import tth_available

pytestmark = pytest.mark.oracle

SIZES = [
    0,
    1,
    1023,
    1024,
    1025,
    BUFFER_SIZE - 1,
    BUFFER_SIZE + 1,
    PARTSIZE - 1,
    PARTSIZE,
    PARTSIZE + 1,
    2 * PARTSIZE,
]
SIZES += random.Random(1320).sample(range(2, 3 * PARTSIZE), 3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("oracle")
    rng = random.Random(20260529)
    paths = []
    for size in SIZES:
        path = folder / f"size-{size:09d}.bin"
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def icarus(corpus: list[Path]) -> dict[str, FileDigests]:
    outcomes = list(hash_files(corpus, workers=2, tth=tth_available()))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    return {o.path.name: o.digests for o in outcomes if o.digests is not None}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {name}); the oracle is skipped")
    return path


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, check=True, text=True).stdout


def test_rhash_agrees(corpus: list[Path], icarus: dict[str, FileDigests]) -> None:
    rhash = _tool("rhash")
    if not tth_available():
        pytest.skip("TTH needs LibRHash (Debian librhash0)")
    fmt = r"%{md5} %{sha1} %{sha-256} %{ed2k} %{tth} %f\n"
    lines = _run([rhash, "--printf", fmt, *map(str, corpus)]).splitlines()
    assert len(lines) == len(corpus)
    for line in lines:
        md5, sha1, sha256, ed2k, tth, name = line.split(" ", 5)
        ours = icarus[name]
        assert (ours.md5.hex(), ours.sha1.hex(), ours.sha256.hex()) == (md5, sha1, sha256), name
        assert ours.ed2k.hex() == ed2k, name
        assert ours.tth is not None
        assert base32_encode(ours.tth) == tth.upper(), name


def test_hashdeep_agrees(corpus: list[Path], icarus: dict[str, FileDigests]) -> None:
    hashdeep = _tool("hashdeep")
    out = _run([hashdeep, "-c", "md5,sha1,sha256", *map(str, corpus)])
    rows = [line for line in out.splitlines() if line and line[0] not in "%#"]
    assert len(rows) == len(corpus)
    for row in rows:
        size, md5, sha1, sha256, path = row.split(",", 4)
        ours = icarus[Path(path).name]
        assert ours.size == int(size)
        assert (ours.md5.hex(), ours.sha1.hex(), ours.sha256.hex()) == (md5, sha1, sha256)


def test_single_file_api_agrees_with_the_parallel_run(
    corpus: list[Path], icarus: dict[str, FileDigests]
) -> None:
    for path in corpus[:6]:
        assert hash_file(path, tth=tth_available()) == icarus[path.name]
