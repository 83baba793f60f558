"""Reading files in a second process, so that the ingest's two halves run on two cores.

The worker reads a file with a built-in reader (parse and vet, see :mod:`.columns`) and, for
every valid record, its ``sighting_id`` (which depends on the file and line alone). The ingest
process meanwhile matches, dedupes (content keys are hashed there, for matched rows only) and
writes the batch before. They
talk over a socket pair with :mod:`multiprocessing.connection` messages (pickled Arrow tables):

* to the worker: ``(reader name, path, file SHA-256)``, or None to stop;
* from it, per file and in file order: ``("batch", rejects, prepared)`` messages, then
  ``("end", rejects)`` or ``("error", rejects, exception)``. Rejects are ``(position, reason,
  raw)`` as the reader gave them, in order; the ingest writes them to its quarantine.

The worker has no side effects (it writes nothing), so a kill of either process leaves only
what the ingest's crash recovery already removes. It stops when the ingest's end of the socket
closes (the ingest exited or was killed). The socket's buffer bounds what is in flight: the
worker prepares at most one batch beyond the one being sent.
"""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pyarrow as pa

from icarus.core.sinks import RecordSink
from icarus.sensors.formats.base import READERS, SightingReader
from icarus.sensors.formats.columns import Batch, batches_of_records, sighting_ids

Reject = tuple[str, str, str | None]


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


def serve(fd: int) -> None:
    """The worker's loop: read the files asked for until told to stop (or the ingest is gone)."""
    import icarus.sensors.formats  # noqa: F401 - registers the built-in readers

    conn = Connection(fd)
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            name, path, sha = task
            sink = _Collect()
            try:
                for batch in batches(READERS.get(name), Path(path), sink):
                    conn.send(("batch", sink.take(), prepare(batch, sha)))
                conn.send(("end", sink.take()))
            except (BrokenPipeError, ConnectionResetError):
                return
            except Exception as exc:  # handed to the ingest, raised there
                try:
                    pickle.dumps(exc)
                except Exception:  # an exception that does not travel: its text does
                    exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                conn.send(("error", sink.take(), exc))
    finally:
        conn.close()


class Worker:
    """The ingest's side: one worker process for the files of one ``ingest_files`` call."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from icarus.sensors.formats.worker import serve; "
             "serve(int(sys.argv[1]))", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._busy = False

    def read(self, name: str, path: Path, sha: str,
             sink: RecordSink) -> Generator[Prepared, None, None]:
        """The prepared batches of ``path`` in order; rejects go to ``sink`` as they arrive.
        Abandoning the iterator before its end stops the worker (see :meth:`close`)."""
        if self._busy:
            raise RuntimeError("the ingest worker is still reading another file")
        if not self.alive:
            raise RuntimeError(f"{path}: the ingest worker stopped (exit code "
                               f"{self._proc.poll()})")
        self._busy = True
        try:
            self._conn.send((name, str(path), sha))
        except OSError:
            self._busy = False
            raise RuntimeError(f"{path}: the ingest worker stopped") from None
        done = False
        try:
            while True:
                try:
                    message = self._conn.recv()
                except (EOFError, OSError):
                    raise RuntimeError(f"{path}: the ingest worker stopped (exit code "
                                       f"{self._proc.poll()})") from None
                for reject in message[1]:
                    sink.reject(*reject)
                if message[0] == "batch":
                    yield message[2]
                elif message[0] == "error":
                    done = True
                    raise message[2]
                else:
                    done = True
                    return
        finally:
            if not done:  # abandoned mid-file: what the worker is sending is of no use
                self.close(kill=True)
            self._busy = False

    def close(self, *, kill: bool = False) -> None:
        """Stop the worker (told to, or killed if ``kill`` or if it is still sending a file)
        and wait for it."""
        if self._proc.poll() is None:
            if kill or self._busy:
                self._proc.kill()
            else:
                try:
                    self._conn.send(None)  # an idle worker returns at once
                except OSError:
                    self._proc.kill()
            self._proc.wait()
        self._conn.close()

    @property
    def alive(self) -> bool:
        """Whether the worker can take a file."""
        return self._proc.poll() is None and not self._conn.closed

