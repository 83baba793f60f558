"""Sharing networks: hand-made co-sharing graphs, determinism, and a tiny synthetic world."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from icarus.bank.service import BankService
from icarus.core.errors import InputError, UsageError
from icarus.core.settings import load_settings
from icarus.domain.digests import Digest
from icarus.intel.intel_file import (
    EarlierIntel,
    EarlierNetwork,
    EarlierSubject,
    Identifier,
    Operation,
    read_earlier_intel,
)
from icarus.intel.networks import NetworksConfig, find_networks
from icarus.intel.networks_graph import split_loose
from icarus.intel.resolve import resolve_subjects
from icarus.sensors.dataset import query
from icarus.sensors.ingest import ingest_files
from icarus.sensors.schema import SIGHTINGS
from icarus.sim.eval import evaluate, write_results

T0 = datetime(2024, 4, 1, tzinfo=UTC)


def _digest(item: str) -> str:
    return "ed2k:" + item.encode().ljust(16, b".").hex()


def _user_hash(subject: str) -> bytes:
    return subject.encode().ljust(16, b"#")


def _sightings(holdings: dict[str, list[str]], *, identified: bool = False,
               bittorrent: frozenset[str] = frozenset(),
               addresses: dict[str, str] | None = None) -> tuple[pa.Table, pa.Table]:
    """One sighting per (subject, item); subjects are their own ids (assignments given).
    ``identified``: eDonkey subjects show a user hash (:func:`_user_hash`); subjects in
    ``bittorrent`` are seen on BitTorrent (no persistent identifier); each subject has its
    own address unless ``addresses`` gives one."""
    rows, assigned = [], []
    for n, (subject, held) in enumerate(sorted(holdings.items())):
        bt = subject in bittorrent
        for k, item in enumerate(held):
            sid = n.to_bytes(2, "big") + bytes([k]) + bytes(13)
            rows.append({"sighting_id": sid, "observed_at": T0 + timedelta(hours=n + k),
                         "network": "bittorrent" if bt else "edonkey",
                         "ip": (addresses or {}).get(subject, f"10.{n // 250}.{n % 250}.1"),
                         "port": 4662,
                         "content_kind": "ed2k", "content_id": item.encode().ljust(16, b"."),
                         "user_hash": _user_hash(subject) if identified and not bt else None,
                         "guid": None, "sensor": "s", "record_id": f"{n}-{k}",
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
    # Core files are the network's own files: "pop" is held as much outside the network as
    # inside, so it says nothing about it; the three files only its members hold do.
    core = nets["net-a0"]["core_files"]
    assert core == [_digest(f"a-{k}") for k in (1, 2, 3)] and nets["net-a0"]["size"] == 5


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


def test_members_tied_only_by_a_file_common_outside_are_left_out() -> None:
    # h0 and h1 hold only "x", which a0 and a1 (of ring A) and b0 (of ring B) hold too: they
    # are put with ring A, but "x" is not A's own file (a fifth of its holders are outside),
    # so nothing makes them members; at an own-file share of half, "x" would make them so.
    holdings = ({f"a{i}": ["a-1", "a-2", "a-3"] for i in range(6)}
                | {f"b{i}": ["b-1", "b-2", "b-3"] for i in range(6)}
                | {"h0": ["x"], "h1": ["x"]})
    holdings["a0"] = [*holdings["a0"], "x"]
    holdings["a1"] = [*holdings["a1"], "x"]
    holdings["b0"] = [*holdings["b0"], "x"]
    sightings, assigned = _sightings(holdings)
    rings = {frozenset(f"a{i}" for i in range(6)), frozenset(f"b{i}" for i in range(6))}
    assert _groups(find_networks(sightings, assigned).memberships) == rings
    loose = find_networks(sightings, assigned, cfg=NetworksConfig(own_share=0.5))
    ring_a, ring_b = sorted(rings, key=sorted)
    assert _groups(loose.memberships) == {ring_a | {"h0", "h1"}, ring_b}


def test_a_group_hanging_by_a_thread_is_split_off() -> None:
    # One community holding two 6-cliques: joined by one light edge they are two groups;
    # joined edge for edge (every a_i with b_i) they are one.
    a, b = np.triu_indices(6, 1)
    u, v = np.r_[a, a + 6], np.r_[b, b + 6]
    cfg = NetworksConfig()
    one = np.zeros(12, dtype=np.int64)
    thread = split_loose(one, np.r_[u, 5], np.r_[v, 6], np.r_[np.ones(u.size), 0.05], cfg)
    assert thread[1] == {0, 1} and len(set(thread[0][:6].tolist())) == 1
    assert thread[0][0] != thread[0][6] and len(set(thread[0][6:].tolist())) == 1
    woven = np.arange(6)
    tied = split_loose(one, np.r_[u, woven], np.r_[v, woven + 6],
                        np.r_[np.ones(u.size), np.ones(6)], cfg)
    assert tied[1] == set() and (tied[0] == 0).all()
    off = split_loose(one, np.r_[u, 5], np.r_[v, 6], np.r_[np.ones(u.size), 0.05],
                       NetworksConfig(split_conductance=0.0))
    assert off[1] == set()


def test_sessions_from_one_address_are_one_holder() -> None:
    # Twenty BitTorrent sessions from one address (one client restarted: its peer id changes
    # each time) hold "x", as do a0 of ring a and t0 of group t. Counted per session, "x"
    # would be their own file and the sessions a network; they are one holder of it. Three
    # eMule installations behind one address (three user hashes) stay three holders.
    sessions = {f"s{i:02}": ["x"] for i in range(20)}
    natted = {f"n{i}": ["n-1", "n-2"] for i in range(3)}
    holdings = ({f"a{i}": ["a-1", "a-2"] for i in range(4)} | sessions | natted
                | {f"t{i}": ["t-1"] for i in range(3)})
    holdings["a0"] = [*holdings["a0"], "x"]
    holdings["t0"] = [*holdings["t0"], "x"]
    where = dict.fromkeys(sessions, "192.0.2.7") | dict.fromkeys(natted, "192.0.2.9")
    sightings, assigned = _sightings(holdings, identified=True, bittorrent=frozenset(sessions),
                                     addresses=where)
    rings = {frozenset(f"a{i}" for i in range(4)), frozenset(natted),
             frozenset(f"t{i}" for i in range(3))}
    assert _groups(find_networks(sightings, assigned).memberships) == rings
    per_session = find_networks(sightings, assigned,
                                cfg=NetworksConfig(one_holder_per_address=False))
    assert _groups(per_session.memberships) == rings | {frozenset(sessions)}


def test_groups_are_looked_at_again_without_the_strangers() -> None:
    # Among thirty 5-rings, ring a and group t are each tied by "x" to ten sessions of one
    # client; three members of other rings hold "x" too. Leiden puts a, t and the sessions
    # in one community (small groups against a large graph). "x" is not the community's own
    # file (3 of its 6 holders are outside), so the sessions are no members; without them a
    # and t hang by nothing and are split apart.
    sessions = {f"s{i:02}": ["x"] for i in range(10)}
    holdings = ({f"a{i}": ["a-1", "a-2"] for i in range(4)} | sessions
                | {f"t{i}": ["t-1"] for i in range(3)}
                | {f"z{r:02}{i}": [f"z{r}-1", f"z{r}-2", f"z{r}-3"] for r in range(30)
                   for i in range(5)})
    for holder in ("a0", "t0", "z000", "z010", "z020"):
        holdings[holder] = [*holdings[holder], "x"]
    sightings, assigned = _sightings(holdings, bittorrent=frozenset(sessions),
                                     addresses=dict.fromkeys(sessions, "192.0.2.7"))
    groups = _groups(find_networks(sightings, assigned).memberships)
    assert frozenset(f"a{i}" for i in range(4)) in groups
    assert frozenset(f"t{i}" for i in range(3)) in groups
    assert not any(g & set(sessions) for g in groups)


def test_a_ring_cut_in_pieces_is_split_off_whole() -> None:
    # Four 6-cliques: q0-q1 and q2-q3 tied by three edges each (Leiden keeps the four apart,
    # but each piece holds to its sibling: none is loose alone), q1-q2 by one light edge. The
    # pieces tied to each other go together, and the two pairs hang by a thread: two groups.
    a, b = np.triu_indices(6, 1)
    u = np.concatenate([a + 6 * q for q in range(4)] + [np.r_[0, 1, 2], np.r_[18, 19, 20], [6]])
    v = np.concatenate([b + 6 * q for q in range(4)] + [np.r_[6, 7, 8], np.r_[12, 13, 14], [12]])
    w = np.r_[np.ones(60 + 6), 0.05]
    out, changed = split_loose(np.zeros(24, dtype=np.int64), u, v, w, NetworksConfig())
    assert changed and len(set(out[:12].tolist())) == 1 and len(set(out[12:].tolist())) == 1
    assert out[0] != out[12]


def _intel(subjects: dict[str, tuple[str, list[str]]],
           content: dict[str, list[str]]) -> EarlierIntel:
    """Earlier subjects (ref → (network, subjects of ours whose user hash it lists)) and
    networks (ref → items of ours in its content)."""
    return EarlierIntel(Operation("Op", date(2024, 3, 1), "EO-1"), tuple(
        EarlierSubject(ref, "DE", net, tuple(Identifier("edonkey-user-hash", _user_hash(x))
                                             for x in ours), ())
        for ref, (net, ours) in subjects.items()), tuple(
        EarlierNetwork(net, net.lower(), tuple(r for r, (n, _) in subjects.items() if n == net),
                       tuple(Digest("ed2k", i.encode().ljust(16, b".")) for i in items))
        for net, items in content.items()))


def _known(result: pa.Table) -> dict[str, tuple[str, str]]:
    return {r["network"]: (r["earlier_ref"], r["earlier_evidence"])
            for r in result.to_pylist() if r["known_earlier"]}


def test_known_earlier_needs_a_substantial_share_of_members() -> None:
    holdings = ({f"a{i:02}": ["a-1", "a-2"] for i in range(6)}
                | {f"b{i:02}": ["b-1", "b-2"] for i in range(25)})
    sightings, assigned = _sightings(holdings, identified=True)
    earlier = _intel({"S1": ("N1", ["a00"]), "S2": ("N1", ["a03"]),  # 2 of ring a's 6
                      "S3": ("N2", ["b07"]), "S4": ("N2", [])},  # 1 of ring b's 25
                     {"N1": [], "N2": []})
    found = find_networks(sightings, assigned, earlier=earlier)
    assert _known(found.networks) == {"net-a00": (
        "N1", "2 of 6 nameable member(s) match subjects of N1, 0 of its 0 file(s) co-shared")}
    # The same single member makes ring b "known" only if one member is taken as enough.
    lax = find_networks(sightings, assigned, earlier=earlier,
                        cfg=NetworksConfig(known_member_share=0.0))
    assert set(_known(lax.networks)) == {"net-a00", "net-b00"}


def test_members_without_identifiers_do_not_dilute_the_share() -> None:
    # Ring c: two eDonkey members (one named earlier) and twenty BitTorrent sessions, which
    # carry no identifier an earlier package could list.
    holdings = {f"c{i:02}": ["c-1", "c-2"] for i in range(22)}
    bt = frozenset(f"c{i:02}" for i in range(2, 22))
    sightings, assigned = _sightings(holdings, identified=True, bittorrent=bt)
    earlier = _intel({"S1": ("N1", ["c01"])}, {"N1": []})
    found = find_networks(sightings, assigned, earlier=earlier)
    assert _known(found.networks)["net-c00"][1].startswith("1 of 2 nameable member(s)")


def test_known_earlier_by_own_files_not_by_a_popular_one() -> None:
    # N1 listed two of ring a's own files; N2 listed a file everybody holds and one of
    # ring d's own files: one own file of its content is not enough (two are asked).
    holdings = ({f"a{i}": ["a-1", "a-2", "pop"] for i in range(5)}
                | {f"d{i}": ["d-1", "d-2", "pop"] for i in range(5)}
                | {f"e{i}": ["e-1", "e-2", "pop"] for i in range(5)})
    sightings, assigned = _sightings(holdings)
    earlier = _intel({}, {"N1": ["a-1", "a-2"], "N2": ["pop", "d-1"]})
    found = find_networks(sightings, assigned, earlier=earlier)
    assert _known(found.networks) == {"net-a0": (
        "N1", "0 of 0 nameable member(s) match subjects of N1, 2 of its 2 file(s) co-shared")}


def test_earlier_digests_of_another_kind_match_through_the_items() -> None:
    # N1 listed ring a's two files by MD5 (and a-1 by its ed2k as well); we saw them as
    # ed2k. The items (a bank entry per file) say which digests are one file: with them N1
    # knew ring a (two files, a-1 counted once), without them nothing matches.
    holdings = {f"a{i}": ["a-1", "a-2"] for i in range(5)}
    sightings, assigned = _sightings(holdings)
    md5 = {f: Digest("md5", f"md5-{f}".encode().ljust(16, b"_")) for f in ("a-1", "a-2")}
    earlier = EarlierIntel(Operation("Op", date(2024, 3, 1), "EO-1"), (), (EarlierNetwork(
        "N1", "n1", (), (md5["a-1"], Digest("ed2k", b"a-1".ljust(16, b".")), md5["a-2"])),))
    items = pa.table({"content_kind": ["ed2k", "md5", "ed2k", "md5"],
                      "content_id": [b"a-1".ljust(16, b"."), md5["a-1"].value,
                                     b"a-2".ljust(16, b"."), md5["a-2"].value],
                      "item": ["0:1", "0:1", "0:2", "0:2"]})
    found = find_networks(sightings, assigned, earlier=earlier, items=items)
    assert _known(found.networks) == {"net-a0": (
        "N1", "0 of 0 nameable member(s) match subjects of N1, 2 of its 2 file(s) co-shared")}
    # Without items, only the ed2k of a-1 matches: one of the three files N1 lists.
    assert _known(find_networks(sightings, assigned, earlier=earlier).networks) == {}


def test_bad_input_and_config() -> None:
    sightings, assigned = _sightings(_two_cliques())
    with pytest.raises(InputError, match="content_id"):
        find_networks(sightings.drop_columns(["content_id"]), assigned)
    for bad in ({"min_size": 0}, {"own_share": 0.0}, {"split_conductance": 1.0},
                {"known_member_share": 1.5}):
        with pytest.raises(UsageError):
            NetworksConfig(**bad)


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
