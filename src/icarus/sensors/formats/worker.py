"""Reading files in worker processes, so that the ingest runs on every core.

Each of ``count`` workers reads blocks of a file (parse and vet, see :mod:`.columns`): each
time it is ready for one, it takes the next block no worker has taken yet, from a counter
the workers share (:class:`Counters`, :class:`~.columns.Claims`), so that a worker held up
(by the ingest process's own work on the same cores, say) takes fewer, and the workers end a
file together. For every valid record it makes its ``sighting_id`` (which depends on the file
and line alone); forked with the ingest's stage, it also matches the batch, sets the
unmatched rows aside (writing them itself) and hashes the content keys of the rest. The
ingest process takes the batches in block order, dedupes them through its ledger and writes
the kept rows. Readers without shards (record-by-record ones, plug-ins) are read whole by
the worker that takes block 0. They talk over socket pairs with
:mod:`multiprocessing.connection` messages (pickled; the ingest's staged batches carry their
tables as Arrow IPC streams):

* to a worker: ``(reader name, path, file SHA-256, index, count, context, counter slot)``,
  or None to stop;
* from it, per file and in its block order: ``(kind, rejects, prepared, block)`` messages,
  ``block`` being the block it is reading and kind one of ``batch`` (a batch of that block),
  ``block`` (its end), ``rest`` (it reads every block from here on: a block that needs those
  before it, such as a quoted CSV cell spanning lines), then ``end``, or ``error`` with the
  exception. Rejects are ``(position, reason, raw)`` as the reader gave them, in order; the
  ingest writes them to its quarantine in block order, so in line order.

Workers write nothing but, for the ingest's stage, the parts of a file's unmatched rows into
that file's temporary directory, which the ingest renames into place when it commits the file
(and its crash recovery removes otherwise): a kill of any process leaves only what that
recovery already removes. A worker stops when the ingest's end of its socket closes (the
ingest exited or was killed). A thread of the ingest per worker takes its messages as they
come, up to :data:`INBOX` ahead of the one being stored.
"""

from __future__ import annotations

import ctypes
import gc
import mmap
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from icarus.core.sinks import RecordSink
from icarus.sensors.formats.base import READERS, SightingReader
from icarus.sensors.formats.columns import (
    BATCH,
    BLOCK,
    REST,
    Batch,
    Claims,
    Event,
    Shard,
    batches_of_records,
    sighting_ids,
)

Reject = tuple[str, str, str | None]
INBOX = 4
"""Messages of a worker taken off its socket ahead of the one the ingest is storing (each
at most a block's batch)."""
MALLOC_MMAP_THRESHOLD = 32 << 20
"""In a worker, glibc's malloc serves blocks below this from its heap, not from a fresh
mapping of their own (see :func:`_keep_freed_memory`)."""
MALLOC_TRIM_THRESHOLD = 128 << 20
"""In a worker, glibc's malloc returns free memory at the top of its heap to the system only
beyond this much."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch and the ``sighting_id`` of each of its records (a ``binary(16)`` array)."""

    batch: Batch
    ids: pa.Array


def prepare(batch: Batch, sha: str) -> Prepared:
    """``batch`` of the file ``sha`` with its sighting ids."""
    return Prepared(batch, sighting_ids(sha, batch.lines))


def batches(reader: SightingReader, path: Path, sink: RecordSink) -> Iterator[Batch]:
    """The file's valid records in columns: the reader's own batches if it has a columnar
    path, else its records gathered into batches."""
    columnar = getattr(reader, "read_batches", None)
    if columnar is not None:
        out: Iterator[Batch] = columnar(path, sink)
        return out
    return batches_of_records(reader.read(path, sink))


class _Collect:
    """A sink that keeps the rejects until the next message takes them."""

    def __init__(self) -> None:
        self.rejects: list[Reject] = []

    def reject(self, position: str, reason: str, raw: str | None = None) -> None:
        self.rejects.append((position, reason, raw))

    def warn(self, position: str, message: str) -> None:
        """Warnings do not stop a record; the built-in readers emit none."""

    def take(self) -> list[Reject]:
        out, self.rejects = self.rejects, []
        return out


def _events(reader: SightingReader, path: Path, sink: RecordSink,
            shard: Shard) -> Iterable[Event]:
    """The events of ``shard`` of the file; a reader without shards is read whole by the
    worker that takes block 0 (as one :data:`REST`)."""
    sharded = getattr(reader, "read_events", None)
    if sharded is not None:
        events: Iterable[Event] = sharded(path, sink, shard)
        return events
    if not shard.mine(0):
        return ()

    def whole() -> Iterator[Event]:
        yield REST, None
        for batch in batches(reader, path, sink):
            yield BATCH, batch
    return whole()


Stage = Callable[[Batch, str], object]
"""What a worker does to each batch of a file before sending it (given the file's SHA-256):
:func:`prepare` by default; the ingest's own staging (matching, content keys, rows) when it
forks its workers with it. A stage with a ``for_file(context, index)`` method is asked for
the stage of each file whose task carries a context (the worker's ``index``): that one may
write files of its own (into the ingest's temporary directory of the file), and its
``finish()``, called after the file's last batch, gives what the ``end`` message carries."""


def _per_file(stage: Stage | None, context: object, index: int) -> Stage:
    """The stage of one file (see :data:`Stage`)."""
    if stage is None:
        return prepare
    for_file = getattr(stage, "for_file", None)
    if context is None or for_file is None:
        return stage
    run: Stage = for_file(context, index)
    return run


def _keep_freed_memory() -> None:
    """Make the worker (a short-lived process of its own) keep the memory it frees for its next
    allocations: pyarrow allocates from glibc's malloc, and glibc keeps what is freed.

    A worker allocates and frees buffers of megabytes for every block (the block's copy,
    numpy masks, parsed columns, Parquet pages). By default glibc maps each such buffer anew
    and unmaps it when freed, and pyarrow's mimalloc pool hands freed pages back to the system
    at once, so every block faults in and zeroes fresh pages again. Measured on the medium
    world (ingest in a new process): the workers' system CPU time 0.3-0.6 s -> 0.12-0.16 s,
    a tenth of their CPU time. Elsewhere (no glibc) only pyarrow's pool is changed."""
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def serve(fd: int, stage: Stage | None, counters: Counters) -> None:
    """A worker's loop: read the files asked for until told to stop (or the ingest is gone),
    each block taken as the worker goes from the file's counter in ``counters`` (shared with
    the other workers, see :class:`~.columns.Claims`); each batch is sent as ``stage``
    (default :func:`prepare`) makes it."""
    import icarus.sensors.formats  # noqa: F401 - registers the built-in readers
    from icarus.sensors.formats import columns

    columns.THREADS = 1  # the workers already keep every core busy
    _keep_freed_memory()
    conn = Connection(fd)
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            name, path, sha, index, count, context, slot = task
            sink = _Collect()
            claims = Claims(partial(counters.take, slot))
            shard = Shard(index, count, claims)
            try:
                run = _per_file(stage, context, index)
                for kind, batch in _events(READERS.get(name), Path(path), sink, shard):
                    staged = None if batch is None else run(batch, sha)
                    conn.send((kind, sink.take(), staged, claims.block))
                finish = getattr(run, "finish", None)
                conn.send(("end", sink.take(), finish() if finish is not None else None,
                           claims.block))
            except (BrokenPipeError, ConnectionResetError):
                return
            except Exception as exc:  # handed to the ingest, raised there
                try:
                    pickle.dumps(exc)
                except Exception:  # an exception that does not travel: its text does
                    exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                conn.send(("error", sink.take(), exc, claims.block))
    finally:
        conn.close()


Message = tuple[str, list[Reject], object, int]
"""``(kind, rejects, item, block)``: ``block`` is the one the worker was reading."""


class Counters:
    """Counters in memory shared with the forked workers: the next block not yet taken of
    each file being read (a slot a file, reused in turn: at most two files are read at once,
    see :meth:`Worker.start`)."""

    SLOTS = 4

    def __init__(self) -> None:
        self._memory = mmap.mmap(-1, 8 * self.SLOTS)
        self._lock = multiprocessing.get_context("fork").Lock()

    def reset(self, slot: int) -> None:
        with self._lock:
            struct.pack_into("q", self._memory, 8 * slot, 0)

    def take(self, slot: int) -> int:
        """The next block of slot ``slot``'s file not yet taken (each is taken once)."""
        with self._lock:
            (block,) = struct.unpack_from("q", self._memory, 8 * slot)
            struct.pack_into("q", self._memory, 8 * slot, block + 1)
        return int(block)


_NOTHING: Message = ("", [], None, -1)
"""A worker's box with no message yet (see :meth:`Mailbox.pick`)."""
ENDED = -1
"""What a pick gives when every worker has ended the file."""


class Mailbox:
    """Every worker's messages as the ingest's threads take them off the sockets, up to
    :data:`INBOX` a worker ahead of the one being stored (None: that worker is gone)."""

    def __init__(self, count: int, capacity: int = INBOX) -> None:
        self._cond = threading.Condition()
        self._capacity = capacity
        self._boxes: list[deque[Message | None]] = [deque() for _ in range(count)]
        self.complete = False
        """No message will come any more (a box that lacks one is an error, not a wait)."""

    def put(self, index: int, message: Message | None, stop: threading.Event) -> bool:
        """Add worker ``index``'s next message, once its box has room (False: ``stop`` was
        set first)."""
        with self._cond:
            while message is not None and len(self._boxes[index]) >= self._capacity:
                if stop.is_set():
                    return False
                self._cond.wait(0.1)
            self._boxes[index].append(message)
            self._cond.notify_all()
        return True

    def pick(self, choose: Callable[[list[Message | None]], int | None]) -> int:
        """The first answer of ``choose`` (given each worker's next message, or
        :data:`_NOTHING`) that is not None, waiting for messages as they come."""
        with self._cond:
            while True:
                chosen = choose([box[0] if box else _NOTHING for box in self._boxes])
                if chosen is not None:
                    return chosen
                if self.complete:
                    raise RuntimeError("no ingest worker has the next block")
                self._cond.wait()

    def take(self, index: int) -> Message | None:
        """Worker ``index``'s next message (None, for good, once the worker is gone)."""
        with self._cond:
            while not self._boxes[index]:
                if self.complete:
                    raise RuntimeError("an ingest worker sent too few messages")
                self._cond.wait()
            message = self._boxes[index][0]
            if message is not None:
                self._boxes[index].popleft()
                self._cond.notify_all()
            return message


def in_order(mail: Mailbox, count: int, sink: RecordSink, path: Path,
             gone: Callable[[int], BaseException]) -> Iterator[Any]:
    """The staged batches of a file read by ``count`` workers side by side (each taking
    blocks as it goes, and saying in each message which block it is reading), in block
    order; rejects go to ``sink`` in that order too. Raises a worker's error where its
    block comes (``gone(index)``: the error for a worker that stopped)."""
    block, rest = 0, None

    def choose(heads: list[Message | None]) -> int | None:
        """The worker with the next message to store, or :data:`ENDED`."""
        for index, head in enumerate(heads):
            if head is None:
                return index
            kind, _, _, at = head
            if (kind in (BATCH, BLOCK, REST) and at == block) \
                    or (kind == "error" and at <= block):
                return index
        if all(head is not None and head[0] in ("end", "error") for head in heads):
            errors = [i for i, head in enumerate(heads) if head is not None
                      and head[0] == "error"]
            return errors[0] if errors else ENDED
        return None

    def message(index: int) -> Message:
        got = mail.take(index)
        if got is None:
            raise gone(index)
        for reject in got[1]:
            sink.reject(*reject)
        if got[0] == "error":
            assert isinstance(got[2], BaseException)
            raise got[2]
        return got

    ended: set[int] = set()
    while True:
        index = rest if rest is not None else mail.pick(choose)
        if index == ENDED:
            break
        kind, _, item, _ = message(index)
        if kind == BATCH:
            yield item
        elif kind == BLOCK:
            block += 1
        elif kind == REST:  # this worker reads every block from here on
            rest = index
        else:  # "end" of the worker reading the rest
            ended.add(index)
            break
    for other in range(count):  # the others stopped before: "end" is next
        if other in ended:
            continue
        kind = message(other)[0]
        if kind != "end":
            raise RuntimeError(f"{path}: an ingest worker read past the end ({kind})")


class _Forked:
    """A forked child process, with the part of :class:`subprocess.Popen` used here."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._code: int | None = None

    def poll(self) -> int | None:
        if self._code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self._code is None:
            self._code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self._code


class _Process:
    """One worker process and the ingest's end of its socket.

    Forked from the ingest process (which has every module loaded: a start costs
    milliseconds, not the half second of a new interpreter); the child closes the ingest's
    ends of every other worker's socket, so that each worker sees its socket close when the
    ingest ends, and leaves with ``os._exit`` (no buffer or exit handler of the ingest runs
    twice)."""

    def __init__(self, others: Sequence[Connection], stage: Stage | None, counters: Counters,
                 mail: Mailbox, index: int) -> None:
        ours, theirs = socket.socketpair()
        with warnings.catch_warnings():
            # Python 3.12+ warns when forking a process with threads (e.g. pyarrow's pool):
            # the child only reads files with its own objects, it takes none of their locks.
            warnings.simplefilter("ignore", DeprecationWarning)
            # The ingest's objects are kept out of the child's garbage collections, which
            # would otherwise touch (and so copy) every page of the inherited heap.
            gc.freeze()
            pid = os.fork()
            if pid:
                gc.unfreeze()
        if pid == 0:  # the worker
            code = 1
            try:
                ours.close()
                for other in others:
                    os.close(other.fileno())
                serve(theirs.detach(), stage, counters)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        self.proc = _Forked(pid)
        self.conn = Connection(ours.detach())
        self.mail, self.index = mail, index
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True,
                                        name="icarus-ingest-receive")

    def listen(self) -> None:
        """Start taking the worker's messages (once every worker is forked: no thread of
        this process runs while one is)."""
        self._thread.start()

    def _receive(self) -> None:
        """Take messages off the socket as they come, so that the worker is not held up in
        sending while the ingest stores an earlier block (None: the worker is gone)."""
        while True:
            try:
                message: Message | None = self.conn.recv()
            except (EOFError, OSError):
                message = None
            if not self.mail.put(self.index, message, self._stop) or message is None \
                    or self._stop.is_set():
                return

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self.conn.closed

    def close(self) -> None:
        """Stop taking messages (the worker has exited: its socket is at its end)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.conn.close()


class Worker:
    """The ingest's side: ``count`` worker processes for the files of one ``ingest_files``
    call, each reading the blocks of every file it takes as it goes (see
    :class:`~.columns.Claims`) and sending each batch as ``stage`` makes it (forked:
    ``stage`` may use anything the ingest process holds, e.g. its bank matcher)."""

    def __init__(self, count: int = 2, stage: Stage | None = None) -> None:
        self._procs: list[_Process] = []
        self._counters = Counters()
        self._mail = Mailbox(max(1, count))
        for index in range(max(1, count)):
            self._procs.append(_Process([p.conn for p in self._procs], stage, self._counters,
                                        self._mail, index))
        for proc in self._procs:
            proc.listen()
        self._files = 0
        """Files sent so far (the next one's counter slot, in turn)."""
        self._released = False
        """Whether the workers were told to exit."""
        self._sent = 0
        """Files sent to the workers whose reading has not ended (0, 1 or 2)."""
        self._started: tuple[str, str, str] | None = None

    def start(self, name: str, path: Path, sha: str, context: object = None) -> None:
        """Set the workers reading ``path`` as soon as each is done with the file being read
        (if any), while the ingest still stores that one: :meth:`read` of the same file is to
        come next (its batches wait in the sockets; if it never comes, :meth:`close` kills
        the workers). One file at most may wait so. ``context``: for the stage's
        ``for_file`` (see :data:`Stage`)."""
        if self._started is not None:
            raise RuntimeError(f"{path}: the ingest workers were already started on "
                               f"{self._started[1]}")
        self._send(name, path, sha, context)
        self._started = (name, str(path), sha)

    def _send(self, name: str, path: Path, sha: str, context: object) -> None:
        if not self.alive:
            raise RuntimeError(f"{path}: an ingest worker stopped")
        self._sent += 1
        count = len(self._procs)
        slot = self._files % Counters.SLOTS
        self._files += 1
        self._counters.reset(slot)  # its file before it was read to the end long ago
        for index, proc in enumerate(self._procs):
            try:
                proc.conn.send((name, str(path), sha, index, count, context, slot))
            except OSError:
                raise RuntimeError(f"{path}: an ingest worker stopped") from None

    def read(self, name: str, path: Path, sha: str, sink: RecordSink,
             context: object = None) -> Generator[Any, None, None]:
        """The staged batches of ``path`` in file order (read since :meth:`start`, or from
        now); rejects go to ``sink`` as they arrive. Abandoning the iterator before its end
        stops the workers (see :meth:`close`)."""
        started, self._started = self._started, None
        if started is not None and started != (name, str(path), sha):
            self.close(kill=True)
            raise RuntimeError(f"{path}: the ingest workers were started on {started[1]}")
        if started is None:
            if self._sent:
                raise RuntimeError("the ingest workers are still reading another file")
            self._send(name, path, sha, context)
        def gone(index: int) -> BaseException:
            return RuntimeError(f"{path}: an ingest worker stopped (exit code "
                                f"{self._procs[index].proc.poll()})")
        done = False
        try:
            yield from in_order(self._mail, len(self._procs), sink, path, gone)
            done = True
        finally:
            if not done:  # abandoned mid-file: what the workers are sending is of no use
                self.close(kill=True)
            self._sent -= 1

    def release(self) -> None:
        """If no file is being read or waits, tell the workers to exit now, while the ingest
        commits its last file (:meth:`close` then only waits for them)."""
        if self._sent or self._started is not None or self._released:
            return
        self._released = True
        for proc in self._procs:
            if proc.proc.poll() is None:
                try:
                    proc.conn.send(None)  # an idle worker returns at once
                except OSError:
                    proc.proc.kill()

    def close(self, *, kill: bool = False) -> None:
        """Stop the workers (told to, or killed if ``kill`` or if they are still sending a
        file), all at once, and wait for them."""
        for proc in self._procs:
            if proc.proc.poll() is None:
                if kill or self._sent:
                    proc.proc.kill()
                elif not self._released:
                    try:
                        proc.conn.send(None)
                    except OSError:
                        proc.proc.kill()
        self._released = True
        for proc in self._procs:
            proc.proc.wait()
            proc.close()

    @property
    def alive(self) -> bool:
        """Whether the workers can take a file."""
        return not self._released and all(proc.alive for proc in self._procs)

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [proc.proc.pid for proc in self._procs]

    @property
    def exit_codes(self) -> list[int | None]:
        """The worker processes' exit codes (None while one runs; minus the signal's number
        for one killed)."""
        return [proc.proc.poll() for proc in self._procs]
