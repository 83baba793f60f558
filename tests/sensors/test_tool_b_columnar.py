"""The columnar path of tool B JSON gives exactly what the line-by-line converter gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats import tool_b
from icarus.sensors.formats.columns import batch_records
from icarus.sensors.formats.tool_b import ToolBJson
from tests.sensors.test_contract import TOOL_B_HEAD, TOOL_B_ROW

BASE: dict[str, object] = {**json.loads(TOOL_B_ROW), "name": "a.jpg", "size": 12,
                           "uid": "9236bdd7360eb15b4553d756f8dc6f2d", "cid": 7,
                           "pid": "2d71423435323030" + "0" * 24, "agent": "LimeWire",
                           "nick": "n"}
TRICKY: dict[str, list[object]] = {
    "id": ["", "x" * 15, "é" * 16, 5, None, "0123456789abcdef"],
    "ts": [0, 1.0005, 1711931234.0595, -1.5, 1e20, "1", True, None, 1711931234],
    "proto": ["ed2k", "kad", "bittorrent", "Gnutella", "", None, 3],
    "peer": ["1.2.3.4:80", "[::1]:1", "[2001:DB8::1]:65535", "1.2.3.4:65536", "1.2.3.4",
             "010.1.1.1:5", "2001:db8::1:80", "1.2.3.4:00080", "", None, 5, "[1.2.3]:4"],
    "urn": ["urn:sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", "urn:btih:" + "a" * 40,
            "urn:ed2khash:31d6cfe0d16ae931b73c59d7e0c089c0", "urn:ed2khash:zz", "urn:x:1",
            "", None],
    "level": [1, 2, 3, 4, 0, 5, 1.0, "1", True, None],
    "size": [0, -1, 1.5, "3", None, 2**63],
    "uid": ["", None, "9236BDD7360EB15B4553D756F8DC6F2D", "9236", 5],
    "cid": [0, 2**32 - 1, 2**32, -1, None, "1"],
    "pid": ["", None, "2D71" + "0" * 36, "2d71"],
    "name": ["", None, "x" * 1024, "x" * 1025, "é" * 600],
    "agent": ["", "c" * 129, None],
    "nick": ["", "n" * 257, None],
    "extra": [1],
}
ODD = ["", "   ", "not json,", "[1],", '{"id": "a"}{"id": "b"},', "{", '{"id": 1, "id": 2},',
       "\u00a0" + TOOL_B_ROW + ","]


def lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.03:
            out.append(rng.choice(ODD))
            continue
        rec = dict(BASE)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            key = rng.choice(sorted(TRICKY))
            rec[key] = rng.choice(TRICKY[key])
        if rng.random() < 0.05:
            rec.pop(rng.choice(sorted(rec)))
        out.append(json.dumps(rec, ensure_ascii=rng.random() < 0.5) + ",")
    return out


def read_both(path: Path) -> tuple[object, object]:
    fast_sink, slow_sink = CollectingSink(str(path)), CollectingSink(str(path))
    fast = [repr(item) for b in ToolBJson().read_batches(path, fast_sink)
            for item in batch_records(b)]
    slow = [repr(item) for item in ToolBJson().read(path, slow_sink)]
    return (fast, list(fast_sink.rejects)), (slow, list(slow_sink.rejects))


@pytest.mark.parametrize("seed", range(6))
def test_columnar_equals_the_line_converter(seed: int, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nl-gnut-1.json"
    body = lines(seed, 3000)
    eol = "\r\n" if seed % 3 == 1 else "\n"
    if seed % 2:  # closed, then text after the close
        body[-1] = body[-1].rstrip(",") + "]}"
        body.append(TOOL_B_ROW + ",")
    text = TOOL_B_HEAD + eol + eol.join(body) + (eol if seed != 4 else "")
    path.write_bytes(text.encode())
    monkeypatch.setattr(tool_b, "BLOCK_BYTES", 40_000 + seed)
    fast, slow = read_both(path)
    assert fast == slow
    assert len(fast[0]) > 1000 and len(fast[1]) > 50  # type: ignore[index]


def test_a_part_pyarrow_refuses_is_read_line_by_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nl-gnut-1.json"
    path.write_bytes((TOOL_B_HEAD + "\n" + "\n".join(lines(7, 400))).encode())
    monkeypatch.setattr(tool_b, "_parse", lambda data: None)
    fast, slow = read_both(path)
    assert fast == slow


@pytest.mark.parametrize("odd", [b"\xff", b"\r", b"\x00"])
def test_odd_bytes_hand_the_rest_to_the_line_loop(odd: bytes, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nl-gnut-1.json"
    body = [line.encode() for line in lines(8, 1200)]
    body[700] = body[700].replace(b'"n"', b'"n' + odd + b'"')
    path.write_bytes(TOOL_B_HEAD.encode() + b"\n" + b"\n".join(body) + b"\n]}\n")
    monkeypatch.setattr(tool_b, "BLOCK_BYTES", 30_000)
    fast, slow = read_both(path)
    assert fast == slow


@pytest.mark.parametrize("hint", ["right", "wrong", "none"])
def test_parts_split_at_the_error_row_or_halve(hint: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The row pyarrow's error names is only a hint: a wrong one, or none, must give the
    # same records and rejects (only more parses).
    path = tmp_path / "nl-gnut-1.json"
    path.write_bytes((TOOL_B_HEAD + "\n" + "\n".join(lines(9, 2500))).encode())
    parses = []
    parse = tool_b._parse

    def counted(data: bytes) -> object:
        got = parse(data)
        parses.append(got)
        if hint == "wrong" and isinstance(got, int):
            return 0
        return None if hint == "none" and isinstance(got, int) else got

    monkeypatch.setattr(tool_b, "_parse", counted)
    fast, slow = read_both(path)
    assert fast == slow
    assert len(fast[1]) > 20  # type: ignore[index]
    if hint == "right":
        assert any(isinstance(p, int) for p in parses)
