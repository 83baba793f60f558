"""Identify files and match them against the bank: the use case behind ``hash`` and ``match``.

Every file is read once for its cryptographic digests (MD5, SHA-1, SHA-256, ed2k, optionally
TTH), in parallel threads; pictures are also PDQ-hashed and videos vPDQ-hashed (decoding is a
second read, unavoidable). A file that cannot be read or decoded gets a report with its error or
warnings; the run goes on.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from icarus.bank.matcher import Matcher
from icarus.domain.bank import Match
from icarus.domain.digests import FileDigests
from icarus.identify.images import image_format_of
from icarus.identify.kinds.base import base32_encode
from icarus.identify.multihash import hash_files
from icarus.identify.pdq import PdqHash, pdq_file
from icarus.identify.vpdq import VIDEO_EXTENSIONS, VpdqFrame, vpdq_file
from icarus.identify.walk import iter_files

BATCH = 256


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What a file is, by its content: digests, and PDQ or vPDQ for pictures and videos."""

    path: str
    size: int | None
    digests: FileDigests | None
    media: str | None = None
    """"image" or "video" when the file was recognised as one."""
    pdq: tuple[PdqHash, ...] = ()
    """The picture's PDQ (eight with ``dihedral``)."""
    vpdq: tuple[VpdqFrame, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FileReport:
    """A file's identity and its matches against the bank."""

    identity: FileIdentity
    matches: tuple[Match, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Match | None:
        """The gravest match: alert sets before known software, higher severity, exact first."""
        if not self.matches:
            return None
        return min(self.matches, key=lambda m: (m.set_kind.value != "alert", -m.severity,
                                                m.distance, m.set_name))


@dataclass(frozen=True, slots=True)
class IdentifyOptions:
    """How to identify files."""

    workers: int = 1
    tth: bool = False
    perceptual: bool = True
    dihedral: bool = False
    ed2k_variant: str = "red"


def identify_files(
    paths: Iterable[Path],
    options: IdentifyOptions,
    progress: Callable[[int], None] | None = None,
) -> Iterator[FileIdentity]:
    """Identities of the files under ``paths`` (in completion order of the hashing)."""
    files = list(iter_files(paths))
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.workers) as pool:
        pending: list[concurrent.futures.Future[FileIdentity]] = []
        for outcome in hash_files(files, workers=options.workers, tth=options.tth,
                                  progress=progress):
            if outcome.digests is None:
                yield FileIdentity(str(outcome.path), None, None, error=outcome.error)
                continue
            media = _media(outcome.path) if options.perceptual else None
            if media is None:
                yield FileIdentity(str(outcome.path), outcome.digests.size, outcome.digests)
                continue
            pending.append(pool.submit(_perceptual, outcome.path, outcome.digests, media,
                                       options.dihedral))
            done = [f for f in pending if f.done()]
            for f in done:
                pending.remove(f)
                yield f.result()
        for f in concurrent.futures.as_completed(pending):
            yield f.result()


def _media(path: Path) -> str | None:
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return "video"
    try:
        return "image" if image_format_of(path) is not None else None
    except OSError:
        return None


def _perceptual(path: Path, digests: FileDigests, media: str, dihedral: bool) -> FileIdentity:
    if media == "image":
        out = pdq_file(path, dihedral=dihedral)
        return FileIdentity(str(path), digests.size, digests, media, pdq=out.hashes,
                            warnings=out.warnings + ((out.error,) if out.error else ()))
    vid = vpdq_file(path)
    return FileIdentity(str(path), digests.size, digests, media, vpdq=vid.frames,
                        warnings=vid.warnings + ((vid.error,) if vid.error else ()))


def match_identities(
    identities: Iterable[FileIdentity],
    matcher: Matcher,
    *,
    min_quality: int = 50,
    radius: int | None = None,
    ed2k_variant: str = "red",
    vpdq_thresholds: tuple[float, float] = (80.0, 0.0),
) -> Iterator[FileReport]:
    """Match identities against the bank in batches; one report per identity, same order."""
    batch: list[FileIdentity] = []
    for ident in identities:
        batch.append(ident)
        if len(batch) >= BATCH:
            yield from _match_batch(batch, matcher, min_quality, radius, ed2k_variant,
                                    vpdq_thresholds)
            batch = []
    if batch:
        yield from _match_batch(batch, matcher, min_quality, radius, ed2k_variant,
                                vpdq_thresholds)


def _match_batch(batch: list[FileIdentity], matcher: Matcher, min_quality: int,
                 radius: int | None, ed2k_variant: str,
                 vpdq_thresholds: tuple[float, float]) -> Iterator[FileReport]:
    found: list[dict[tuple[str, str, int], Match]] = [{} for _ in batch]

    def keep(i: int, m: Match) -> None:
        key = (m.set_name, m.segment, m.row)
        old = found[i].get(key)
        # one match per entry: the closest, and an exact digest before a perceptual one
        if old is None or (m.distance, m.digest_kind == "pdq") < (old.distance,
                                                                  old.digest_kind == "pdq"):
            found[i][key] = m

    hashed = [(i, x.digests) for i, x in enumerate(batch) if x.digests is not None]
    for kind in ("md5", "sha1", "sha256", "ed2k"):
        if not hashed:
            break
        values = np.frombuffer(b"".join(_digest(d, kind, ed2k_variant) for _, d in hashed),
                               dtype=np.uint8).reshape(len(hashed), -1)
        for (i, _), ms in zip(hashed, matcher.match_exact(kind, values), strict=True):
            for m in ms:
                keep(i, m)
    codes: list[tuple[int, bytes]] = [
        (i, h.value) for i, x in enumerate(batch) for h in x.pdq if h.usable(min_quality)
    ]
    if codes:
        arr = np.frombuffer(b"".join(c for _, c in codes), dtype=np.uint8).reshape(-1, 32)
        for (i, _), ms in zip(codes, matcher.match_pdq(arr, radius=radius), strict=True):
            for m in ms:
                keep(i, m)
    for i, x in enumerate(batch):
        if x.vpdq:
            for m in matcher.match_vpdq(x.vpdq, min_quality=min_quality, radius=radius,
                                        thresholds=vpdq_thresholds):
                keep(i, m)
    for i, x in enumerate(batch):
        yield FileReport(x, tuple(sorted(found[i].values(),
                                         key=lambda m: (m.set_name, m.distance, m.row))))


def _digest(d: FileDigests, kind: str, ed2k_variant: str) -> bytes:
    if kind == "ed2k":
        return d.ed2k if ed2k_variant == "red" else d.ed2k_blue
    value: bytes = getattr(d, kind)
    return value


def identity_json(x: FileIdentity, *, ed2k_variant: str = "red") -> dict[str, Any]:
    """The JSON form of an identity (``icarus hash`` output, one line per file)."""
    out: dict[str, Any] = {"path": x.path, "size": x.size}
    if x.digests is not None:
        d = x.digests
        out.update(md5=d.md5.hex(), sha1=d.sha1.hex(), sha256=d.sha256.hex(),
                   ed2k=_digest(d, "ed2k", ed2k_variant).hex(),
                   urn_sha1="urn:sha1:" + base32_encode(d.sha1))
        if d.tth is not None:
            out["tth"] = base32_encode(d.tth)
    if x.media:
        out["media"] = x.media
    if x.pdq:
        out["pdq"] = x.pdq[0].hex
        out["pdq_quality"] = x.pdq[0].quality
        if len(x.pdq) > 1:
            out["pdq_dihedral"] = [h.hex for h in x.pdq]
    if x.vpdq:
        out["vpdq_frames"] = len(x.vpdq)
        out["vpdq"] = [f"{f.hex},{f.quality},{f.timestamp:.3f}" for f in x.vpdq]
    if x.warnings:
        out["warnings"] = list(x.warnings)
    if x.error:
        out["error"] = x.error
    return out


def report_json(r: FileReport, *, ed2k_variant: str = "red") -> dict[str, Any]:
    """The JSON form of a report (``icarus match`` output): identity plus matches."""
    out = identity_json(r.identity, ed2k_variant=ed2k_variant)
    out.pop("vpdq", None)
    out["matches"] = [
        {"set": m.set_name, "set_kind": m.set_kind.value, "by": m.digest_kind,
         "category": m.category.value, "severity": int(m.severity), "distance": m.distance,
         **({"query_percent": round(m.query_percent, 1),
             "compared_percent": round(m.compared_percent or 0.0, 1)}
            if m.query_percent is not None else {})}
        for m in r.matches
    ]
    return out
