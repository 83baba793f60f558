"""Tool A CSV: BOM, CRLF, quoted cells, upper-case hex, the sensor from the file name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats.base import SightingRecord
from icarus.sensors.formats.tool_a import HEADER, ToolACsv
from tests.sensors.test_contract import TOOL_A_ROW
from tests.sensors.truth import check_world_file


def _read(tmp_path: Path, *rows: str) -> tuple[list[tuple[int, SightingRecord]], CollectingSink]:
    path = tmp_path / "dk-1.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + "\r\n".join(rows) + "\r\n").encode())
    sink = CollectingSink(str(path))
    return list(ToolACsv().read(path, sink)), sink


def test_a_documented_row_maps_to_v1(tmp_path: Path) -> None:
    row = TOOL_A_ROW.replace("x.avi", '"holiday; ""beach"".avi"')
    [(line, rec)], sink = _read(tmp_path, row)
    assert not sink.rejects and line == 2
    assert rec.sensor == "dk-1" and rec.record_id == "42"
    assert rec.file_name == 'holiday; "beach".avi'
    assert rec.observed_at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert rec.user_hash == bytes.fromhex("5d2f1a0c9b0e4a3f8e2d1c0b6f7a8e9d")
    assert rec.evidence == "browsed" and rec.ed2k_client_id == 167903424


@pytest.mark.parametrize(("row", "reason"), [
    (TOOL_A_ROW.rsplit(";", 2)[0], "14 cells"),
    (TOOL_A_ROW.replace("192.0.2.10", "192.0.2"), "ip"),
    (TOOL_A_ROW.replace("31D6CFE0D16AE931B73C59D7E0C089C0", "31D6CFE0D16AE931B73C59D7E0C089CG"),
     "content_id"),
    (TOOL_A_ROW.replace("31D6CFE0D16AE931B73C59D7E0C089C0", "31d6cfe0d16ae931b73c59d7e0c089c0"),
     "Hash"),
    (TOOL_A_ROW.replace("04/03/2026", ""), "missing required cell(s): Date"),
    (TOOL_A_ROW.replace("04/03/2026", "31/02/2026"), "Date/Time"),
    (TOOL_A_ROW.replace("BROWSE", "LOOKED"), "Evidence"),
])
def test_a_malformed_row_is_rejected(tmp_path: Path, row: str, reason: str) -> None:
    records, sink = _read(tmp_path, row, TOOL_A_ROW)
    assert [n for n, _ in records] == [3]
    assert sink.rejects[0].position == "line 2" and sink.rejects[0].reason.startswith(reason)


def test_world_tool_a_files_match_truth(world: Path) -> None:
    for path in sorted((world / "sightings").glob("*.csv")):
        check_world_file(ToolACsv(), path, world)
