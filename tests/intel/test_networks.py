"""Sharing networks: hand-made co-sharing graphs, determinism, and a tiny synthetic world."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from icarus.bank.service import BankService
from icarus.core.errors import InputError, UsageError
from icarus.core.settings import load_settings
from icarus.intel.intel_file import read_earlier_intel
from icarus.intel.networks import NetworksConfig, find_networks
from icarus.intel.resolve import resolve_subjects
from icarus.sensors.dataset import query
from icarus.sensors.ingest import ingest_files
from icarus.sensors.schema import SIGHTINGS
from icarus.sim.eval import evaluate, write_results

T0 = datetime(2024, 4, 1, tzinfo=UTC)


def _sightings(holdings: dict[str, list[str]]) -> tuple[pa.Table, pa.Table]:
    """One sighting per (subject, item); subjects are their own ids (assignments given)."""
    rows, assigned = [], []
    for n, (subject, held) in enumerate(sorted(holdings.items())):
        for k, item in enumerate(held):
            sid = bytes([n, k]) + bytes(14)
            rows.append({"sighting_id": sid, "observed_at": T0 + timedelta(hours=n + k),
                         "network": "edonkey", "ip": f"10.0.{n}.1", "port": 4662,
                         "content_kind": "ed2k", "content_id": item.encode().ljust(16, b"."),
                         "user_hash": None, "guid": None, "sensor": "s", "record_id": f"{n}-{k}",
                         "evidence": "advertised", "category": "csam", "severity": 2,
                         "match_set": "known", "source_sha256": "0" * 64, "source_line": 1})
            assigned.append({"sighting_id": sid, "subject_id": subject})
    full = [{f.name: r.get(f.name) for f in SIGHTINGS} for r in rows]
    return pa.Table.from_pylist(full, schema=SIGHTINGS), pa.Table.from_pylist(assigned)


def _groups(result: pa.Table) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for r in result.to_pylist():
        groups.setdefault(r["network"], set()).add(r["subject_id"])
    return {frozenset(g) for g in groups.values()}


def _two_cliques() -> dict[str, list[str]]:
    a = {f"a{i}": ["pop", "a-1", "a-2", "a-3"] for i in range(5)}
    b = {f"b{i}": ["pop", "b-1", "b-2", "b-3"] for i in range(5)}
    return a | b


def test_popular_file_does_not_glue_two_cliques() -> None:
    result = find_networks(*_sightings(_two_cliques()))
    assert _groups(result.memberships) == {frozenset(f"a{i}" for i in range(5)),
                                           frozenset(f"b{i}" for i in range(5))}
    nets = {r["network"]: r for r in result.networks.to_pylist()}
    assert set(nets) == {"net-a0", "net-b0"}  # "net-" + smallest member
    core = nets["net-a0"]["core_files"]  # all four items are held by all five members
    assert "ed2k:" + b"pop".ljust(16, b".").hex() in core
    assert len(core) == 4 and nets["net-a0"]["size"] == 5


def test_chain_is_one_network_at_low_resolution() -> None:
    # Modularity cuts a long path into segments at resolution 1 (docs/intel/networks.md);
    # a lower resolution keeps a chain of co-sharers whole.
    chain = {f"c{i}": [f"x{i}", f"x{i + 1}"] for i in range(6)}
    found = find_networks(*_sightings(chain), cfg=NetworksConfig(resolution=0.1))
    assert _groups(found.memberships) == {frozenset(chain)}


def test_min_size_drops_pairs_and_singletons() -> None:
    holdings = _two_cliques() | {"p1": ["q"], "p2": ["q"], "lone": ["z"]}
    sightings, assigned = _sightings(holdings)
    found = {s for g in _groups(find_networks(sightings, assigned).memberships) for s in g}
    assert not found & {"p1", "p2", "lone"}
    pairs = find_networks(sightings, assigned, cfg=NetworksConfig(min_size=2))
    assert frozenset({"p1", "p2"}) in _groups(pairs.memberships)
    big = find_networks(sightings, assigned, cfg=NetworksConfig(min_size=6))
    assert big.memberships.num_rows == 0 and big.networks.num_rows == 0


def test_same_labels_whatever_the_row_order() -> None:
    sightings, assigned = _sightings(_two_cliques() | {f"c{i}": [f"x{i}", f"x{i + 1}"]
                                                        for i in range(6)})
    first = find_networks(sightings, assigned)
    reversed_rows = sightings.take(pa.array(range(sightings.num_rows - 1, -1, -1)))
    again = find_networks(reversed_rows, assigned)
    assert first.memberships.equals(again.memberships)
    assert first.networks.equals(again.networks)


def test_items_table_joins_digests_of_one_file() -> None:
    # Two halves hold the same three files, seen as ed2k by one and as sha1 by the other.
    ed2k = {f"e{i}": ["f1", "f2", "f3"] for i in range(3)}
    sightings, assigned = _sightings(ed2k | {f"g{i}": ["h1", "h2", "h3"] for i in range(3)})
    apart = _groups(find_networks(sightings, assigned).memberships)
    assert len(apart) == 2
    items = pa.table({"content_kind": ["ed2k"] * 6,
                      "content_id": [x.encode().ljust(16, b".") for x in
                                     ("f1", "f2", "f3", "h1", "h2", "h3")],
                      "item": ["1", "2", "3", "1", "2", "3"]})
    joined = _groups(find_networks(sightings, assigned, items=items).memberships)
    assert joined == {frozenset(ed2k) | {f"g{i}" for i in range(3)}}


def test_bad_input_and_config() -> None:
    sightings, assigned = _sightings(_two_cliques())
    with pytest.raises(InputError, match="content_id"):
        find_networks(sightings.drop_columns(["content_id"]), assigned)
    with pytest.raises(UsageError):
        NetworksConfig(min_size=0)


# --- a tiny synthetic world, ingested for real (the bank keeps sightings of known material) ---

@pytest.fixture(scope="module")
def ingested(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, pa.Table, pa.Table]:
    world = tiny_world
    settings = load_settings(home=str(tmp_path_factory.mktemp("nethome")))
    BankService(settings).import_file(world / "hashsets" / "known.vics.json", set_name="known")
    ingest_files(settings, sorted((world / "sightings").iterdir()))
    sightings = query(settings, "SELECT * FROM sightings").select(SIGHTINGS.names).cast(SIGHTINGS)
    return world, sightings, resolve_subjects(sightings).assignments


def vics_items(path: Path) -> pa.Table:
    """Which digests of the world's hash set are one file (what a bank entry knows)."""
    rows = []
    for entry in json.loads(path.read_text(encoding="utf-8-sig"))["value"]:
        hashes = {"md5": entry["MD5"], "sha1": entry["SHA1"]}
        hashes |= {h["HashName"].lower(): h["HashValue"] for h in entry["AlternativeHashes"]}
        rows += [{"content_kind": k, "content_id": bytes.fromhex(hashes[k]),
                  "item": str(entry["MediaID"])} for k in ("md5", "sha1", "ed2k", "btih")
                 if k in hashes]
    return pa.Table.from_pylist(rows)


def test_tiny_world_networks_against_truth(ingested: tuple[Path, pa.Table, pa.Table],
                                           tmp_path: Path) -> None:
    world, sightings, assignments = ingested
    earlier = read_earlier_intel(world / "hashsets" / "earlier-intel.json")
    result = find_networks(sightings, assignments, earlier=earlier,
                           items=vics_items(world / "hashsets" / "known.vics.json"))
    flags = pa.table({"network": result.networks["network"],
                      "is_new": pc.invert(result.networks["known_earlier"])})
    write_results(tmp_path, {"subjects": assignments.select(["sensor", "record_id",
                                                             "subject_id"]),
                             "networks": result.memberships, "networks_new": flags})
    report = evaluate(world, tmp_path)
    ari = report.metric("networks.ari").value
    new_recall = report.metric("networks.new_recall").value
    print(f"tiny world seed 3: ARI {ari}, NMI {report.metric('networks.nmi').value}, "
          f"new-network recall {new_recall}")
    assert ari is not None and ari >= 0.6
    assert new_recall == 1.0
    known = result.networks.filter(result.networks["known_earlier"]).to_pylist()
    refs = {n.ref for n in earlier.networks}
    assert known and all(n["earlier_ref"] in refs and n["earlier_evidence"] for n in known)
