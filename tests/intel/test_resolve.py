"""Resolution rules on hand-made sightings, and quality on a tiny synthetic world."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from icarus.core.errors import InputError
from icarus.intel.geo import AnonymiserList, Locator
from icarus.intel.resolve import RULES, ResolveConfig, resolve_subjects
from icarus.sensors.schema import SIGHTINGS
from icarus.sim.eval.metrics import contingency, dense, f1_ratio, pair_counts
from tests.intel.world_sightings import world_sightings

T0 = datetime(2024, 4, 1, tzinfo=UTC)
UH = [bytes([i]) * 5 + b"\x0e" + bytes([i]) * 8 + b"\x6f" + bytes([i]) for i in range(1, 5)]
VPN_IP = "198.51.100.7"


class FakeDB:
    """Every address is in NL at a home ISP, except VPN_IP at a listed hosting provider."""

    name = "test"

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        return ("NL", "Hosting Co") if ip == VPN_IP else ("NL", "Home ISP")


LOCATOR = Locator(FakeDB(), AnonymiserList({"hosting co": "hosting"}))


def table(*rows: dict[str, Any]) -> pa.Table:
    """SIGHTINGS rows from short specs: h = hours after T0, plus identifier fields."""
    out = []
    for n, r in enumerate(rows):
        out.append({
            "sighting_id": hashlib.sha256(str(n).encode()).digest()[:16],
            "observed_at": T0 + timedelta(hours=r.get("h", 0)),
            "network": r.get("network", "edonkey"), "ip": r.get("ip", "203.0.113.5"),
            "port": r.get("port", 4662), "content_kind": "md5", "content_id": b"\0" * 16,
            "user_hash": r.get("user_hash"), "ed2k_client_id": r.get("client_id"),
            "guid": r.get("guid"), "peer_id": r.get("peer_id"), "sensor": "s",
            "record_id": str(n), "evidence": "advertised", "category": "csam", "severity": 2,
            "match_set": "known", "source_sha256": "0" * 64, "source_line": n + 1})
    return pa.Table.from_pylist(out, schema=SIGHTINGS)


def subjects(t: pa.Table, cfg: ResolveConfig | None = None) -> list[str]:
    return list(resolve_subjects(t, cfg=cfg, locator=LOCATOR).assignments["subject_id"]
                .to_pylist())


def test_two_user_hashes_behind_one_nat_address_stay_apart() -> None:
    s = subjects(table({"user_hash": UH[0]}, {"user_hash": UH[1], "port": 5000},
                       {"user_hash": UH[0], "h": 0.1}))
    assert s[0] == s[2] != s[1]


def test_one_user_hash_across_three_addresses_merges() -> None:
    t = table(*({"user_hash": UH[0], "ip": f"203.0.113.{i}", "h": 24 * i} for i in (1, 2, 3)))
    res = resolve_subjects(t, locator=LOCATOR)
    assert len(set(res.assignments["subject_id"].to_pylist())) == 1
    assert set(res.merges["rule"].to_pylist()) == {RULES["user_hash"]}


def test_gnutella_guid_and_peer_id_sessions_link() -> None:
    guid, pid = b"\x01" * 16, b"-qB4520-" + b"\x02" * 12
    s = subjects(table({"network": "gnutella", "guid": guid, "ip": "203.0.113.1"},
                       {"network": "gnutella", "guid": guid, "ip": "203.0.113.2", "h": 50},
                       {"network": "bittorrent", "peer_id": pid, "ip": "203.0.113.3"},
                       {"network": "bittorrent", "peer_id": pid, "ip": "203.0.113.3", "h": 1}))
    assert s[0] == s[1] and s[2] == s[3] and s[0] != s[2]


def test_identifierless_sighting_links_within_window_not_across_long_gap() -> None:
    bt = {"network": "bittorrent", "port": 6881}
    pid = b"-qB4520-" + b"\x03" * 12
    s = subjects(table({**bt, "peer_id": pid}, {**bt, "h": 1.5}, {**bt, "h": 30}))
    assert s[0] == s[1] != s[2]
    # A user-chosen port is linked over days, a default port only within the short window.
    chosen = {"network": "bittorrent", "port": 40123}
    s = subjects(table({**chosen}, {**chosen, "h": 30}, {**chosen, "h": 30 + 24 * 8}))
    assert s[0] == s[1] != s[2]


def test_identifierless_sighting_between_two_identifiers_joins_neither() -> None:
    s = subjects(table({"user_hash": UH[0]}, {"h": 0.5}, {"user_hash": UH[1], "h": 1}))
    assert len(set(s)) == 3
    s = subjects(table({"user_hash": UH[0]}, {"h": 0.5}))
    assert s[0] == s[1]


def test_low_id_does_not_link() -> None:
    s = subjects(table({"client_id": 1234, "ip": "203.0.113.1"},
                       {"client_id": 1234, "ip": "203.0.113.2", "h": 0.1}))
    assert s[0] != s[1]


def test_anonymiser_endpoint_never_links_by_address() -> None:
    s = subjects(table({"user_hash": UH[0], "ip": VPN_IP}, {"ip": VPN_IP, "h": 0.1},
                       {"user_hash": UH[1], "ip": VPN_IP, "h": 0.2}))
    assert len(set(s)) == 3
    # The identifier still links the same client through the anonymiser and from home.
    s = subjects(table({"user_hash": UH[0], "ip": VPN_IP}, {"user_hash": UH[0], "h": 5}))
    assert s[0] == s[1]


def test_every_subject_is_explained_by_its_links() -> None:
    t = table({"user_hash": UH[0]}, {"h": 0.5}, {"user_hash": UH[0], "ip": "203.0.113.9"},
              {"network": "gnutella", "guid": b"\x05" * 16, "port": 6346})
    res = resolve_subjects(t, locator=LOCATOR)
    for sid in set(res.assignments["subject_id"].to_pylist()):
        members = res.assignments.filter(pc.equal(res.assignments["subject_id"], sid))
        links = res.explain(sid)
        assert links.num_rows >= members.num_rows - 1
        assert set(links["rule"].to_pylist()) <= set(RULES.values())
    assert set(res.explain(res.assignments["subject_id"][0].as_py())["rule"].to_pylist()) == {
        RULES["user_hash"], RULES["address"]}


def test_subject_ids_are_deterministic_and_independent_of_row_order() -> None:
    t = table({"user_hash": UH[0]}, {"h": 0.5}, {"user_hash": UH[1], "port": 9},
              {"network": "bittorrent", "port": 6881, "h": 3})
    first = resolve_subjects(t, locator=LOCATOR).assignments
    perm = np.random.default_rng(1).permutation(t.num_rows)
    again = resolve_subjects(t.take(pa.array(perm)), locator=LOCATOR).assignments
    assert dict(zip(first["record_id"].to_pylist(), first["subject_id"].to_pylist(),
                    strict=True)) == dict(zip(again["record_id"].to_pylist(),
                                              again["subject_id"].to_pylist(), strict=True))
    ids = {r["subject_id"] for r in first.to_pylist()}
    assert min(i.hex() for i in first["sighting_id"].to_pylist()) in ids


def test_repeated_sighting_id_is_refused() -> None:
    t = table({"user_hash": UH[0]}, {"h": 1})
    t = t.set_column(0, "sighting_id", pa.array([b"\1" * 16] * 2, pa.binary(16)))
    with pytest.raises(InputError, match="more than once"):
        resolve_subjects(t, locator=LOCATOR)


def test_tiny_world_pairwise_identity(tiny_world: Path) -> None:
    t = world_sightings(tiny_world)
    truth = pq.read_table(tiny_world / "truth" / "sightings_truth.parquet")
    at = pc.index_in(pc.binary_join_element_wise(t["sensor"], t["record_id"], "|"),
                     value_set=pc.binary_join_element_wise(truth["sensor"], truth["record_id"],
                                                           "|"))
    t = t.filter(pc.is_valid(at))
    person = truth["person_id"].to_numpy()[at.drop_null().to_numpy()]
    found = resolve_subjects(t).assignments["subject_id"].to_numpy(zero_copy_only=False)
    pairs = pair_counts(contingency(dense(found), dense(person)))
    num, den = f1_ratio(pairs)
    assert pairs.together_both / pairs.together_first >= 0.99  # precision
    # Measured 0.878 (seed 3): BitTorrent sessions on other leases stay apart (see report).
    assert num / den >= 0.85
