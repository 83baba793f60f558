"""Exhibits of a small hand-made world: traces match the person's identifiers, and are stable."""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from icarus.core.errors import ConfigError
from icarus.identify.ed2k import ed2k_bytes
from icarus.sim.artefacts.emule import parse_clients_met, parse_known_met, parse_preferences
from icarus.sim.artefacts.torrents import build_torrent, parse_resume
from icarus.sim.diskimage import tools_missing
from icarus.sim.diskimage_tools import list_image, read_file
from icarus.sim.exhibits import (
    BuiltExhibits,
    ExhibitsConfig,
    build_exhibits,
    build_exhibits_detailed,
)
from icarus.sim.rng import Streams
from icarus.sim.tables import CONTENT, EXHIBIT_ITEMS, EXHIBITS, INSTALLS, PERSONS, SHARES

if any(tools_missing(fs) for fs in ("ntfs", "exfat", "fat32", "ext4")):
    pytest.skip("file-system tools missing", allow_module_level=True)

Row = dict[str, object]


def _hash(person: int) -> bytes:
    raw = bytearray(hashlib.sha256(b"uh%d" % person).digest()[:16])
    raw[5], raw[14] = 0x0E, 0x6F
    return bytes(raw)


def bytes_of(row: Row) -> bytes:
    """Stand-in for the catalogue's bytes: a fixed function of the row's seed and size."""
    return hashlib.shake_256(b"item%d" % int(str(row["seed"]))).digest(int(str(row["size"])))


def variant_of(row: Row, k: int) -> bytes:
    return hashlib.shake_256(b"variant%d-%d" % (int(str(row["seed"])), k)).digest(2000)


def _world() -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    persons: list[Row] = []
    installs: list[Row] = []
    shares: list[Row] = []
    content: list[Row] = []
    for cid in range(40):
        status = "known" if cid < 24 else "benign"
        size = 3000 + 97 * cid
        content.append({
            "content_id": cid, "status": status, "category": "x", "severity": 1,
            "vics_category": None, "media": "image" if cid % 3 else "video",
            "name": f"item {cid:02d}.{'jpg' if cid % 3 else 'mp4'}", "size": size,
            "md5": bytes(16), "sha1": bytes(20), "sha256": bytes(32), "ed2k": bytes(16),
            "btih": None, "seed": 1000 + cid, "pdq": None, "network_id": None})
    clients = [("edonkey", "eMule 0.50a", None), ("edonkey", "aMule 2.3.3", None),
               ("bittorrent", "Transmission 3.00", "-TR3000-"),
               ("bittorrent", "qBittorrent 4.5.2", "-qB4520-")]
    for pid in range(10):
        should = pid < 6
        persons.append({
            "person_id": pid, "country": "DK", "asn": 1, "isp": "isp", "in_earlier_intel": False,
            "role": ("distributor" if pid % 2 else "downloader") if should else "benign",
            "uses_anonymiser": False, "network_id": 1 if pid < 3 else None, "nat_group": None,
            "should_identify": should, "known_files": 6 if should else 0})
        network, client, prefix = clients[pid % 4]
        installs.append({
            "install_id": len(installs), "person_id": pid, "network": network, "client": client,
            "user_hash": _hash(pid) if network == "edonkey" else None, "guid": None,
            "peer_id_prefix": prefix, "low_id": False, "nickname": f"nick{pid}"})
        if pid == 4:  # also on BitTorrent
            installs.append({**installs[-1], "install_id": len(installs), "network": "bittorrent",
                             "client": "qBittorrent 4.5.2", "user_hash": None,
                             "peer_id_prefix": "-qB4520-"})
        pool = range(pid, 24, 2) if should else range(24, 30)
        for cid in pool:
            first = datetime(2011, 1, 6 + cid % 20, 10, tzinfo=UTC)
            shares.append({"person_id": pid, "content_id": cid, "first": first,
                           "last": first.replace(month=6)})
    return (pa.Table.from_pylist(persons, schema=PERSONS),
            pa.Table.from_pylist(installs, schema=INSTALLS),
            pa.Table.from_pylist(shares, schema=SHARES),
            pa.Table.from_pylist(content, schema=CONTENT))


CFG = ExhibitsConfig(searched_share=1.0, max_searched=6, decoys=2, raw_share=0.5,
                     image_mib=33, known_items=5, other_items=1, variant_share=0.4,
                     deleted_share=0.5, benign_files=3, known_met_items=10, torrent_items=4)


def _build(out: Path, seed: int = 7) -> BuiltExhibits:
    persons, installs, shares, content = _world()
    return build_exhibits_detailed(CFG, Streams(seed), persons, installs, shares, content,
                                   bytes_of, out, variant_of=variant_of)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuiltExhibits]:
    out = tmp_path_factory.mktemp("world")
    return out, _build(out)


def _files(world: Path, row: dict[str, object]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(live files, deleted files) of an exhibit by path, read back as an examiner would."""
    return _read_back(world / str(row["path"]), str(row["kind"]))


@functools.cache
def _read_back(target: Path, kind: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    if kind == "folder":
        return ({p.relative_to(target).as_posix(): p.read_bytes()
                 for p in target.rglob("*") if p.is_file()}, {})
    live: dict[str, bytes] = {}
    gone: dict[str, bytes] = {}
    for entry in list_image(target):
        if entry.kind in ("r", "-") and not entry.path.startswith("$"):
            (gone if entry.deleted else live)[entry.path] = read_file(target, entry.address)
    return live, gone


def test_table_follows_the_schema_and_points_at_the_files(
        built: tuple[Path, BuiltExhibits]) -> None:
    world, result = built
    table = result.exhibits
    assert table.schema == EXHIBITS and result.items.schema == EXHIBIT_ITEMS
    rows = table.to_pylist()
    assert len(rows) == 8 and len({r["exhibit_id"] for r in rows}) == 8
    assert {r["kind"] for r in rows} == {"folder", "raw"}
    for row in rows:
        target = world / str(row["path"])
        if row["kind"] == "raw":
            assert row["filesystem"] in ("fat32", "ntfs", "exfat", "ext4")
            assert hashlib.sha256(target.read_bytes()).hexdigest() == row["sha256"]
        else:
            assert target.is_dir() and row["sha256"] == "" and row["filesystem"] is None


def test_searched_people_and_decoys(built: tuple[Path, BuiltExhibits]) -> None:
    owners = sorted(int(str(p)) for p in built[1].exhibits.column("person_id").to_pylist())
    assert owners[:6] == list(range(6))  # every searched person (share 1.0)
    assert all(p >= 6 for p in owners[6:]) and len(owners) == 8  # two people of no interest


def test_client_traces_carry_the_persons_identifiers(built: tuple[Path, BuiltExhibits]) -> None:
    world, result = built
    _, installs, shares, content = _world()
    by_person = {r["person_id"]: r for r in installs.to_pylist()}
    by_name = {r["name"]: r for r in content.to_pylist()}
    seen = set()
    for row in result.exhibits.to_pylist():
        live, _ = _files(world, row)
        install = by_person[row["person_id"]]
        if install["network"] == "edonkey":
            prefs = next(d for p, d in live.items() if p.endswith("/preferences.dat"))
            assert parse_preferences(prefs).user_hash == install["user_hash"]
            linux = str(install["client"]).startswith("aMule")
            assert any(p.startswith("home/" if linux else "Users/") for p in live)
            known = parse_known_met(next(d for p, d in live.items() if p.endswith("known.met")))
            mine = {s["content_id"] for s in shares.to_pylist()
                    if s["person_id"] == row["person_id"]}
            assert known
            for entry in known:  # the person's shared items, with their real ed2k hashes
                item = by_name[entry.name]
                assert item["content_id"] in mine and entry.size == item["size"]
                assert entry.ed2k == ed2k_bytes(bytes_of(item)).red
            peers = parse_clients_met(next(d for p, d in live.items() if p.endswith("clients.met")))
            assert install["user_hash"] not in {c.user_hash for c in peers}
            seen.add("emule")
        else:
            resumes = [(p, d) for p, d in live.items() if p.endswith("resume")]
            assert resumes
            for path, data in resumes:
                record = parse_resume(data, path)
                name = path.rsplit("/", 1)[1].split(".")[0]
                item = by_name[record.name]
                assert build_torrent(record.name, bytes_of(item)).infohash.hex() == name
                assert f"/{record.save_path.split('/', 2)[-1]}".endswith("/Downloads")
            seen.add("bittorrent")
    assert seen == {"emule", "bittorrent"}


def test_items_are_where_the_items_table_says(built: tuple[Path, BuiltExhibits]) -> None:
    world, result = built
    rows = {r["exhibit_id"]: r for r in result.exhibits.to_pylist()}
    content = {r["content_id"]: r for r in _world()[3].to_pylist()}
    states = set()
    for item in result.items.to_pylist():
        row = rows[item["exhibit_id"]]
        live, gone = _files(world, row)
        original = bytes_of(content[item["content_id"]])
        state, path = str(item["state"]), str(item["path"])
        states.add(state)
        if state == "live":
            assert live[path] == original
        elif state == "deleted":
            assert row["kind"] == "raw" and gone[path] == original and path not in live
        elif state == "variant":
            assert live[path] == variant_of(content[item["content_id"]], int(str(item["variant"])))
        else:
            outer, inner, name = path.split("!")
            with zipfile.ZipFile(io.BytesIO(live[outer])) as first:
                nested = first.read(inner)
            with zipfile.ZipFile(io.BytesIO(nested)) as second:
                assert second.read(name) == original
    assert states == {"live", "deleted", "variant", "archived"}


def test_same_seed_same_bytes_and_another_seed_differs(
        built: tuple[Path, BuiltExhibits], tmp_path: Path) -> None:
    world, first = built
    again = _build(tmp_path)
    assert again.exhibits.equals(first.exhibits) and again.items.equals(first.items)
    for row in first.exhibits.to_pylist():
        a, b = world / str(row["path"]), tmp_path / str(row["path"])
        if row["kind"] == "raw":
            assert a.read_bytes() == b.read_bytes()
        else:
            tree_a = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
            tree_b = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
            assert tree_a == tree_b
    persons, installs, shares, content = _world()
    other = build_exhibits(CFG, Streams(8), persons, installs, shares, content, bytes_of,
                           tmp_path / "other")
    assert not other.equals(first.exhibits)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError, match="raw_share"):
        ExhibitsConfig(raw_share=1.5)
    with pytest.raises(ConfigError, match="windows_filesystems"):
        ExhibitsConfig(windows_filesystems=(("ext4", 1.0),))
