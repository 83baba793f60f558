"""The world as the sensors stage reads it: id-indexed arrays, share indexes, record resolution.

Everything the sampler needs per session or item is a numpy array indexed by a dense id, so a
chunk of sessions is served by fancy indexing and ``np.searchsorted``, never a Python loop per
record. :meth:`SensorWorld.batch` turns sampled records into the formats' SIGHTING_BATCH.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InternalError, UsageError
from icarus.sim.formats import EVIDENCE_LEVELS, SIGHTING_BATCH
from icarus.sim.sensors_config import SensorSpec

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

INSTALL_NETWORKS = ("edonkey", "gnutella", "bittorrent")
"""Installation networks, by their code in :attr:`SensorWorld.session_network`."""

CONTENT_KIND = {"edonkey": "ed2k", "kad": "ed2k", "gnutella": "sha1", "bittorrent": "btih"}
"""A sensor's network -> the content kind (and CONTENT column) its records carry."""

_NEEDS = {
    "persons": ("person_id", "role"),
    "installs": ("install_id", "person_id", "network", "client", "user_hash", "guid",
                 "nickname"),
    "sessions": ("install_id", "person_id", "start", "end", "ip", "port", "peer_id",
                 "ed2k_client_id"),
    "shares": ("person_id", "content_id", "first", "last"),
    "content": ("content_id", "status", "name", "size", "sha1", "ed2k", "btih"),
}
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mix64(x: npt.NDArray[np.uint64], salt: int) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser of ``x + salt``: a fixed, well-spread 64-bit hash per value."""
    x = x + np.uint64(salt)
    x = (x ^ (x >> np.uint64(30))) * _MIX[0]
    x = (x ^ (x >> np.uint64(27))) * _MIX[1]
    return x ^ (x >> np.uint64(31))


def _ints(table: pa.Table, column: str) -> I64:
    return np.asarray(table.column(column).cast(pa.int64()).to_numpy(), dtype=np.int64)


def _by_id(ids: I64, what: str) -> I64:
    """Row of each id (-1 where none), checking the ids are non-negative and unique."""
    if len(ids) and ids.min() < 0:
        raise InternalError(f"{what}: negative id {int(ids.min())}")
    rows = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int64)
    rows[ids] = np.arange(len(ids))
    if len(ids) and np.count_nonzero(rows >= 0) != len(ids):
        raise InternalError(f"{what}: ids are not unique")
    return rows


def take_rows(column: pa.ChunkedArray, rows: I64) -> pa.Array:
    """``column[rows]`` as one array, taking chunk by chunk: pyarrow's own take on a chunked
    array concatenates every chunk first, which costs the whole column per call."""
    if column.num_chunks == 1:
        return column.chunk(0).take(pa.array(rows))
    bounds = np.cumsum([0] + [len(chunk) for chunk in column.chunks])
    which = np.searchsorted(bounds, rows, side="right") - 1
    order = np.argsort(which, kind="stable")
    edges = np.searchsorted(which[order], np.arange(column.num_chunks + 1))
    pieces = [column.chunk(k).take(pa.array(rows[order[edges[k]:edges[k + 1]]] - bounds[k]))
              for k in range(column.num_chunks) if edges[k + 1] > edges[k]]
    if not pieces:
        return pa.array([], column.type)
    gathered = pa.concat_arrays(pieces)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return gathered.take(pa.array(inverse))


class ShareIndex:
    """Shares sorted by (person, first): who shares what at a given moment, by bisection.

    Times are milliseconds; keys pack ``person << 36 | time - base + 1`` (2.2 years of span,
    persons below 2^27) so that one sorted array serves every person.
    """

    SPAN = 1 << 36

    def __init__(self, person: I64, content: I64, first_ms: I64, last_ms: I64) -> None:
        order = np.lexsort((first_ms, person))
        self.person, self.content = person[order], content[order]
        self.base = int(first_ms.min()) if len(order) else 0
        self.first, self.last = self._rel(first_ms[order]), self._rel(last_ms[order])
        if len(order) and (person.max() >= 2**27 or last_ms.max() - self.base >= self.SPAN - 2):
            raise InternalError("shares: person ids >= 2^27 or a span over 2 years")
        self.key_first = (self.person << 36) | self.first
        self.key_last = np.sort((self.person << 36) | self.last)
        people = (int(self.person.max()) + 2) if len(order) else 1
        bases = np.arange(people, dtype=np.int64) << 36
        self.lo_first: I64 = np.searchsorted(self.key_first, bases).astype(np.int64)
        self.lo_last: I64 = np.searchsorted(self.key_last, bases).astype(np.int64)

    def _rel(self, ms: I64) -> I64:
        return np.clip(ms - self.base + 1, 0, self.SPAN - 1)

    def counts(self, person: npt.NDArray[np.signedinteger[Any]], ms: I64
               ) -> tuple[I64, I64, I64]:
        """Per (person, moment): where the person's shares start, how many began by then, and
        how many of those are active then (first <= moment <= last)."""
        # In int64 before shifting; people without shares all map to one empty slot.
        person = np.minimum(person.astype(np.int64), len(self.lo_first) - 1)
        key = (person << 36) | self._rel(ms)
        # Bisection of sorted queries walks the keys in order: about twice as fast.
        order = np.argsort(key, kind="stable")
        begun: I64 = np.empty_like(key)
        ended: I64 = np.empty_like(key)
        begun[order] = np.searchsorted(self.key_first, key[order], side="right")
        ended[order] = np.searchsorted(self.key_last, key[order], side="left")
        lo: I64 = self.lo_first[person]
        prefix: I64 = begun - lo
        active: I64 = prefix - (ended - self.lo_last[person])
        return lo, prefix, active

    def pick(self, lo: I64, prefix: I64, ms: I64, rng: np.random.Generator,
             attempts: int) -> I64:
        """A share active at ``ms`` among the ``prefix`` shares from ``lo``, uniformly by up to
        ``attempts`` draws; -1 where every draw hit an ended share."""
        draws = rng.random((len(lo), attempts))
        if len(self.last) == 0:
            return np.full(len(lo), -1, dtype=np.int64)
        pos = np.minimum(lo[:, None] + (draws * prefix[:, None]).astype(np.int64),
                         len(self.last) - 1)
        ok = (prefix[:, None] > 0) & (self.last[pos] >= self._rel(ms)[:, None])
        first = np.argmax(ok, axis=1)
        chosen = pos[np.arange(len(lo)), first]
        return np.where(ok.any(axis=1), chosen, -1)

    def content_of(self, share: I64) -> I64:
        """The content id of each share (-1 for -1)."""
        if len(self.content) == 0:
            return np.full(len(share), -1, dtype=np.int64)
        return np.where(share >= 0, self.content[np.maximum(share, 0)], -1)


class SensorWorld:
    """The input tables, indexed for sampling (validated against the columns used)."""

    name_variants = 4
    """0: the catalogue's name; 1: spaces as underscores; 2: " (1)" before the extension;
    3: lower case."""

    def __init__(self, *, persons: pa.Table, installs: pa.Table, sessions: pa.Table,
                 shares: pa.Table, content: pa.Table) -> None:
        for name, table in (("persons", persons), ("installs", installs),
                            ("sessions", sessions), ("shares", shares), ("content", content)):
            missing = [c for c in _NEEDS[name] if c not in table.column_names]
            if missing:
                raise UsageError(f"sensors: the {name} table lacks {', '.join(missing)}")
        # Sessions are the big table: taken from as they are (a combined copy would cost
        # hundreds of MB at large scale); the small tables are combined for faster takes.
        self.sessions = sessions.select(["ip", "port", "peer_id", "ed2k_client_id"])
        self.installs = installs.select(["user_hash", "guid", "client", "nickname"]
                                        ).combine_chunks()
        self.content = content.select(["name", "size", "ed2k", "sha1", "btih"]).combine_chunks()
        self.start = _ints(sessions, "start") // 1000
        self.end = _ints(sessions, "end") // 1000
        self.install = _ints(sessions, "install_id").astype(np.int32)
        self.person = _ints(sessions, "person_id").astype(np.int32)
        self.install_row = _by_id(_ints(installs, "install_id"), "installs.install_id")
        person_row = _by_id(_ints(persons, "person_id"), "persons.person_id")
        if len(self.install) and (self.install.max() >= len(self.install_row)
                                  or np.any(self.install_row[self.install] < 0)):
            raise InternalError("sessions: an install_id is not in the installs table")
        owner = _ints(installs, "person_id")[self.install_row[self.install]]
        if np.any(owner != self.person):
            bad = int(np.flatnonzero(owner != self.person)[0])
            raise InternalError(f"sessions row {bad}: person_id is not the install's owner")
        if len(self.person) and (self.person.max() >= len(person_row)
                                 or np.any(person_row[self.person] < 0)):
            raise InternalError("sessions: a person_id is not in the persons table")
        network = np.full(len(self.install_row), "", dtype=object)
        network[_ints(installs, "install_id")] = installs.column("network").to_numpy(
            zero_copy_only=False)
        self.session_network = np.full(len(self.install), -1, dtype=np.int8)
        for code, name in enumerate(INSTALL_NETWORKS):
            self.session_network[(network == name)[self.install]] = code
        role = np.full(len(person_row), "", dtype=object)
        role[_ints(persons, "person_id")] = persons.column("role").to_numpy(
            zero_copy_only=False)
        self.distributor = role == "distributor"
        self.session_benign = (role == "benign")[self.person]
        cid = _ints(content, "content_id")
        self.content_row = _by_id(cid, "content.content_id")
        status = content.column("status").to_numpy(zero_copy_only=False)
        self.illicit = np.zeros(len(self.content_row), dtype=bool)
        self.illicit[cid] = status != "benign"
        self.has_btih = np.zeros(len(self.content_row), dtype=bool)
        self.has_btih[cid] = pc.is_valid(content.column("btih")).to_numpy()
        self._shares = shares
        self._indexes: dict[bool, ShareIndex] = {}
        name = content.column("name").combine_chunks()
        self.names = pa.concat_arrays([
            name, pc.replace_substring(name, " ", "_"),
            pc.replace_substring_regex(name, r"^(.*?)(\.[A-Za-z0-9]{1,5})?$", r"\1 (1)\2"),
            pc.utf8_lower(name)])

    def share_index(self, *, bittorrent: bool) -> ShareIndex:
        """Shares by (person, time); for BitTorrent only items that have a torrent."""
        if bittorrent not in self._indexes:
            s = self._shares
            person, content = _ints(s, "person_id"), _ints(s, "content_id")
            if len(content) and (content.max() >= len(self.content_row)
                                 or np.any(self.content_row[content] < 0)):
                raise InternalError("shares: a content_id is not in the content table")
            keep = self.has_btih[content] if bittorrent else np.ones(len(content), dtype=bool)
            first = _ints(s, "first") // 1000
            last = _ints(s, "last") // 1000
            self._indexes[bittorrent] = ShareIndex(person[keep], content[keep], first[keep],
                                                   last[keep])
        return self._indexes[bittorrent]

    def chunks(self, size: int) -> list[tuple[int, I64, int | None]]:
        """Sessions in start order, ``size`` at a time: (number, rows, the next chunk's first
        start or None for the last); no later session starts before that horizon."""
        order = np.argsort(self.start, kind="stable")
        out: list[tuple[int, I64, int | None]] = []
        for j, lo in enumerate(range(0, len(order), size)):
            nxt = lo + size
            out.append((j, order[lo:nxt], int(self.start[order[nxt]]) if nxt < len(order)
                        else None))
        return out

    def batch(self, spec: SensorSpec, record_ids: pa.Array, rec: dict[str, I64]) -> pa.Table:
        """The SIGHTING_BATCH rows of sampled records (session row, content id, true time in
        ms, evidence code, name variant), identifiers as the sensor's network reveals them."""
        n, net = len(rec["t"]), spec.network
        rows = pa.array(rec["row"])
        irow = pa.array(self.install_row[self.install[rec["row"]]])
        crow = self.content_row[rec["content"]]
        advertised = pa.array(rec["evidence"] == 0)

        def take(table: pa.Table, column: str, index: pa.Array) -> pa.Array:
            return take_rows(table.column(column), index.to_numpy())

        def only(cond: bool, values: Any, typ: pa.DataType, *, when_known: bool = False) -> Any:
            """``values`` if the network reveals them (and, for ``when_known``, only above
            ``advertised``: a DHT or tracker answer names the address alone)."""
            if not cond:
                return pa.nulls(n, typ)
            if when_known:
                return pc.if_else(advertised, pa.scalar(None, typ), values)
            return values

        ed2k, quiet = net in ("edonkey", "kad"), net in ("kad", "bittorrent")
        kind = CONTENT_KIND[net]
        columns = {
            "record_id": record_ids,
            "observed_at": pa.array(rec["t"] + round(spec.skew_s * 1000),
                                    pa.timestamp("ms", tz="UTC")),
            "network": pa.repeat(pa.scalar(net, pa.string()), n),
            "ip": take(self.sessions, "ip", rows),
            "port": take(self.sessions, "port", rows).cast(pa.int32()),
            "content_kind": pa.repeat(pa.scalar(kind, pa.string()), n),
            "content_digest": take(self.content, kind, pa.array(crow)).cast(pa.binary()),
            "file_name": self.names.take(pa.array(rec["variant"] * self.content.num_rows
                                                  + crow)),
            "file_size": take(self.content, "size", pa.array(crow)).cast(pa.int64()),
            "user_hash": only(ed2k, take(self.installs, "user_hash", irow), pa.binary(16)),
            "ed2k_client_id": only(ed2k, take(self.sessions, "ed2k_client_id", rows),
                                   pa.int64(), when_known=net == "kad"),
            "guid": only(net == "gnutella", take(self.installs, "guid", irow), pa.binary(16)),
            "peer_id": only(net == "bittorrent", take(self.sessions, "peer_id", rows),
                            pa.binary(20), when_known=True),
            "client": only(True, take(self.installs, "client", irow), pa.string(),
                           when_known=quiet),
            "nickname": only(ed2k, take(self.installs, "nickname", irow), pa.string(),
                             when_known=net == "kad"),
            "sensor": pa.repeat(pa.scalar(spec.name, pa.string()), n),
            "evidence": pa.array(EVIDENCE_LEVELS).take(pa.array(rec["evidence"])),
        }
        return pa.table(columns, schema=SIGHTING_BATCH)
