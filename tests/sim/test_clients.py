"""Client installations and identifiers made by the real rules."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

from icarus.sim.clients import (
    CLIENTS,
    DEFAULT_PORTS,
    PEER_ID_PREFIXES,
    build_installs,
    install_ports,
)
from icarus.sim.config import WorldConfig, load_config
from icarus.sim.geo import load_geo
from icarus.sim.population import build_population
from icarus.sim.rng import Streams
from icarus.sim.tables import INSTALLS

World = tuple[WorldConfig, pa.Table, pa.Table]


def _build(seed: int) -> World:
    cfg = load_config("small", seed=seed)
    streams = Streams(seed)
    persons, _, _ = build_population(cfg, streams, load_geo(cfg.geo.countries))
    return cfg, persons, build_installs(cfg, streams, persons)


@pytest.fixture(scope="module")
def world() -> World:
    return _build(4)


def _rows(installs: pa.Table, network: str) -> list[dict[str, object]]:
    return [r for r in installs.to_pylist() if r["network"] == network]


def test_one_or_two_installations_on_different_networks(world: World) -> None:
    cfg, persons, installs = world
    assert installs.schema == INSTALLS
    assert np.array_equal(np.asarray(installs["install_id"]), np.arange(installs.num_rows))
    person = np.asarray(installs["person_id"])
    assert (np.diff(person) >= 0).all()
    per = np.bincount(person, minlength=persons.num_rows)
    assert per.min() == 1 and per.max() == 2
    assert abs((per == 2).mean() - cfg.clients.second_install_share) < 0.03
    pairs = {(p, n) for p, n in zip(person, installs["network"].to_pylist(), strict=True)}
    assert len(pairs) == installs.num_rows


def test_network_mix_follows_the_weights(world: World) -> None:
    cfg, _, installs = world
    c = cfg.clients
    share = {n: np.mean(np.asarray(installs["network"]) == n)
             for n in ("edonkey", "gnutella", "bittorrent")}
    total = c.edonkey_weight + c.gnutella_weight + c.bittorrent_weight
    assert abs(share["edonkey"] - c.edonkey_weight / total) < 0.04
    assert abs(share["bittorrent"] - c.bittorrent_weight / total) < 0.04


def test_edonkey_user_hashes_carry_the_emule_marks(world: World) -> None:
    _, _, installs = world
    rows = _rows(installs, "edonkey")
    hashes = [r["user_hash"] for r in rows]
    assert all(isinstance(h, bytes) and h[5] == 0x0E and h[14] == 0x6F for h in hashes)
    assert len(set(hashes)) == len(hashes)
    assert {r["client"] for r in rows} == {c for c, _ in CLIENTS["edonkey"]}
    low = np.array([r["low_id"] for r in rows])
    assert 0.2 < low.mean() < 0.4
    assert not any(r["low_id"] or r["user_hash"] for r in installs.to_pylist()
                   if r["network"] != "edonkey")


def test_gnutella_guids_mark_the_limewire_family_only(world: World) -> None:
    _, _, installs = world
    rows = _rows(installs, "gnutella")
    assert rows
    for r in rows:
        guid = r["guid"]
        assert isinstance(guid, bytes) and len(guid) == 16
        marked = guid[8] == 0xFF and guid[15] == 0x00
        assert marked == str(r["client"]).startswith(("LimeWire", "FrostWire")), r
    assert all(r["guid"] is None for r in installs.to_pylist() if r["network"] != "gnutella")


def test_bittorrent_prefixes_are_azureus_style_per_client(world: World) -> None:
    _, _, installs = world
    rows = _rows(installs, "bittorrent")
    for r in rows:
        prefix = r["peer_id_prefix"]
        assert prefix == PEER_ID_PREFIXES[str(r["client"])]
        assert re.fullmatch(r"-[A-Za-z]{2}[0-9A-Za-z]{4}-", str(prefix))
    assert {r["peer_id_prefix"] for r in rows} >= {"-qB4520-", "-TR3000-", "-UT355W-"}
    assert all(r["peer_id_prefix"] is None for r in installs.to_pylist()
               if r["network"] != "bittorrent")


def test_some_edonkey_users_have_nicknames(world: World) -> None:
    _, _, installs = world
    rows = _rows(installs, "edonkey")
    nicks = [r["nickname"] for r in rows]
    default = sum(n in ("http://emule-project.net", "http://www.aMule.org") for n in nicks)
    custom = sum(n is not None for n in nicks) - default
    assert 0.3 < default / len(rows) < 0.6 and 0.2 < custom / len(rows) < 0.5
    assert any(n is None for n in nicks)
    assert all(r["nickname"] is None for r in installs.to_pylist() if r["network"] != "edonkey")


def test_ports_are_defaults_or_random_and_stable(world: World) -> None:
    cfg, _, installs = world
    ports = install_ports(cfg, Streams(4), installs)
    assert np.array_equal(ports, install_ports(cfg, Streams(4), installs))
    default = np.array([DEFAULT_PORTS[c.split(" ")[0]] for c in installs["client"].to_pylist()])
    on_default = (ports == default).mean()
    assert abs(on_default - (1 - cfg.clients.random_port_share)) < 0.05
    assert ports.min() >= 1024 and ports.max() <= 65535


def test_same_seed_same_installs_other_seed_other_installs(world: World) -> None:
    _, _, installs = world
    assert installs.equals(_build(4)[2])
    assert not installs.equals(_build(5)[2])
