"""The catalogue of the synthetic world: known material, unknown illicit material, benign files.

Every item is generated (:mod:`icarus.sim.media`) and described by the digests of its real
bytes: MD5, SHA-1, SHA-256, ed2k, PDQ for pictures, the infohash of a single-file torrent for
items also spread by BitTorrent. Nothing is stored: ``seed`` regenerates the bytes
(:func:`content_bytes`), for exhibits and checks. Parameters and their sources are in
:mod:`icarus.sim.content_config` and ``docs/sim/content.md``.

Rows, in ``content_id`` order: known items, then unknown illicit ones, then benign ones; each
archive is followed by the pictures inside it (rows of their own, with the archive's status,
category and network). Some unknown illicit items are perceptual variants of known pictures and
videos (re-encoded, resized, recoloured): found by PDQ or vPDQ only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from icarus.core.errors import InternalError, UsageError
from icarus.domain.categories import Category, Severity
from icarus.identify.multihash import hash_bytes
from icarus.sim.clips import video_spec
from icarus.sim.content_config import STATUSES, ContentConfig
from icarus.sim.items import ItemDigests, Job, run_jobs, torrent_file
from icarus.sim.media import (
    BASE_MASK,
    MEDIA,
    archive_members,
    image_spec,
    media_bytes,
    split_seed,
    variant_seed,
)
from icarus.sim.names import item_name
from icarus.sim.rng import Streams
from icarus.sim.tables import CONTENT

VICS_CATEGORIES: dict[int, Category] = {
    0: Category.NON_PERTINENT, 1: Category.CSAM, 2: Category.EXPLOITATIVE, 3: Category.CGI,
    4: Category.COMPARISON,
}
"""Project VIC US code -> Icarus category (as the bank's ``vics-us`` scheme maps them)."""


@dataclass(frozen=True)
class Catalogue:
    """The content table and, for known videos, their vPDQ (packed frames) by content id."""

    table: pa.Table
    vpdq: dict[int, bytes]


@dataclass
class ContentPlan:
    """The top-level items, before their bytes are made (cheap: no media is generated).

    Parallel lists, one entry per item in catalogue order; archives' pictures are not here.
    """

    status: list[str]
    media: list[str]
    seed: list[int]
    vics: list[int | None]
    severity: list[int]
    name: list[str]
    torrent: list[bool]
    network: list[int | None]


def build_content(cfg: ContentConfig, streams: Streams, n_networks: int, *,
                  workers: int = 1) -> pa.Table:
    """The CONTENT table (:data:`icarus.sim.tables.CONTENT`); see :func:`build_catalogue`."""
    return build_catalogue(cfg, streams, n_networks, workers=workers).table


def build_catalogue(cfg: ContentConfig, streams: Streams, n_networks: int, *,
                    workers: int = 1) -> Catalogue:
    """Generate the catalogue: same ``cfg`` and seed give the same table, whatever ``workers``.

    Each of ``n_networks`` networks gets a core collection (``network_id``) of illicit known
    and unknown items. ``workers`` > 1 makes the items in that many processes.
    """
    plan = plan_content(cfg, streams, n_networks)
    jobs = [Job(m, s, n, t, vpdq=(st == "known" and m == "video"))
            for st, m, s, n, t in zip(plan.status, plan.media, plan.seed, plan.name,
                                      plan.torrent, strict=True)]
    results = run_jobs(jobs, workers)
    columns: dict[str, list[Any]] = {name: [] for name in CONTENT.names}
    vpdq: dict[int, bytes] = {}
    for i, (job, found) in enumerate(zip(jobs, results, strict=True)):
        members = archive_members(job.seed & BASE_MASK) if job.media == "archive" else []
        rows = [(job.media, job.seed, job.name)] + [("image", s, n) for n, s in members]
        for (media, seed, name), digests in zip(rows, found, strict=True):
            if digests.vpdq is not None:
                vpdq[len(columns["content_id"])] = digests.vpdq
            _append(columns, plan, i, media, seed, name, digests)
    return Catalogue(pa.Table.from_pydict(columns, schema=CONTENT), vpdq)


def _append(columns: dict[str, list[Any]], plan: ContentPlan, i: int, media: str, seed: int,
            name: str, d: ItemDigests) -> None:
    vics, status = plan.vics[i], plan.status[i]
    if vics is not None:
        category = VICS_CATEGORIES[vics]
    else:
        category = Category.CSAM if status == "unknown-illicit" else Category.NON_PERTINENT
    values = {
        "content_id": len(columns["content_id"]), "status": status, "category": category.value,
        "severity": plan.severity[i], "vics_category": vics, "media": media, "name": name,
        "size": d.size, "md5": d.md5, "sha1": d.sha1, "sha256": d.sha256, "ed2k": d.ed2k,
        "btih": d.btih, "seed": seed, "pdq": d.pdq, "network_id": plan.network[i],
    }
    for key, value in values.items():
        columns[key].append(value)


def plan_content(cfg: ContentConfig, streams: Streams, n_networks: int) -> ContentPlan:
    """Draw the top-level items: status, media, seed, categories, names, torrents, networks.

    :func:`build_catalogue` makes exactly these items; the plan alone serves sizing and tests.
    Raises :class:`ConfigError` for a configuration that makes no sense.
    """
    cfg.validate()
    if n_networks < 0:
        raise UsageError(f"n_networks must not be negative, got {n_networks}")
    counts = {"known": cfg.known, "unknown-illicit": cfg.unknown_illicit, "benign": cfg.benign}
    status = [s for s in STATUSES for _ in range(counts[s])]
    media: list[str] = []
    for s in STATUSES:
        mix = cfg.media_mix(s)
        draws = streams.get(f"content.media.{s}").choice(len(MEDIA), counts[s], p=mix)
        media.extend(MEDIA[int(k)] for k in draws)
    seeds = _unique_seeds(streams.get("content.seeds"), len(status))
    vics: list[int | None] = [None] * len(status)
    severity = [int(Severity.NONE)] * len(status)
    codes = streams.get("content.vics").choice(5, cfg.known, p=cfg.vics_mix)
    grades = streams.get("content.severity").choice(3, len(status), p=cfg.csam_severity)
    for i, s in enumerate(status):
        if s == "known":
            vics[i] = int(codes[i])
        if s == "unknown-illicit" or vics[i] == 1:
            severity[i] = int(grades[i]) + int(Severity.LOW)
    _make_variants(cfg, streams, status, media, seeds, vics, severity)
    names_rng = streams.get("content.names")
    names = [item_name(names_rng, m, s, _extension(m, seed))
             for s, m, seed in zip(status, media, seeds, strict=True)]
    spread = streams.get("content.torrents").random(len(status))
    torrent = [bool(u < (cfg.torrent_share_image if m == "image" else cfg.torrent_share))
               for u, m in zip(spread, media, strict=True)]
    network = _cores(cfg, streams, status, vics, n_networks)
    return ContentPlan(status, media, seeds, vics, severity, names, torrent, network)


def _extension(media: str, seed: int) -> str:
    base, k = split_seed(seed)
    if media == "video":
        return video_spec(base, k).extension
    if media == "image":
        return ".jpg" if k else image_spec(base).extension
    return ""


def _unique_seeds(rng: np.random.Generator, n: int) -> list[int]:
    seeds = rng.integers(0, 1 << 56, n)
    # A repeated seed would repeat an item's bytes; at 2^56 it is a one-in-a-billion event.
    _, first = np.unique(seeds, return_index=True)
    while len(first) < n:
        repeat = np.setdiff1d(np.arange(n), first)
        seeds[repeat] = rng.integers(0, 1 << 56, len(repeat))
        _, first = np.unique(seeds, return_index=True)
    return [int(s) for s in seeds]


def _make_variants(cfg: ContentConfig, streams: Streams, status: list[str], media: list[str],
                   seeds: list[int], vics: list[int | None], severity: list[int]) -> None:
    """Turn a share of the unknown illicit items into variants of known CSAM pictures/videos."""
    parents = [i for i, s in enumerate(status)
               if s == "known" and vics[i] == 1 and media[i] in ("image", "video")]
    unknown = [i for i, s in enumerate(status) if s == "unknown-illicit"]
    ks = 3  # variants 1-3 of each parent may be used: one of each form for pictures
    count = min(round(cfg.variant_share * len(unknown)), len(parents) * ks)
    if count == 0:
        return
    rng = streams.get("content.variants")
    slots = sorted(int(i) for i in rng.choice(len(unknown), count, replace=False))
    pairs = rng.choice(len(parents) * ks, count, replace=False)
    for slot, pair in zip(slots, pairs, strict=True):
        parent, k = parents[int(pair) // ks], int(pair) % ks + 1
        i = unknown[slot]
        media[i] = media[parent]
        seeds[i] = variant_seed(seeds[parent], k)
        severity[i] = severity[parent]


def _cores(cfg: ContentConfig, streams: Streams, status: list[str], vics: list[int | None],
           n_networks: int) -> list[int | None]:
    """The network of each top-level item: disjoint core collections of illicit items."""
    network: list[int | None] = [None] * len(status)
    if n_networks == 0:
        return network
    rng = streams.get("content.cores")
    known = [i for i, s in enumerate(status) if s == "known" and vics[i] == 1]
    unknown = [i for i, s in enumerate(status) if s == "unknown-illicit"]
    known_pool = [known[int(j)] for j in rng.permutation(len(known))]
    unknown_pool = [unknown[int(j)] for j in rng.permutation(len(unknown))]
    sizes = np.maximum(cfg.core_min, np.round(
        rng.lognormal(np.log(cfg.core_median), cfg.core_sigma, n_networks))).astype(int)
    # Pools are dealt out in order: when they run dry, later networks get smaller cores.
    next_known = next_unknown = 0
    for net, size in enumerate(sizes.tolist()):
        n_unknown = round(size * cfg.core_unknown_share)
        for i in known_pool[next_known : next_known + size - n_unknown]:
            network[i] = net
        for i in unknown_pool[next_unknown : next_unknown + n_unknown]:
            network[i] = net
        next_known += size - n_unknown
        next_unknown += n_unknown
    return network


def _row_seed(row: Mapping[str, Any]) -> tuple[str, int]:
    try:
        return str(row["media"]), int(row["seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"a content row needs 'media' and 'seed': {exc}") from None


def content_bytes(row: Mapping[str, Any]) -> bytes:
    """The bytes of the catalogue item ``row`` (a CONTENT row as a mapping), regenerated.

    When the row has ``size`` and ``md5``, the bytes are checked against them: a mismatch (other
    versions of libjpeg, zlib or FFmpeg than the catalogue was made with) raises
    :class:`InternalError` rather than handing out bytes that the truth does not describe.
    """
    media, seed = _row_seed(row)
    data = media_bytes(media, seed)
    size, md5 = row.get("size"), row.get("md5")
    if size is not None and md5 is not None and (
            len(data) != size or hash_bytes(data).md5 != md5):
        raise InternalError(
            f"content {row.get('content_id')} ({row.get('name')}): regenerated bytes differ from "
            "the catalogue; was it made with other versions of Pillow, zlib or PyAV?")
    return data


def variant_bytes(row: Mapping[str, Any], k: int) -> bytes:
    """Variant ``k`` (1-127) of the item of ``row`` (of its original, if ``row`` is a variant):
    a picture re-encoded, resized or recoloured; a video re-encoded; an archive re-packed.

    Raises :class:`UsageError` for "other" files, which have no perceptual variant.
    """
    media, seed = _row_seed(row)
    if k < 1:
        raise UsageError(f"variant number must be at least 1, got {k}")
    return media_bytes(media, variant_seed(seed, k))


def torrent_bytes(row: Mapping[str, Any]) -> bytes:
    """The .torrent file whose infohash is the row's ``btih`` (any row: the torrent of its
    bytes under its name, single-file v1, pieces of 256 KiB, no dates)."""
    return torrent_file(str(row["name"]), content_bytes(row))


def network_cores(content: pa.Table, n_networks: int) -> list[list[int]]:
    """The content ids of each network's core collection, for the NETWORKS table."""
    cores: list[list[int]] = [[] for _ in range(n_networks)]
    ids = content.column("content_id").to_pylist()
    for cid, net in zip(ids, content.column("network_id").to_pylist(), strict=True):
        if net is not None:
            if not 0 <= net < n_networks:
                raise UsageError(f"content {cid} names network {net} of {n_networks}")
            cores[net].append(cid)
    return cores
