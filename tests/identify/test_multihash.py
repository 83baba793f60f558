"""One-pass hashing of files and trees: values, parallel runs, failures, progress.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from icarus.core.errors import InputError, InternalError, UsageError
from icarus.identify import multihash
from icarus.identify.ed2k import PARTSIZE, ed2k_bytes
from icarus.identify.multihash import HashOutcome, hash_bytes, hash_file, hash_files
from icarus.identify.tth import tth_available, tth_bytes

RandomBytes = Callable[[int, int], bytes]
MakeFile = Callable[[str, bytes], Path]


def _tree(make_file: MakeFile, random_bytes: RandomBytes, count: int = 40) -> list[Path]:
    sizes = [0, 1, 1023, 1024, 1025, multihash.BUFFER_SIZE, multihash.BUFFER_SIZE + 1, PARTSIZE + 7]
    sizes += [(i * 7919) % 300_000 for i in range(count - len(sizes))]
    return [
        make_file(f"tree/d{i % 3}/f{i:03d}.bin", random_bytes(i, size))
        for i, size in enumerate(sizes)
    ]


def test_hash_bytes_agrees_with_each_algorithm(random_bytes: RandomBytes) -> None:
    data = random_bytes(7, 3 * 1024 * 1024 + 5)
    digests = hash_bytes(data, tth=tth_available())
    assert digests.size == len(data)
    assert digests.md5 == hashlib.md5(data, usedforsecurity=False).digest()
    assert digests.sha1 == hashlib.sha1(data, usedforsecurity=False).digest()
    assert digests.sha256 == hashlib.sha256(data).digest()
    assert (digests.ed2k, digests.ed2k_blue) == (ed2k_bytes(data).red, ed2k_bytes(data).blue)
    if tth_available():
        assert digests.tth == tth_bytes(data)
    assert hash_bytes(data).tth is None


@pytest.mark.parametrize("buffer_size", [1, 1000, 1024, 4099, 1 << 20])
def test_hash_file_reads_in_buffers_of_any_size(
    buffer_size: int,
    monkeypatch: pytest.MonkeyPatch,
    make_file: MakeFile,
    random_bytes: RandomBytes,
) -> None:
    # A small buffer makes every read cut a TTH leaf and an ed2k part somewhere new.
    data = random_bytes(3, PARTSIZE + 3000 if buffer_size >= 1000 else 5000)
    path = make_file("one.bin", data)
    monkeypatch.setattr(multihash, "BUFFER_SIZE", buffer_size)
    assert hash_file(path, tth=tth_available()) == hash_bytes(data, tth=tth_available())


def test_hash_file_of_a_missing_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.bin"
    with pytest.raises(InputError, match=r"gone\.bin: cannot read: No such file"):
        hash_file(missing)


def test_parallel_run_equals_sequential_hashing(
    make_file: MakeFile, random_bytes: RandomBytes
) -> None:
    paths = _tree(make_file, random_bytes)
    outcomes = list(hash_files(paths, workers=2))
    assert sorted(o.path for o in outcomes) == sorted(paths)
    assert all(o.error is None for o in outcomes)
    assert {o.path: o.digests for o in outcomes} == {p: hash_file(p) for p in paths}


@pytest.mark.skipif(not tth_available(), reason="TTH needs LibRHash (Debian librhash0)")
def test_parallel_run_computes_tth_on_request(
    make_file: MakeFile, random_bytes: RandomBytes
) -> None:
    paths = _tree(make_file, random_bytes, count=12)
    outcomes = {o.path: o.digests for o in hash_files(paths, workers=2, tth=True)}
    assert outcomes == {p: hash_file(p, tth=True) for p in paths}


def test_biggest_files_start_first(make_file: MakeFile) -> None:
    paths = [make_file(f"s{size}.bin", bytes(size)) for size in (10, 5000, 0, 300, 70_000)]
    outcomes = list(hash_files(paths, workers=1))
    sizes = [o.digests.size for o in outcomes if o.digests is not None]
    assert sizes == [70_000, 5000, 300, 10, 0]


def test_failures_are_outcomes_and_the_run_goes_on(
    make_file: MakeFile,
    random_bytes: RandomBytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = _tree(make_file, random_bytes, count=10)
    vanished = tmp_path / "vanished.bin"
    folder = tmp_path / "tree"
    unreadable = make_file("unreadable.bin", b"secret")
    real_open = multihash._open

    def refusing_open(path: Path) -> int:
        # Tests may run as root, where chmod 000 does not stop reading: refuse in open instead.
        if path == unreadable:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path)

    monkeypatch.setattr(multihash, "_open", refusing_open)
    outcomes = {o.path: o for o in hash_files([*good, vanished, folder, unreadable], workers=2)}
    assert set(outcomes) == {*good, vanished, folder, unreadable}
    assert all(outcomes[p].digests is not None for p in good)
    for path, reason in (
        (vanished, "No such file"),
        (folder, "not a regular file"),
        (unreadable, "Permission denied"),
    ):
        outcome = outcomes[path]
        assert outcome.digests is None
        assert outcome.error is not None
        assert str(path) in outcome.error
        assert reason in outcome.error


def test_a_slow_consumer_gets_every_outcome(
    make_file: MakeFile, random_bytes: RandomBytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multihash, "RESULTS_QUEUE", 1)
    paths = _tree(make_file, random_bytes)
    got = []
    for outcome in hash_files(paths, workers=2):
        time.sleep(0.001)
        got.append(outcome.path)
    assert sorted(got) == sorted(paths)


def test_progress_adds_up_to_the_bytes_hashed(
    make_file: MakeFile, random_bytes: RandomBytes
) -> None:
    paths = _tree(make_file, random_bytes)
    calls: list[int] = []
    caller_threads: set[int] = set()

    def progress(done: int) -> None:
        calls.append(done)
        caller_threads.add(threading.get_ident())

    outcomes = list(hash_files(paths, workers=2, progress=progress))
    assert sum(calls) == sum(p.stat().st_size for p in paths)
    assert all(c > 0 for c in calls)
    assert sum(o.digests.size for o in outcomes if o.digests) == sum(calls)
    assert caller_threads == {threading.get_ident()}


def test_closing_early_stops_the_workers(
    make_file: MakeFile, random_bytes: RandomBytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-place queue: the workers are blocked handing over outcomes when the consumer leaves.
    monkeypatch.setattr(multihash, "RESULTS_QUEUE", 1)
    paths = _tree(make_file, random_bytes)
    outcomes = hash_files(paths, workers=2)
    first = next(outcomes)
    assert isinstance(first, HashOutcome)
    outcomes.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("icarus-hash-")]


def test_an_unexpected_worker_error_is_raised_not_swallowed(
    make_file: MakeFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(multihash, "_hash_path", broken)
    with pytest.raises(InternalError, match="bug"):
        list(hash_files([make_file("a.bin", b"a")], workers=2))


def test_tth_without_librhash_fails_before_any_work(
    make_file: MakeFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise InternalError("TTH needs LibRHash; install the Debian package 'librhash0'")

    monkeypatch.setattr(multihash, "require_tth", missing)
    with pytest.raises(InternalError, match="librhash0"):
        next(hash_files([make_file("a.bin", b"a")], workers=2, tth=True))


def test_workers_must_be_positive() -> None:
    with pytest.raises(UsageError, match="workers"):
        list(hash_files([], workers=0))
