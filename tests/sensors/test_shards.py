"""Workers reading shards of a file side by side give what one reader gives, in order."""

from __future__ import annotations

import io
import itertools
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pytest

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats import detect, tool_a, tool_b, v1_columnar
from icarus.sensors.formats.columns import (
    Claims,
    Shard,
    block_spans,
    has_control,
    line_count,
    line_ends,
    lone_cr,
    plain_span,
    shard_blocks,
)
from icarus.sensors.formats.worker import (
    Mailbox,
    Message,
    Prepared,
    _Collect,
    in_order,
    prepare,
)
from tests.sensors.conftest import world_files

SHA = "ab" * 32


def _awkward_copies(world: Path, out: Path) -> list[Path]:
    """World files, and copies with what makes a reader read the rest of a file line by line
    (a quoted CSV cell, a lone CR) in a middle block."""
    made = []
    for src in world_files(world):
        lines = src.read_bytes().splitlines(keepends=True)
        middle = len(lines) // 2
        if src.suffix == ".csv":
            cells = lines[middle].decode().split(";")
            cells[13] = '"a;b.jpg"'
            lines[middle] = ";".join(cells).encode()
        elif src.suffix == ".json":
            lines[middle] = lines[middle].replace(b"},", b"},\r ", 1)
        else:
            lines[middle] = b'{"v": 1, "broken\n'
        copy = out / f"{src.stem}-x{src.suffix}"
        copy.write_bytes(b"".join(lines))
        made.append(copy)
    return [*world_files(world), *made]


def _claimed_messages(path: Path, count: int, rng: random.Random) -> list[list[Message]]:
    """What ``count`` workers send for ``path`` (as :func:`worker.serve` sends it), each
    taking blocks from one counter as it goes, their steps in a random interleaving (as the
    system may run them)."""
    reader: Any = detect(path)
    counter = itertools.count()
    sinks = [_Collect() for _ in range(count)]
    claims = [Claims(counter.__next__) for _ in range(count)]
    events = [iter(reader.read_events(path, sinks[i], Shard(i, count, claims[i])))
              for i in range(count)]
    out: list[list[Message]] = [[] for _ in range(count)]
    live = list(range(count))
    while live:
        i = rng.choice(live)
        event = next(events[i], None)
        if event is None:
            out[i].append(("end", sinks[i].take(), None, claims[i].block))
            live.remove(i)
            continue
        kind, batch = event
        out[i].append((kind, sinks[i].take(), None if batch is None else prepare(batch, SHA),
                       claims[i].block))
    return out


def _merged(messages: list[list[Message]], sink: CollectingSink, path: Path) -> Iterator[Any]:
    """:func:`in_order` of the workers' messages, all of them already in the mailbox."""
    mail = Mailbox(len(messages), capacity=1 << 30)
    for index, sent in enumerate(messages):
        for message in sent:
            mail.put(index, message, threading.Event())
    mail.complete = True
    return in_order(mail, len(messages), sink, path, lambda i: RuntimeError(str(i)))


def _rows(prepared: list[Prepared]) -> tuple[list[int], pa.Table | None, list[bytes]]:
    lines = [int(x) for p in prepared for x in p.batch.lines]
    table = pa.concat_tables([p.batch.table for p in prepared]) if prepared else None
    return lines, table, [i for p in prepared for i in p.ids.to_pylist()]


@pytest.mark.parametrize("count", [2, 3])
def test_shards_in_order_equal_one_reader(world: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    for module in (v1_columnar, tool_a, tool_b):  # many blocks per file
        monkeypatch.setattr(module, "BLOCK_BYTES", 16 << 10)
    rejects, rests = 0, set()
    rng = random.Random(count)
    for path in _awkward_copies(world, tmp_path):
        one = CollectingSink()
        reader: Any = detect(path)
        whole = [prepare(b, SHA) for b in reader.read_batches(path, one)]
        messages = _claimed_messages(path, count, rng)
        if any(kind == "rest" for m in messages for kind, _, _, _ in m):
            rests.add(path.name)
        # Blocks went to whichever worker was ready, not in turn.
        taken = [{at for kind, _, _, at in m if kind == "block"} for m in messages]
        assert sum(map(len, taken)) > count and all(taken), path.name
        both = CollectingSink()
        merged = list(_merged(messages, both, path))
        want, got = _rows(whole), _rows(merged)
        assert got[0] == want[0] and got[2] == want[2], path.name
        assert want[1] is not None and got[1] is not None and got[1].equals(want[1]), path.name
        assert both.rejects == one.rejects, path.name
        rejects += len(one.rejects)
        assert len(merged) > count  # the file really was cut into blocks
    assert rejects
    # A quoted cell, a lone CR: from there one worker reads the rest (and the tool B array's
    # close, at the end of every tool B file).
    assert {"de-kad-1-x.csv", "fr-bt-1-x.csv", "es-bt-2-x.json", "nl-gnut-1.json"} <= rests


def test_a_worker_error_is_raised_at_its_block(world: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v1_columnar, "BLOCK_BYTES", 16 << 10)
    path = next(p for p in world_files(world) if p.suffix == ".jsonl")
    first, second = _claimed_messages(path, 2, random.Random(3))
    # The second worker fails reading its second block; what it sent before still counts.
    at = [i for i, (kind, _, _, _) in enumerate(second) if kind == "batch"][1]
    failed = second[at][3]
    second[at:] = [("error", [], OSError(f"read error in block {failed}"), failed)]
    got: list[Prepared] = []
    with pytest.raises(OSError, match=f"block {failed}"):
        for p in _merged([first, second], CollectingSink(), path):
            got.append(p)
    # Every block before it was handed on whole, nothing after the error.
    before = sorted(int(x) for m in (first, second) for kind, _, p, blk in m
                    if blk < failed and isinstance(p, Prepared) for x in p.batch.lines)
    assert got and [int(x) for p in got for x in p.batch.lines] == before


def _read_blocks(fh: BinaryIO, size: int, first: int) -> list[bytes]:
    """The blocks as a streaming reader cuts them: ``size`` bytes read at a time (the first
    ``first`` reads a quarter of that), each block cut after the last newline read so far."""
    out: list[bytes] = []
    rest = b""
    while True:
        data = fh.read(max(1, size // 4) if first > 0 else size)
        first -= 1
        block = rest + data
        if not data:
            return [*out, block] if block else out
        cut = block.rfind(b"\n") + 1
        if cut:
            out.append(block[:cut])
            rest = block[cut:]
        else:
            rest = block


@pytest.mark.parametrize("seed", range(8))
def test_block_spans_cut_as_a_streaming_reader_does(seed: int) -> None:
    rng = random.Random(seed)
    lines = [b"x" * rng.choice([0, 1, 5, 40, 300]) + rng.choice([b"\n", b"\r\n"])
             for _ in range(rng.randint(0, 400))]
    data = b"".join(lines) + rng.choice([b"", b"no newline at the end"])
    start = rng.randint(0, min(50, len(data)))
    size, first = rng.choice([1, 7, 64, 1000, 5000]), rng.randint(0, 3)
    spans = list(block_spans(data, start, size, first=first))
    assert [data[lo:hi] for lo, hi in spans] == _read_blocks(io.BytesIO(data[start:]), size,
                                                             first)
    assert all(data[hi - 1] == 10 for _, hi in spans[:-1])
    assert sum(line_count(data, lo, hi) for lo, hi in spans) == len(data[start:].splitlines())


def test_the_first_block_of_each_reader_is_a_quarter_size(tmp_path: Path) -> None:
    # The ingest waits for block 0 before it stores anything: each reader's first block is
    # small, then blocks are full size.
    data = b"".join(f"line {i:05d}\n".encode() for i in range(4000))  # 11 bytes each
    spans = list(block_spans(data, 0, 4400, first=2))
    assert [(hi - lo) // 11 for lo, hi in spans[:4]] == [100, 100, 400, 400]
    # A file is mapped: each reader gets its own blocks, with the lines before them.
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    for index in (0, 1):
        with path.open("rb") as fh:
            got = list(shard_blocks(fh, 4400, Shard(index, 2)))
        assert [block for block, _, _ in got] == [data[lo:hi] for lo, hi in spans[index::2]]
        assert [(base, offset) for _, base, offset in got] \
            == [(lo // 11, lo) for lo, _ in spans[index::2]]


@pytest.mark.parametrize("reader", [tool_a, tool_b])
def test_a_block_cleared_in_place_is_one_the_reader_would_pass(reader: Any) -> None:
    # Other readers' blocks are first checked in place (plain_span, a few scans, no copy);
    # a block it clears must be one the reader's own check (_awkward) passes, and a plain
    # ASCII block must be cleared.
    rng = random.Random(7)
    pieces = [b'"', b"\0", b"\r", b"\r\n", b"\xef\xbb\xbf", "é".encode(), b"\xff", b"]}", b"}",
              b"]"]
    cleared = 0
    for _ in range(3000):
        line = [bytes(rng.choices(b"abc;:,{} 0123456789", k=rng.randrange(1, 30)))
                for _ in range(rng.randrange(1, 6))]
        for _ in range(rng.randrange(0, 3)):
            line.insert(rng.randrange(len(line) + 1), rng.choice(pieces))
        block = b"".join(line) + b"\n"
        data = b"xx\n" + block + b"yy"
        if plain_span(data, 3, 3 + len(block), reader._PLAIN):
            cleared += 1
            assert not reader._awkward(block), block
        elif block.isascii() and b"\r" not in block \
                and not any(p in block for p in reader._PLAIN):
            pytest.fail(f"a plain block was not cleared: {block!r}")
    assert cleared > 300


def test_block_checks_agree_with_a_byte_by_byte_reading() -> None:
    # has_control and lone_cr count and search a block's bytes in bulk (memchr first for
    # CR); they must say what a reading of each byte says.
    rng = random.Random(11)
    for _ in range(2000):
        block = bytes(rng.choices(b"ab\n\r\t\0\x1f \xc3\xa9",
                                  weights=[30, 30, 6, 2, 1, 1, 1, 10, 1, 1],
                                  k=rng.randrange(0, 60)))
        a, ends = line_ends(block)
        control = any(b < 32 and b not in (10, 13) for b in block)
        lone = any(b == 13 and block[i + 1:i + 2] != b"\n" for i, b in enumerate(block))
        assert has_control(block, a, ends) == control, block
        assert lone_cr(block, a, ends) == lone, block
