"""People, roles, NAT groups, networks and address leases of the synthetic world."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from geoip2fast import GeoIP2Fast

from icarus.sim.config import WorldConfig, load_config
from icarus.sim.geo import load_geo
from icarus.sim.population import build_population, window_origin_us
from icarus.sim.rng import Streams
from icarus.sim.tables import LEASES, NETWORKS, PERSONS

World = tuple[WorldConfig, pa.Table, pa.Table, pa.Table]


def _build(scale: str, seed: int) -> World:
    cfg = load_config(scale, seed=seed)
    return (cfg, *build_population(cfg, Streams(seed), load_geo(cfg.geo.countries)))


@pytest.fixture(scope="module")
def tiny() -> World:
    return _build("tiny", 1)


@pytest.fixture(scope="module")
def small() -> World:
    return _build("small", 2)


def _col(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table[name].fill_null(-1) if table[name].null_count else table[name])


def test_tables_have_the_contract_schemas(tiny: World) -> None:
    cfg, persons, leases, networks = tiny
    assert persons.schema == PERSONS and leases.schema == LEASES and networks.schema == NETWORKS
    assert np.array_equal(_col(persons, "person_id"), np.arange(cfg.population.people))
    assert not _col(persons, "should_identify").any() and not _col(persons, "known_files").any()
    assert networks["core_content"].to_pylist() == [[]] * cfg.population.networks


def test_roles_and_anonymiser_shares(small: World) -> None:
    cfg, persons, _, _ = small
    role = _col(persons, "role")
    assert set(role) == {"benign", "downloader", "distributor"}
    assert abs((role == "benign").mean() - cfg.population.benign_share) < 0.04
    offenders = role != "benign"
    assert 0.03 < (role[offenders] == "distributor").mean() < 0.2
    anon = _col(persons, "uses_anonymiser")
    assert 0.08 <= anon.mean() <= 0.16  # CRC x GeoComply: ~8 % of P2P IPs, ~1 in 6 offenders
    assert anon[offenders].mean() > anon[~offenders].mean()


def test_countries_follow_the_weights(small: World) -> None:
    _, persons, _, _ = small
    geo = load_geo("operation")
    share = pc.value_counts(persons["country"]).to_pylist()
    got = {d["values"]: d["counts"] / persons.num_rows for d in share}
    for code, weight in zip(geo.codes, geo.weights, strict=True):
        assert abs(got.get(code, 0.0) - weight) < 0.03, code


def _tiles(start: np.ndarray, end: np.ndarray, lo: int, hi: int) -> bool:
    return bool(start[0] == lo and end[-1] == hi and np.array_equal(start[1:], end[:-1])
                and (end > start).all())


def test_leases_tile_the_window_per_person_and_kind(tiny: World) -> None:
    cfg, persons, leases, _ = tiny
    lo = window_origin_us(cfg)
    hi = lo + cfg.window.days * 86_400_000_000
    anon = _col(persons, "uses_anonymiser")
    who, kind = _col(leases, "person_id"), _col(leases, "kind")
    start = np.asarray(leases["start"]).astype(np.int64)
    end = np.asarray(leases["end"]).astype(np.int64)
    for p in range(persons.num_rows):
        mine = who == p
        home = mine & (kind == "home")
        assert _tiles(start[home], end[home], lo, hi), p
        other = mine & (kind != "home")
        assert other.any() == anon[p], p
        if other.any():
            assert len(set(kind[other])) == 1
            assert _tiles(start[other], end[other], lo, hi), p


def test_home_leases_carry_the_persons_isp(tiny: World) -> None:
    _, persons, leases, _ = tiny
    home = leases.filter(pc.equal(leases["kind"], "home"))
    p = _col(home, "person_id")
    assert np.array_equal(_col(home, "asn"), _col(persons, "asn")[p])
    assert np.array_equal(_col(home, "country"), _col(persons, "country")[p])


def test_nat_groups_share_the_same_addresses_at_the_same_time(small: World) -> None:
    cfg, persons, leases, _ = small
    group = _col(persons, "nat_group")
    assert (group >= 0).sum() > 0.5 * cfg.population.nat_share * persons.num_rows
    sizes = np.bincount(group[group >= 0])
    assert sizes.min() >= 2 and sizes.max() <= cfg.population.nat_group_max
    home = leases.filter(pc.equal(leases["kind"], "home"))
    by_person: dict[int, list[tuple[str, object, object]]] = {}
    for row in home.select(["person_id", "ip", "start", "end"]).to_pylist():
        by_person.setdefault(row["person_id"], []).append((row["ip"], row["start"], row["end"]))
    for g in np.unique(group[group >= 0]):
        members = np.flatnonzero(group == g)
        assert len({tuple(by_person[int(m)]) for m in members}) == 1
        assert len(set(_col(persons, "isp")[members])) == 1


def test_addresses_change_over_the_window(small: World) -> None:
    cfg, persons, leases, _ = small
    home = leases.filter(pc.equal(leases["kind"], "home"))
    per_person = np.bincount(_col(home, "person_id"), minlength=persons.num_rows)
    static = (per_person == 1).mean()
    assert 0.5 * cfg.population.static_share < static < 0.5  # most addresses are dynamic
    assert np.median(per_person) >= 2


@pytest.fixture(scope="module")
def geoip() -> Iterator[GeoIP2Fast]:
    yield GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")


def test_anonymiser_endpoints_are_abroad_and_resolve_there(small: World,
                                                           geoip: GeoIP2Fast) -> None:
    _, persons, leases, _ = small
    anon = leases.filter(pc.not_equal(leases["kind"], "home"))
    assert set(_col(anon, "kind")) == {"vpn", "tor"}
    own = _col(persons, "country")[_col(anon, "person_id")]
    assert (own != _col(anon, "country")).all()
    GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")
    sample = anon.slice(0, 500)
    got = [geoip.lookup(ip).country_code for ip in sample["ip"].to_pylist()]
    assert got == sample["country"].to_pylist()
    tor = anon.filter(pc.equal(anon["kind"], "tor"))
    assert pc.count_distinct(tor["ip"]).as_py() < tor.num_rows  # exits are shared


def test_networks_members_and_earlier_intelligence(small: World) -> None:
    cfg, persons, _, networks = small
    net, role = _col(persons, "network_id"), _col(persons, "role")
    assert (role[net >= 0] != "benign").all()
    offenders = role != "benign"
    assert 0.2 < (net[offenders] >= 0).mean() < 0.5  # many offenders belong to no network
    sizes = np.bincount(net[net >= 0], minlength=cfg.population.networks)
    assert sizes.min() >= 2 and sizes.max() > 3 * np.median(sizes)
    known = _col(networks, "known_earlier")
    assert known.any() and not known.all()
    intel = _col(persons, "in_earlier_intel")
    assert intel.any() and (role[intel] != "benign").all()
    in_known = (net >= 0) & known[np.maximum(net, 0)]
    assert intel[in_known].mean() > intel[offenders & ~in_known].mean()
    assert len(set(networks["name"].to_pylist())) == networks.num_rows


def test_same_seed_same_tables_other_seed_other_tables(tiny: World) -> None:
    _, persons, leases, networks = tiny
    _, p2, l2, n2 = _build("tiny", 1)
    assert persons.equals(p2) and leases.equals(l2) and networks.equals(n2)
    _, p3, l3, _ = _build("tiny", 2)
    assert not persons.equals(p3) and not leases.equals(l3)
