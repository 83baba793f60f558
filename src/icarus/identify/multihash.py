"""One-pass multi-hashing: MD5, SHA-1, SHA-256, ed2k (red and blue) and optionally TTH.

Each file is read once, into a reusable buffer of :data:`BUFFER_SIZE` bytes, and every buffer is
fed to every hasher: memory stays bounded whatever the file size. Many files are hashed in
parallel by threads: ``hashlib``, pycryptodome (MD4) and LibRHash (TTH, via ctypes) all release
the GIL while they hash a buffer, so threads use every core.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path

from icarus.core.errors import InputError, InternalError, UsageError
from icarus.domain.digests import FileDigests
from icarus.identify.ed2k import Ed2kHasher
from icarus.identify.tth import TthHasher, require_tth

BUFFER_SIZE = 1 << 20
"""Bytes read at a time: large enough that per-call overhead vanishes, small enough for cache."""

PROGRESS_INTERVAL = 0.2  # seconds between progress reports while no file completes

BATCH = 64  # outcomes handed to the consumer at once, at most
BATCH_DELAY = 0.05  # seconds an outcome may wait in a worker's batch before it goes anyway
RESULTS_QUEUE = 64  # batches that may wait for the consumer before the workers pause

_O_NOATIME = getattr(os, "O_NOATIME", 0)
_FADVISE = hasattr(os, "posix_fadvise")


@dataclass(frozen=True, slots=True)
class HashOutcome:
    """The result for one file of :func:`hash_files`: digests, or the reason there are none."""

    path: Path
    digests: FileDigests | None
    error: str | None
    """Why the file could not be hashed (it names the path and the OS reason); else ``None``."""


class _CancelledError(Exception):
    """The consumer of :func:`hash_files` went away: abandon the file being read."""


class _Hashers:
    """Every hasher of one content, fed the same buffers."""

    __slots__ = ("ed2k", "md5", "sha1", "sha256", "size", "tth")

    def __init__(self, tth: bool) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.ed2k = Ed2kHasher()
        self.tth = TthHasher() if tth else None
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.md5.update(data)
        self.sha1.update(data)
        self.sha256.update(data)
        self.ed2k.update(data)
        if self.tth is not None:
            self.tth.update(data)
        self.size += memoryview(data).nbytes

    def result(self) -> FileDigests:
        ed2k = self.ed2k.digests()
        return FileDigests(
            size=self.size,
            md5=self.md5.digest(),
            sha1=self.sha1.digest(),
            sha256=self.sha256.digest(),
            ed2k=ed2k.red,
            ed2k_blue=ed2k.blue,
            tth=self.tth.digest() if self.tth is not None else None,
        )


def _open(path: Path) -> int:
    # O_NOATIME keeps the evidence's access times as they were; only the owner (or root) may
    # ask for it, so anyone else falls back to a plain open.
    flags = os.O_RDONLY | os.O_CLOEXEC
    if _O_NOATIME:
        with contextlib.suppress(PermissionError):
            return os.open(path, flags | _O_NOATIME)
    return os.open(path, flags)


def _hash_path(
    path: Path,
    tth: bool,
    view: memoryview,
    on_bytes: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> FileDigests:
    """Hash the file at ``path`` through ``view``; OS errors propagate as :class:`OSError`."""
    hashers = _Hashers(tth)
    fd = _open(path)
    try:
        while count := os.readv(fd, [view]):
            if _FADVISE and count == len(view) and not hashers.size:
                # A file longer than one buffer: ask the kernel for a larger read-ahead.
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            hashers.update(view[:count] if count < len(view) else view)
            if on_bytes is not None:
                on_bytes(count)
            if stop is not None and stop.is_set():
                raise _CancelledError
    finally:
        os.close(fd)
    return hashers.result()


def _reason(path: Path, exc: OSError) -> str:
    return f"{path}: cannot read: {exc.strerror or exc}"


def hash_file(path: Path, *, tth: bool = False) -> FileDigests:
    """Every digest of the file at ``path``, reading it once with bounded memory.

    ``size`` is the number of bytes read. Raises :class:`InputError` naming the path and the
    OS reason when the file cannot be read, and :class:`InternalError` when ``tth`` is asked
    but LibRHash is missing.
    """
    view = memoryview(bytearray(BUFFER_SIZE))
    try:
        return _hash_path(Path(path), tth, view)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None


def hash_bytes(data: bytes | bytearray | memoryview, *, tth: bool = False) -> FileDigests:
    """Every digest of ``data`` held in memory (the same values :func:`hash_file` gives)."""
    hashers = _Hashers(tth)
    hashers.update(data)
    return hashers.result()


def _plan(paths: Iterable[Path]) -> tuple[list[tuple[int, Path]], list[HashOutcome]]:
    """Jobs as (size, path), largest first; files that cannot even be stat'ed as outcomes."""
    jobs: list[tuple[int, Path]] = []
    failed: list[HashOutcome] = []
    for raw in paths:
        path = Path(raw)
        try:
            info = path.stat()
        except OSError as exc:
            failed.append(HashOutcome(path, None, _reason(path, exc)))
            continue
        if not stat.S_ISREG(info.st_mode):
            failed.append(HashOutcome(path, None, f"{path}: not a regular file"))
            continue
        jobs.append((info.st_size, path))
    # Largest first, so that no big file starts last and leaves the other workers idle.
    jobs.sort(key=lambda job: (-job[0], str(job[1])))
    return jobs, failed


@dataclass(frozen=True, slots=True)
class _Crash:
    error: BaseException  # a worker's unexpected error, re-raised in the consumer's thread


_DONE = object()


class _Pool:
    """Worker threads that take jobs (largest first) and put outcomes on a queue."""

    def __init__(self, jobs: list[tuple[int, Path]], workers: int, tth: bool) -> None:
        self._jobs = iter(jobs)
        self._jobs_lock = threading.Lock()
        self._tth = tth
        self.stop = threading.Event()
        # Bounded, so a slow consumer holds back the workers instead of piling up outcomes.
        self.results: queue.Queue[object] = queue.Queue(maxsize=RESULTS_QUEUE)
        count = max(1, min(workers, len(jobs)))
        self.done_bytes = [0] * count
        """Bytes hashed by each worker; each slot has one writer, the consumer sums them."""
        self.threads = [
            threading.Thread(
                target=self._work, args=(slot,), name=f"icarus-hash-{slot}", daemon=True
            )
            for slot in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _next(self) -> Path | None:
        with self._jobs_lock:
            job = next(self._jobs, None)
        return None if job is None else job[1]

    def _work(self, slot: int) -> None:
        view = memoryview(bytearray(BUFFER_SIZE))
        done = self.done_bytes

        def on_bytes(count: int) -> None:
            done[slot] += count

        # Outcomes travel in batches: one queue hand-over per small file would cost more than
        # hashing it. A batch leaves when full or when it has waited BATCH_DELAY.
        batch: list[HashOutcome] = []
        flushed = time.monotonic()
        try:
            while not self.stop.is_set():
                path = self._next()
                if path is None:
                    break
                try:
                    digests = _hash_path(path, self._tth, view, on_bytes, self.stop)
                except OSError as exc:
                    batch.append(HashOutcome(path, None, _reason(path, exc)))
                else:
                    batch.append(HashOutcome(path, digests, None))
                now = time.monotonic()
                if len(batch) >= BATCH or now - flushed >= BATCH_DELAY:
                    self._put(batch)
                    batch, flushed = [], now
        except _CancelledError:
            pass
        except BaseException as exc:  # handed to the consumer, who re-raises
            self._put(_Crash(exc))
        finally:
            if batch:
                self._put(batch)
            self._put(_DONE)

    def _put(self, item: object) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(queue.Full):
                self.results.put(item, timeout=PROGRESS_INTERVAL)
                return

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def hash_files(
    paths: Iterable[Path],
    *,
    workers: int,
    tth: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Generator[HashOutcome, None, None]:
    """Hash many files in parallel: one :class:`HashOutcome` per path, in completion order.

    Every path is stat'ed first so the largest files start first (the run ends with small
    files, keeping all ``workers`` threads busy to the end); outcomes therefore come in
    completion order, not in the order of ``paths``: key them by ``path``. A path that is
    missing, not a regular file or unreadable yields an outcome whose ``error`` names it and the
    OS reason; the run goes on. ``progress``, if given, is called in the consumer's thread with
    the number of bytes hashed since its previous call (at least every
    :data:`PROGRESS_INTERVAL` seconds while bytes flow, and before each outcome is yielded):
    over a run, the calls add up to the bytes read. Closing the iterator early stops the
    workers after their current buffer. Raises :class:`UsageError` for ``workers`` < 1 and
    :class:`InternalError` when ``tth`` is asked but LibRHash is missing.
    """
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if tth:
        require_tth()  # before any work: a missing library is not a per-file error
    jobs, failed = _plan(paths)
    yield from failed
    if not jobs:
        return
    pool = _Pool(jobs, workers, tth)
    reported = 0
    running = len(pool.threads)
    try:
        while running:
            try:
                item = pool.results.get(timeout=PROGRESS_INTERVAL)
            except queue.Empty:
                item = None
            if progress is not None:
                done = sum(pool.done_bytes)
                if done > reported:
                    progress(done - reported)
                    reported = done
            if item is _DONE:
                running -= 1
            elif isinstance(item, _Crash):
                raise InternalError(f"hashing failed: {item.error!r}") from item.error
            elif isinstance(item, list):
                yield from item
    finally:
        pool.close()
