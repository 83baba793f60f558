"""Turning catalogue items into digests: the per-item work of :mod:`icarus.sim.content`.

One :class:`Job` per catalogue item (an archive's job also covers the pictures inside it) is
regenerated from its seed and described by its digests, PDQ, vPDQ and the infohash of a
single-file torrent carrying it. Jobs run in this process or in a pool of processes; results
come back in job order, so the catalogue never depends on scheduling.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from icarus.core.errors import UsageError
from icarus.identify.multihash import hash_bytes
from icarus.identify.pdq import pdq_image
from icarus.identify.vpdq import pack_frames
from icarus.sim.media import (
    archive_bytes,
    archive_members,
    image_bytes,
    media_bytes,
    split_seed,
)

PIECE_LENGTH = 256 * 1024
"""Piece length of the generated torrents (bytes)."""
ANNOUNCE = "udp://tracker.example.invalid:6969/announce"
"""The tracker named in generated .torrent files: a reserved name that resolves nowhere."""


@dataclass(frozen=True, slots=True)
class Job:
    """One item to describe: its kind, catalogue seed and name; what to compute besides."""

    media: str
    seed: int
    name: str
    torrent: bool = False
    vpdq: bool = False


@dataclass(frozen=True, slots=True)
class ItemDigests:
    """What the catalogue records of one item's bytes."""

    size: int
    md5: bytes
    sha1: bytes
    sha256: bytes
    ed2k: bytes
    pdq: bytes | None = None
    btih: bytes | None = None
    vpdq: bytes | None = None
    """Packed vPDQ frames (:func:`icarus.identify.vpdq.pack_frames`), when asked for."""


def _bencode_bytes(value: bytes) -> bytes:
    return str(len(value)).encode("ascii") + b":" + value


def torrent_info(name: str, data: bytes) -> bytes:
    """The bencoded info dictionary of a single-file v1 torrent of ``data`` called ``name``.

    Keys in bencode order (length, name, piece length, pieces); pieces of :data:`PIECE_LENGTH`.
    Its SHA-1 is the torrent's infohash (btih).
    """
    pieces = b"".join(hashlib.sha1(data[i : i + PIECE_LENGTH], usedforsecurity=False).digest()
                      for i in range(0, len(data), PIECE_LENGTH))
    return (b"d6:lengthi" + str(len(data)).encode("ascii") + b"e"
            + b"4:name" + _bencode_bytes(name.encode("utf-8"))
            + b"12:piece lengthi" + str(PIECE_LENGTH).encode("ascii") + b"e"
            + b"6:pieces" + _bencode_bytes(pieces) + b"e")


def torrent_file(name: str, data: bytes) -> bytes:
    """A complete .torrent of ``data``: the :data:`ANNOUNCE` tracker and the info dictionary.

    No creation date or client name, so the same item always gives the same file.
    """
    return (b"d8:announce" + _bencode_bytes(ANNOUNCE.encode("ascii"))
            + b"4:info" + torrent_info(name, data) + b"e")


def btih(name: str, data: bytes) -> bytes:
    """The v1 infohash of :func:`torrent_info`."""
    return hashlib.sha1(torrent_info(name, data), usedforsecurity=False).digest()


def describe(data: bytes, job: Job) -> ItemDigests:
    """The digests of ``data`` (the bytes of ``job``'s item) and what the job asks besides."""
    digests = hash_bytes(data)
    pdq = None
    if job.media == "image":
        with Image.open(io.BytesIO(data)) as img:
            pdq = pdq_image(img).value  # of the file as a reader decodes it, as Icarus hashes it
    frames = None
    if job.vpdq and job.media == "video":
        from icarus.sim.clips import video_vpdq

        frames = pack_frames(video_vpdq(data))
    return ItemDigests(
        size=digests.size, md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256,
        ed2k=digests.ed2k, pdq=pdq, btih=btih(job.name, data) if job.torrent else None,
        vpdq=frames,
    )


def run_job(job: Job) -> list[ItemDigests]:
    """The item of ``job``, then (for an archive) each picture inside it, in archive order."""
    if job.media != "archive":
        return [describe(media_bytes(job.media, job.seed), job)]
    base, variant = split_seed(job.seed)
    listing = archive_members(base)
    members = [image_bytes(seed) for _, seed in listing]
    data = archive_bytes(base, variant=variant, members=members)
    out = [describe(data, job)]
    out.extend(describe(blob, Job("image", seed, name))
               for (name, seed), blob in zip(listing, members, strict=True))
    return out


def run_jobs(jobs: Sequence[Job], workers: int = 1) -> list[list[ItemDigests]]:
    """:func:`run_job` over ``jobs``, in ``workers`` processes (1: this one); in job order."""
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if workers == 1 or len(jobs) < 64:
        return [run_job(job) for job in jobs]
    # spawn, not fork: the parent may run threads (Arrow, the vPDQ decoder).
    context = multiprocessing.get_context("spawn")
    chunk = max(1, min(64, len(jobs) // (workers * 8)))
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(run_job, jobs, chunksize=chunk))
