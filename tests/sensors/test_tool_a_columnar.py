"""The columnar path of tool A CSV gives exactly what the row-by-row converter gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats import tool_a
from icarus.sensors.formats.columns import batch_records
from icarus.sensors.formats.tool_a import HEADER, ToolACsv
from tests.sensors.test_contract import TOOL_A_ROW

CELLS = TOOL_A_ROW.split(";")
TRICKY: dict[int, list[str]] = {
    0: ["", "7", "x1", "٣", "1" * 129, "0042"],
    1: ["", "31/02/2026", "4/3/2026", "04/03/0000", "04/03/0999", "29/02/2024", "04-03-2026"],
    2: ["", "24:00:00", "23:59:60", "5:06:07", "00:00:00", "23:59:59"],
    3: ["", "192.0.2", "::1", "2001:DB8::1", "010.1.1.1", " 192.0.2.1", "1.2.3.4"],
    4: ["", "0", "65535", "65536", "080", "-1", "٣"],
    5: ["", "Kad", "Gnutella", "BitTorrent", "edonkey"],
    6: ["", "5d2f1a0c9b0e4a3f8e2d1c0b6f7a8e9d", "5D2F", "5D2F1A0C9B0E4A3F8E2D1C0B6F7A8E9G"],
    7: ["", "0", "4294967295", "4294967296", "x"],
    8: ["", "2D71423435323030" + "0" * 24, "2d71423435323030" + "0" * 24, "2D71"],
    9: ["", "c" * 128, "c" * 129, "é"],
    10: ["", "n" * 256, "n" * 257],
    11: ["", "31d6cfe0d16ae931b73c59d7e0c089c0", "31D6CFE0D16AE931B73C59D7E0C089C",
         "A9993E364706816ABA3E25717850C26C9CD0D89D"],
    12: ["", "SHA1", "BTIH", "MD5"],
    13: ["", "x" * 1024, "x" * 1025, "a;b"],
    14: ["", "0", "9" * 18, "9" * 19, "-5"],
    15: ["", "SOURCE", "HANDSHAKE", "DOWNLOAD", "LOOKED"],
}
ODD = ["", " ", "1;2;3", TOOL_A_ROW + ";extra", TOOL_A_ROW[:40]]


def rows(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.03:
            out.append(rng.choice(ODD))
            continue
        cells = list(CELLS)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            k = rng.choice(sorted(TRICKY))
            cells[k] = rng.choice(TRICKY[k])
        out.append(";".join(cells))
    return out


def read_both(path: Path) -> tuple[tuple[list[str], list[object]], tuple[list[str], list[object]]]:
    fast_sink, slow_sink = CollectingSink(str(path)), CollectingSink(str(path))
    fast = [repr(item) for b in ToolACsv().read_batches(path, fast_sink)
            for item in batch_records(b)]
    slow = [repr(item) for item in ToolACsv().read(path, slow_sink)]
    return (fast, list(fast_sink.rejects)), (slow, list(slow_sink.rejects))


@pytest.mark.parametrize("seed", range(6))
def test_columnar_equals_the_row_converter(seed: int, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ("dk-1.csv" if seed != 5 else ("s" * 129 + ".csv"))
    body = rows(seed, 3000)
    if seed == 3:  # a quoted cell half-way: the rest of the file goes the CSV module's way
        body[1500] = TOOL_A_ROW.replace("x.avi", '"a;""b"".avi"')
    eol = "\n" if seed == 4 else "\r\n"
    text = "\ufeff" + HEADER + eol + eol.join(body) + (eol if seed % 2 else "")
    path.write_bytes(text.encode())
    monkeypatch.setattr(tool_a, "BLOCK_BYTES", 50_000)  # many blocks
    fast, slow = read_both(path)
    assert fast == slow
    if seed != 5:
        assert len(fast[0]) > 1000 and len(fast[1]) > 50


def test_a_block_pyarrow_refuses_is_read_row_by_row(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dk-1.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + "\r\n".join(rows(1, 500))).encode())
    monkeypatch.setattr(tool_a, "_parse", lambda data: None)
    fast, slow = read_both(path)
    assert fast == slow


@pytest.mark.parametrize("odd", [b"\xff", b"\r", b"\x00", b'"'])
def test_odd_bytes_hand_the_rest_to_the_csv_module(odd: bytes, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dk-1.csv"
    body = [row.encode() for row in rows(9, 1200)]
    body[700] = body[700].replace(b"kamiten42", b"kami" + odd + b"ten42")
    path.write_bytes(("\ufeff" + HEADER + "\r\n").encode() + b"\r\n".join(body) + b"\r\n")
    monkeypatch.setattr(tool_a, "BLOCK_BYTES", 30_000)
    fast, slow = read_both(path)
    assert fast == slow
