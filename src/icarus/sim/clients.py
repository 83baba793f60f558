"""Client installations of the synthetic world's people, with identifiers made by the real rules.

- eDonkey/Kad (eMule, aMule): a 16-byte user hash, random except byte 5 = 0x0E and byte
  14 = 0x6F, the marks eMule and aMule put in the hashes they create; a share of installations
  is firewalled and gets a server-assigned LowID (< 2^24) instead of its address as client ID.
- Gnutella: a 16-byte servent GUID; LimeWire-family clients (LimeWire, FrostWire) mark it with
  byte 8 = 0xFF and byte 15 = 0x00, other clients' GUIDs never carry both marks.
- BitTorrent: an Azureus-style peer id prefix naming client and version (``-qB4520-``); the
  behaviour stage appends 12 fresh random bytes at every client start.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from icarus.sim.config import WorldConfig
from icarus.sim.rng import Streams
from icarus.sim.tables import INSTALLS

__all__ = ["CLIENTS", "DEFAULT_PORTS", "NETWORKS", "PEER_ID_PREFIXES", "build_installs",
           "install_ports"]

NETWORKS = ("edonkey", "gnutella", "bittorrent")

CLIENTS: dict[str, tuple[tuple[str, float], ...]] = {  # client mix per network: assumption
    "edonkey": (("eMule 0.50a", 0.45), ("eMule 0.60d", 0.35), ("aMule 2.3.3", 0.20)),
    "gnutella": (("LimeWire 5.5.16", 0.35), ("FrostWire 4.21.8", 0.25),
                 ("Shareaza 2.7.10.2", 0.40)),
    "bittorrent": (("qBittorrent 4.5.2", 0.40), ("uTorrent 3.5.5", 0.25),
                   ("Transmission 3.00", 0.20), ("Deluge 2.1.1", 0.15)),
}
"""Client software and versions per network, with their share of installations."""

PEER_ID_PREFIXES = {"qBittorrent 4.5.2": "-qB4520-", "uTorrent 3.5.5": "-UT355W-",
                    "Transmission 3.00": "-TR3000-", "Deluge 2.1.1": "-DE2110-"}
"""Azureus-style BitTorrent peer id prefixes: '-', two letters, four version characters, '-'."""

DEFAULT_PORTS = {"eMule": 4662, "aMule": 4662, "LimeWire": 6346, "FrostWire": 6346,
                 "Shareaza": 6346, "qBittorrent": 8999, "uTorrent": 6881, "Transmission": 51413,
                 "Deluge": 6881}
"""The listening port a client uses unless its user (or the client itself) picks another."""

_LIMEWIRE_FAMILY = ("LimeWire", "FrostWire")
_DEFAULT_NICKS = {"eMule": "http://emule-project.net", "aMule": "http://www.aMule.org"}
_SYLLABLES = ("ka", "ro", "mi", "ten", "dor", "va", "lex", "an", "bo", "ri", "sun", "tor",
              "el", "mar", "qu", "zen", "fi", "ul", "ny", "sk")


def build_installs(cfg: WorldConfig, streams: Streams, persons: pa.Table) -> pa.Table:
    """The INSTALLS table: one or two installations per person, on different networks.

    Promises: install ids are dense from 0 in (person, installation) order; a person's second
    installation (if any) is on another network than the first; identifiers follow the rules
    in this module's docstring.
    """
    c = cfg.clients
    n = persons.num_rows
    weight = np.array([c.edonkey_weight, c.gnutella_weight, c.bittorrent_weight])
    rng = streams.get("clients.networks")
    first = rng.choice(3, size=n, p=weight / weight.sum())
    second_w = np.tile(weight, (n, 1))
    second_w[np.arange(n), first] = 0.0
    has_second = (rng.random(n) < c.second_install_share) & (second_w.sum(axis=1) > 0)
    cum = np.cumsum(second_w, axis=1)
    u = rng.random(n) * cum[:, -1]
    second = np.minimum((cum <= u[:, None]).sum(axis=1), 2)
    person = np.concatenate([np.arange(n), np.flatnonzero(has_second)])
    network = np.concatenate([first, second[has_second]])
    slot = np.concatenate([np.zeros(n, np.int8), np.ones(int(has_second.sum()), np.int8)])
    order = np.lexsort((slot, person))
    person, network = person[order], network[order]
    m = person.size

    client = np.empty(m, dtype=object)
    rng = streams.get("clients.software")
    for k, name in enumerate(NETWORKS):
        at = np.flatnonzero(network == k)
        names = [x for x, _ in CLIENTS[name]]
        w = np.array([x for _, x in CLIENTS[name]])
        client[at] = np.array(names, dtype=object)[rng.choice(len(names), at.size, p=w / w.sum())]
    family = np.array([s.split(" ")[0] for s in client], dtype=object)

    ids = streams.get("clients.identifiers").integers(0, 256, size=(m, 16), dtype=np.uint8)
    ed2k = network == 0
    ids[ed2k, 5], ids[ed2k, 14] = 0x0E, 0x6F
    lime = np.isin(family, _LIMEWIRE_FAMILY)
    ids[lime, 8], ids[lime, 15] = 0xFF, 0x00
    other = (network == 1) & ~lime & (ids[:, 8] == 0xFF) & (ids[:, 15] == 0x00)
    ids[other, 15] = 0x01  # keep the LimeWire marks meaningful: no accidental look-alikes
    blobs = [bytes(row) for row in ids]

    rng = streams.get("clients.nicknames")
    u = rng.random(m)
    custom = ed2k & (u < c.custom_nickname_share)
    default = ed2k & ~custom & (u < c.custom_nickname_share + c.default_nickname_share)
    nick = _nicknames(m, rng)
    nickname = [nick[i] if custom[i] else _DEFAULT_NICKS[family[i]] if default[i] else None
                for i in range(m)]
    low_id = ed2k & (streams.get("clients.lowid").random(m) < c.low_id_share)

    return pa.table({
        "install_id": np.arange(m, dtype=np.int32),
        "person_id": person.astype(np.int32),
        "network": pa.array(np.array(NETWORKS)[network], pa.string()),
        "client": pa.array(client.tolist(), pa.string()),
        "user_hash": pa.array([b if e else None for b, e in zip(blobs, ed2k, strict=True)],
                              pa.binary(16)),
        "guid": pa.array([b if g else None for b, g in zip(blobs, network == 1, strict=True)],
                         pa.binary(16)),
        "peer_id_prefix": pa.array([PEER_ID_PREFIXES.get(x) for x in client], pa.string()),
        "low_id": low_id,
        "nickname": pa.array(nickname, pa.string()),
    }, schema=INSTALLS)


def _nicknames(m: int, rng: np.random.Generator) -> list[str]:
    parts = rng.integers(0, len(_SYLLABLES), size=(m, 3))
    length = rng.integers(2, 4, size=m)
    digits = rng.integers(0, 100, size=m)
    with_digits = rng.random(m) < 0.5
    out = []
    for i in range(m):
        word = "".join(_SYLLABLES[p] for p in parts[i, : length[i]])
        out.append(f"{word}{digits[i]:02d}" if with_digits[i] else word.capitalize())
    return out


def install_ports(cfg: WorldConfig, streams: Streams, installs: pa.Table) -> np.ndarray:
    """Each installation's listening port: the client's default, or a random high port.

    Deterministic from the seed and the installs table, so every stage asking gets the same
    ports (INSTALLS has no port column).
    """
    clients = installs["client"].to_pylist()
    default = np.array([DEFAULT_PORTS[x.split(" ")[0]] for x in clients], dtype=np.int32)
    rng = streams.get("clients.ports")
    random_port = rng.integers(1024, 65536, size=len(clients)).astype(np.int32)
    out: np.ndarray = np.where(rng.random(len(clients)) < cfg.clients.random_port_share,
                               random_port, default)
    return out
