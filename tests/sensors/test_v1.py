"""The v1 readers (JSON lines, CSV, Parquet): valid, corrupt and variant records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats.v1 import V1Csv, V1Jsonl, V1Parquet
from tests.sensors.test_contract import V1, V1_CSV
from tests.sensors.truth import check_world_file

BASE = json.loads(V1)


def _jsonl(tmp_path: Path, *objs: dict[str, object]) -> tuple[list[int], CollectingSink]:
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in objs) + "\n")
    sink = CollectingSink(str(path))
    return [n for n, _ in V1Jsonl().read(path, sink)], sink


def test_jsonl_normalises_a_valid_record(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(V1 + "\n")
    [(line, rec)] = list(V1Jsonl().read(path, CollectingSink()))
    assert line == 1
    assert rec.observed_at == datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
    assert rec.content_id == bytes.fromhex("31d6cfe0d16ae931b73c59d7e0c089c0")
    assert (rec.network, rec.ip, rec.port, rec.evidence) == ("edonkey", "192.0.2.10", 4662,
                                                            "browsed")


def test_jsonl_accepts_base32_sha1_and_ipv6(tmp_path: Path) -> None:
    rec = {**BASE, "network": "gnutella", "content_kind": "sha1", "ip": "2001:DB8::7",
           "content_id": "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"}
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    [(_, out)] = list(V1Jsonl().read(path, CollectingSink()))
    assert out.ip == "2001:db8::7" and len(out.content_id) == 20


@pytest.mark.parametrize(("change", "reason"), [
    ({"ip": "300.1.1.1"}, "ip"),
    ({"content_id": "31d6cfe0d16ae931b73c59d7e0c089c"}, "content_id"),
    ({"evidence": "seen"}, "evidence"),
    ({"observed_at": "2026-03-04 05:06:07"}, "observed_at"),
    ({"port": 70000}, "port"),
    ({"user_hash": "ABCDEF"}, "user_hash"),
    ({"v": 2}, "v"),
    ({"colour": "red"}, "unknown field"),
    ({"sensor": None}, "missing required field(s): sensor"),
])
def test_jsonl_rejects_a_bad_field_and_goes_on(tmp_path: Path, change: dict[str, object],
                                               reason: str) -> None:
    lines, sink = _jsonl(tmp_path, {**BASE, **change}, BASE)
    assert lines == [2]
    [reject] = sink.rejects
    assert reject.position == "line 1" and reject.reason.startswith(reason)
    assert reject.raw is not None


def test_csv_reads_any_column_order_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("evidence,sensor,file_size,observed_at,network,ip,port,content_kind,"
                    "content_id\nbrowsed,dk1,,2026-03-04T05:06:07Z,kad,192.0.2.1,0,md5,"
                    "d41d8cd98f00b204e9800998ecf8427e\nbrowsed,dk1,,bad,kad,192.0.2.1,0\n")
    sink = CollectingSink()
    [(line, rec)] = list(V1Csv().read(path, sink))
    assert line == 2 and rec.file_size is None and rec.port == 0
    assert sink.rejects[0].position == "line 3"


def test_csv_rejects_a_non_integer_port(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(V1_CSV.replace(",4662,", ",http,"))
    sink = CollectingSink()
    assert list(V1Csv().read(path, sink)) == []
    assert sink.rejects[0].reason.startswith("port")


def test_parquet_rows_are_validated(tmp_path: Path) -> None:
    table = pa.table({
        "observed_at": pa.array([1, 2], pa.timestamp("us", "UTC")),
        "network": ["kad", "kad"], "ip": ["192.0.2.1", "nope"], "port": [1, 2],
        "content_kind": ["md5", "md5"], "content_id": ["d41d8cd98f00b204e9800998ecf8427e"] * 2,
        "sensor": ["s", "s"], "evidence": ["handshake", "handshake"]})
    pq.write_table(table, tmp_path / "x.parquet")
    sink = CollectingSink()
    assert [n for n, _ in V1Parquet().read(tmp_path / "x.parquet", sink)] == [1]
    assert sink.rejects[0].position == "row 2" and sink.rejects[0].reason.startswith("ip")


def test_world_jsonl_files_match_truth(world: Path) -> None:
    for path in sorted((world / "sightings").glob("*.jsonl")):
        check_world_file(V1Jsonl(), path, world)
