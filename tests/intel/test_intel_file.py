"""Reading earlier-operations intelligence (docs/formats/earlier-intel-v1.md)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from icarus.core.errors import FormatMismatchError, InputError
from icarus.core.sinks import CollectingSink
from icarus.domain.digests import Digest
from icarus.intel.intel_file import parse_earlier_intel, read_earlier_intel

DOC: dict[str, Any] = {
    "format": "icarus-earlier-intel", "version": 1,
    "operation": {"name": "Operation Hypothetical 2011", "reference": "EO-2011-042",
                  "date": "2011-05-02"},
    "subjects": [{"ref": "S1", "country": "DK", "network": "N1",
                  "identifiers": [{"kind": "edonkey-user-hash",
                                   "value": "5d2f1a0c9b0e4a3f8e2d1c0b6f8e6f9d",
                                   "client": "eMule 0.50a"}],
                  "addresses": [{"ip": "192.0.2.10", "seen": "2011-03-14T05:06:07Z"}]}],
    "networks": [{"ref": "N1", "name": "ring-07", "members": ["S1"],
                  "content": [{"kind": "ed2k", "value": "31d6cfe0d16ae931b73c59d7e0c089c0"}]}],
}


def test_valid_document(tmp_path: Path) -> None:
    path = tmp_path / "intel.json"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    intel = read_earlier_intel(path)
    assert intel.operation.date == date(2011, 5, 2)
    assert intel.operation.reference == "EO-2011-042"
    [s] = intel.subjects
    assert s.identifiers[0].value == bytes.fromhex("5d2f1a0c9b0e4a3f8e2d1c0b6f8e6f9d")
    assert s.addresses[0].seen == datetime(2011, 3, 14, 5, 6, 7, tzinfo=UTC)
    net = intel.network("N1")
    assert net is not None and net.members == ("S1",)
    assert net.content == (Digest("ed2k", bytes.fromhex("31d6cfe0d16ae931b73c59d7e0c089c0")),)


def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize("schema", [True, False])
@pytest.mark.parametrize(("path", "value", "field"), [
    (("subjects", 0, "identifiers", 0, "value"), "XYZ", "subjects[0].identifiers[0].value"),
    (("subjects", 0, "addresses", 0, "ip"), "999.1.1.1", "subjects[0].addresses[0].ip"),
    (("subjects", 0, "addresses", 0, "seen"), "2011-03-14", "subjects[0].addresses[0].seen"),
    (("networks", 0, "content", 0, "kind"), "crc32", "networks[0].content[0].kind"),
    (("operation", "date"), "2011-13-45", "operation.date"),
])
def test_malformed_field_is_named(path: tuple[Any, ...], value: Any, field: str,
                                  schema: bool) -> None:
    with pytest.raises(InputError, match=r"x\.json: field '" + field.replace("[", r"\[")
                       .replace("]", r"\]").replace(".", r"\.")):
        parse_earlier_intel(_broken(path, value), source="x.json", schema=schema)


def test_not_the_format_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(FormatMismatchError):
        parse_earlier_intel({"format": "other"}, source="x.json")
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json"):
        read_earlier_intel(path)


def test_repeated_ref_refused_and_dangling_refs_warned() -> None:
    doc = copy.deepcopy(DOC)
    doc["subjects"].append(copy.deepcopy(doc["subjects"][0]))
    with pytest.raises(InputError, match=r"subjects\[1\]\.ref"):
        parse_earlier_intel(doc, schema=False)
    doc = _broken(("networks", 0, "members"), ["S1", "S9"])
    doc["subjects"][0]["network"] = "N7"
    sink = CollectingSink("x.json")
    intel = parse_earlier_intel(doc, source="x.json", sink=sink)
    assert intel.subjects[0].network is None
    assert intel.networks[0].members == ("S1",)
    assert len(sink.warnings) == len(intel.warnings) == 2


def test_the_worlds_own_file(tiny_world: Path) -> None:
    intel = read_earlier_intel(tiny_world / "hashsets" / "earlier-intel.json")
    persons = pq.read_table(tiny_world / "truth" / "persons.parquet")
    networks = pq.read_table(tiny_world / "truth" / "networks.parquet")
    assert len(intel.subjects) == sum(persons["in_earlier_intel"].to_pylist())
    assert len(intel.networks) == sum(networks["known_earlier"].to_pylist())
    assert not intel.warnings
    assert all(s.addresses[-1].seen.date() <= intel.operation.date for s in intel.subjects
               if s.addresses)
