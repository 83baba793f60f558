"""vPDQ: videos as the PDQ hashes of frames taken at intervals (one a second by default).

Hashing is Meta's reference (the ``vpdq`` package, which decodes with its own FFmpeg). Matching
follows Meta's reference semantics: a video is an unordered bag of frame hashes; frames of low
quality are dropped and identical hashes counted once; a frame matches when any frame of the
other video is within the radius. Two shares come out: of the query's frames that matched, and
of the other video's frames that matched. A clip found inside a longer video scores high on the
first and low on the second. What counts as a match is the caller's decision: Meta's own tools
disagree on the defaults, so :meth:`VpdqScore.matches` takes both thresholds, always.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from icarus.core.errors import InvalidIdentifierError, UsageError
from icarus.identify.kinds import parse_digest
from icarus.identify.pdq import DEFAULT_MIN_QUALITY, DEFAULT_RADIUS, PDQ_BYTES, pack_codes

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".asf", ".flv", ".3gp", ".3g2"}
    | {".mpg", ".mpeg", ".ts", ".vob", ".ogv", ".rm", ".rmvb", ".divx"}
)
"""File names that announce a video (the decoder itself goes by content)."""

FRAME = struct.Struct(">32sBId")
"""A packed frame: PDQ, quality, frame number (big-endian uint32), timestamp (big-endian double)."""
TIMESTAMP_DECIMALS = 3
"""Timestamps are kept to the millisecond, as Meta's tools keep them."""
_MAX_FRAME_NUMBER = 2**32 - 1

_BLOCK_CELLS = 1 << 20
"""Query × target pairs compared at once: bounds the working memory to about 32 MB."""


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One hashed frame: its PDQ hash and quality, frame number and time in seconds."""

    pdq: bytes
    quality: int
    frame_number: int
    timestamp: float

    def __post_init__(self) -> None:
        if len(self.pdq) != PDQ_BYTES:
            raise InvalidIdentifierError(f"a frame's PDQ hash is 32 bytes, got {len(self.pdq)}")
        if not 0 <= self.quality <= 100:
            raise InvalidIdentifierError(f"quality must be 0-100, got {self.quality}")
        if not 0 <= self.frame_number <= _MAX_FRAME_NUMBER:
            raise InvalidIdentifierError(f"bad frame number {self.frame_number}")
        if not (math.isfinite(self.timestamp) and self.timestamp >= 0):
            raise InvalidIdentifierError(f"bad timestamp {self.timestamp}")

    @property
    def hex(self) -> str:
        """The frame's PDQ hash as 64 hex characters."""
        return self.pdq.hex()


@dataclass(frozen=True, slots=True)
class VpdqOutcome:
    """vPDQ of one file: its frames, or an error; warnings either way."""

    path: str
    frames: tuple[VpdqFrame, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the video was hashed."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class VpdqScore:
    """How much two videos share, in percent of their usable, distinct frames."""

    query_percent: float
    """Share of the query's frames that have a match in the other video."""
    compared_percent: float
    """Share of the other video's frames that have a match in the query."""

    def matches(self, query_threshold: float, compared_threshold: float) -> bool:
        """True if both shares reach their thresholds (percent, inclusive)."""
        return self.query_percent >= query_threshold and self.compared_percent >= compared_threshold


def vpdq_file(path: Path | str, *, seconds_per_hash: float = 1.0, threads: int = 0) -> VpdqOutcome:
    """vPDQ of the video at ``path``: one frame every ``seconds_per_hash`` (0: every frame).

    Never raises for a missing, unreadable or corrupt file: the outcome carries the error.
    ``threads`` = 0 lets the hasher choose. Timestamps are rounded to the millisecond.
    """
    import vpdq  # the decoder is loaded only where videos are hashed

    if seconds_per_hash < 0 or threads < 0:
        raise UsageError("seconds_per_hash and threads must not be negative")
    name = str(path)
    if not Path(path).is_file():
        return VpdqOutcome(name, error=f"{name}: not a readable file")
    try:
        features = vpdq.computeHash(name, seconds_per_hash=seconds_per_hash, thread_count=threads)
    except Exception as exc:  # the binding raises a bare Exception for any decoding failure
        return VpdqOutcome(name, error=f"{name}: cannot decode the video ({exc})")
    try:
        frames = tuple(
            VpdqFrame(
                bytes.fromhex(vpdq.hash_to_hex(f.hash)),
                int(f.quality),
                int(f.frame_number),
                round(float(f.timestamp), TIMESTAMP_DECIMALS),
            )
            for f in features
        )
    except (InvalidIdentifierError, ValueError) as exc:  # e.g. a negative time from odd streams
        return VpdqOutcome(name, error=f"{name}: the hasher returned an unusable frame ({exc})")
    if not frames:
        return VpdqOutcome(name, error=f"{name}: no frame could be decoded")
    warnings: tuple[str, ...] = ()
    if not any(f.quality >= DEFAULT_MIN_QUALITY for f in frames):
        warnings = (f"none of {len(frames)} frames reaches PDQ quality {DEFAULT_MIN_QUALITY}",)
    return VpdqOutcome(name, frames, warnings)


def vpdq_compare(
    query_frames: Sequence[VpdqFrame],
    target_frames: Sequence[VpdqFrame],
    *,
    radius: int = DEFAULT_RADIUS,
    min_quality: int = DEFAULT_MIN_QUALITY,
) -> VpdqScore:
    """Score ``query_frames`` against ``target_frames`` (brute force, Meta's semantics).

    Frames below ``min_quality`` are dropped and identical hashes counted once; a frame matches
    when a frame of the other side is at most ``radius`` bits away. A side left with no frames
    scores 0 on both shares.
    """
    query = _usable_codes(query_frames, min_quality)
    target = _usable_codes(target_frames, min_quality)
    if len(query) == 0 or len(target) == 0:
        return VpdqScore(0.0, 0.0)
    query_hit = np.zeros(len(query), dtype=bool)
    target_hit = np.zeros(len(target), dtype=bool)
    target_words = target.view(np.uint64)
    rows = max(1, _BLOCK_CELLS // len(target))
    for start in range(0, len(query), rows):
        block = query[start : start + rows].view(np.uint64)
        distances = np.bitwise_count(block[:, None, :] ^ target_words[None, :, :]).sum(axis=2)
        close = distances <= radius
        query_hit[start : start + rows] = close.any(axis=1)
        target_hit |= close.any(axis=0)
    return VpdqScore(100.0 * float(query_hit.mean()), 100.0 * float(target_hit.mean()))


def _usable_codes(frames: Sequence[VpdqFrame], min_quality: int) -> npt.NDArray[np.uint8]:
    distinct = dict.fromkeys(f.pdq for f in frames if f.quality >= min_quality)
    return pack_codes(distinct)


def pack_frames(frames: Sequence[VpdqFrame]) -> bytes:
    """The frames as bytes for storage: 45 bytes a frame (see :data:`FRAME`)."""
    return b"".join(FRAME.pack(f.pdq, f.quality, f.frame_number, f.timestamp) for f in frames)


def unpack_frames(value: bytes) -> tuple[VpdqFrame, ...]:
    """Frames from :func:`pack_frames` bytes; raises :class:`InvalidIdentifierError`."""
    if len(value) % FRAME.size:
        raise InvalidIdentifierError(
            f"packed vPDQ frames are {FRAME.size} bytes each, got {len(value)} bytes"
        )
    return tuple(VpdqFrame(*fields) for fields in FRAME.iter_unpack(value))


def format_vpdq(frames: Sequence[VpdqFrame]) -> str:
    """Compact text of the frames: ``pdqhex,quality,timestamp,frame`` entries joined by ``;``.

    The first three fields are the compact form of Meta's ThreatExchange tools (which carry no
    frame number); timestamps are written to the millisecond.
    """
    return ";".join(
        f"{f.hex},{f.quality},{f.timestamp:.{TIMESTAMP_DECIMALS}f},{f.frame_number}" for f in frames
    )


def parse_vpdq(text: str) -> tuple[VpdqFrame, ...]:
    """Frames from their compact text; raises :class:`InvalidIdentifierError` on bad text.

    Entries of three fields (Meta's compact form) are accepted: the entry's position then
    stands for the frame number. Empty text is no frames.
    """
    entries = [e.strip() for e in text.strip().split(";")]
    if entries == [""]:
        return ()
    return tuple(_parse_entry(entry, index) for index, entry in enumerate(entries))


def _parse_entry(entry: str, index: int) -> VpdqFrame:
    fields = entry.split(",")
    where = f"vPDQ entry {index + 1}"
    if len(fields) not in (3, 4):
        raise InvalidIdentifierError(
            f"{where} must be 'pdqhex,quality,timestamp[,frame]', got {entry[:100]!r}"
        )
    try:
        return VpdqFrame(
            parse_digest("pdq", fields[0]).value,
            int(fields[1]),
            int(fields[3]) if len(fields) == 4 else index,
            round(float(fields[2]), TIMESTAMP_DECIMALS),
        )
    except (InvalidIdentifierError, ValueError) as exc:
        raise InvalidIdentifierError(f"{where}: {exc}") from None
