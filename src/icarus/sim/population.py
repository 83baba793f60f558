"""The people of the synthetic world: where they live, what role they play, how they connect.

``build_population`` draws every person's country, home ISP, role (benign, downloader,
distributor), anonymiser use, NAT group and hidden sharing network, and the address leases that
say which IP each person had when. ``should_identify`` and ``known_files`` are left False/0
here: they depend on what people share, and ``icarus.sim.behaviour`` returns the persons table
with them set. Sources and assumptions: ``docs/sim/parameters.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from icarus.sim.config import WorldConfig
from icarus.sim.geo import Geo, Holders, ip_strings
from icarus.sim.rng import Streams, ranks
from icarus.sim.tables import LEASES, NETWORKS, PERSONS, TS

__all__ = ["ROLES", "build_population", "window_origin_us"]

ROLES = ("benign", "downloader", "distributor")

_S_PER_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WORDS_A = ("amber", "ashen", "blue", "cold", "dusk", "far", "grey", "iron", "jade", "late",
            "lunar", "mild", "north", "pale", "quiet", "red", "salt", "slow", "tall", "west")
_WORDS_B = ("badger", "birch", "brook", "cedar", "comet", "crane", "delta", "ember", "fjord",
            "harbor", "heron", "lantern", "maple", "orbit", "otter", "quarry", "raven", "ridge",
            "tundra", "willow")


def build_population(cfg: WorldConfig, streams: Streams,
                     geo: Geo) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(persons, leases, networks) of the world, as PERSONS, LEASES and NETWORKS tables.

    Promises: every person has home leases that tile the observation window exactly (no gap,
    no overlap); people of one NAT group have identical home leases; anonymiser users also have
    a tiling of vpn or tor leases whose endpoints resolve to a country other than their own;
    networks' ``core_content`` is empty (the content stage fills it).
    """
    pop = cfg.population
    n = pop.people
    country = geo.draw_countries(n, streams.get("population.countries"))
    isp = geo.draw_home_isps(country, streams.get("population.isps"))

    rng = streams.get("population.roles")
    offender = rng.random(n) >= pop.benign_share
    distributor = offender & (rng.random(n) < pop.distributor_share)
    role = np.where(distributor, 2, np.where(offender, 1, 0))

    rng = streams.get("population.anonymisers")
    p_anon = np.where(offender, pop.anonymiser_offender_share, pop.anonymiser_benign_share)
    anon = rng.random(n) < p_anon
    tor = anon & (rng.random(n) < pop.tor_share)

    nat_group, leader = _nat_groups(n, pop.nat_share, pop.nat_group_max,
                                    streams.get("population.nat"))
    country, isp = country[leader], isp[leader]  # housemates share one line

    network_id, known_net = _networks(offender, pop.networks, pop.network_member_share,
                                      pop.network_size_alpha, pop.known_network_share,
                                      streams.get("population.networks"))
    rng = streams.get("population.intel")
    in_known = (network_id >= 0) & np.append(known_net, False)[network_id]  # -1: none
    intel = np.where(in_known, rng.random(n) < pop.intel_member_share,
                     offender & (rng.random(n) < pop.intel_other_share))

    persons = pa.table({
        "person_id": np.arange(n, dtype=np.int32),
        "country": pa.array([geo.codes[c] for c in country], pa.string()),
        "asn": geo.home.asn[isp],
        "isp": pa.array([geo.home.org[i] for i in isp], pa.string()),
        "role": pa.array([ROLES[r] for r in role], pa.string()),
        "uses_anonymiser": anon,
        "network_id": pa.array(network_id, pa.int32(), mask=network_id < 0),
        "nat_group": pa.array(nat_group, pa.int32(), mask=nat_group < 0),
        "should_identify": np.zeros(n, dtype=bool),
        "in_earlier_intel": intel,
        "known_files": np.zeros(n, dtype=np.int32),
    }, schema=PERSONS)
    leases = _leases(cfg, streams, geo, country, isp, leader, anon, tor)
    networks = pa.table({
        "network_id": np.arange(pop.networks, dtype=np.int32),
        "name": _codenames(pop.networks, streams.get("population.network_names")),
        "known_earlier": known_net,
        "core_content": pa.array([[] for _ in range(pop.networks)], pa.list_(pa.int32())),
    }, schema=NETWORKS)
    return persons, leases, networks


def window_origin_us(cfg: WorldConfig) -> int:
    """The window's start in microseconds since the Unix epoch (exact integer arithmetic)."""
    return (cfg.window.start - _EPOCH) // timedelta(microseconds=1)


def _nat_groups(n: int, share: float, max_size: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Group ids (-1: none) and each person's group leader (themselves if not grouped)."""
    target = round(share * n)
    sizes = np.minimum(2 + rng.geometric(0.6, size=max(target, 1)) - 1, max_size)
    sizes = sizes[np.cumsum(sizes) <= target]
    order = rng.permutation(n)[: int(sizes.sum())]
    group = np.full(n, -1, dtype=np.int64)
    leader = np.arange(n)
    gid = np.repeat(np.arange(sizes.size), sizes)
    group[order] = gid
    starts = np.cumsum(sizes) - sizes
    leader[order] = order[starts][gid]
    return group, leader


def _networks(offender: np.ndarray, count: int, member_share: float, alpha: float,
              known_share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each person's hidden network (-1: none) and whether earlier intelligence knew each."""
    network = np.full(offender.size, -1, dtype=np.int64)
    known = rng.random(count) < known_share
    if count >= 2:  # the evaluation needs networks of both kinds
        known[0], known[1] = True, False
    members = np.flatnonzero(offender & (rng.random(offender.size) < member_share))
    if count == 0 or members.size == 0:
        return network, known
    members = rng.permutation(members)
    weight = rng.pareto(alpha, size=count) + 1.0  # heavy-tailed sizes: a few big rings
    base = np.repeat(np.arange(count), 2)[: members.size]  # at least two members each
    rest = rng.choice(count, size=members.size - base.size, p=weight / weight.sum())
    network[members] = np.concatenate([base, rest])
    return network, known


def _codenames(count: int, rng: np.random.Generator) -> pa.Array:
    a = rng.integers(0, len(_WORDS_A), size=count)
    b = rng.integers(0, len(_WORDS_B), size=count)
    return pa.array([f"{_WORDS_A[x]}-{_WORDS_B[y]}-{i:03d}" for i, (x, y) in
                     enumerate(zip(a, b, strict=True))], pa.string())


def _tiling(units: int, mean_days: np.ndarray, spread: float, days: int,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous intervals (unit, start, end) in whole seconds covering [0, days) per unit.

    Each interval lasts ``mean_days * U(1 - spread, 1 + spread)`` (at least a second); the
    first began at a random point of its own length before 0 and the last is cut at the
    window's end, so every unit's intervals tile the window. ``inf``: one interval, static.
    """
    horizon = days * _S_PER_DAY
    static = ~np.isfinite(mean_days)
    length = np.where(static, 0, mean_days * _S_PER_DAY)
    t = np.zeros(units, np.int64)
    unit_ids: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    active = np.arange(units)
    while active.size:
        dur = np.maximum((length[active] * rng.uniform(1 - spread, 1 + spread, size=active.size)
                          ).astype(np.int64), 1)
        if not unit_ids:  # the first lease was already running when the window opened
            t = -np.floor(rng.random(units) * dur).astype(np.int64)
        nxt = np.where(static[active], horizon, t[active] + dur)
        unit_ids.append(active)
        starts.append(np.maximum(t[active], 0))
        ends.append(np.minimum(nxt, horizon))
        t[active] = nxt
        active = active[nxt < horizon]
    unit = np.concatenate(unit_ids)
    order = np.lexsort((np.concatenate(starts), unit))
    return unit[order], np.concatenate(starts)[order], np.concatenate(ends)[order]


def _leases(cfg: WorldConfig, streams: Streams, geo: Geo, country: np.ndarray, isp: np.ndarray,
            leader: np.ndarray, anon: np.ndarray, tor: np.ndarray) -> pa.Table:
    pop, days = cfg.population, cfg.window.days
    n = country.size
    rng = streams.get("population.leases")
    lo, hi = np.log(pop.lease_days_min), np.log(pop.lease_days_max)
    mean = np.exp(rng.uniform(lo, hi, size=n))
    mean[rng.random(n) < pop.static_share] = np.inf  # one lease spanning the window
    lines = np.flatnonzero(leader == np.arange(n))  # one address line per leader
    unit, start, end = _tiling(lines.size, mean[lines], 0.5, days, rng)
    addr = geo.home.draw_addresses(isp[lines][unit], rng)
    # Every member of a NAT group gets its leader's leases.
    member_order = np.argsort(leader, kind="stable")
    line_of = np.searchsorted(lines, leader[member_order])
    first = np.searchsorted(unit, np.arange(lines.size))
    count = np.diff(np.append(first, unit.size))
    reps = count[line_of]
    idx = np.repeat(first[line_of], reps) + ranks(reps)
    # Countries travel as codes into ``places`` until the table is built: Arrow dictionary
    # decoding is far lighter than numpy string arrays at millions of leases.
    places = sorted(set(geo.home.country) | set(geo.vpn.country) | set(geo.tor.country))
    home_place = np.searchsorted(places, geo.home.country)
    held = isp[lines][unit[idx]]
    parts = [(np.repeat(member_order, reps), addr[idx], start[idx], end[idx],
              geo.home.asn[held], home_place[held], np.zeros(idx.size, np.int8))]
    del unit, start, end, addr, idx, held
    for code, users, holders, pool, mean_days in (
            (1, np.flatnonzero(anon & ~tor), geo.vpn, cfg.geo.vpn_endpoints,
             pop.vpn_switch_days),
            (2, np.flatnonzero(tor), geo.tor, cfg.geo.tor_exits, 1.0)):
        if users.size:
            parts.append(_anonymiser_leases(code, users, country, geo, holders, pool,
                                            mean_days, days, streams, places))
    person, ip, t0, t1, asn, where, kind = (np.concatenate(col) for col in zip(*parts,
                                                                            strict=True))
    del parts
    order = np.lexsort((t0, kind, person))
    origin = window_origin_us(cfg)
    return pa.table({
        "person_id": person[order].astype(np.int32), "ip": ip_strings(ip[order]),
        "asn": asn[order], "country": _decode(where[order], places),
        "kind": _decode(kind[order], list(_KINDS)),
        "start": pa.array(t0[order] * 1_000_000 + origin, TS),
        "end": pa.array(t1[order] * 1_000_000 + origin, TS),
    }, schema=LEASES)


_KINDS = ("home", "vpn", "tor")
_Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _anonymiser_leases(code: int, users: np.ndarray, country: np.ndarray, geo: Geo,
                       holders: Holders, pool_size: int, mean_days: float, days: int,
                       streams: Streams, places: list[str]) -> _Part:
    """Leases of kind ``_KINDS[code]`` (vpn/tor) for ``users``, from a pool of endpoints abroad."""
    kind = _KINDS[code]
    rng = streams.get(f"population.{kind}")
    pool_holder = rng.integers(0, len(holders.org), size=pool_size)
    pool_addr = holders.draw_addresses(pool_holder, rng)
    pool_country = np.array(holders.country)[pool_holder]
    # One rotation for VPN users (server changes), daily for Tor (a simplification of circuits).
    spread = 0.9 if kind == "vpn" else 0.0
    unit, start, end = _tiling(users.size, np.full(users.size, mean_days), spread, days, rng)
    own = np.array(geo.codes)[country[users[unit]]]
    pick = rng.integers(0, pool_size, size=unit.size)
    for _ in range(32):  # redraw endpoints in the user's own country
        same = pool_country[pick] == own
        if not same.any():
            break
        pick[same] = rng.integers(0, pool_size, size=int(same.sum()))
    same = pool_country[pick] == own
    for country_code in np.unique(own[same]):  # tiny pools: add an endpoint abroad
        abroad = np.flatnonzero(np.array(holders.country) != country_code)[:1]
        pool_holder = np.append(pool_holder, abroad)
        pool_addr = np.append(pool_addr, holders.draw_addresses(abroad, rng))
        pool_country = np.append(pool_country, np.array(holders.country)[abroad])
        pick[same & (own == country_code)] = pool_holder.size - 1
    return (users[unit], pool_addr[pick], start, end, holders.asn[pool_holder[pick]],
            np.searchsorted(places, pool_country[pick]), np.full(unit.size, code, np.int8))


def _decode(codes: np.ndarray, names: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)),
                                          pa.array(names, pa.string())).cast(pa.string())
