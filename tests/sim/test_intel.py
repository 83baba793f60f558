"""The earlier-operations intelligence: valid against its schema, and true to the world it saw."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from icarus.core.errors import UsageError
from icarus.sim.intel import EarlierIntel, write_earlier_intel
from icarus.sim.rng import Streams
from icarus.sim.tables import CONTENT, INSTALLS, LEASES, NETWORKS, PERSONS

SCHEMA = files("icarus") / "data" / "schemas" / "earlier-intel-v1.schema.json"
START = datetime(2011, 1, 6, tzinfo=UTC)
PEOPLE = 40


def _world() -> dict[str, pa.Table]:
    """A small world built by hand: people 0-39, every third one in the intelligence."""
    persons = {
        "person_id": list(range(PEOPLE)),
        "country": ["DK" if p % 2 else "DE" for p in range(PEOPLE)],
        "asn": [64500] * PEOPLE, "isp": ["Example ISP"] * PEOPLE,
        "role": ["distributor"] * PEOPLE, "uses_anonymiser": [False] * PEOPLE,
        "network_id": [p % 4 if p < 24 else None for p in range(PEOPLE)],
        "nat_group": [None] * PEOPLE, "should_identify": [True] * PEOPLE,
        "in_earlier_intel": [p % 3 == 0 for p in range(PEOPLE)], "known_files": [5] * PEOPLE,
    }
    installs = {
        "install_id": list(range(PEOPLE)), "person_id": list(range(PEOPLE)),
        "network": ["edonkey" if p % 2 else "gnutella" for p in range(PEOPLE)],
        "client": ["eMule 0.50a" if p % 2 else "Shareaza 2.7.10.2" for p in range(PEOPLE)],
        "user_hash": [bytes([p]) * 16 if p % 2 else None for p in range(PEOPLE)],
        "guid": [None if p % 2 else bytes([100 + p]) * 16 for p in range(PEOPLE)],
        "peer_id_prefix": [None] * PEOPLE, "low_id": [False] * PEOPLE,
        "nickname": [f"user{p}" for p in range(PEOPLE)],
    }
    leases: dict[str, list[Any]] = {k: [] for k in LEASES.names}
    for p in range(PEOPLE):
        for week in range(20):
            leases["person_id"].append(p)
            leases["ip"].append(f"198.51.{p}.{week + 1}")
            leases["asn"].append(64500)
            leases["country"].append("DE")
            leases["kind"].append("home")
            leases["start"].append(START + timedelta(weeks=week))
            leases["end"].append(START + timedelta(weeks=week + 1))
    content: dict[str, list[Any]] = {k: [] for k in CONTENT.names}
    for c in range(60):
        row = {"content_id": c, "status": "known", "category": "csam", "severity": 2,
               "vics_category": 1, "media": "image", "name": f"IMG_{c:04d}.jpg", "size": 100,
               "md5": bytes([c]) * 16, "sha1": bytes([c]) * 20, "sha256": bytes([c]) * 32,
               "ed2k": bytes([c + 1]) * 16, "btih": None, "seed": c, "pdq": None,
               "network_id": c % 4 if c < 40 else None}
        for key, value in row.items():
            content[key].append(value)
    networks = {"network_id": [0, 1, 2, 3], "name": ["ring-01", "ring-02", "ring-03", "ring-04"],
                "known_earlier": [True, False, True, True],
                "core_content": [[c for c in range(40) if c % 4 == n] for n in range(4)]}
    return {
        "persons": pa.table(persons, schema=PERSONS),
        "installs": pa.table(installs, schema=INSTALLS),
        "leases": pa.table(leases, schema=LEASES),
        "networks": pa.table(networks, schema=NETWORKS),
        "content": pa.table(content, schema=CONTENT),
    }


def _write(path: Path, seed: int = 9) -> tuple[dict[str, Any], EarlierIntel]:
    w = _world()
    found = write_earlier_intel(w["persons"], w["installs"], w["leases"], w["networks"],
                                w["content"], path, Streams(seed))
    return json.loads(path.read_text(encoding="utf-8")), found


def test_the_document_validates_against_its_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc, _ = _write(tmp_path / "intel.json")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert not list(validator.iter_errors(doc))
    broken = {**doc, "subjects": [{**doc["subjects"][0], "country": "Denmark"}]}
    assert list(validator.iter_errors(broken))
    network = doc["networks"][0]
    for kind, value in (("sha1", "ab" * 16), ("md5", "ab" * 20), ("tth", "ab" * 16)):
        bad = {**network, "content": [{"kind": kind, "value": value}]}
        assert list(validator.iter_errors({**doc, "networks": [bad]})), kind
    for kind, value in (("sha1", "ab" * 20), ("ed2k", "ab" * 16)):
        good = {**network, "content": [{"kind": kind, "value": value}]}
        assert not list(validator.iter_errors({**doc, "networks": [good]})), kind


def test_the_document_has_the_documented_shape(tmp_path: Path) -> None:
    """The schema's rules checked by hand, so they hold even where jsonschema is missing."""
    doc, _ = _write(tmp_path / "intel.json")
    assert set(doc) == {"format", "version", "operation", "subjects", "networks"}
    assert (doc["format"], doc["version"]) == ("icarus-earlier-intel", 1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["operation"]["date"])
    for subject in doc["subjects"]:
        assert set(subject) == {"ref", "country", "network", "identifiers", "addresses"}
        assert re.fullmatch(r"[A-Z]{2}", subject["country"])
        for ident in subject["identifiers"]:
            assert ident["kind"] in ("edonkey-user-hash", "gnutella-guid")
            assert re.fullmatch(r"[0-9a-f]{32}", ident["value"])
        for address in subject["addresses"]:
            ipaddress.ip_address(address["ip"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", address["seen"])
    for network in doc["networks"]:
        assert set(network) == {"ref", "name", "members", "content"}
        for digest in network["content"]:
            length = 40 if digest["kind"] == "sha1" else 32
            assert digest["kind"] in ("md5", "ed2k", "sha1")
            assert re.fullmatch(f"[0-9a-f]{{{length}}}", digest["value"])


def test_subjects_are_the_named_persons_as_the_world_knew_them(tmp_path: Path) -> None:
    doc, found = _write(tmp_path / "intel.json")
    w = _world()
    named = [p for p in range(PEOPLE) if p % 3 == 0]
    assert sorted(found.subjects.values()) == named
    assert [s["ref"] for s in doc["subjects"]] == sorted(found.subjects)
    op_date = doc["operation"]["date"]
    assert re.fullmatch(r"Operation [A-Z][a-z]+ 20\d\d", doc["operation"]["name"])
    installs = {r["person_id"]: r for r in w["installs"].to_pylist()}
    by_network = {nid: ref for ref, nid in found.networks.items()}
    for subject in doc["subjects"]:
        person = found.subjects[subject["ref"]]
        assert subject["country"] == ("DK" if person % 2 else "DE")
        inst = installs[person]
        for ident in subject["identifiers"]:
            raw = inst["user_hash"] if ident["kind"] == "edonkey-user-hash" else inst["guid"]
            assert ident["value"] == raw.hex() and ident["client"] == inst["client"]
        for address in subject["addresses"]:
            assert address["ip"].startswith(f"198.51.{person}.")
            assert address["seen"][:10] <= op_date
        network = person % 4 if person < 24 else None
        expected = by_network.get(network) if network is not None else None  # 1: not known
        assert subject["network"] == expected
    assert any(s["identifiers"] for s in doc["subjects"])
    assert any(s["addresses"] for s in doc["subjects"])


def test_networks_are_those_known_earlier(tmp_path: Path) -> None:
    doc, found = _write(tmp_path / "intel.json")
    assert sorted(found.networks.values()) == [0, 2, 3]
    refs = {s["ref"] for s in doc["subjects"]}
    for net in doc["networks"]:
        nid = found.networks[net["ref"]]
        assert net["name"] == f"ring-0{nid + 1}"
        assert set(net["members"]) <= refs
        assert {found.subjects[m] % 4 for m in net["members"]} <= {nid}
        assert 3 <= len(net["content"]) <= 10
        for digest in net["content"]:
            value = bytes.fromhex(digest["value"])
            cid = value[0] - (1 if digest["kind"] == "ed2k" else 0)
            assert cid % 4 == nid and cid < 40  # from the network's core collection


def test_same_seed_same_document(tmp_path: Path) -> None:
    _write(tmp_path / "a.json")
    _write(tmp_path / "b.json")
    _write(tmp_path / "c.json", seed=10)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (tmp_path / "a.json").read_bytes() != (tmp_path / "c.json").read_bytes()


def test_a_core_naming_missing_content_is_refused(tmp_path: Path) -> None:
    w = _world()
    networks = pa.table({"network_id": [0], "name": ["ring-01"], "known_earlier": [True],
                         "core_content": [[999]]}, schema=NETWORKS)
    with pytest.raises(UsageError, match="content 999"):
        write_earlier_intel(w["persons"], w["installs"], w["leases"], networks, w["content"],
                            tmp_path / "intel.json", Streams(1))
