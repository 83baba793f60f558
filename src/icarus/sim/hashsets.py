"""The world's hash sets: a VICS 2.0 set of the known material and an NSRL-style software set.

Both are written as the real producers write them, so that Icarus imports them with its
ordinary readers: ``icarus bank import hashsets/known.vics.json`` (format ``vics``, scheme
``vics-us``) and ``icarus bank import hashsets/NSRLFile.txt`` (``nsrl-rds2``, with
``NSRLProd.txt`` beside it). The earlier-operations intelligence is :mod:`icarus.sim.intel`
(:func:`write_earlier_intel` is re-exported here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError, UsageError
from icarus.identify.vpdq import format_vpdq, unpack_frames
from icarus.sim.intel import write_earlier_intel
from icarus.sim.items import Job, run_jobs
from icarus.sim.rng import Streams
from icarus.sim.software import PRODUCTS, SoftwareFile, software_files

__all__ = ["SoftwareFile", "software_files", "write_earlier_intel", "write_nsrl", "write_vics"]

VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
)
"""A Project VIC US hash set (categories 0-4 as the bank's ``vics-us`` scheme reads them)."""


def _atomic_write(path: Path, text: str, newline: str = "\n") -> None:
    """Write ``text`` to ``path`` through a temporary file, so no half file has its name."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_vics(content: pa.Table, path: Path, *, vpdq: Mapping[int, bytes] | None = None,
               workers: int = 1) -> int:
    """Write the known items of ``content`` as a VICS 2.0 hash set; returns the Media written.

    Each Media has MediaID (from 1, in content-id order), Category (the row's
    ``vics_category``), MD5 and SHA1 upper-case, MediaSize, the file name, and as
    AlternativeHashes SHA256, ED2K, PDQ (pictures), vPDQ (videos, compact text) and BTIH (the
    v1 infohash of the item's torrent, an Icarus extension). Packed vPDQ
    frames are taken from ``vpdq`` (content id -> bytes, as
    :class:`icarus.sim.content.Catalogue` has them) or recomputed from the regenerated clips.
    """
    known = content.filter(pc.equal(content.column("status"), "known"))
    rows = known.sort_by("content_id").to_pylist()
    frames = dict(vpdq or {})
    missing = [r for r in rows if r["media"] == "video" and r["content_id"] not in frames]
    if missing:
        done = run_jobs([Job("video", r["seed"], r["name"], vpdq=True) for r in missing], workers)
        for row, found in zip(missing, done, strict=True):
            frames[row["content_id"]] = found[0].vpdq or b""
    lines = [json.dumps(_media(i, row, frames.get(row["content_id"])), ensure_ascii=False)
             for i, row in enumerate(rows, start=1)]
    text = ('{\n"@odata.context": ' + json.dumps(VICS_CONTEXT) + ',\n"value": [\n'
            + ",\n".join(lines) + "\n]\n}\n")
    _atomic_write(path, text)
    return len(rows)


def _media(media_id: int, row: dict[str, Any], frames: bytes | None) -> dict[str, Any]:
    md5 = row["md5"].hex().upper()
    alternatives = [
        {"HashName": "SHA256", "HashValue": row["sha256"].hex()},
        {"HashName": "ED2K", "HashValue": row["ed2k"].hex()},
    ]
    if row["pdq"] is not None:
        alternatives.append({"HashName": "PDQ", "HashValue": row["pdq"].hex()})
    if frames:
        alternatives.append({"HashName": "vPDQ", "HashValue": format_vpdq(unpack_frames(frames))})
    if row["btih"] is not None:
        # an Icarus extension: the torrent known to carry the item, so that BitTorrent
        # sightings (which name only the infohash) match the bank
        alternatives.append({"HashName": "BTIH", "HashValue": row["btih"].hex()})
    media: dict[str, Any] = {"MediaID": media_id}
    if row["vics_category"] is not None:
        media["Category"] = int(row["vics_category"])
    media.update({
        "MD5": md5,
        "SHA1": row["sha1"].hex().upper(),
        "MediaSize": int(row["size"]),
        "AlternativeHashes": alternatives,
        "MediaFiles": [{"MD5": md5, "FileName": row["name"]}],
    })
    return media


NSRL_FILE_HEADER = ('"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode",'
                    '"OpSystemCode","SpecialCode"')
NSRL_PROD_HEADER = ('"ProductCode","ProductName","ProductVersion","OpSystemCode","MfgCode",'
                    '"Language","ApplicationType"')
_OS_CODE = "358"  # one operating system for every product: the synthetic exhibits run Windows


def write_nsrl(path_dir: Path, streams: Streams, *, extra_files: int = 2000) -> list[Path]:
    """Write ``NSRLFile.txt`` and ``NSRLProd.txt`` (NSRL RDS 2 style) into ``path_dir``.

    The files of :func:`software_files` come first, with their real digests, then
    ``extra_files`` rows of other files of the ordinary products, with random digests (no
    bytes stand behind them: they give the set a realistic bulk). CRLF line ends, as NIST
    writes them. Returns the two paths.
    """
    if extra_files < 0:
        raise UsageError(f"extra_files must not be negative, got {extra_files}")
    path_dir.mkdir(parents=True, exist_ok=True)
    rows = [_nsrl_row(f.sha1, f.md5, f.crc32, f.name, len(f.data), PRODUCTS[f.product].code)
            for f in software_files()]
    ordinary = [p for p in PRODUCTS.values() if not p.flagged]
    rng = streams.get("hashsets.nsrl")
    digests = rng.bytes(40 * extra_files)
    picks = rng.integers(0, len(ordinary), extra_files)
    sizes = rng.integers(200, 4_000_000, extra_files)
    numbers = rng.integers(0, 100_000, extra_files)
    suffixes = (".dll", ".exe", ".dat", ".txt", ".png", ".xml", ".ini", ".sys")
    for i in range(extra_files):
        raw = digests[40 * i : 40 * i + 40]
        product = ordinary[int(picks[i])]
        name = f"{product.stem}_{int(numbers[i]):05d}{suffixes[int(numbers[i]) % len(suffixes)]}"
        rows.append(_nsrl_row(raw[:20], raw[20:36], int.from_bytes(raw[36:], "big"), name,
                              int(sizes[i]), product.code))
    file_path, prod_path = path_dir / "NSRLFile.txt", path_dir / "NSRLProd.txt"
    _atomic_write(file_path, "\n".join([NSRL_FILE_HEADER, *rows]) + "\n", newline="\r\n")
    products = [
        f'{p.code},"{p.name}","{p.version}","{_OS_CODE}","{p.maker}","English","{p.app_type}"'
        for p in sorted(PRODUCTS.values(), key=lambda p: p.code)
    ]
    _atomic_write(prod_path, "\n".join([NSRL_PROD_HEADER, *products]) + "\n", newline="\r\n")
    return [file_path, prod_path]


def _nsrl_row(sha1: bytes, md5: bytes, crc: int, name: str, size: int, code: int) -> str:
    return (f'"{sha1.hex().upper()}","{md5.hex().upper()}","{crc:08X}","{name}",{size},{code},'
            f'"{_OS_CODE}",""')
