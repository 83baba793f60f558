"""Matching against every set of the bank: exact on any digest kind, perceptual on PDQ/vPDQ.

A :class:`Matcher` opens each segment's indexes by memory-mapping, lazily, on first use; it is
read-only and may be shared by threads. Results name the set, its kind, the Icarus category and
severity of the entry, and the distance (0 for exact matches).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from icarus.bank.catalog import Catalog
from icarus.bank.index.exact import ExactIndex
from icarus.bank.index.pdq import PdqIndex
from icarus.bank.index.vpdq import VpdqIndex
from icarus.bank.segment import EXACT_KINDS, category_of
from icarus.domain.bank import HashSetInfo, Match
from icarus.domain.categories import Severity
from icarus.identify.pdq import pack_codes
from icarus.identify.vpdq import VpdqFrame


@dataclass
class _Segment:
    info: HashSetInfo
    segment: str
    directory: Path
    _indexes: dict[str, tuple[Any, np.ndarray] | None] = field(default_factory=dict)
    _meta: tuple[np.ndarray, np.ndarray] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _index(self, name: str, opener: Callable[[Path], Any]) -> tuple[Any, np.ndarray] | None:
        """The index ``index/<name>/`` opened (memory-mapped) on first use, with its rows."""
        with self._lock:
            if name not in self._indexes:
                d = self.directory / "index" / name
                self._indexes[name] = (
                    (opener(d), _load(self.directory / "index" / f"{name}.rows.npy"))
                    if d.exists() else None
                )
            return self._indexes[name]

    def exact(self, kind: str) -> tuple[ExactIndex, np.ndarray] | None:
        return self._index(kind, ExactIndex.open)

    def pdq(self) -> tuple[PdqIndex, np.ndarray] | None:
        return self._index("pdq", PdqIndex.open)

    def vpdq(self) -> tuple[VpdqIndex, np.ndarray] | None:
        return self._index("vpdq", VpdqIndex.open)

    def meta(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._meta is None:
                self._meta = (_load(self.directory / "meta" / "category.npy"),
                              _load(self.directory / "meta" / "severity.npy"))
            return self._meta

    def match(self, row: int, digest_kind: str, distance: int) -> Match:
        cats, sevs = self.meta()
        return Match(
            set_name=self.info.name, set_kind=self.info.kind, digest_kind=digest_kind,
            category=category_of(int(cats[row])), severity=Severity(int(sevs[row])),
            distance=distance, segment=self.segment, row=row,
        )


def _load(path: Path) -> np.ndarray:
    array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    return array


class Matcher:
    """Answers which bank entries a digest, a PDQ hash or a video's frames match."""

    def __init__(self, bank_dir: Path, catalog: Catalog, *, default_radius: int = 31,
                 sets: list[str] | None = None) -> None:
        self.default_radius = default_radius
        wanted = set(sets) if sets else None
        self.segments = [
            _Segment(info, rec.segment, bank_dir / "segments" / rec.segment)
            for info, rec in catalog.segments()
            if wanted is None or info.name in wanted
        ]

    def match_exact(self, kind: str, values: np.ndarray) -> list[list[Match]]:
        """For each row of ``values`` ((m, size) uint8 digests of ``kind``), its matches."""
        if kind not in EXACT_KINDS:
            raise ValueError(f"no exact index for digest kind {kind!r}")
        out: list[list[Match]] = [[] for _ in range(len(values))]
        if not len(values):
            return out
        for seg in self.segments:
            found = seg.exact(kind)
            if found is None:
                continue
            index, rows = found
            qi, ri = index.lookup(values)
            for q, r in zip(qi.tolist(), ri.tolist(), strict=True):
                out[q].append(seg.match(int(rows[r]), kind, 0))
        return out

    def _radius(self, seg: _Segment, override: int | None) -> int:
        """The PDQ radius for a segment: the override, else its set's own, else the default."""
        if override is not None:
            return override
        return seg.info.pdq_radius if seg.info.pdq_radius is not None else self.default_radius

    def match_pdq(self, codes: np.ndarray, *, radius: int | None = None) -> list[list[Match]]:
        """For each 32-byte PDQ code, the entries within the radius (per set, inclusive).

        ``radius`` overrides every set's own radius; otherwise a set's radius, or the default.
        """
        out: list[list[Match]] = [[] for _ in range(len(codes))]
        if not len(codes):
            return out
        for seg in self.segments:
            found = seg.pdq()
            if found is None:
                continue
            index, rows = found
            r = self._radius(seg, radius)
            qi, ri, dist = index.search(codes, radius=r)
            for q, row, d in zip(qi.tolist(), ri.tolist(), dist.tolist(), strict=True):
                out[q].append(seg.match(int(rows[row]), "pdq", int(d)))
        return out

    def match_vpdq(self, frames: Sequence[VpdqFrame], *, min_quality: int = 50,
                   radius: int | None = None,
                   thresholds: tuple[float, float]) -> list[Match]:
        """Known videos matching a video given by its frames.

        Frames under ``min_quality`` are dropped; ``thresholds`` are (query percent, compared
        percent), both required: a match needs both shares reached. ``radius`` is the
        per-frame PDQ radius (default: each set's own, else the default).
        """
        usable = [f.pdq for f in frames if f.quality >= min_quality]
        if not usable:
            return []
        codes = pack_codes(usable)
        out: list[Match] = []
        for seg in self.segments:
            found = seg.vpdq()
            if found is None:
                continue
            index, rows = found
            r = self._radius(seg, radius)
            for hit in index.search(codes, radius=r, query_threshold=thresholds[0],
                                    compared_threshold=thresholds[1]):
                out.append(replace(seg.match(int(rows[hit.video_row]), "vpdq", 0),
                                   query_percent=hit.query_percent,
                                   compared_percent=hit.compared_percent))
        return out
