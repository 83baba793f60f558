"""Sharing and online behaviour: calibration on Wolak et al. 2014, sessions, identifiers."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from icarus.sim.behaviour import build_behaviour, with_identification
from icarus.sim.clients import build_installs, install_ports
from icarus.sim.config import WorldConfig, load_config
from icarus.sim.geo import ip_ints, load_geo
from icarus.sim.population import build_population, window_origin_us
from icarus.sim.rng import Streams
from icarus.sim.tables import CONTENT, PERSONS, SESSIONS, SHARES


def make_content(known: int, unknown: int, benign: int, networks: int,
                 core: int = 12) -> pa.Table:
    """A CONTENT table by hand: ``core`` items per network, a quarter of them unknown."""
    n = known + unknown + benign
    status = ["known"] * known + ["unknown-illicit"] * unknown + ["benign"] * benign
    net: list[int | None] = [None] * n
    n_unknown = core // 4
    for k in range(networks):
        for j in range(core - n_unknown):
            net[k * (core - n_unknown) + j] = k
        for j in range(n_unknown):
            net[known + k * n_unknown + j] = k
    rng = np.random.default_rng(0)
    return pa.table({
        "content_id": np.arange(n, dtype=np.int32), "status": status,
        "category": ["csam" if s != "benign" else "none" for s in status],
        "severity": np.zeros(n, np.int8), "vics_category": pa.nulls(n, pa.int8()),
        "media": ["image"] * n, "name": [f"f{i}.jpg" for i in range(n)],
        "size": np.full(n, 1000), "md5": [rng.bytes(16) for _ in range(n)],
        "sha1": [rng.bytes(20) for _ in range(n)], "sha256": [rng.bytes(32) for _ in range(n)],
        "ed2k": [rng.bytes(16) for _ in range(n)], "btih": pa.nulls(n, pa.binary(20)),
        "seed": np.arange(n), "pdq": pa.nulls(n, pa.binary(32)),
        "network_id": pa.array(net, pa.int32())}, schema=CONTENT)


@dataclass(frozen=True)
class World:
    cfg: WorldConfig
    persons: pa.Table
    installs: pa.Table
    leases: pa.Table
    content: pa.Table
    shares: pa.Table
    sessions: pa.Table
    updated: pa.Table


def _build(scale: str, seed: int, sizes: tuple[int, int, int]) -> World:
    cfg = load_config(scale, seed=seed)
    streams = Streams(seed)
    persons, leases, networks = build_population(cfg, streams, load_geo(cfg.geo.countries))
    installs = build_installs(cfg, streams, persons)
    content = make_content(*sizes, cfg.population.networks)
    shares, sessions, updated = build_behaviour(cfg, streams, persons, installs, leases,
                                                content, networks)
    return World(cfg, persons, installs, leases, content, shares, sessions, updated)


@pytest.fixture(scope="module")
def tiny() -> World:
    return _build("tiny", 3, (150, 50, 100))


@pytest.fixture(scope="module")
def medium() -> World:
    return _build("medium", 5, (5000, 1500, 3500))


def _np(table: pa.Table, name: str) -> np.ndarray:
    col = table[name]
    return np.asarray(col.fill_null(-1) if col.null_count else col)


def _us(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table[name]).astype(np.int64)


def test_tables_have_the_contract_schemas(tiny: World) -> None:
    assert tiny.shares.schema == SHARES and tiny.sessions.schema == SESSIONS
    assert tiny.updated.schema == PERSONS


def test_known_files_per_peer_follow_wolak(medium: World) -> None:
    known = _np(medium.updated, "known_files")
    sharing = known[known > 0]
    assert (sharing < 10).mean() > 0.8  # Wolak 2014: >80 % shared fewer than 10 files
    assert 0.0005 < (sharing >= 100).mean() < 0.01  # 915 of 244,920 (0.37 %) shared >= 100
    tail = sharing[sharing >= 5].astype(np.float64)
    alpha = tail.size / np.log(tail / 4.5).sum()  # Hill estimate of the CCDF exponent
    assert abs(alpha - 1.21) < 0.3


def test_distributors_share_more_than_downloaders(medium: World) -> None:
    role, known = _np(medium.updated, "role"), _np(medium.updated, "known_files")
    assert known[role == "distributor"].mean() > 2 * known[role == "downloader"].mean()


def test_identification_follows_the_shares(tiny: World) -> None:
    known = set(_np(tiny.content, "content_id")[_np(tiny.content, "status") == "known"])
    counts = np.zeros(tiny.persons.num_rows, int)
    for p, c in zip(_np(tiny.shares, "person_id"), _np(tiny.shares, "content_id"), strict=True):
        counts[p] += c in known
    assert np.array_equal(_np(tiny.updated, "known_files"), counts)
    assert np.array_equal(_np(tiny.updated, "should_identify"), counts > 0)
    same = tiny.updated.drop_columns(["known_files", "should_identify"])
    assert same.equals(tiny.persons.drop_columns(["known_files", "should_identify"]))
    assert with_identification(tiny.persons, tiny.shares, tiny.content).equals(tiny.updated)


def test_benign_people_share_only_benign_files_and_everyone_shares_some(tiny: World) -> None:
    status = _np(tiny.content, "status")[_np(tiny.shares, "content_id")]
    role = _np(tiny.persons, "role")[_np(tiny.shares, "person_id")]
    assert (status[role == "benign"] == "benign").all()
    assert (status == "benign").any() and (status[role != "benign"] == "benign").any()
    assert not _np(tiny.updated, "should_identify")[_np(tiny.persons, "role") == "benign"].any()


def test_network_members_co_share_their_cores_including_unknown_items(medium: World) -> None:
    item_net = _np(medium.content, "network_id")
    status = _np(medium.content, "status")
    who, what = _np(medium.shares, "person_id"), _np(medium.shares, "content_id")
    person_net = _np(medium.persons, "network_id")
    core = item_net[what] >= 0
    assert (item_net[what][core] == person_net[who][core]).all()  # only one's own network
    unknown_core = core & (status[what] == "unknown-illicit")
    holders = np.bincount(what[unknown_core], minlength=status.size)
    assert (holders >= 2).sum() >= medium.cfg.population.networks // 2


def test_shares_lie_within_the_persons_sessions(tiny: World) -> None:
    first, last = _us(tiny.shares, "first"), _us(tiny.shares, "last")
    assert (first <= last).all()
    sp, s0, s1 = _np(tiny.sessions, "person_id"), _us(tiny.sessions, "start"), \
        _us(tiny.sessions, "end")
    for p, a, b in zip(_np(tiny.shares, "person_id"), first, last, strict=True):
        mine = sp == p
        assert (s0[mine] == a).any() and (s1[mine] == b).any()


def test_sessions_are_ordered_disjoint_and_inside_the_window(tiny: World) -> None:
    inst, s0, s1 = _np(tiny.sessions, "install_id"), _us(tiny.sessions, "start"), \
        _us(tiny.sessions, "end")
    assert (np.diff(inst) >= 0).all() and (s1 - s0 >= 60_000_000).all()
    same = inst[1:] == inst[:-1]
    assert (s0[1:][same] >= s1[:-1][same]).all()
    lo = window_origin_us(tiny.cfg)
    assert s0.min() >= lo and s1.max() <= lo + tiny.cfg.window.days * 86_400_000_000
    person = _np(tiny.installs, "person_id")[inst]
    assert np.array_equal(_np(tiny.sessions, "person_id"), person)
    assert (np.bincount(inst, minlength=tiny.installs.num_rows) > 0).mean() > 0.95


def test_each_session_uses_the_address_leased_to_the_person(tiny: World) -> None:
    leases = tiny.leases.to_pylist()
    by_person: dict[int, list[dict[str, object]]] = {}
    for lease in leases:
        by_person.setdefault(int(lease["person_id"]), []).append(lease)
    hidden = 0
    for s in tiny.sessions.to_pylist():
        match = [x for x in by_person[s["person_id"]] if x["ip"] == s["ip"]
                 and x["start"] <= s["start"] and s["end"] <= x["end"]]
        assert match, s
        hidden += match[0]["kind"] != "home"
    anon = _np(tiny.persons, "uses_anonymiser")[_np(tiny.sessions, "person_id")]
    assert 0.6 * anon.sum() < hidden <= anon.sum()


def test_anonymiser_users_sometimes_connect_from_home(medium: World) -> None:
    home = medium.leases.filter(pc.equal(medium.leases["kind"], "home"))
    home_ips = set(zip(_np(home, "person_id").tolist(), home["ip"].to_pylist(), strict=True))
    sp, inst = _np(medium.sessions, "person_id"), _np(medium.sessions, "install_id")
    from_home = np.array([(p, ip) in home_ips for p, ip in
                          zip(sp.tolist(), medium.sessions["ip"].to_pylist(), strict=True)])
    regular = np.bincount(inst, minlength=medium.installs.num_rows) >= 2
    users = np.flatnonzero(_np(medium.persons, "uses_anonymiser"))
    users = users[np.isin(users, sp[regular[inst]])]
    leaked = np.bincount(sp[from_home], minlength=medium.persons.num_rows)[users] > 0
    assert leaked.mean() > 0.8  # Hurley 2013: >90 % of regular Tor users leak their address


def test_ports_peer_ids_and_client_ids(tiny: World) -> None:
    s, installs = tiny.sessions, tiny.installs
    inst = _np(s, "install_id")
    ports = install_ports(tiny.cfg, Streams(3), installs)
    assert np.array_equal(_np(s, "port"), ports[inst])
    network = _np(installs, "network")[inst]
    peer = s["peer_id"].to_pylist()
    prefix = installs["peer_id_prefix"].to_pylist()
    bt = network == "bittorrent"
    assert all((p is None) != b for p, b in zip(peer, bt, strict=True))
    assert all(peer[j][:8] == prefix[inst[j]].encode() for j in np.flatnonzero(bt))
    assert len({peer[j] for j in np.flatnonzero(bt)}) == bt.sum()  # new id at every start
    cid = _np(s, "ed2k_client_id")
    ed2k = network == "edonkey"
    assert (cid[~ed2k] == -1).all() and (cid[ed2k] > 0).all()
    low = _np(installs, "low_id")[inst] & ed2k
    assert (cid[low] < 1 << 24).all()
    octets = ip_ints(s["ip"]).astype(np.int64)
    emule = (octets >> 24) | ((octets >> 8) & 0xFF00) | ((octets & 0xFF00) << 8) | \
        ((octets & 0xFF) << 24)
    high = ed2k & (cid >= 1 << 24)
    assert high.any() and np.array_equal(cid[high], emule[high])


def test_most_people_are_seen_on_few_days_and_evenings_are_busier(medium: World) -> None:
    sp = _np(medium.sessions, "person_id").astype(np.int64)
    day = _us(medium.sessions, "start") // 86_400_000_000
    seen = np.bincount(np.unique(sp * 100_000 + day) // 100_000)
    assert (seen[seen > 0] < 10).mean() > 0.8  # Wolak 2014: >80 % seen on fewer than 10 days
    hour = (_us(medium.sessions, "start") // 3_600_000_000 + 1) % 24  # ~local time in Europe
    assert np.isin(hour, [19, 20, 21, 22]).sum() > 2 * np.isin(hour, [2, 3, 4, 5]).sum()


def test_same_seed_same_behaviour_other_seed_other_behaviour(tiny: World) -> None:
    again = _build("tiny", 3, (150, 50, 100))
    assert again.shares.equals(tiny.shares) and again.sessions.equals(tiny.sessions)
    assert again.updated.equals(tiny.updated)
    other = _build("tiny", 4, (150, 50, 100))
    assert not other.shares.equals(tiny.shares) and not other.sessions.equals(tiny.sessions)


@pytest.mark.parametrize("changes", [
    {"population": {"people": 1, "networks": 0}},
    {"population": {"people": 6, "networks": 3, "benign_share": 0.0,
                    "anonymiser_offender_share": 1.0, "nat_share": 1.0}},
    {"population": {"people": 40, "tor_share": 1.0}, "geo": {"tor_exits": 1}},
    {"window": {"days": 1}, "population": {"people": 30, "lease_days_min": 0.01,
                                           "lease_days_max": 0.02}},
])
def test_extreme_configurations_still_give_consistent_tables(
        changes: dict[str, dict[str, object]]) -> None:
    cfg = load_config("tiny", seed=8)
    cfg = replace(cfg, **{k: replace(getattr(cfg, k), **v) for k, v in changes.items()})
    streams = Streams(8)
    persons, leases, networks = build_population(cfg, streams, load_geo(cfg.geo.countries))
    installs = build_installs(cfg, streams, persons)
    own = _np(persons, "country")[_np(leases, "person_id")]
    abroad = _np(leases, "kind") != "home"
    assert (own[abroad] != _np(leases, "country")[abroad]).all()
    for content in (make_content(20, 6, 10, cfg.population.networks, core=4),
                    make_content(0, 0, 3, 0)):
        shares, sessions, updated = build_behaviour(cfg, streams, persons, installs, leases,
                                                    content, networks)
        assert shares.schema == SHARES and sessions.schema == SESSIONS
        assert sessions.num_rows > 0 and updated.num_rows == persons.num_rows
        assert np.isin(_np(shares, "content_id"), _np(content, "content_id")).all()
