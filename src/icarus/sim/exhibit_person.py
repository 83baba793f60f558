"""What one person's exhibit holds: the plan that :mod:`icarus.sim.exhibits` then writes.

:class:`PersonView` indexes the world's tables by person once; :func:`plan_exhibit` draws,
from the person's own random stream, the exhibit's kind and file system, which of their shared
items are on it and in what state (live, a perceptual variant, deleted, inside a nested
archive), and which benign catalogue items sit beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from icarus.sim.artefacts.traces import Layout, Placed, Row, SharedItem, safe_name

if TYPE_CHECKING:
    from icarus.sim.exhibits import ExhibitsConfig

_MEDIA_FOLDER = {"image": "Pictures", "video": "Videos", "archive": "Documents"}


def _seconds(column: pa.ChunkedArray) -> np.ndarray:
    seconds: np.ndarray = column.cast(pa.int64()).to_numpy() // 1_000_000
    return seconds


class PersonView:
    """The world's tables indexed by person id and content id."""

    def __init__(self, persons: pa.Table, installs: pa.Table, shares: pa.Table,
                 content: pa.Table) -> None:
        self._role = dict(zip(persons.column("person_id").to_pylist(),
                              persons.column("role").to_pylist(), strict=True))
        self._network = dict(zip(persons.column("person_id").to_pylist(),
                                 persons.column("network_id").to_pylist(), strict=True))
        self._installs: dict[int, list[dict[str, object]]] = {}
        for row in sorted(installs.to_pylist(), key=lambda r: int(r["install_id"])):
            self._installs.setdefault(int(row["person_id"]), []).append(row)
        order = np.lexsort((shares.column("content_id").to_numpy(),
                            shares.column("person_id").to_numpy()))
        self._share_person = shares.column("person_id").to_numpy()[order]
        self._share_content = shares.column("content_id").to_numpy()[order]
        self._share_first = _seconds(shares.column("first"))[order]
        self._share_last = _seconds(shares.column("last"))[order]
        self.window = ((int(self._share_first.min()), int(self._share_last.max()))
                       if len(order) else (1_300_000_000, 1_300_000_000))
        ids = content.column("content_id").to_numpy()
        self._content_index = {int(c): i for i, c in enumerate(ids)}
        self._content = content
        status = np.asarray(content.column("status").to_pylist(), dtype=object)
        self.status = dict(zip(ids.tolist(), status.tolist(), strict=True))
        self.benign_pool = np.sort(ids[status == "benign"])
        self._rows: dict[int, Row] = {}

    def role(self, person: int) -> str:
        """The person's role: distributor, downloader or benign."""
        return str(self._role[person])

    def installs_of(self, person: int) -> list[dict[str, object]]:
        """The person's installations (INSTALLS rows as dicts), by install id."""
        return self._installs.get(person, [])

    def shares_of(self, person: int) -> list[tuple[int, int, int]]:
        """(content id, first, last shared as UTC seconds) per distinct content, by id."""
        lo, hi = np.searchsorted(self._share_person, [person, person + 1])
        merged: dict[int, tuple[int, int]] = {}
        for cid, first, last in zip(self._share_content[lo:hi].tolist(),
                                    self._share_first[lo:hi].tolist(),
                                    self._share_last[lo:hi].tolist(), strict=True):
            old = merged.get(cid, (first, last))
            merged[cid] = (min(old[0], first), max(old[1], last))
        return [(cid, f, last) for cid, (f, last) in sorted(merged.items())]

    def row(self, content_id: int) -> Row:
        """The CONTENT row of ``content_id`` as a dict."""
        if content_id not in self._rows:
            index = self._content_index[content_id]
            self._rows[content_id] = self._content.slice(index, 1).to_pylist()[0]
        return self._rows[content_id]

    def emule_peers(self, person: int, count: int, rng: np.random.Generator) -> list[bytes]:
        """User hashes of other people's eMule installations, members of the person's hidden
        network first (they trade with each other), then others."""
        network = self._network.get(person)
        same: list[bytes] = []
        other: list[bytes] = []
        for pid in sorted(self._installs):
            if pid == person:
                continue
            for row in self._installs[pid]:
                if row["network"] == "edonkey" and isinstance(row["user_hash"], bytes):
                    near = network is not None and self._network.get(pid) == network
                    (same if near else other).append(row["user_hash"])
        chosen = same[:count]
        if len(chosen) < count and other:
            picks = rng.choice(len(other), size=min(count - len(chosen), len(other)),
                               replace=False)
            chosen += [other[i] for i in sorted(picks.tolist())]
        return chosen


@dataclass(slots=True)
class ExhibitPlan:
    """What goes on one exhibit; ``items`` says where each catalogue item is and how."""

    kind: str
    filesystem: str | None
    layout: Layout
    epoch: int
    shared: list[SharedItem]
    files: list[Placed] = field(default_factory=list)
    deleted: list[tuple[str, bytes]] = field(default_factory=list)
    archived: list[tuple[str, str, bytes]] = field(default_factory=list)
    items: list[dict[str, object]] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    def claim(self, path: str) -> str:
        """``path``, or ``name (2).ext``... if taken: distinct ignoring case, as on Windows."""
        pure, candidate, n = PurePosixPath(path), path, 1
        while candidate.casefold() in self.taken:
            n += 1
            candidate = str(pure.with_name(f"{pure.stem} ({n}){pure.suffix}"))
        self.taken.add(candidate.casefold())
        return candidate


def plan_exhibit(cfg: ExhibitsConfig, view: PersonView, person: int, rng: np.random.Generator,
                 bytes_of: Callable[[Row], bytes],
                 variant_of: Callable[[Row, int], bytes] | None) -> ExhibitPlan:
    """Draw the content of ``person``'s exhibit (see the module docstring)."""
    installs = view.installs_of(person)
    linux = any(str(i["client"]).lower().startswith("amule") for i in installs)
    kind = "raw" if rng.random() < cfg.raw_share else "folder"
    names = [fs for fs, _ in cfg.windows_filesystems]
    weights = np.array([w for _, w in cfg.windows_filesystems], dtype=float)
    filesystem = "ext4" if linux else str(names[rng.choice(len(names), p=weights / weights.sum())])
    nick = next((str(i["nickname"]) for i in installs if i["nickname"]), "")
    user = nick if nick.isascii() and nick.replace("_", "").isalnum() else f"user{person}"
    layout = Layout("linux" if linux else "windows", user)
    shares = view.shares_of(person)
    keep = max(cfg.known_met_items, cfg.torrent_items, cfg.known_items + cfg.other_items)
    picked = sorted(rng.permutation(len(shares))[:keep].tolist())
    shared = [SharedItem(view.row(shares[i][0]), bytes_of(view.row(shares[i][0])),
                         shares[i][1], shares[i][2]) for i in picked]
    epoch = max([view.window[1], *(s.last for s in shared)])
    plan = ExhibitPlan(kind, filesystem if kind == "raw" else None, layout, epoch, shared)
    networks = {str(i["network"]) for i in installs}
    home = (layout.emule_incoming if "edonkey" in networks else
            layout.downloads if "bittorrent" in networks else f"{layout.home}/Pictures")
    known = [s for s in shared if s.row["status"] == "known"][: cfg.known_items]
    other = [s for s in shared if s.row["status"] != "known"][: cfg.other_items]
    for item in known + other:
        _place(plan, item, home, rng, cfg, variant_of, is_known=item in known)
    if cfg.nested_archive and known:
        chosen = known[int(rng.integers(len(known)))]
        name = safe_name(str(chosen.row["name"]))
        path = plan.claim(f"{layout.home}/Documents/backup.zip")
        plan.archived.append((path, name, chosen.data))
        plan.items.append(_item(chosen, f"{path}!photos.zip!{name}", "archived"))
    taken = {int(str(s.row["content_id"])) for s in shared}
    pool = [int(c) for c in view.benign_pool.tolist() if int(c) not in taken]
    for index in sorted(rng.permutation(len(pool))[: cfg.benign_files].tolist()):
        row = view.row(pool[index])
        folder = _MEDIA_FOLDER.get(str(row["media"]), "Documents")
        mtime = int(rng.integers(view.window[0], view.window[1] + 1))
        path = plan.claim(f"{layout.home}/{folder}/{safe_name(str(row['name']))}")
        plan.files.append((path, bytes_of(row), mtime))
        plan.items.append({"content_id": pool[index], "path": path, "state": "live",
                           "variant": None})
    return plan


def _place(plan: ExhibitPlan, item: SharedItem, home: str, rng: np.random.Generator,
           cfg: ExhibitsConfig, variant_of: Callable[[Row, int], bytes] | None, *,
           is_known: bool) -> None:
    name = safe_name(str(item.row["name"]))
    if (is_known and variant_of is not None and item.row["media"] in ("image", "video")
            and rng.random() < cfg.variant_share):
        k = int(rng.integers(1, 8))
        pure = PurePosixPath(name)
        path = plan.claim(f"{plan.layout.home}/Pictures/{pure.stem}_{k}{pure.suffix}")
        plan.files.append((path, variant_of(item.row, k), item.first))
        plan.items.append(_item(item, path, "variant", k))
        return
    path = plan.claim(f"{home}/{name}")
    if is_known and plan.kind == "raw" and rng.random() < cfg.deleted_share:
        plan.deleted.append((path, item.data))
        plan.items.append(_item(item, path, "deleted"))
        return
    plan.files.append((path, item.data, item.first))
    plan.items.append(_item(item, path, "live"))


def _item(item: SharedItem, path: str, state: str, variant: int | None = None) -> dict[str, object]:
    return {"content_id": int(str(item.row["content_id"])), "path": path, "state": state,
            "variant": variant}
