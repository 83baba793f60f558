"""What the synthetic world's people share, and when their clients are online.

Sessions (per installation): an active span of days with a heavy tail (most people are seen on
only a few days), days online within it, a heavy-tailed number of sessions per day at hours that
follow a daily rhythm in local time, and lognormal session lengths. Each session takes the
address of the person's lease at its start (anonymiser users: mostly their VPN or Tor endpoint,
sometimes their home) and ends at the latest when that lease does.

Shares (per person): the number of known items follows the Pareto CCDF P(X >= x) = x^-alpha,
alpha = 1.21, derived from Wolak et al. 2014 (field-measurements §6), truncated to the catalogue;
distributors get the larger libraries; network members take part of their network's core
collection; a few unknown-illicit items are co-shared inside networks; everyone shares some
benign popular files. Items are picked by a Zipf popularity, so rare items sit with the largest
libraries (Wolak: the top 915 peers were sole holders of ~30 % of the files).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.sim.clients import install_ports
from icarus.sim.config import BehaviourConfig, WorldConfig
from icarus.sim.geo import ip_ints, utc_offsets
from icarus.sim.population import window_origin_us
from icarus.sim.rng import Streams, draw_distinct, pareto_int, ranks, zipf_weights
from icarus.sim.tables import PERSONS, SESSIONS, SHARES, TS

__all__ = ["build_behaviour", "build_sessions", "with_identification"]

_DAY = 86_400
_CHUNK = 20_000  # installations per session chunk: fixed, so chunking never changes results
# Relative activity per local hour (assumption: evening peak, night trough; cf. Latapy 2013's
# early-morning query peak, which a small secondary shoulder at 5-8 h leaves room for).
_DIURNAL = np.array([4.0, 2.8, 1.8, 1.2, 1.0, 1.1, 1.4, 1.8, 2.4, 2.8, 3.0, 3.2, 3.4, 3.5,
                     3.6, 3.8, 4.2, 4.8, 5.6, 6.4, 7.0, 7.2, 6.6, 5.4])


def build_behaviour(cfg: WorldConfig, streams: Streams, persons: pa.Table, installs: pa.Table,
                    leases: pa.Table, content: pa.Table,
                    networks: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(shares, sessions, persons) of the world: SHARES, SESSIONS and PERSONS tables.

    The returned persons table is ``persons`` with ``known_files`` and ``should_identify``
    set from the shares (see ``with_identification``). Every share's [first, last] starts at
    one of the person's sessions and ends at a later session's end, so it is observable.
    """
    del networks  # core collections are read from content.network_id
    sessions = build_sessions(cfg, streams, persons, installs, leases)
    shares = _shares(cfg, streams, persons, content, sessions)
    return shares, sessions, with_identification(persons, shares, content)


def with_identification(persons: pa.Table, shares: pa.Table, content: pa.Table) -> pa.Table:
    """``persons`` with ``known_files`` (distinct known items shared) and ``should_identify``
    (known_files > 0) recomputed from ``shares``."""
    known = np.asarray(content["content_id"])[np.asarray(content["status"]) == "known"]
    mask = np.isin(np.asarray(shares["content_id"]), known)
    counts = np.bincount(np.asarray(shares["person_id"])[mask], minlength=persons.num_rows)
    counts = counts[: persons.num_rows].astype(np.int32)
    out = persons.set_column(persons.schema.get_field_index("known_files"), "known_files",
                             pa.array(counts, pa.int32()))
    return out.set_column(out.schema.get_field_index("should_identify"), "should_identify",
                          pa.array(counts > 0)).cast(PERSONS)


# --- sessions -------------------------------------------------------------------------------

def build_sessions(cfg: WorldConfig, streams: Streams, persons: pa.Table, installs: pa.Table,
                   leases: pa.Table) -> pa.Table:
    """The SESSIONS table, sorted by (install_id, start); sessions of one installation never
    overlap, and each lies inside the lease whose address it carries."""
    origin = window_origin_us(cfg)
    person = np.asarray(installs["person_id"]).astype(np.int64)
    role = np.asarray(persons["role"])
    offset = np.vectorize(utc_offsets().__getitem__, otypes=[float])(
        np.asarray(persons["country"]))
    rng = streams.get("behaviour.leakers")
    anon = np.asarray(persons["uses_anonymiser"])
    leaker = anon & (rng.random(persons.num_rows) < cfg.population.anonymiser_leak_share)
    home = np.asarray(pc.equal(leases["kind"], "home"))
    l_person = np.asarray(leases["person_id"]).astype(np.int64)
    l_start = (np.asarray(leases["start"]).astype(np.int64) - origin) // 1_000_000
    l_end = (np.asarray(leases["end"]).astype(np.int64) - origin) // 1_000_000
    lease = {k: _LeaseIndex(l_person, l_start, l_end, np.flatnonzero(rows))
             for k, rows in (("home", home), ("anon", ~home))}
    ports = install_ports(cfg, streams, installs)
    network = np.asarray(installs["network"])
    low_id = np.asarray(installs["low_id"])
    prefix = installs["peer_id_prefix"].to_pylist()
    parts = []
    for k, lo in enumerate(range(0, installs.num_rows, _CHUNK)):
        ids = np.arange(lo, min(lo + _CHUNK, installs.num_rows))
        rng = streams.get(f"behaviour.sessions.{k}")
        inst, t0, t1 = _session_times(cfg, rng, ids, role[person[ids]] == "distributor",
                                      offset[person[ids]])
        p = person[inst]
        hidden = anon[p] & (~leaker[p] | (rng.random(p.size) < cfg.behaviour.
                                          anonymised_session_share))
        hidden[_one_later_session(rng, inst) & leaker[p]] = False
        row = np.zeros(p.size, np.int64)
        for name, use in (("home", ~hidden), ("anon", hidden)):
            row[use], t1[use] = lease[name].at(p[use], t0[use], t1[use])
        keep = t1 - t0 >= 60
        inst, p, t0, t1, row, hidden = inst[keep], p[keep], t0[keep], t1[keep], row[keep], \
            hidden[keep]
        ip = leases["ip"].take(pa.array(row)).combine_chunks()
        ed2k = network[inst] == "edonkey"
        lowid = ed2k & (low_id[inst] | hidden)  # anonymised eDonkey clients cannot be reached
        client_id = rng.integers(1, 1 << 24, size=inst.size)
        high = np.flatnonzero(ed2k & ~lowid)
        # eMule's client ID is the address's 4 bytes in network order read as a little-endian
        # uint32: a.b.c.d -> a + b*2^8 + c*2^16 + d*2^24.
        client_id[high] = ip_ints(ip.take(pa.array(high))).byteswap()
        rand = rng.integers(0, 256, size=(inst.size, 12), dtype=np.uint8)
        peer = [None if prefix[i] is None else prefix[i].encode("ascii") + rand[j].tobytes()
                for j, i in enumerate(inst)]
        parts.append(pa.table({
            "install_id": inst.astype(np.int32), "person_id": p.astype(np.int32),
            "start": pa.array(t0 * 1_000_000 + origin, TS),
            "end": pa.array(t1 * 1_000_000 + origin, TS),
            "ip": ip, "port": ports[inst],
            "peer_id": pa.array(peer, pa.binary(20)),
            "ed2k_client_id": pa.array(client_id, pa.int64(), mask=~ed2k),
        }, schema=SESSIONS))
    return pa.concat_tables(parts).combine_chunks() if parts else SESSIONS.empty_table()


class _LeaseIndex:
    """Finds a person's lease at an instant: a subset of leases keyed by (person, start)."""

    def __init__(self, person: np.ndarray, start: np.ndarray, end: np.ndarray,
                 rows: np.ndarray) -> None:
        self.span = int(end.max(initial=0)) + 1
        key = person[rows] * self.span + start[rows]
        order = np.argsort(key, kind="stable")
        self.key, self.row, self.end = key[order], rows[order], end[rows][order]

    def at(self, person: np.ndarray, t0: np.ndarray,
           t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lease row at ``t0`` and the session end cut at that lease's end."""
        if person.size == 0:
            return np.zeros(0, np.int64), t1
        i = np.searchsorted(self.key, person * self.span + t0, side="right") - 1
        return self.row[i], np.minimum(t1, self.end[i])


def _session_times(cfg: WorldConfig, rng: np.random.Generator, ids: np.ndarray,
                   distributor: np.ndarray,
                   utc_offset: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(install, start, end) in seconds from the window start, sorted, non-overlapping."""
    b, days = cfg.behaviour, cfg.window.days
    alpha = np.where(distributor, b.distributor_span_alpha, b.span_alpha)
    span = np.minimum(pareto_int(rng, alpha), days)
    first = (rng.random(ids.size) * (days - span + 1)).astype(np.int64)
    m = b.active_day_share
    q = rng.beta(2.0, 2.0 * (1 - m) / m, size=ids.size) if 0 < m < 1 else np.full(ids.size, m)
    idx = np.repeat(np.arange(ids.size), span)
    rank = ranks(span)
    on = (rank == 0) | (rng.random(idx.size) < q[idx])
    idx, day = idx[on], first[idx[on]] + rank[on]
    per_day = np.minimum(pareto_int(rng, np.full(idx.size, b.sessions_per_day_alpha)), 8)
    idx, day = np.repeat(idx, per_day), np.repeat(day, per_day)
    local = rng.choice(24, size=idx.size, p=_DIURNAL / _DIURNAL.sum()) * 3600 + rng.integers(
        0, 3600, size=idx.size)
    start = day * _DAY + (local - np.round(utc_offset[idx] * 3600).astype(np.int64)) % _DAY
    length = rng.lognormal(np.log(b.session_hours_median * 3600), b.session_hours_sigma,
                           size=idx.size)
    end = np.minimum(start + np.clip(length, 300, 20 * 3600).astype(np.int64), days * _DAY)
    order = np.lexsort((start, idx))
    idx, start, end = idx[order], start[order], end[order]
    same = np.append(idx[1:] == idx[:-1], False)
    nxt = np.append(start[1:], 0)
    end = np.where(same, np.minimum(end, nxt - 60), end)  # one client runs once at a time
    return ids[idx], start, end


def _one_later_session(rng: np.random.Generator, inst: np.ndarray) -> np.ndarray:
    """A mask picking, per installation with two or more sessions, one session other than its
    first: where a leaking anonymiser user is certain to connect from home (Hurley et al.
    2013: >90 % of regular Tor users sent from a non-Tor address after first using Tor)."""
    starts = np.flatnonzero(np.append(True, inst[1:] != inst[:-1]))
    count = np.diff(np.append(starts, inst.size))
    many = count >= 2
    pick = starts[many] + 1 + (rng.random(int(many.sum())) * (count[many] - 1)).astype(np.int64)
    mask = np.zeros(inst.size, bool)
    mask[pick] = True
    return mask




# --- shares ---------------------------------------------------------------------------------

def _shares(cfg: WorldConfig, streams: Streams, persons: pa.Table, content: pa.Table,
            sessions: pa.Table) -> pa.Table:
    b = cfg.behaviour
    n = persons.num_rows
    role = np.asarray(persons["role"])
    offender = role != "benign"
    net = np.asarray(persons["network_id"].fill_null(-1)).astype(np.int64)
    cid = np.asarray(content["content_id"]).astype(np.int64)
    status = np.asarray(content["status"])
    item_net = np.asarray(content["network_id"].fill_null(-1)).astype(np.int64)
    known, unknown, benign = (np.flatnonzero(status == s) for s in
                              ("known", "unknown-illicit", "benign"))
    rng = streams.get("behaviour.library")
    target = _library_sizes(b, rng, role, known.size)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []  # (person, row of content)

    # Members take part of their network's core: known core items count towards their
    # library size, unknown core items come on top (co-shared material nobody has listed).
    core = item_net >= 0
    members = np.flatnonzero(net >= 0)
    c_rows = np.flatnonzero(core)[np.argsort(item_net[core], kind="stable")]
    n_net = int(max(net.max(initial=-1), item_net.max(initial=-1))) + 1
    c_start = np.searchsorted(item_net[c_rows], np.arange(n_net))
    c_count = np.diff(np.append(c_start, c_rows.size))
    if members.size and c_rows.size:
        per = c_count[net[members]]
        who = np.repeat(members, per)
        row = c_rows[np.repeat(c_start[net[members]], per) + ranks(per)]
        take = rng.random(who.size) < b.core_share
        who, row = who[take], row[take]
        is_known = status[row] == "known"
        order = np.lexsort((rng.random(who.size), ~is_known, who))
        who, row, is_known = who[order], row[order], is_known[order]
        rank = ranks(np.bincount(who, minlength=n)[np.unique(who)])
        keep = ~is_known | (rank < target[who])
        pairs.append((who[keep], row[keep]))
    held = pairs[0] if pairs else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    have = np.bincount(held[0][status[held[1]] == "known"], minlength=n)
    # Cores stay with their networks: everyone else draws from the known items of no core.
    common = known[item_net[known] < 0] if (item_net[known] < 0).any() else known
    pairs.append(draw_distinct(rng, np.maximum(target - have, 0), common,
                                zipf_weights(rng, common.size, b.popularity_exponent), held))

    loose = unknown[item_net[unknown] < 0]
    loose = loose if loose.size else unknown
    extra = np.zeros(n, np.int64)
    extra[members] = rng.poisson(b.unknown_per_member, size=members.size)
    stray = offender & (net < 0) & ((target == 0) | (rng.random(n) < b.stray_unknown_share))
    extra[stray] += 1
    pairs.append(draw_distinct(rng, extra, loose, np.ones(loose.size), held))
    benign_mean = np.where(offender, b.offender_benign_files_mean, b.benign_files_mean)
    count = rng.poisson(benign_mean)
    count[~offender] = np.maximum(count[~offender], 1)  # a benign person shares something
    pairs.append(draw_distinct(rng, count, benign,
                                zipf_weights(rng, benign.size, b.popularity_exponent)))

    who = np.concatenate([p for p, _ in pairs])
    row = np.concatenate([r for _, r in pairs])
    key = np.unique(who * max(cid.size, 1) + row)
    who, row = key // max(cid.size, 1), key % max(cid.size, 1)
    return _share_times(cfg, streams, who, cid[row], sessions)


def _library_sizes(b: BehaviourConfig, rng: np.random.Generator, role: np.ndarray,
                   n_known: int) -> np.ndarray:
    """Known items each person shares: Pareto draws dealt out so distributors get the larger
    ones, which keeps the overall distribution exactly the calibrated one."""
    out = np.zeros(role.size, np.int64)
    off = np.flatnonzero(role != "benign")
    sizes = np.minimum(pareto_int(rng, np.full(off.size, b.files_alpha)), n_known)
    sizes[rng.random(off.size) < b.offender_without_known_share] = 0
    key = rng.random(off.size) - b.distributor_bias * (role[off] == "distributor")
    out[off[np.argsort(key, kind="stable")]] = np.sort(sizes)[::-1]
    return out


def _share_times(cfg: WorldConfig, streams: Streams, who: np.ndarray, item: np.ndarray,
                 sessions: pa.Table) -> pa.Table:
    """SHARES rows: each share starts at one of the person's sessions and ends at the end of
    that or a later session; most are kept over the person's whole activity."""
    sp = np.asarray(sessions["person_id"]).astype(np.int64)
    s0 = np.asarray(sessions["start"]).astype(np.int64)
    s1 = np.asarray(sessions["end"]).astype(np.int64)
    order = np.lexsort((s0, sp))
    sp, s0, s1 = sp[order], s0[order], s1[order]
    n = int(max(sp.max(initial=-1), who.max(initial=-1))) + 1
    first_s = np.searchsorted(sp, np.arange(n))
    count = np.bincount(sp, minlength=n)
    online = count[who] > 0  # a person never online shares nothing anyone could see
    who, item = who[online], item[online]
    rng = streams.get("behaviour.persistence")
    c, base = count[who], first_s[who]
    whole = rng.random(who.size) < cfg.behaviour.whole_span_share
    i = np.where(whole, 0, (rng.random(who.size) * c).astype(np.int64))
    j = np.where(whole, c - 1, i + (rng.random(who.size) * (c - i)).astype(np.int64))
    last_end = np.maximum.reduceat(s1, first_s[count > 0]) if sp.size else s1
    full_end = np.zeros(n, np.int64)
    full_end[count > 0] = last_end
    end = np.where(whole, full_end[who], s1[base + j])
    return pa.table({"person_id": who.astype(np.int32), "content_id": item.astype(np.int32),
                     "first": pa.array(s0[base + i], TS), "last": pa.array(end, TS)},
                    schema=SHARES)
