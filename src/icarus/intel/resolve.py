"""Resolving sightings to subjects: which sightings come from one client installation.

Rules (reasons in docs/intel/resolve.md):

1. ``same eMule user hash`` (eDonkey and Kad), ``same Gnutella GUID``: the identifier is
   persistent per installation, so it links sightings across changing addresses.
2. ``same BitTorrent peer_id``: a peer_id lives for one client session.
3. ``same address and port``: a sighting without a persistent identifier (none at all, or only
   a peer_id) is linked to the sighting before it on the same address, port and network when at
   most ``window`` apart, unless the address is an anonymiser endpoint. A chain of such links
   that reaches two different persistent identifiers (people behind one NAT line) is linked to
   neither. Two different persistent identifiers are never merged.
4. ``BitTorrent client restarted`` (``bt_port``, ``bt_address``): a client keeps its listening
   port and re-announces its torrents after a restart, so two sessions (subjects) with the same
   chosen port, or the same address and port, announcing the same torrents (at least half of
   the smaller session's) at most ``library_gap_s`` apart are one client.
5. ``installations on two networks`` (``bridge``): subjects of two network families that used
   one address (not an anonymiser) within ``bridge_window_s`` of each other, with no other
   subject of either family on it around then, and sharing a file of one exact size are one
   person; a group that would hold two persistent identifiers of one network is not bridged.

The eDonkey client ID is never used to link: a HighID repeats the address, a LowID is assigned
per server connection. Everything is vectorised (sorts, searches and a union-find on arrays;
rules 4-5 in :mod:`icarus.intel.resolve_links`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError, UsageError
from icarus.intel.geo import Locator, default_locator
from icarus.intel.resolve_graph import (
    Ints,
    components,
    dictionary_codes,
    first_per_group,
    id_codes,
    index_type,
)
from icarus.intel.resolve_links import bridge_links, library_links, time_positions
from icarus.sensors.schema import SIGHTINGS

__all__ = ["ASSIGNMENTS", "LABELLED", "MERGES", "RULES", "ColumnSource", "Resolution",
           "ResolveConfig", "resolve_subjects", "subject_labels"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]

RULES = {
    "user_hash": "same eMule user hash",
    "guid": "same Gnutella GUID",
    "peer_id": "same BitTorrent peer_id (one client session)",
    "address": "same address and port within the window on the same network, "
               "no conflicting identifier",
    "bt_port": "BitTorrent client restarted: same chosen listening port and re-announced "
               "torrents within the gap",
    "bt_address": "BitTorrent client restarted: same address, port and re-announced torrents "
                  "within the gap",
    "bridge": "installations on two networks: one unshared address at the same time and a "
              "shared file",
}
"""Rule key → the text given in the merges table."""

ASSIGNMENTS = pa.schema([
    pa.field("sighting_id", pa.binary(16), nullable=False),
    pa.field("sensor", pa.string(), nullable=False),
    pa.field("record_id", pa.string()),
    pa.field("subject_id", pa.string(), nullable=False),
])
MERGES = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("sighting_a", pa.binary(16), nullable=False),
    pa.field("sighting_b", pa.binary(16), nullable=False),
    pa.field("rule", pa.string(), nullable=False),
])

DEFAULT_PORTS = frozenset({4662, 6346, 8999, 51413, *range(6881, 6890)})
"""Listening ports clients use out of the box: eMule/aMule 4662, Gnutella servents 6346,
qBittorrent 8999, Transmission 51413, the classic BitTorrent range 6881-6889."""

_FAMILY = {"edonkey": 0, "kad": 0, "gnutella": 1, "bittorrent": 2}
LABELLED = ("sighting_id", "observed_at", "network", "ip", "port", "user_hash", "guid",
            "peer_id", "content_id", "file_size")
"""The columns the rules read (:func:`subject_labels` needs only these)."""
_NEEDED = (*LABELLED, "sensor", "record_id")


@dataclass(frozen=True)
class ResolveConfig:
    """Parameters of resolution.

    ``window_s``: longest gap (seconds) between two sightings on one address that rule 3 links;
    ``same_port``: rule 3 also requires the same port (a client listens on one port, so two
    ports on one address at once are two clients behind NAT); ``port_window_s``: the longer
    gap allowed when that port is not a client default (``default_ports``): an address and a
    user-chosen port together rarely pass to someone else within days.

    ``library_gap_s``: longest gap between two BitTorrent sessions the library rules link;
    ``library_overlap``: the share of the smaller session's torrents the other must also have
    announced. ``bridge_window_s``: how close in time two networks' uses of one address must
    be to bridge them (and how far any other subject of either network must stay);
    ``bridge_min_shared``: files of one exact size both installations must share;
    ``bridge``: whether networks are bridged at all.
    """

    window_s: float = 2 * 3600.0
    same_port: bool = True
    port_window_s: float = 7 * 86400.0
    default_ports: frozenset[int] = DEFAULT_PORTS
    library_gap_s: float = 14 * 86400.0
    library_overlap: float = 0.5
    bridge_window_s: float = 24 * 3600.0
    bridge_min_shared: int = 1
    bridge: bool = True

    def __post_init__(self) -> None:
        for name in ("window_s", "port_window_s", "library_gap_s", "bridge_window_s"):
            value = getattr(self, name)
            if not value >= 0:
                raise UsageError(f"{name} must be >= 0 seconds, not {value}")
        if not 0 < self.library_overlap <= 1:
            raise UsageError(f"library_overlap must be in (0, 1], not {self.library_overlap}")
        if self.bridge_min_shared < 1:
            raise UsageError(f"bridge_min_shared must be >= 1, not {self.bridge_min_shared}")


@dataclass(frozen=True)
class Resolution:
    """Subjects found: each sighting's subject, and each link with the rule that made it."""

    assignments: pa.Table
    """:data:`ASSIGNMENTS`, in the input's row order."""
    merges: pa.Table
    """:data:`MERGES`: links forming a spanning forest of every subject (a subject of n
    sightings has at least n - 1 links), so every sighting in a subject is explained."""
    ambiguous: int = field(default=0)
    """Chains of identifier-less sightings left apart because they touched two identifiers."""
    bridges_refused: int = field(default=0)
    """Groups of installations left unbridged because they would join two persistent
    identifiers of one network."""

    def explain(self, subject_id: str) -> pa.Table:
        """The links (sighting pairs and rules) that built ``subject_id``."""
        return self.merges.filter(pc.equal(self.merges["subject_id"], subject_id))


def resolve_subjects(sightings: pa.Table, *, cfg: ResolveConfig | None = None,
                     locator: Locator | None = None) -> Resolution:
    """Group ``sightings`` (the :data:`~icarus.sensors.schema.SIGHTINGS` schema) into subjects.

    Deterministic: a subject's id is the lower-case hex of its smallest ``sighting_id``, and the
    result does not depend on row order. ``locator`` says which addresses are anonymiser
    endpoints (default: the bundled database and list). Raises :class:`InputError` when a
    needed column is missing or a ``sighting_id`` repeats.
    """
    cfg = cfg or ResolveConfig()
    _check(sightings, _NEEDED)
    ids = sightings["sighting_id"].combine_chunks().cast(SIGHTINGS.field("sighting_id").type)
    id_rank = id_codes(ids)  # rank of each sighting_id; raises on duplicates
    rows = _encode(sightings.column, locator or default_locator(), id_rank)
    label, links, ambiguous, refused = _labels(rows, cfg)
    del rows
    # A subject's id: the smallest sighting_id in it (hex), whatever the row order.
    subject = pc.cast(_hex(ids.take(pa.array(first_per_group(label, id_rank)))), pa.string())
    del label, id_rank
    assignments = pa.table([ids, sightings["sensor"].combine_chunks(),
                            sightings["record_id"].combine_chunks(), subject],
                           schema=ASSIGNMENTS)
    a = np.concatenate([x[0] for x in links])
    b = np.concatenate([x[1] for x in links])
    rule = np.concatenate([x[2] for x in links]).astype(np.int64)
    names = pa.array(list(RULES.values()))
    merges = pa.table([subject.take(pa.array(a)), ids.take(pa.array(a)), ids.take(pa.array(b)),
                       names.take(pa.array(rule))], schema=MERGES)
    return Resolution(assignments, merges, ambiguous, refused)


ColumnSource = Callable[[str], pa.ChunkedArray]
"""Gives one of the :data:`LABELLED` columns by name (every row, in one row order)."""


def subject_labels(sightings: pa.Table | ColumnSource, *, cfg: ResolveConfig | None = None,
                   locator: Locator | None = None) -> Ints:
    """The subjects of :func:`resolve_subjects` as one integer per row (rows with equal labels
    are one subject), without building its tables: for a caller that needs only the grouping
    (candidates resolve ten million rows this way).

    ``sightings``: a table with the :data:`LABELLED` columns, or a :data:`ColumnSource` giving
    them. Each column is asked for once and read into integer codes before the rules run, so a
    source that lets a column go once it has handed it over keeps none of them through the
    resolution (nor a union of tables: a source may join the chunks of several).
    """
    if isinstance(sightings, pa.Table):
        _check(sightings, LABELLED)
        source: ColumnSource = sightings.column
    else:
        source = sightings
    rows = _encode(source, locator or default_locator())
    del source, sightings
    label, _, _, _ = _labels(rows, cfg or ResolveConfig(), keep_links=False)
    return label


def _check(sightings: pa.Table, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in sightings.column_names]
    if missing:
        raise InputError(f"sightings table lacks column(s) {', '.join(missing)} "
                         f"(expected the schema of icarus.sensors.schema.SIGHTINGS)")


_RULE_INDEX = {k: i for i, k in enumerate(RULES)}
Link = tuple[Ints, Ints, npt.NDArray[np.int8]]


@dataclass
class _Rows:
    """The sightings as the rules read them: a compact code per row and column (int32 row
    indices and codes while they fit, int8 families and kinds), nothing of the Arrow columns."""

    t: I64
    """``observed_at`` in microseconds."""
    pos: Ints
    """Each row's place in the order (time, sighting_id): see :func:`time_positions`."""
    fam: I8
    """Network family: 0 eDonkey and Kad, 1 Gnutella, 2 BitTorrent, 3 unknown."""
    kind: I8
    """The identifier a row is grouped by: 0 user hash, 1 GUID, 2 peer_id, 3 none."""
    group: Ints
    """Dense code of (kind, identifier), in that order; a row without one is a group alone."""
    ip: Ints
    """Address code (into ``anon``)."""
    anon: B
    """Per address code: an anonymiser endpoint."""
    port: I32
    """Port (-1: unknown)."""
    content: Ints
    """``content_id`` code (-1: none)."""
    size: Ints
    """``file_size`` code (-1: unknown or not positive)."""


def _encode(source: ColumnSource, locator: Locator, rank: Ints | None = None) -> _Rows:
    """Read the :data:`LABELLED` columns of ``source`` into :class:`_Rows`, one at a time (each
    column is asked for once and dropped once coded). ``rank``: each row's ``sighting_id`` rank
    when the caller has it (else the column is read for it; repeats raise :class:`InputError`).
    Arrow's pool is trimmed at the end: what a source let go is handed back to the system."""
    fam = _families(source("network"))
    kind, group = _identifier_groups(source, fam)
    ip, addresses = dictionary_codes(source("ip"))
    anon = np.asarray(pc.is_valid(locator.locate(addresses)["anonymiser"]).to_numpy(),
                      dtype=bool)
    del addresses
    port = np.asarray(pc.fill_null(source("port"), -1).to_numpy(), dtype=np.int32)
    content, _ = dictionary_codes(source("content_id"))
    size, sizes = dictionary_codes(source("file_size"))
    # Unknown (null) or not positive: -1 (the code -1 indexes the appended True).
    unknown = np.append(np.asarray(pc.less_equal(sizes, 0).to_numpy(zero_copy_only=False),
                                   dtype=bool), True)
    size = np.where(unknown[size], size.dtype.type(-1), size)
    del sizes, unknown
    # Last, when the other columns may be gone: the order of time and sighting_id.
    if rank is None:
        rank = id_codes(source("sighting_id"))
    t = np.asarray(pc.cast(source("observed_at"), pa.int64()).to_numpy(), dtype=np.int64)
    pos = time_positions(t, rank)
    del rank
    pa.default_memory_pool().release_unused()
    return _Rows(t, pos, fam, kind, group, ip, anon, port, content, size)


def _labels(r: _Rows, cfg: ResolveConfig, *, keep_links: bool = True
            ) -> tuple[Ints, list[Link], int, int]:
    """Every rule in turn: each sighting's final label, the links (rows a, b, rule index;
    none unless ``keep_links``), the ambiguous chains and the refused bridges. Intermediate
    arrays end with this call."""
    links: list[Link] = []
    if keep_links:  # rules 1-2 group by identifier already: their links only explain
        a, b, kinds = _identifier_links(r.kind, r.group, r.pos)
        links.append((a, b, kinds.astype(np.int8)))
        del a, b, kinds
    stable_group = np.zeros(int(r.group.max(initial=-1)) + 1, dtype=bool)
    stable_group[r.group[r.kind < 2]] = True
    persistent = r.kind < 2
    chosen = (r.port > 0) & ~np.isin(r.port, np.fromiter(cfg.default_ports, np.int32))
    label, (a, b, k), ambiguous = _address_links(r, chosen, stable_group, cfg)
    if keep_links:
        links.append((a, b, k.astype(np.int8)))
    del stable_group, a, b, k
    label, library = _library_stage(r, label, chosen, cfg)
    if keep_links:
        links.extend(library)
    del chosen, library
    refused = 0
    if cfg.bridge:
        stable_label = np.zeros(int(label.max(initial=-1)) + 1, dtype=bool)
        stable_label[label[persistent]] = True
        (ba, bb), refused = bridge_links(label, r.fam, stable_label, r.t, r.pos, r.ip, r.anon,
                                         r.size, window_s=cfg.bridge_window_s,
                                         min_shared=cfg.bridge_min_shared)
        label = components(stable_label.size, label[ba], label[bb])[label]
        if keep_links:
            links.append((ba, bb, np.full(ba.size, _RULE_INDEX["bridge"], dtype=np.int8)))
    return label, links, ambiguous, refused


def _library_stage(r: _Rows, label: Ints, chosen: B, cfg: ResolveConfig
                   ) -> tuple[Ints, list[Link]]:
    """Rules 4-5: BitTorrent sessions of one client (see :func:`library_links`)."""
    bt = (r.fam == 2) & (r.content >= 0)
    found = library_links(label, bt, r.t, r.pos, r.ip, r.anon, r.port, chosen, r.content,
                          max_gap_s=cfg.library_gap_s, min_overlap=cfg.library_overlap)
    del bt
    links = [(a, b, np.full(a.size, _RULE_INDEX[rule], dtype=np.int8))
             for rule, (a, b) in found.items()]
    a = np.concatenate([x[0] for x in links])
    b = np.concatenate([x[1] for x in links])
    n_lab = int(label.max(initial=-1)) + 1
    return components(n_lab, label[a], label[b])[label], links


def _hex(ids: pa.Array) -> pa.Array:
    """Lower-case hex of each 16-byte id (vectorised through numpy)."""
    raw = np.frombuffer(ids.buffers()[1], dtype=np.uint8, count=16 * len(ids) + 16 * ids.offset)
    raw = raw[16 * ids.offset:].reshape(-1, 16)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty((raw.shape[0], 32), dtype=np.uint8)
    out[:, 0::2] = digits[raw >> 4]
    out[:, 1::2] = digits[raw & 15]
    return pa.array(out.view("S32").reshape(-1), pa.binary(32))


def _families(network: pa.ChunkedArray | pa.Array) -> I8:
    names = pa.array(list(_FAMILY))
    idx = pc.index_in(network, value_set=names)
    fam_of = np.array([*_FAMILY.values(), 3], dtype=np.int8)
    return fam_of[np.asarray(pc.fill_null(idx, len(_FAMILY)).to_numpy(), dtype=np.int32)]


def _identifier_groups(source: ColumnSource, fam: I8) -> tuple[I8, Ints]:
    """(kind, group) per sighting: kind 0 user hash, 1 GUID, 2 peer_id, 3 none (the first of
    its network's); group, the rank of (kind, identifier's code) among those present, with the
    rows of kind 3 after, each alone in row order (what a sort of the pairs would number)."""
    n = fam.size
    kind = np.full(n, 3, dtype=np.int8)
    code: Ints = np.empty(n, dtype=index_type(n))
    n_codes = []
    for k, (column, family) in enumerate((("user_hash", 0), ("guid", 1), ("peer_id", 2))):
        c, values = dictionary_codes(source(column))
        n_codes.append(len(values))
        use = (c >= 0) & (fam == family) & (kind == 3)
        kind[use] = k
        code[use] = c[use]
        del c, values, use
    group: Ints = np.empty(n, dtype=index_type(n))
    start = 0
    for k, size in enumerate(n_codes):
        mine = kind == k
        c = code[mine]
        present = np.zeros(size, dtype=bool)
        present[c] = True
        rank = np.cumsum(present, dtype=np.int64) - 1 + start
        group[mine] = rank[c]
        start += int(np.count_nonzero(present))
    none = kind == 3
    group[none] = np.arange(start, start + int(np.count_nonzero(none)), dtype=group.dtype)
    return kind, group


def _identifier_links(kind: I8, group: Ints, pos: Ints) -> tuple[Ints, Ints, I8]:
    """Rules 1-2: consecutive sightings (by time, then id: ``pos``) of each identifier."""
    order = np.lexsort((pos, group))
    k, g = kind[order], group[order]
    same = (g[1:] == g[:-1]) & (k[1:] < 3)
    return order[:-1][same], order[1:][same], k[1:][same]


def _address_links(r: _Rows, chosen: B, stable: B, cfg: ResolveConfig
                   ) -> tuple[Ints, tuple[Ints, Ints, I64], int]:
    """Rule 3: returns each sighting's final label, the links used, and the ambiguous count."""
    chosen = chosen & cfg.same_port
    port = r.port if cfg.same_port else np.zeros_like(r.port)
    order = np.lexsort((r.t, port, r.ip, r.fam))
    # Each row and the next in that order, compared one column at a time (sorted copies).
    s: Ints = r.fam[order]
    ok = s[1:] == s[:-1]
    s = r.ip[order]
    ok &= s[1:] == s[:-1]
    ok &= ~r.anon[s[:-1]]
    s = port[order]
    ok &= s[1:] == s[:-1]
    del port
    times = r.t[order]
    gap = times[1:] - times[:-1]
    del s, times
    ok &= np.where(chosen[order[:-1]], gap <= int(cfg.port_window_s * 1e6),
                   gap <= int(cfg.window_s * 1e6))
    del gap
    g = r.group[order]
    gi, gj = g[:-1], g[1:]
    ok &= (gi != gj) & ~(stable[gi] & stable[gj])
    i, j, gi, gj = order[:-1][ok], order[1:][ok], gi[ok], gj[ok]
    del order, g, ok
    ngroups = stable.size
    weak = ~stable[gi] & ~stable[gj]
    cluster = components(ngroups, gi[weak], gj[weak])  # weak groups chained together
    # Each weak chain touching exactly one persistent identifier joins it; two or more: none.
    touch_w = np.where(stable[gi], gj, gi)[~weak]
    touch_s = np.where(stable[gi], gi, gj)[~weak]
    pairs = np.unique(np.stack([cluster[touch_w], touch_s], axis=1), axis=0) if touch_s.size \
        else np.zeros((0, 2), dtype=np.int64)
    per_cluster = np.bincount(pairs[:, 0], minlength=ngroups)
    target = cluster.copy()
    single = pairs[per_cluster[pairs[:, 0]] == 1]
    target[single[:, 0]] = single[:, 1]
    final = target[cluster]  # weak group → its chain → the identifier it joined, if any
    final[stable] = np.flatnonzero(stable)
    used = weak | (per_cluster[cluster[np.where(stable[gi], gj, gi)]] == 1)
    links = (i[used], j[used], np.full(int(used.sum()), _RULE_INDEX["address"], dtype=np.int64))
    return final[r.group], links, int(np.count_nonzero(per_cluster > 1))
