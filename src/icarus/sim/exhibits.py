"""Seized exhibits of the synthetic world: folders and raw disk images with P2P client traces.

For a sample of the people to be searched (``should_identify``) and a few people of no interest
(decoys, so that linking an exhibit to a person is really tested), :func:`build_exhibits`
writes what a search would seize: some of the person's shared items (some as perceptual
variants, some deleted on raw images), benign files, a zip inside a zip, and the traces of
the person's P2P installations with their real identifiers (eMule user hash in
preferences.dat, their shared files in known.met, BitTorrent resume data with infohashes and
save folders). Exhibit ids are drawn in a random order, so they reveal nothing of the person.
Each person's exhibit comes from its own random stream (``exhibits.person.<id>``): adding a
person does not change anyone else's exhibit.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa

from icarus.core.errors import ConfigError
from icarus.sim.artefacts.traces import (
    Layout,
    Placed,
    Row,
    SharedItem,
    bittorrent_traces,
    emule_traces,
)
from icarus.sim.diskimage import FILESYSTEMS, MIN_SIZE_MIB, Filesystem, build_image
from icarus.sim.exhibit_person import PersonView, plan_exhibit
from icarus.sim.rng import Streams
from icarus.sim.tables import EXHIBIT_ITEMS, EXHIBITS

BytesOf = Callable[[Row], bytes]
VariantOf = Callable[[Row, int], bytes]


@dataclass(frozen=True, slots=True)
class ExhibitsConfig:
    """Parameters of the exhibits stage. All are assumptions (no published measurement)."""

    searched_share: float = 0.5
    """Share of the people to be searched whose exhibit is in the world."""
    max_searched: int = 12
    """At most this many such exhibits (scale-dependent: images cost ~0.1-0.5 s each)."""
    decoys: int = 2
    """Exhibits of people of no interest."""
    raw_share: float = 0.6
    """Share of exhibits that are raw disk images (the rest are seized folders)."""
    windows_filesystems: tuple[tuple[str, float], ...] = (
        ("ntfs", 0.6), ("exfat", 0.2), ("fat32", 0.2))
    """File systems of Windows users' images, with weights; Linux (aMule) users get ext4."""
    image_mib: int = 40
    known_items: int = 8
    """At most this many of the person's shared known items are on the exhibit."""
    other_items: int = 3
    """At most this many of their other shared items (unknown illicit, benign)."""
    variant_share: float = 0.3
    deleted_share: float = 0.3
    """Share of the known items deleted (raw images only: a folder cannot hold a deleted file)."""
    benign_files: int = 5
    nested_archive: bool = True
    known_met_items: int = 40
    torrent_items: int = 12
    clients_met_peers: int = 6

    def __post_init__(self) -> None:
        for name in ("searched_share", "raw_share", "variant_share", "deleted_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"exhibits.{name} must be between 0 and 1")
        if any(fs not in FILESYSTEMS or fs == "ext4" or w < 0
               for fs, w in self.windows_filesystems) or not any(
                   w > 0 for _, w in self.windows_filesystems):
            raise ConfigError("exhibits.windows_filesystems: fat32, ntfs or exfat, weights >= 0")
        if self.image_mib < MIN_SIZE_MIB["fat32"]:
            raise ConfigError(f"exhibits.image_mib must be at least {MIN_SIZE_MIB['fat32']}")


@dataclass(frozen=True, slots=True)
class BuiltExhibits:
    """The EXHIBITS table and the EXHIBIT_ITEMS table (what each exhibit holds)."""

    exhibits: pa.Table
    items: pa.Table


def build_exhibits(cfg: ExhibitsConfig, streams: Streams, persons: pa.Table,
                   installs: pa.Table, shares: pa.Table, content: pa.Table, bytes_of: BytesOf,
                   out_dir: Path, *, variant_of: VariantOf | None = None) -> pa.Table:
    """Write the exhibits under ``out_dir/exhibits`` and return the EXHIBITS table.

    ``bytes_of(row)`` regenerates a catalogue item's bytes from its CONTENT row (a dict);
    ``variant_of(row, k)`` its k-th perceptual variant (without it, no variants are made).
    Paths in the table are relative to ``out_dir``. Same inputs, same bytes.
    """
    return build_exhibits_detailed(cfg, streams, persons, installs, shares, content, bytes_of,
                                   out_dir, variant_of=variant_of).exhibits


def select_people(cfg: ExhibitsConfig, streams: Streams, persons: pa.Table) -> list[int]:
    """The person ids that get an exhibit, in the order of their exhibit ids."""
    ids = persons.column("person_id").to_numpy()
    should = persons.column("should_identify").to_numpy(zero_copy_only=False)
    roles = np.asarray(persons.column("role").to_pylist(), dtype=object)
    searched = np.sort(ids[should])
    count = min(cfg.max_searched, round(cfg.searched_share * len(searched)))
    chosen = streams.get("exhibits.select").choice(searched, size=count, replace=False)
    pool = np.sort(ids[~should & (roles == "benign")])
    decoys = streams.get("exhibits.decoys").choice(pool, size=min(cfg.decoys, len(pool)),
                                                   replace=False)
    everyone = np.sort(np.concatenate([chosen, decoys]).astype(np.int64))
    return [int(p) for p in streams.get("exhibits.order").permutation(everyone)]


def build_exhibits_detailed(cfg: ExhibitsConfig, streams: Streams, persons: pa.Table,
                            installs: pa.Table, shares: pa.Table, content: pa.Table,
                            bytes_of: BytesOf, out_dir: Path, *,
                            variant_of: VariantOf | None = None) -> BuiltExhibits:
    """As :func:`build_exhibits`, also returning which catalogue items each exhibit holds."""
    people = select_people(cfg, streams, persons)
    view = PersonView(persons, installs, shares, content)
    rows: list[dict[str, object]] = []
    items: list[dict[str, object]] = []
    root = Path(out_dir) / "exhibits"
    root.mkdir(parents=True, exist_ok=True)
    for number, person in enumerate(people, start=1):
        exhibit_id = f"EXH-{number:04d}"
        rng = streams.get(f"exhibits.person.{person}")
        plan = plan_exhibit(cfg, view, person, rng, bytes_of, variant_of)
        placed, deleted = list(plan.files), list(plan.deleted)
        placed.extend(_traces(cfg, view, person, plan.layout, plan.shared, rng))
        placed.extend(_archive(plan.archived, plan.layout, plan.epoch))
        placed = _unique(placed, {p.casefold() for p, _ in deleted})
        if plan.kind == "raw":
            fs = _filesystem(plan.filesystem)
            target = root / f"{exhibit_id}.raw"
            total = sum(len(d) for _, d, _ in placed) + sum(len(d) for _, d in deleted)
            size = max(cfg.image_mib, MIN_SIZE_MIB[fs], -(-total * 13 // 10 >> 20) + 8)
            build_image(fs, size, placed, deleted, target, epoch=plan.epoch)
            digest = _sha256(target)
        else:
            target = root / exhibit_id
            _write_folder(target, placed, plan.epoch)
            digest = ""
        rows.append({"exhibit_id": exhibit_id, "person_id": person, "kind": plan.kind,
                     "filesystem": plan.filesystem, "sha256": digest,
                     "path": target.relative_to(Path(out_dir)).as_posix()})
        items.extend({"exhibit_id": exhibit_id, **item} for item in plan.items)
    return BuiltExhibits(pa.Table.from_pylist(rows, schema=EXHIBITS),
                         pa.Table.from_pylist(items, schema=EXHIBIT_ITEMS))


def _filesystem(name: str | None) -> Filesystem:
    for fs in FILESYSTEMS:
        if fs == name:
            return fs
    raise ConfigError(f"exhibits: unknown file system {name!r}")


def _traces(cfg: ExhibitsConfig, view: PersonView, person: int, layout: Layout,
            shared: list[SharedItem], rng: np.random.Generator) -> list[Placed]:
    placed: list[Placed] = []
    distributor = view.role(person) == "distributor"
    for install in view.installs_of(person):
        if install["network"] == "edonkey" and isinstance(install["user_hash"], bytes):
            peers = view.emule_peers(person, cfg.clients_met_peers, rng)
            placed += emule_traces(layout, install["user_hash"], shared[: cfg.known_met_items],
                                   peers, distributor, rng)
        elif install["network"] == "bittorrent":
            prefix = str(install["peer_id_prefix"] or "")
            placed += bittorrent_traces(layout, prefix, shared[: cfg.torrent_items],
                                        distributor, rng)
    return placed


def _archive(archived: list[tuple[str, str, bytes]], layout: Layout, epoch: int) -> list[Placed]:
    """A zip holding a zip holding ``archived`` items; stored, not deflated, so the bytes do
    not depend on the zlib version."""
    if not archived:
        return []
    stamp = _zip_time(epoch)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive:
        for _, name, data in archived:
            archive.writestr(zipfile.ZipInfo(name, stamp), data)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo("photos.zip", stamp), inner.getvalue())
        archive.writestr(zipfile.ZipInfo("readme.txt", stamp), b"old stuff\r\n")
    return [(archived[0][0], outer.getvalue(), epoch)]


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    moment = np.datetime64(max(epoch, 315_532_800), "s").astype(object)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute,
            moment.second // 2 * 2)


def _unique(placed: list[Placed], seen: set[str]) -> list[Placed]:
    """Paths made distinct ignoring case (FAT, exFAT and NTFS as Windows uses it); the plan's
    own paths come first and are already distinct, so only trace files can be renamed."""
    out = []
    for path, data, mtime in placed:
        pure = PurePosixPath(path)
        candidate, n = path, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = str(pure.with_name(f"{pure.stem} ({n}){pure.suffix}"))
        seen.add(candidate.casefold())
        out.append((candidate, data, mtime))
    return out


def _write_folder(target: Path, placed: list[Placed], epoch: int) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path, data, mtime in sorted(placed):
        file = target / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
        os.utime(file, (mtime, mtime))
    for folder in sorted((p for p in target.rglob("*") if p.is_dir()), reverse=True):
        os.utime(folder, (epoch, epoch))
    os.utime(target, (epoch, epoch))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["BuiltExhibits", "ExhibitsConfig", "Filesystem", "build_exhibits",
           "build_exhibits_detailed", "select_people"]
