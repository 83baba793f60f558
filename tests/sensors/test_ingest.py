"""Ingest of a whole tiny world: counts, minimisation, idempotence, quarantine, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icarus.core.errors import FormatMismatchError
from icarus.core.settings import Settings
from icarus.core.sinks import CollectingSink
from icarus.sensors import ingest
from icarus.sensors.dataset import KEY_VERSION, dataset_dir, ledger, query
from icarus.sensors.formats import v1_columnar
from icarus.sensors.formats.columns import Batch, batches_of_records
from icarus.sensors.formats.worker import Prepared, Worker
from icarus.sensors.ingest import IngestReport, ingest_files
from icarus.sensors.schema import SIGHTINGS
from icarus.sensors.unmatched import read_unmatched
from tests.sensors.conftest import banked_settings, world_files

ROWS_SQL = ("SELECT sighting_id, observed_at, sensor, record_id, content_id, match_set, "
            "source_line FROM sightings ORDER BY sighting_id")


@pytest.fixture(scope="module")
def ingested(world: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Settings, list[IngestReport]]:
    settings = banked_settings(tmp_path_factory.mktemp("home"), world)
    return settings, ingest_files(settings, world_files(world))


def test_counts_add_up(ingested: tuple[Settings, list[IngestReport]]) -> None:
    settings, reports = ingested
    for r in reports:
        assert r.read == r.kept + r.not_alert + r.duplicates + r.quarantined
        assert r.kept > 0 and r.not_alert > 0
    total = query(settings, "SELECT count(*) AS n FROM sightings").column("n")[0].as_py()
    assert total == sum(r.kept for r in reports)


def test_every_kept_row_is_alert_content_and_in_truth(
        world: Path, ingested: tuple[Settings, list[IngestReport]]) -> None:
    settings, _ = ingested
    rows = query(settings, ROWS_SQL).to_pydict()
    assert set(rows["match_set"]) == {"known"}
    truth = pq.read_table(world / "truth" / "sightings_truth.parquet").to_pydict()
    known = set(zip(truth["sensor"], truth["record_id"], strict=True))
    assert set(zip(rows["sensor"], rows["record_id"], strict=True)) <= known
    # a record id is stored once even though the world writes duplicate lines
    pairs = list(zip(rows["sensor"], rows["record_id"], strict=True))
    assert len(pairs) == len(set(pairs))


def test_reingest_adds_nothing(world: Path,
                               ingested: tuple[Settings, list[IngestReport]]) -> None:
    settings, _ = ingested
    before = query(settings, ROWS_SQL)
    again = ingest_files(settings, world_files(world))
    assert all(r.already_ingested and r.kept == 0 for r in again)
    assert query(settings, ROWS_SQL).equals(before)


def test_quarantine_names_file_line_and_reason(
        ingested: tuple[Settings, list[IngestReport]]) -> None:
    _, reports = ingested
    bad = [r for r in reports if r.quarantined]
    assert bad
    for r in bad:
        assert r.quarantine_path is not None
        entries = [json.loads(x) for x in Path(r.quarantine_path).read_text().splitlines()]
        assert len(entries) == r.quarantined
        lines = Path(r.path).read_bytes().split(b"\n")
        for e in entries:
            assert e["source"] == r.path and e["reason"]
            assert e["raw"].rstrip() in lines[e["line"] - 1].decode().rstrip()


def test_each_row_carries_the_gravest_alert_match_of_its_content(
        ingested: tuple[Settings, list[IngestReport]]) -> None:
    import numpy as np

    from icarus.bank.service import BankService
    from icarus.domain.categories import SetKind

    settings, _ = ingested
    rows = query(settings, "SELECT content_kind, content_id, category, severity, match_set "
                           "FROM sightings").to_pylist()
    assert len({r["category"] for r in rows}) > 1 and len({r["severity"] for r in rows}) > 1
    matcher = BankService(settings).matcher()
    for r in rows[:3000]:
        value = np.frombuffer(r["content_id"], dtype=np.uint8).reshape(1, -1)
        [hits] = matcher.match_exact(r["content_kind"], value)
        alert = [m for m in hits if m.set_kind is SetKind.ALERT]
        top = min(alert, key=lambda m: (-int(m.severity), m.set_name, m.row))
        assert (r["category"], r["severity"], r["match_set"]) == \
            (top.category.value, int(top.severity), top.set_name)


def test_copied_file_under_another_name_adds_only_duplicates(
        world: Path, ingested: tuple[Settings, list[IngestReport]], tmp_path: Path) -> None:
    settings, reports = ingested
    src = world_files(world)[1]
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes() + b"\n")  # another SHA-256, the same records
    [r] = ingest_files(settings, [copy])
    assert not r.already_ingested and r.kept == 0
    original = next(x for x in reports if x.path == str(src))
    assert r.duplicates == original.kept + original.duplicates


_CHILD = """
import sys
from pathlib import Path
from icarus.core.settings import load_settings
from icarus.sensors import ingest
from icarus.sensors.formats import worker
ingest.PART_ROWS = 50  # many parts, so the kill lands between writes
ingest._workers = lambda settings, paths, readers: 2  # (it must not outlive us)
start = worker.Worker.__init__
def init(self, count=2, stage=None):
    start(self, count, stage)
    for pid in self.pids:
        Path(sys.argv[1], f"worker-{pid}.pid").touch()
worker.Worker.__init__ = init
from icarus.sensors.ingest import ingest_files
ingest_files(load_settings(home=sys.argv[1]), [Path(p) for p in sys.argv[2:]])
"""


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def test_kill_mid_ingest_then_rerun_equals_a_clean_run(
        world: Path, ingested: tuple[Settings, list[IngestReport]], tmp_path: Path) -> None:
    clean, _ = ingested
    settings = banked_settings(tmp_path / "home", world)
    files = [str(p) for p in world_files(world)]
    root = dataset_dir(settings)
    for _ in range(2):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(settings.home), *files])
        deadline = time.monotonic() + 60
        while not list(root.glob(".tmp-*/parts/*.parquet")) and child.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)  # parts are being written: the kill is mid-file
        child.wait()
    # The reading workers do not outlive their ingest (they write nothing anyway).
    workers = [int(p.stem.split("-")[1]) for p in settings.home.glob("worker-*.pid")]
    assert workers  # (the second child may die before it starts one: the first left parts)
    deadline = time.monotonic() + 60
    while not all(_gone(pid) for pid in workers):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ingest_files(settings, [Path(p) for p in files])
    assert query(settings, ROWS_SQL).equals(query(clean, ROWS_SQL))
    assert not list(dataset_dir(settings).glob(".tmp-*"))
    on_disk = sum(pq.read_metadata(p).num_rows for p in root.rglob("*.parquet"))
    assert on_disk == query(clean, "SELECT count(*) AS n FROM sightings").column("n")[0].as_py()


def test_keep_unmatched_keeps_benign_sightings(world: Path, tmp_path: Path) -> None:
    class Research(Settings):
        sightings_keep_unmatched: bool = True

    base = banked_settings(tmp_path / "home", world)
    settings = Research(home=base.home)
    [r] = ingest_files(settings, world_files(world)[:1])
    assert r.not_alert == 0 and r.kept > 0
    unmatched = query(settings, "SELECT count(*) AS n FROM sightings WHERE match_set = ''")
    assert unmatched.column("n")[0].as_py() > 0


def _worker(monkeypatch: pytest.MonkeyPatch, use: bool) -> None:
    """Read through the worker process (whatever the files' size and the CPUs), or not."""
    monkeypatch.setattr(ingest, "_workers", lambda settings, paths, readers: 2 if use else 0)


def _everything(settings: Settings, reports: list[IngestReport]) -> dict[str, object]:
    """The stored rows, the unmatched area, the quarantine files and the reports (with the
    workspace's path taken out)."""
    home = str(settings.home)
    rows = query(settings, "SELECT * FROM sightings ORDER BY sighting_id")
    unmatched = read_unmatched(settings)
    quarantine = {p.name: p.read_text() for p in (settings.home / "sightings" / "quarantine")
                  .glob("*.jsonl")}
    return {"rows": rows.to_pylist(), "unmatched": unmatched.to_pylist(),
            "quarantine": quarantine,
            "reports": [repr(r).replace(home, "HOME") for r in reports]}


def test_columnar_ingest_equals_the_per_record_path(world: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    files = world_files(world)
    fast = banked_settings(tmp_path / "fast", world)
    _worker(monkeypatch, True)  # read in the worker process
    got = _everything(fast, ingest_files(fast, files))
    # Every record through the per-record validators (the path before the columnar ingest),
    # in this process: v1 lines one by one, tool A rows through the csv module, gathered into
    # batches.
    _worker(monkeypatch, False)
    monkeypatch.setattr(v1_columnar, "_whole", lambda *args: v1_columnar._REFUSED)
    monkeypatch.setattr(v1_columnar, "_parse", lambda data: None)
    monkeypatch.setattr(ingest, "batches",
                        lambda reader, path, sink: batches_of_records(reader.read(path, sink)))
    slow = banked_settings(tmp_path / "slow", world)
    want = _everything(slow, ingest_files(slow, files))
    assert got["rows"] and got["unmatched"] and got["quarantine"]
    assert got == want


@pytest.mark.parametrize("worker", [False, True])
def test_a_file_of_another_format_adds_nothing(world: Path, tmp_path: Path, worker: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # With the worker, the reader's error is raised in the worker process and again here.
    _worker(monkeypatch, worker)
    settings = banked_settings(tmp_path / "home", world)
    jsonl = next(p for p in world_files(world) if p.suffix == ".jsonl")
    with pytest.raises(FormatMismatchError, match="tool-a-csv"):
        ingest_files(settings, [jsonl], fmt="tool-a-csv")
    assert not list(dataset_dir(settings).glob("*"))
    assert query(settings, "SELECT count(*) AS n FROM sightings").column("n")[0].as_py() == 0


def test_old_content_keys_are_migrated_from_the_stored_rows(world: Path,
                                                            tmp_path: Path) -> None:
    settings = banked_settings(tmp_path / "home", world)
    src = world_files(world)[0]
    [first] = ingest_files(settings, [src])
    # A ledger from before the columnar ingest: keys of another definition, version 0.
    led = ledger(settings)
    try:
        led.db.execute("DELETE FROM keys")
        led.db.executemany("INSERT INTO keys VALUES (?)",
                           [(i.to_bytes(16, "big"),) for i in range(first.kept)])
        led.db.execute("PRAGMA user_version = 0")
    finally:
        led.close()
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes() + b"\n")  # another SHA-256, the same records
    [again] = ingest_files(settings, [copy])
    assert again.kept == 0 and again.duplicates == first.kept + first.duplicates
    led = ledger(settings)
    try:
        assert led.key_version == KEY_VERSION
        assert led.db.execute("SELECT count(*) FROM keys").fetchone()[0] == first.kept
    finally:
        led.close()


def test_an_abandoned_read_stops_the_worker(world: Path) -> None:
    jsonl = next(p for p in world_files(world) if p.suffix == ".jsonl")
    w = Worker()
    try:
        sink = CollectingSink()
        batches = w.read("v1-jsonl", jsonl, "0" * 64, sink)
        first = next(batches)
        assert len(first.batch) == len(first.ids) > 0
        batches.close()  # the rest is not wanted: the worker is stopped, not left sending
        assert not w.alive
    finally:
        w.close()
    with pytest.raises(RuntimeError, match="stopped"):
        next(w.read("v1-jsonl", jsonl, "0" * 64, CollectingSink()))


class _Slowed:
    """A worker stage that holds worker 0 up on every block and notes who staged each."""

    def __call__(self, batch: object, sha: str) -> tuple[int, int]:
        raise AssertionError("staged per file only")

    def for_file(self, context: object, index: int) -> object:
        def stage(batch: Batch, sha: str) -> tuple[int, int]:
            if index == 0:
                time.sleep(0.3)
            return index, int(batch.lines[0])
        return stage


def test_a_held_up_worker_takes_fewer_blocks_and_the_order_holds(
        world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each worker takes the next free block when it is ready (not every other block): one
    # that is held up leaves the rest to the other; the batches still come in file order.
    monkeypatch.setattr(v1_columnar, "BLOCK_BYTES", 16 << 10)
    jsonl = next(p for p in world_files(world) if p.suffix == ".jsonl")
    w = Worker(2, _Slowed())
    try:
        got = list(w.read("v1-jsonl", jsonl, "0" * 64, CollectingSink(), context="x"))
    finally:
        w.close()
    by = [index for index, _ in got]
    assert len(got) > 20
    assert by.count(0) <= 3 < by.count(1)
    assert [line for _, line in got] == sorted(line for _, line in got)


def _workers_made(monkeypatch: pytest.MonkeyPatch) -> list[Worker]:
    """The ingest's :class:`Worker` objects, as they are made."""
    workers: list[Worker] = []
    start = Worker.__init__

    def init(self: Worker, count: int = 2, stage: object = None) -> None:
        start(self, count, stage)  # type: ignore[arg-type]
        workers.append(self)

    monkeypatch.setattr(Worker, "__init__", init)
    return workers


def test_an_error_mid_file_stops_the_worker(world: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = banked_settings(tmp_path / "home", world)
    _worker(monkeypatch, True)
    workers = _workers_made(monkeypatch)
    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ingest._Parts, "add", fail)
    with pytest.raises(OSError, match="disk full"):
        ingest_files(settings, world_files(world))
    [w] = workers
    # Killed, not told to stop and waited for, while they were still sending.
    assert w.exit_codes == [-signal.SIGKILL] * 2
    assert query(settings, "SELECT count(*) AS n FROM sightings").column("n")[0].as_py() == 0


def test_workers_are_let_go_before_the_last_file_is_committed(
        world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # While a file is committed the workers already read the next one; once the last file
    # is read they are told to exit, so that they end while it is committed.
    settings = banked_settings(tmp_path / "home", world)
    _worker(monkeypatch, True)
    workers = _workers_made(monkeypatch)
    alive: list[bool] = []
    commit = ingest._commit

    def noted(*args: Any, **kwargs: Any) -> Any:
        alive.append(workers[0].alive)
        return commit(*args, **kwargs)

    monkeypatch.setattr(ingest, "_commit", noted)
    files = world_files(world)
    reports = ingest_files(settings, files)
    assert len(files) > 2 and all(r.kept for r in reports)
    assert alive == [True] * (len(files) - 1) + [False]


def test_workers_read_the_next_file_only_when_it_is_certain_to_be_ingested(
        world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The workers start on the next file while this one is committed; a second copy of a
    # file in the same call, or a file already in the ledger, must not be started (it adds
    # nothing, and its batches would be left unread in the workers' sockets).
    files = world_files(world)
    first, second = files[0], files[1]
    twin = tmp_path / f"twin{first.suffix}"
    twin.write_bytes(first.read_bytes())
    _worker(monkeypatch, True)
    started: list[str] = []
    start = Worker.start

    def record(self: Worker, name: str, path: Path, sha: str, context: object = None) -> None:
        started.append(Path(path).name)
        start(self, name, path, sha, context)

    monkeypatch.setattr(Worker, "start", record)
    settings = banked_settings(tmp_path / "home", world)
    reports = ingest_files(settings, [first, twin, second, first])
    assert [r.already_ingested for r in reports] == [False, True, False, True]
    assert started == [second.name]  # neither copy of the first file
    # The same rows as ingesting the two files one call each, without workers.
    _worker(monkeypatch, False)
    alone = banked_settings(tmp_path / "alone", world)
    want = [*ingest_files(alone, [first]), *ingest_files(alone, [second])]
    assert [(r.kept, r.quarantined, r.not_alert) for r in reports if not r.already_ingested] \
        == [(r.kept, r.quarantined, r.not_alert) for r in want]
    assert query(settings, ROWS_SQL).equals(query(alone, ROWS_SQL))


def test_a_started_file_must_be_the_one_read_next(world: Path) -> None:
    jsonl = next(p for p in world_files(world) if p.suffix == ".jsonl")
    csv = next(p for p in world_files(world) if p.suffix == ".csv")
    w = Worker()
    try:
        w.start("v1-jsonl", jsonl, "0" * 64)
        with pytest.raises(RuntimeError, match="started on"):
            next(w.read("tool-a-csv", csv, "1" * 64, CollectingSink()))
        assert not w.alive  # its unread batches are dropped with the workers
    finally:
        w.close()
    w = Worker()
    try:
        w.start("v1-jsonl", jsonl, "0" * 64)
        got = list(w.read("v1-jsonl", jsonl, "0" * 64, CollectingSink()))
        assert sum(len(p.batch) for p in got) > 0
        w.start("v1-jsonl", jsonl, "0" * 64)  # never read: closing kills the busy workers
        pids = w.pids
    finally:
        w.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_next_file_is_started_while_one_is_read_and_comes_after_it(world: Path) -> None:
    jsonl = next(p for p in world_files(world) if p.suffix == ".jsonl")
    csv = next(p for p in world_files(world) if p.suffix == ".csv")

    def lines(got: list[Prepared]) -> list[int]:
        return [line for p in got for line in p.batch.lines.tolist()]

    w = Worker()
    try:
        alone = lines(list(w.read("tool-a-csv", csv, "1" * 64, CollectingSink())))
        whole = lines(list(w.read("v1-jsonl", jsonl, "0" * 64, CollectingSink())))
        reading = w.read("v1-jsonl", jsonl, "0" * 64, CollectingSink())
        first = [next(reading)]
        w.start("tool-a-csv", csv, "1" * 64)  # each worker takes it up after its shard
        with pytest.raises(RuntimeError, match="already started"):
            w.start("v1-jsonl", jsonl, "0" * 64)
        rest = list(reading)
        assert lines(first + rest) == whole
        assert lines(list(w.read("tool-a-csv", csv, "1" * 64, CollectingSink()))) == alone
        assert w.alive
    finally:
        w.close()


def _day_rows(days: list[int], start: int) -> pa.Table:
    """SIGHTINGS rows observed on the given days since the epoch (one row each), their
    ``source_line`` numbered from ``start``."""
    def blank(field: pa.Field) -> pa.Array:
        if field.nullable:
            return pa.nulls(len(days), field.type)
        value: object = 0
        if pa.types.is_fixed_size_binary(field.type):
            value = b"\0" * field.type.byte_width
        elif pa.types.is_binary(field.type):
            value = b""
        elif pa.types.is_string(field.type):
            value = ""
        return pa.array([value] * len(days), field.type)

    rows = {f.name: blank(f) for f in SIGHTINGS if f.name != "observed_at"}
    rows["observed_at"] = pa.array([d * 86_400_000_000 + 1 for d in days],
                                   pa.timestamp("us", tz="UTC"))
    rows["source_line"] = pa.array(range(start, start + len(days)), pa.int64())
    return pa.Table.from_arrays([rows[f.name] for f in SIGHTINGS], schema=SIGHTINGS)


def test_parts_write_each_day_once_it_has_passed_and_keep_every_row(tmp_path: Path) -> None:
    # Sensor exports run in time order (a batch in day order is sliced, not copied; one that
    # is not is put in day order): a day no batch has brought rows of for two batches
    # is written at once (not at the end of the file); a day that comes back gets another
    # part; every row ends up in exactly one part of its day.
    parts = ingest._Parts(tmp_path, "p")
    batches = [[0, 0, 1], [1, 2], [2, 3], [3, 3], [4, 0], [4]]
    written = []
    line = 0
    for days in batches:
        parts.add(_day_rows(days, line))
        line += len(days)
        written.append(parts.written)
    assert written == [0, 0, 1, 2, 3, 4]  # day 0 after batch 3, day 1 after 4, ...
    paths = parts.close()
    assert len(paths) == parts.written == 6  # days 0 to 4, and day 0 again
    got: dict[str, list[int]] = {}
    for path in paths:
        day = path.name.split("_")[0][4:]
        got.setdefault(day, []).extend(pq.read_table(path).column("source_line").to_pylist())
    assert got == {  # in file order within a day, whether a batch was in day order or not
        "1970-01-01": [0, 1, 10], "1970-01-02": [2, 3], "1970-01-03": [4, 5],
        "1970-01-04": [6, 7, 8], "1970-01-05": [9, 11]}
