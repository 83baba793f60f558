"""The later rules of resolution, on the subjects the identifier and address rules built.

``library_links``: BitTorrent sessions of one client (a peer_id lives for one client start)
linked by what survives a restart: the listening port and the library of torrents the client
re-announces. ``bridge_links``: one person's installations on two networks linked through an
address they used at the same time, when nothing shows that address to be shared and both
share a file of the same size. Reasons and limits in docs/intel/resolve.md.

All work on integer arrays (sorts, searches and ragged ranges): loops run only over the few
rules and network families, never over sightings or subjects. Arrays of every sighting may be
int32 (row indices, labels and codes while they fit); what is computed from them here is int64
before any product of two codes, so nothing overflows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from icarus.intel.resolve_graph import Ints, components, index_type

__all__ = ["Links", "bridge_links", "consecutive_spans", "dense", "library_links",
           "shared_share", "time_positions"]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Links = tuple[I64, I64]
"""Sighting rows (a, b) linked: one pair per link."""

_US = 1_000_000


def _empty() -> Links:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)


def _ragged(start: I64, count: I64) -> tuple[I64, I64]:
    """(owner, index): for each k, ``count[k]`` consecutive indices from ``start[k]``."""
    owner = np.repeat(np.arange(start.size, dtype=np.int64), count)
    first = np.cumsum(count) - count
    index = np.arange(owner.size, dtype=np.int64) - first[owner] + start[owner]
    return owner, index


def dense(*columns: Ints) -> I64:
    """A dense code (0..k-1) per row for the combination of ``columns`` (no overflow)."""
    order = np.lexsort(columns[::-1])
    change = np.zeros(order.size, dtype=bool)
    if order.size:
        change[0] = True
        for col in columns:
            change[1:] |= col[order][1:] != col[order][:-1]
    out = np.empty(order.size, dtype=np.int64)
    out[order] = np.cumsum(change) - 1
    return out


def time_positions(t: I64, rank: Ints) -> Ints:
    """Each row's position in the order (time, sighting rank): a total order of sightings
    that does not depend on row order (:func:`~icarus.intel.resolve_graph.index_type`). The
    functions below take it as ``pos``."""
    kind = index_type(t.size)
    pos = np.empty(t.size, dtype=kind)
    pos[np.lexsort((rank, t))] = np.arange(t.size, dtype=kind)
    return pos


def _spans(key: Ints, label: Ints, t: I64, pos: Ints, rows: Ints
           ) -> tuple[I64, I64, I64, I64, I64, I64]:
    """Per (key, label) of ``rows`` (``key`` and ``label`` are given per row of ``rows``; ``t``
    and ``pos`` for all sightings): key, label, first time, last time, first row, last row;
    sorted by (key, first sighting)."""
    at = np.lexsort((pos[rows], label, key))
    # Where a (key, label) starts, compared one column at a time (a sorted copy at a time).
    start = np.ones(at.size, dtype=bool)
    sorted_ = key[at]
    start[1:] = sorted_[1:] != sorted_[:-1]
    sorted_ = label[at]
    start[1:] |= sorted_[1:] != sorted_[:-1]
    del sorted_
    s = np.flatnonzero(start)
    del start
    e = np.append(s[1:], at.size) - 1
    s, e = at[s], at[e]  # the first and last of each span, as indices into ``rows``
    del at
    k = key[s].astype(np.int64)
    first, last = rows[s].astype(np.int64), rows[e].astype(np.int64)
    by_time = np.lexsort((pos[first], k))
    return (k[by_time], label[s][by_time].astype(np.int64), t[first[by_time]],
            t[last[by_time]], first[by_time], last[by_time])


def consecutive_spans(key: Ints, label: Ints, t: I64, pos: Ints, rows: Ints, max_gap_us: int
                      ) -> tuple[I64, I64, I64, I64]:
    """Subjects following one another on one key: (label a, label b, row a, row b).
    ``key`` and ``label`` are given per row of ``rows``, ``t`` and ``pos`` for all sightings.

    For each key, the subjects holding it are ordered by their first sighting with it; each is
    paired with the next one when that one starts at most ``max_gap_us`` after the earlier one's
    last sighting with the key. Rows are the earlier subject's last and the later one's first
    sighting with the key. Linking only neighbours in time keeps the pairs linear in the number
    of subjects however many share a key.
    """
    if rows.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z
    k, lab, t0, t1, first, last = _spans(key, label, t, pos, rows)
    nxt = np.arange(1, k.size)
    prv = nxt - 1
    gap = t0[nxt] - t1[prv]
    ok = (k[nxt] == k[prv]) & (lab[nxt] != lab[prv]) & (gap <= max_gap_us)
    return lab[prv][ok], lab[nxt][ok], last[prv][ok], first[nxt][ok]


def shared_share(a: Ints, b: Ints, lib_label: Ints, lib_item: Ints, n_items: int) -> I64:
    """For each pair (a[k], b[k]) of labels: how many items of the smaller library are in the
    other, and the smaller library's size, as a 2-row array ``[shared, smaller]``.

    ``lib_label``/``lib_item`` list each label's items (repeats count once). Work is
    proportional to the smaller library of each pair.
    """
    a, b = a.astype(np.int64, copy=False), b.astype(np.int64, copy=False)
    code = np.unique(lib_label.astype(np.int64) * n_items + lib_item)
    lab = code // n_items
    item = code % n_items
    n_lab = int(max(lab.max(initial=-1), a.max(initial=-1), b.max(initial=-1))) + 1
    size = np.bincount(lab, minlength=n_lab).astype(np.int64)
    start = np.searchsorted(lab, np.arange(n_lab, dtype=np.int64))
    swap = size[a] > size[b]
    small, other = np.where(swap, b, a), np.where(swap, a, b)
    owner, at = _ragged(start[small], size[small])
    query = other[owner] * n_items + item[at]
    pos = np.minimum(np.searchsorted(code, query), max(code.size - 1, 0))
    hit = code[pos] == query if code.size else np.zeros(0, dtype=bool)
    shared = np.bincount(owner, weights=hit, minlength=a.size).astype(np.int64)
    return np.stack([shared, size[small]])


def library_links(label: Ints, bt: B, t: I64, pos: Ints, ip: Ints, anon: B, port: Ints,
                  chosen: B, content: Ints, *, max_gap_s: float, min_overlap: float
                  ) -> dict[str, Links]:
    """BitTorrent sessions of one client: ``port`` (the client's listening port; ``chosen``:
    not a client default, so rare) or the address and port, with the same torrent, the later
    session starting at most ``max_gap_s`` after the earlier, and at least ``min_overlap`` of
    the smaller session's torrents re-announced by the other.

    Rule keys: ``bt_port`` (chosen port and torrent, whatever the address: the address is not
    evidence, so anonymiser endpoints take part) and ``bt_address`` (address, port and torrent;
    never an anonymiser endpoint). Returns the sighting pairs linked per rule (one per pair of
    subjects: the earliest).
    """
    n_items = int(content.max(initial=-1)) + 1
    out: dict[str, Links] = {}
    gap = int(max_gap_s * _US)
    keys = {
        "bt_port": ((port, content), bt & chosen),
        "bt_address": ((ip, port, content), bt & ~anon[ip]),
    }
    lib = np.flatnonzero(bt)
    for rule, (columns, use) in keys.items():
        rows = np.flatnonzero(use)
        key = dense(*(c[rows] for c in columns))
        la, lb, ra, rb = consecutive_spans(key, label[rows], t, pos, rows, gap)
        lo, hi = np.minimum(la, lb), np.maximum(la, lb)
        order = np.lexsort((pos[rb], pos[ra], hi, lo))
        lo, hi, ra, rb = lo[order], hi[order], ra[order], rb[order]
        head = np.ones(lo.size, dtype=bool)
        head[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
        lo, hi, ra, rb = lo[head], hi[head], ra[head], rb[head]
        shared, smaller = shared_share(lo, hi, label[lib], content[lib], n_items)
        keep = shared >= min_overlap * smaller
        out[rule] = (ra[keep], rb[keep])
    return out


def bridge_links(label: Ints, fam: Ints, stable_label: B, t: I64, pos: Ints, ip: Ints,
                 anon: B, size: Ints, *, window_s: float, min_shared: int
                 ) -> tuple[Links, int]:
    """One person's installations on two networks: returns the sighting pairs linked and the
    number of bridged groups refused because they would join two persistent identifiers of
    one network.

    An address (not an anonymiser endpoint) bridges subject a of one network family to
    subject b of another when both used it within ``window_s`` of each other, no other
    subject of either family used it within ``window_s`` of their use (so the address shows
    no sign of being shared: a household behind one NAT line shows two), and the two share
    at least ``min_shared`` files of one exact size (``size``; -1 = unknown). ``fam`` is each
    row's network family (3: unknown, never bridged), ``stable_label`` which labels hold a
    persistent identifier. A group of subjects bridged together that would hold two
    persistent identifiers of one family is not bridged at all.
    """
    w = int(window_s)
    rows = np.flatnonzero(~anon[ip] & (fam < 3))
    if rows.size == 0:
        return _empty(), 0
    k, lab, t0, t1, first, _ = _spans(ip[rows].astype(np.int64) * 4 + fam[rows], label[rows], t,
                                      pos, rows)
    # Whole seconds from the first use on, plus w + 1, so shifted windows stay positive.
    origin = int(t0.min()) // _US
    t0, t1 = t0 // _US - origin + w + 1, t1 // _US - origin + w + 1
    # Sorted by (address, family, first use): another subject of the family within w?
    span = int(t1.max()) + 2 * w + 2
    group = np.cumsum(np.append(True, k[1:] != k[:-1])) - 1
    running = np.maximum.accumulate(t1 + group * span) - group * span  # last end so far
    before = np.full(k.size, np.iinfo(np.int64).min // 2, dtype=np.int64)
    before[1:] = np.where(k[1:] == k[:-1], running[:-1], before[1:])
    after = np.full(k.size, np.iinfo(np.int64).max // 2, dtype=np.int64)
    after[:-1] = np.where(k[1:] == k[:-1], t0[1:], after[:-1])
    alone = (before < t0 - w) & (after > t1 + w)
    k, lab, t0, t1, first = k[alone], lab[alone], t0[alone], t1[alone], first[alone]
    # Alone spans of one (address, family) are disjoint and sorted: search each other family.
    addr, f = k // 4, k % 4
    a_parts, b_parts = [], []
    for fa in range(3):
        for fb in range(fa + 1, 3):
            i = np.flatnonzero(f == fa)
            j = np.flatnonzero(f == fb)
            end_key = addr[j] * span + t1[j]
            start_key = addr[j] * span + t0[j]
            lo = np.searchsorted(end_key, addr[i] * span + t0[i] - w, side="left")
            hi = np.searchsorted(start_key, addr[i] * span + t1[i] + w, side="right")
            owner, at = _ragged(lo, np.maximum(hi - lo, 0))
            a_parts.append(i[owner])
            b_parts.append(j[at])
    pa_, pb_ = np.concatenate(a_parts), np.concatenate(b_parts)
    # Shared content: a file of one exact size in both subjects' libraries (only the
    # candidates' sightings are read).
    n_lab = int(label.max(initial=-1)) + 1
    wanted = np.zeros(n_lab, dtype=bool)
    wanted[lab[pa_]] = True
    wanted[lab[pb_]] = True
    known = np.flatnonzero(wanted[label])
    known = known[size[known] >= 0]
    sizes, item = np.unique(size[known], return_inverse=True)
    shared, _ = shared_share(lab[pa_], lab[pb_], label[known], item.reshape(-1).astype(np.int64),
                             max(sizes.size, 1))
    ok = shared >= min_shared
    pa_, pb_ = pa_[ok], pb_[ok]
    la, lb = lab[pa_], lab[pb_]
    # Refuse groups that would hold two persistent identifiers of one family.
    comp = components(n_lab, la, lb)
    lab_fam = np.full(n_lab, 3, dtype=np.int64)
    lab_fam[label[rows]] = fam[rows]
    nodes = np.unique(np.concatenate([la, lb]))
    nodes = nodes[stable_label[nodes]]
    per = np.unique(np.stack([comp[nodes], lab_fam[nodes], nodes]), axis=1)
    cf = per[0] * 4 + per[1]
    dup = np.zeros(n_lab, dtype=bool)
    if cf.size > 1:
        dup[per[0][1:][cf[1:] == cf[:-1]]] = True
    keep = ~dup[comp[la]]
    refused = int(np.unique(comp[la][~keep]).size)
    return (first[pa_][keep], first[pb_][keep]), refused
