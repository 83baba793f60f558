"""One contract over every sighting reader: names, registry, mismatch and truncation."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icarus.core.errors import FormatMismatchError, InternalError
from icarus.core.plugins import Registry
from icarus.core.sinks import CollectingSink
from icarus.sensors.formats import BUILTIN, READERS, SightingReader, detect
from icarus.sensors.formats.tool_a import HEADER

V1 = ('{"v": 1, "record_id": "r1", "observed_at": "2026-03-04T05:06:07.123Z", '
      '"network": "edonkey", "ip": "192.0.2.10", "port": 4662, "content_kind": "ed2k", '
      '"content_id": "31d6cfe0d16ae931b73c59d7e0c089c0", "sensor": "dk1", '
      '"evidence": "browsed"}')
TOOL_A_ROW = ("42;04/03/2026;05:06:07;192.0.2.10;4662;eDonkey;5D2F1A0C9B0E4A3F8E2D1C0B6F7A8E9D;"
              "167903424;;eMule 0.50a;kamiten42;31D6CFE0D16AE931B73C59D7E0C089C0;ED2K;"
              "x.avi;734003200;BROWSE")
TOOL_B_HEAD = '{"generator": "tool-b 3.1", "sensor": "nl-gnut-1", "results": ['
TOOL_B_ROW = ('{"id": "948e29ab4a30bc30", "ts": 1772600768.250, "proto": "gnutella", '
              '"peer": "[2001:db8::7]:6346", "urn": "urn:sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ",'
              ' "level": 1}')
V1_CSV = ("v,observed_at,network,ip,port,content_kind,content_id,sensor,evidence\n"
          "1,2026-03-04T05:06:07Z,edonkey,192.0.2.10,4662,ed2k,"
          "31d6cfe0d16ae931b73c59d7e0c089c0,dk1,browsed\n")


def samples(tmp_path: Path) -> dict[str, Path]:
    """One two-record file per format, the second record cut short where text allows."""
    files = {
        "v1-jsonl": ("s.jsonl", V1 + "\n" + V1[:60]),
        "v1-csv": ("s.csv", V1_CSV + V1_CSV.splitlines()[1][:30]),
        "tool-a-csv": ("tool.csv", "\ufeff" + HEADER + "\r\n" + TOOL_A_ROW + "\r\n"
                       + TOOL_A_ROW[:50]),
        "tool-b-json": ("b.json", TOOL_B_HEAD + "\n" + TOOL_B_ROW + ",\n" + TOOL_B_ROW[:40]),
    }
    out = {}
    for name, (fname, text) in files.items():
        (tmp_path / fname).write_text(text, encoding="utf-8", newline="")
        out[name] = tmp_path / fname
    table = pa.table({"observed_at": pa.array([1772600768_000000], pa.timestamp("us", "UTC")),
                      "network": ["kad"], "ip": ["::1"], "port": [1], "content_kind": ["md5"],
                      "content_id": ["d41d8cd98f00b204e9800998ecf8427e"], "sensor": ["s"],
                      "evidence": ["handshake"]})
    pq.write_table(table, tmp_path / "s.parquet")
    out["v1-parquet"] = tmp_path / "s.parquet"
    return out


def test_builtin_names_are_stable_and_registered() -> None:
    assert [r.NAME for r in BUILTIN] == ["v1-jsonl", "v1-csv", "v1-parquet", "tool-a-csv",
                                         "tool-b-json"]
    assert READERS.names() == sorted(r.NAME for r in BUILTIN)


def test_registry_refuses_a_duplicate() -> None:
    reg: Registry[SightingReader] = Registry("sighting format")
    reg.register(BUILTIN[0])
    with pytest.raises(InternalError):
        reg.register(BUILTIN[0])


@pytest.mark.parametrize("reader", BUILTIN, ids=lambda r: r.NAME)
def test_contract(reader: SightingReader, tmp_path: Path) -> None:
    files = samples(tmp_path)
    own = files[reader.NAME]
    assert detect(own) is reader
    sink = CollectingSink(str(own))
    records = list(reader.read(own, sink))
    assert len(records) == 1 and records[0][0] >= 1
    truncated = reader.NAME != "v1-parquet"
    assert len(sink.rejects) == (1 if truncated else 0)
    for name, other in files.items():
        if name != reader.NAME:
            gen = reader.read(other, CollectingSink())
            with pytest.raises(FormatMismatchError, match=reader.NAME):
                next(gen)


def test_detect_refuses_an_unknown_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    with pytest.raises(FormatMismatchError, match="no format claims"):
        detect(junk)


def test_every_world_file_is_claimed_by_exactly_one_reader(world: Path) -> None:
    names = {p.suffix: detect(p).NAME for p in (world / "sightings").iterdir()}
    assert names == {".jsonl": "v1-jsonl", ".csv": "tool-a-csv", ".json": "tool-b-json"}
