"""vPDQ index: every video's distinct frame hashes in one PDQ index, with a frame -> video map.

vPDQ compares two videos by their sets of frame hashes (already filtered for quality):

* a query frame *matches* video V if some frame of V is within ``radius`` bits of it;
* ``query_percent`` = distinct query frames matching V / distinct query frames, in percent;
* ``compared_percent`` = distinct frames of V within ``radius`` of some query frame / distinct
  frames of V, in percent.

V is reported when both reach their thresholds (``>=``). A clip of a long video thus has a high
query percentage and a low compared one; the long video queried against the clip, the reverse.
Percentages are 0-100 as in Meta's vPDQ reference; unlike its ``distance < tolerance`` test,
``radius`` is inclusive like everywhere in Icarus (radius 31 = tolerance 32).

Layout: the arrays of :mod:`icarus.bank.index.pdq` over the frames (row = frame), plus
``frame_video.npy`` (the video row of each frame) and ``video_frames.npy`` (distinct frames
per video).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from icarus.bank.index.files import read_index, write_index
from icarus.bank.index.pdq import DEFAULT_RADIUS, PdqIndex, as_codes, compile_tables, widths_of
from icarus.core.errors import CorruptInputError, UsageError

FORMAT = "icarus-vpdq-index"
VERSION = 1


@dataclass(frozen=True, slots=True)
class VpdqHit:
    """A video of the index that matches a query video."""

    video_row: int
    """The video's position in the list given to :meth:`VpdqIndex.build`."""
    query_percent: float
    """Distinct query frames that match the video, in percent of the query's distinct frames."""
    compared_percent: float
    """Distinct frames of the video that match the query, in percent of its distinct frames."""


class VpdqIndex:
    """A read-only, memory-mapped set of videos as frame hashes; safe to query from many threads."""

    def __init__(self, directory: Path, frames: PdqIndex, arrays: dict[str, np.ndarray]) -> None:
        """Wrap opened arrays (see :meth:`open`); raises CorruptInputError if they disagree."""
        self.directory = directory
        self.frames = frames
        self._frame_video = arrays["frame_video"]
        self._video_frames = arrays["video_frames"]
        if self._frame_video.shape != (len(frames),) or self._video_frames.ndim != 1:
            raise CorruptInputError("vPDQ frame map does not match its frames", path=directory)

    def __len__(self) -> int:
        return len(self._video_frames)

    @staticmethod
    def build(
        videos: Sequence[np.ndarray],
        out_dir: Path,
        *,
        substrings: int | None = None,
        replace: bool = False,
    ) -> None:
        """Compile ``videos`` (one (k, 32) uint8 array of frame hashes each) at ``out_dir``.

        Frames repeated within a video are kept once; a video may have no frames (it then
        never matches). Atomic like every index build.
        """
        distinct = [
            _distinct(as_codes(frames, f"frames of video {i} to index in {out_dir}"))
            for i, frames in enumerate(videos)
        ]
        counts = np.array([len(frames) for frames in distinct], np.int64)
        frames = np.concatenate(distinct) if distinct else np.zeros((0, 32), np.uint8)
        arrays, widths = compile_tables(frames, substrings, where=str(out_dir))
        video_type = np.uint32 if len(distinct) < 2**32 else np.uint64
        arrays |= {
            "frame_video": np.repeat(np.arange(len(distinct), dtype=video_type), counts),
            "video_frames": counts,
        }
        write_index(
            Path(out_dir),
            index_format=FORMAT,
            version=VERSION,
            kind="vpdq",
            count=len(distinct),
            params={"widths": widths, "frames": len(frames)},
            arrays=arrays,
            replace=replace,
        )

    @classmethod
    def open(cls, directory: Path) -> VpdqIndex:
        """Memory-map the index at ``directory`` (headers only: fast whatever the size)."""
        directory = Path(directory)
        manifest, arrays = read_index(directory, index_format=FORMAT, version=VERSION)
        frames = PdqIndex(directory, arrays, widths_of(manifest, directory))
        return cls(directory, frames, arrays)

    def search(
        self,
        query_frames: np.ndarray,
        *,
        radius: int = DEFAULT_RADIUS,
        query_threshold: float,
        compared_threshold: float,
    ) -> list[VpdqHit]:
        """The videos matching the query video at both thresholds (percent, 0-100), by row.

        ``query_frames`` is (q, 32) uint8, already quality-filtered; repeated frames count
        once. Only videos sharing at least one matching frame are candidates.
        """
        for name, value in (("query", query_threshold), ("compared", compared_threshold)):
            if not 0 <= value <= 100:
                raise UsageError(f"vPDQ {name} threshold must be a percentage, got {value}")
        queries = _distinct(as_codes(query_frames, f"vPDQ query frames for {self.directory}"))
        if len(queries) == 0 or len(self) == 0:
            return []
        query_idx, frame_row, _ = self.frames.search(queries, radius)
        video = self._frame_video[frame_row].astype(np.int64)
        # Distinct (video, query frame) pairs, then distinct matched frames (a frame has one video).
        query_pairs = np.unique(video * len(queries) + query_idx)
        query_hits = np.bincount(query_pairs // len(queries), minlength=len(self))
        compared_hits = np.bincount(self._frame_video[np.unique(frame_row)], minlength=len(self))
        hits = []
        for row in np.flatnonzero(query_hits).tolist():
            query_percent = 100.0 * float(query_hits[row]) / len(queries)
            compared_percent = 100.0 * float(compared_hits[row]) / float(self._video_frames[row])
            if query_percent >= query_threshold and compared_percent >= compared_threshold:
                hits.append(VpdqHit(row, query_percent, compared_percent))
        return hits


def _distinct(frames: np.ndarray) -> np.ndarray:
    """The distinct rows of ``frames``, in order of first appearance."""
    if len(frames) == 0:
        return frames
    _, first = np.unique(frames.view("V32").reshape(-1), return_index=True)
    return frames[np.sort(first)]
