"""Tool B JSON: envelope, one result a line, IPv6 peers, base32 SHA-1, truncation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats.base import SightingRecord
from icarus.sensors.formats.tool_b import ToolBJson
from tests.sensors.test_contract import TOOL_B_HEAD, TOOL_B_ROW
from tests.sensors.truth import check_world_file

ROW = json.loads(TOOL_B_ROW)


def _read(tmp_path: Path, body: str) -> tuple[list[tuple[int, SightingRecord]], CollectingSink]:
    path = tmp_path / "b.json"
    path.write_text(TOOL_B_HEAD + "\n" + body)
    sink = CollectingSink(str(path))
    return list(ToolBJson().read(path, sink)), sink


def test_a_complete_document_maps_to_v1(tmp_path: Path) -> None:
    second = {**ROW, "id": "fc5f17df973f0c2a", "proto": "bittorrent",
              "peer": "198.51.100.7:51413",
              "urn": "urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a",
              "pid": "2d7142343532302d6b1f0c9a2e4d7a8b3c5d6e7f", "level": 4}
    text = json.dumps(ROW) + ",\n" + json.dumps(second) + "\n]}\n"
    records, sink = _read(tmp_path, text)
    assert not sink.rejects
    json.loads((tmp_path / "b.json").read_text())  # the fixture is a valid JSON document
    (l1, a), (l2, b) = records
    assert (l1, l2) == (2, 3)
    assert (a.sensor, a.ip, a.port, a.content_kind) == ("nl-gnut-1", "2001:db8::7", 6346, "sha1")
    assert a.observed_at.microsecond == 250000 and a.evidence == "advertised"
    assert b.peer_id is not None and b.evidence == "download-verified"


@pytest.mark.parametrize(("change", "reason"), [
    ({"ts": "n/a"}, "ts"), ({"level": "high"}, "level"), ({"peer": 0}, "peer"),
    ({"peer": "1.2.3:80"}, "ip"), ({"urn": "urn:sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBY"},
                                   "content_id"),
    ({"id": None}, "missing required key(s): id"),
])
def test_a_malformed_result_is_rejected(tmp_path: Path, change: dict[str, object],
                                        reason: str) -> None:
    text = json.dumps({**ROW, **change}) + ",\n" + json.dumps(ROW) + "\n]}\n"
    records, sink = _read(tmp_path, text)
    assert [n for n, _ in records] == [3]
    assert sink.rejects[0].position == "line 2" and sink.rejects[0].reason.startswith(reason)


def test_a_truncated_document_keeps_complete_results(tmp_path: Path) -> None:
    records, sink = _read(tmp_path, json.dumps(ROW) + ",\n" + json.dumps(ROW)[:50])
    assert [n for n, _ in records] == [2]
    assert "truncated" in sink.rejects[0].reason


def test_world_tool_b_files_match_truth(world: Path) -> None:
    for path in sorted((world / "sightings").glob("*.json")):
        check_world_file(ToolBJson(), path, world)
