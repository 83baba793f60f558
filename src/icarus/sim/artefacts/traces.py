"""Where P2P clients keep their files, and the traces one person's installations leave.

Paths are relative to the root of the seized volume, with ``/``. Windows layouts follow the
clients' defaults (eMule 0.50 installed for the user keeps its configuration in
``%LOCALAPPDATA%\\eMule\\config`` and its downloads in ``Downloads\\eMule\\Incoming``;
qBittorrent in ``%LOCALAPPDATA%\\qBittorrent\\BT_backup``; Transmission in
``%LOCALAPPDATA%\\transmission``). Linux layouts are aMule 2.3's ``~/.aMule`` (preferences.dat
of 17 bytes: aMule writes no window placement), Transmission's ``~/.config/transmission`` and
qBittorrent's ``~/.local/share/qBittorrent/BT_backup``. Trackers use the reserved ``.invalid``
domain: nothing in a synthetic exhibit points at a real host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from icarus.sim.artefacts.aich import aich_tree
from icarus.sim.artefacts.emule import (
    Credit,
    KnownFile,
    clients_met_bytes,
    known2_bytes,
    known_met_bytes,
    preferences_bytes,
)
from icarus.sim.artefacts.torrents import (
    build_torrent,
    qbittorrent_fastresume,
    transmission_resume,
    without_announce,
)

TRACKER = "udp://tracker.example.invalid:6969/announce"
"""The same tracker as the catalogue's torrents (icarus.sim.items), on the reserved .invalid TLD."""

Row = dict[str, object]
Placed = tuple[str, bytes, int]
"""(path in the volume, bytes, mtime as UTC seconds)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """The folders of one user's profile on one operating system."""

    os: str
    user: str

    @property
    def home(self) -> str:
        """The user's home folder."""
        return f"Users/{self.user}" if self.os == "windows" else f"home/{self.user}"

    @property
    def emule_config(self) -> str:
        """Where known.met, known2_64.met, preferences.dat and clients.met live."""
        if self.os == "windows":
            return f"{self.home}/AppData/Local/eMule/config"
        return f"{self.home}/.aMule"

    @property
    def emule_incoming(self) -> str:
        """eMule's (aMule's) folder of completed downloads, shared by default."""
        if self.os == "windows":
            return f"{self.home}/Downloads/eMule/Incoming"
        return f"{self.home}/.aMule/Incoming"

    @property
    def downloads(self) -> str:
        """The BitTorrent clients' default save folder."""
        return f"{self.home}/Downloads"

    def native(self, path: str) -> str:
        """``path`` as the client writes it in its own files (a drive letter on Windows)."""
        return "C:/" + path if self.os == "windows" else "/" + path

    def transmission(self, kind: str) -> str:
        """Transmission's ``resume`` or ``torrents`` folder."""
        base = "AppData/Local/transmission" if self.os == "windows" else ".config/transmission"
        return f"{self.home}/{base}/{kind}"

    @property
    def qbittorrent(self) -> str:
        """qBittorrent's BT_backup folder (fastresume and torrent copies)."""
        if self.os == "windows":
            return f"{self.home}/AppData/Local/qBittorrent/BT_backup"
        return f"{self.home}/.local/share/qBittorrent/BT_backup"


@dataclass(frozen=True, slots=True)
class SharedItem:
    """A content the person shared: its catalogue row, bytes, and share period (UTC s)."""

    row: Row
    data: bytes
    first: int
    last: int


def emule_traces(layout: Layout, user_hash: bytes, items: Sequence[SharedItem],
                 peers: Sequence[bytes], distributor: bool, rng: np.random.Generator,
                 *, with_clients_met: bool = True) -> list[Placed]:
    """known.met, known2_64.met, preferences.dat (and clients.met) of one eMule installation.

    known.met lists every shared item with its real ed2k, part hashes and AICH root, its
    mtime as last-modified and the end of sharing as last-shared; the request and upload
    counters are drawn larger for a distributor. clients.met lists ``peers`` (user hashes).
    """
    files: list[KnownFile] = []
    trees = []
    for item in items:
        requests = int(rng.poisson(40 if distributor else 3))
        accepted = int(rng.binomial(requests, 0.6)) if requests else 0
        transferred = int(accepted * len(item.data) * rng.uniform(0.2, 1.0))
        files.append(KnownFile.of(str(item.row["name"]), item.data, last_modified=item.first,
                                  last_shared=item.last, requested=requests, accepted=accepted,
                                  transferred=transferred))
        trees.append(aich_tree(item.data))
    stamp = max((i.last for i in items), default=0)
    config = layout.emule_config
    placed = [
        (f"{config}/known.met", known_met_bytes(files), stamp),
        (f"{config}/known2_64.met", known2_bytes(trees), stamp),
        (f"{config}/preferences.dat",
         preferences_bytes(user_hash, window_placement=layout.os == "windows"), stamp),
    ]
    if with_clients_met:
        credits = [Credit(peer, int(rng.integers(0, 50_000_000)),
                          int(rng.integers(0, 50_000_000)), stamp - int(rng.integers(0, 864_000)))
                   for peer in peers]
        placed.append((f"{config}/clients.met", clients_met_bytes(credits), stamp))
    return placed


def bittorrent_traces(layout: Layout, peer_id_prefix: str, items: Sequence[SharedItem],
                      distributor: bool, rng: np.random.Generator) -> list[Placed]:
    """A .torrent per shared item and, for Transmission (``-TR``) or qBittorrent (``-qB``),
    its resume file naming the infohash and save folder; other clients leave .torrent files
    in the download folder only."""
    placed: list[Placed] = []
    save = layout.native(layout.downloads)
    client = peer_id_prefix[1:3]
    creator = {"TR": "Transmission/3.00 (bb6b5a062e)", "qB": "qBittorrent v4.5.2"}.get(client)
    for item in items:
        torrent = build_torrent(str(item.row["name"]), item.data, announce=TRACKER,
                                created_by=creator, creation_date=item.first)
        name = torrent.infohash.hex()
        ratio = rng.uniform(1.0, 8.0) if distributor else rng.uniform(0.0, 1.5)
        uploaded = int(torrent.size * ratio)
        seeding = max(0, item.last - item.first)
        if client == "TR":
            resume = transmission_resume(torrent, destination=save, added=item.first,
                                         done=item.first + 60, activity=item.last,
                                         uploaded=uploaded, seeding_seconds=seeding)
            placed.append((f"{layout.transmission('resume')}/{name}.resume", resume, item.last))
            placed.append((f"{layout.transmission('torrents')}/{name}.torrent", torrent.data,
                           item.first))
        elif client == "qB":
            resume = qbittorrent_fastresume(torrent, save_path=save, added=item.first,
                                            completed=item.first + 60, last_active=item.last,
                                            uploaded=uploaded, seeding_seconds=seeding,
                                            trackers=[TRACKER])
            placed.append((f"{layout.qbittorrent}/{name}.fastresume", resume, item.last))
            placed.append((f"{layout.qbittorrent}/{name}.torrent", without_announce(torrent),
                           item.first))
        else:
            placed.append((f"{layout.downloads}/{safe_name(torrent.name)}.torrent", torrent.data,
                           item.first))
    return placed


_REFUSED = set('\\/:*?"<>|')


def safe_name(name: str, fallback: Callable[[], str] = lambda: "file") -> str:
    """``name`` with characters FAT and NTFS refuse replaced by ``_`` (never empty)."""
    cleaned = "".join("_" if c in _REFUSED or ord(c) < 32 else c for c in name).strip(" .")
    return cleaned or fallback()
