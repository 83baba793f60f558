"""The dataset: empty queries, day partitions, uncommitted parts invisible and recovered."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from icarus.core.settings import load_settings
from icarus.sensors.dataset import (
    KEY_BYTES,
    content_key_matrix,
    content_keys,
    dataset_dir,
    ledger,
    query,
    recover,
    stats,
)
from icarus.sensors.formats.base import SightingRecord
from icarus.sensors.formats.columns import records_table
from icarus.sensors.ingest import ingest_files
from tests.sensors.conftest import banked_settings, world_files


def test_an_empty_workspace_queries_as_empty(tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path))
    assert query(settings, "SELECT count(*) AS n FROM sightings").column("n")[0].as_py() == 0
    assert stats(settings).rows == 0


def test_parts_are_day_partitioned_and_orphans_are_invisible(world: Path,
                                                             tmp_path: Path) -> None:
    settings = banked_settings(tmp_path / "home", world)
    [report] = ingest_files(settings, world_files(world)[:1])
    root = dataset_dir(settings)
    parts = sorted(root.glob("day=*/*.parquet"))
    assert parts and all(p.name.startswith(f"part-{report.sha256[:16]}-") for p in parts)
    days = query(settings, "SELECT DISTINCT day, CAST(observed_at AS DATE) AS d "
                           "FROM sightings").to_pydict()
    assert days["day"] == days["d"]
    orphan = parts[0].with_name("part-0123456789abcdef-0.parquet")
    shutil.copy(parts[0], orphan)  # as a crash between rename and commit leaves it
    assert stats(settings).rows == report.kept
    led = ledger(settings)
    try:
        assert recover(settings, led) == 1
    finally:
        led.close()
    assert not orphan.exists()


def test_keys_are_new_once_across_and_within_batches(tmp_path: Path) -> None:
    led = ledger(load_settings(home=str(tmp_path)))
    try:
        led.begin()
        a, b, c = (bytes([i]) * 16 for i in (3, 1, 2))
        assert led.add_keys([a, b, a, c, b]) == [True, True, False, True, False]
        keys = np.frombuffer(b"".join([c, bytes(16), c, a, bytes(16)]), dtype=np.uint8)
        assert led.add_key_matrix(keys.reshape(5, 16)).tolist() == [
            False, True, False, False, False]
        # The batch with a stored key was undone and made again: its new key is stored once.
        assert led.add_keys([bytes(16), bytes([9]) * 16]) == [False, True]
        assert led.db.execute("SELECT count(*) FROM keys").fetchone()[0] == 5
        assert led.add_keys([]) == []
        assert led.add_key_matrix(np.zeros((0, 16), np.uint8)).shape == (0,)
        led.rollback()
        assert led.add_keys([a]) == [True]  # the rolled back keys are gone
    finally:
        led.close()


def test_content_keys_are_the_time_then_the_hash_of_the_documented_encoding() -> None:
    when = datetime(2024, 4, 4, 7, 38, 12, 460_000, tzinfo=UTC)
    rec = SightingRecord(when, "edonkey", "83.29.40.198", 4662, "ed2k", bytes(range(16)),
                         "dk-ed2k-1", "browse", file_name="a.avi", file_size=82_258,
                         nickname="")
    micros = int(when.timestamp()) * 10**6 + 460_000

    absent = b"\xff\xff\xff\xff"
    lengths = [8, 7, 12, 8, 4, 16, 9, 6, None, 5, 8, None, None, None, None, None, 0]
    numbers = [micros, 4662, 82_258, 0]
    encoding = b"".join([
        *(absent if n is None else n.to_bytes(4, "big") for n in lengths),
        *(v.to_bytes(8, "big", signed=True) for v in numbers),
        b"edonkey", b"83.29.40.198", b"ed2k", bytes(range(16)), b"dk-ed2k-1", b"browse",
        b"a.avi"])
    [key] = content_keys(records_table([rec]))
    assert len(key) == KEY_BYTES
    assert key == (micros + (1 << 63)).to_bytes(8, "big") + hashlib.sha256(encoding).digest()[:16]
    # Any field that differs (absent is not empty, nor zero; bytes moved from one field to
    # the next) gives another key; later times sort after.
    others = [replace(rec, nickname=None), replace(rec, ed2k_client_id=0),
              replace(rec, port=4663), replace(rec, file_name="b"),
              replace(rec, observed_at=when + timedelta(microseconds=1)),
              replace(rec, observed_at=datetime(1969, 12, 31, tzinfo=UTC)),
              replace(rec, sensor="dk-ed2k-1b", evidence="rowse")]  # the same bytes in all
    keys = content_keys(records_table([rec, *others]))
    assert len(set(keys)) == len(keys) and keys[0] == key
    assert keys[6] < keys[0] < keys[5]
    assert content_key_matrix(records_table([rec, *others])).tobytes() == b"".join(keys)


def test_sighting_ids_are_distinct_stable_and_decrypt_to_their_line() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from icarus.sensors.formats.columns import sighting_ids

    sha_a, sha_b = "ab" * 32, "cd" * 32
    lines = np.arange(1, 200_001, dtype=np.int64)
    ids = sighting_ids(sha_a, lines)
    values = ids.to_pylist()
    assert len(set(values)) == len(lines)  # one file's lines never share an id
    assert sighting_ids(sha_a, lines[::-1]).to_pylist() == values[::-1]  # per line, stable
    assert set(sighting_ids(sha_b, lines[:1000]).to_pylist()).isdisjoint(values)
    # The documented definition: AES-128 of the 16-byte big-endian line under sha[:16].
    plain = Cipher(algorithms.AES(bytes.fromhex(sha_a)[:16]),
                   modes.ECB()).decryptor()  # noqa: S305 - a permutation, not secrecy
    back = plain.update(b"".join(values[:5000])) + plain.finalize()
    assert [int.from_bytes(back[i:i + 16], "big") for i in range(0, len(back), 16)] \
        == lines[:5000].tolist()
