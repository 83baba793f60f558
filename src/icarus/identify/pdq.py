"""PDQ perceptual hashes of pictures, and Hamming distances between them.

The hashing itself is Meta's C++ reference (``pdqhash``): luminance, Jarosz tent filter down to
64×64, 16×16 DCT, median threshold, 256 bits, and a quality score 0-100 (below 50 the hash says
too little about the picture to be matched). Before that, as Meta's reference tools do, a picture
larger than 512 px on a side is reduced to fit 512 px (aspect kept, bicubic, like the Python
reference): the filter is costly on large pictures, and a 64×64 summary loses nothing by it.
:func:`pdq_file` also decodes large JPEGs at a reduced scale, which is faster still and moves
the hash by at most 2 bits in our measurements.

Dihedral hashes (``dihedral=True``) are the hashes of the picture rotated and mirrored, computed
from one DCT. They are exact only for pictures of at most 64 px a side; for larger ones each
differs from hashing the transformed picture by up to ~20 bits (the 64×64 decimation samples
pixels asymmetrically), which is well inside the usual match radius of 31.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from icarus.core.errors import InputError, InvalidIdentifierError, UsageError
from icarus.domain.digests import Digest
from icarus.identify.images import DEFAULT_MAX_PIXELS, fit_within, read_image, to_rgb
from icarus.identify.kinds import parse_digest

PDQ_BYTES = 32
MAX_SIDE = 512
"""Pictures are reduced to at most this many pixels a side before hashing (Meta's reference)."""
MIN_SIDE = 5
"""Smaller pictures cannot be hashed."""
DEFAULT_MIN_QUALITY = 50
DEFAULT_RADIUS = 31
"""Hashes at most this many bits apart are a match (inclusive)."""

DIHEDRAL = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_vertical",
    "flip_horizontal",
    "transpose",
    "antitranspose",
)
"""Order of dihedral hashes: rotations are counter-clockwise; ``flip_vertical`` turns the
picture upside down, ``flip_horizontal`` mirrors it left to right; ``transpose`` swaps rows and
columns, ``antitranspose`` mirrors about the other diagonal."""


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A 256-bit PDQ hash and the quality (0-100) of the picture it was computed from."""

    value: bytes
    quality: int

    def __post_init__(self) -> None:
        if len(self.value) != PDQ_BYTES:
            raise InvalidIdentifierError(f"a PDQ hash is 32 bytes, got {len(self.value)}")
        if not 0 <= self.quality <= 100:
            raise InvalidIdentifierError(f"PDQ quality must be 0-100, got {self.quality}")

    @classmethod
    def from_hex(cls, text: str, quality: int) -> PdqHash:
        """Parse 64 hex characters; raises :class:`InvalidIdentifierError`."""
        return cls(parse_digest("pdq", text).value, quality)

    @property
    def hex(self) -> str:
        """The canonical text: 64 lower-case hex characters."""
        return self.value.hex()

    def digest(self) -> Digest:
        """The hash as a ``pdq`` digest (quality is not part of it)."""
        return Digest("pdq", self.value)

    def usable(self, min_quality: int = DEFAULT_MIN_QUALITY) -> bool:
        """True if the picture had enough detail for the hash to be matched."""
        return self.quality >= min_quality


@dataclass(frozen=True, slots=True)
class PdqOutcome:
    """PDQ of one file: one hash (or eight, dihedral), or an error; warnings either way."""

    path: str
    hashes: tuple[PdqHash, ...] = ()
    """One hash, or eight in :data:`DIHEDRAL` order; empty when ``error`` is set."""
    format: str | None = None
    size: tuple[int, int] | None = None
    """Width and height of the picture as shown, before reduction."""
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file was hashed."""
        return self.error is None

    @property
    def hash(self) -> PdqHash | None:
        """The hash of the picture as shown (the first), if any."""
        return self.hashes[0] if self.hashes else None


@overload
def pdq_image(image: Image.Image, *, dihedral: Literal[False] = False) -> PdqHash: ...
@overload
def pdq_image(image: Image.Image, *, dihedral: Literal[True]) -> tuple[PdqHash, ...]: ...
@overload
def pdq_image(image: Image.Image, *, dihedral: bool) -> PdqHash | tuple[PdqHash, ...]: ...


def pdq_image(image: Image.Image, *, dihedral: bool = False) -> PdqHash | tuple[PdqHash, ...]:
    """The PDQ hash of ``image`` (or its eight dihedral hashes, in :data:`DIHEDRAL` order).

    Any mode is accepted (see :func:`icarus.identify.images.to_rgb`); pictures larger than
    :data:`MAX_SIDE` are reduced first. Raises :class:`InputError` for a picture under
    :data:`MIN_SIDE` px on a side.
    """
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"a {width}×{height} px picture is too small for PDQ "
            f"(at least {MIN_SIDE} px on each side)"
        )
    pixels = np.asarray(fit_within(to_rgb(image), MAX_SIDE))
    if not dihedral:
        bits, quality = pdqhash.compute(pixels)
        return PdqHash(_pack(bits), int(quality))
    all_bits, quality = pdqhash.compute_dihedral(pixels)
    return tuple(PdqHash(_pack(bits), int(quality)) for bits in all_bits)


def _pack(bits: Sequence[int] | npt.NDArray[np.integer]) -> bytes:
    # pdqhash gives bit 255 first, as Meta's hex writes it: packing keeps that order.
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def pdq_file(
    path: Path | str, *, dihedral: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> PdqOutcome:
    """PDQ of the picture in the file at ``path``; never raises for a bad or unreadable file.

    Large JPEGs are decoded at a reduced scale (see :func:`~icarus.identify.images.read_image`):
    on Meta's samples and synthetic photos the hash moves by at most 2 bits for it.
    """
    loaded = read_image(path, max_side=MAX_SIDE, max_pixels=max_pixels)
    if loaded.image is None:
        return PdqOutcome(str(path), warnings=loaded.warnings, error=loaded.error)
    try:
        result = pdq_image(loaded.image, dihedral=dihedral)
    except InputError as exc:
        return PdqOutcome(
            str(path), (), loaded.format, loaded.size, loaded.warnings, f"{path}: {exc}"
        )
    hashes = result if isinstance(result, tuple) else (result,)
    return PdqOutcome(str(path), hashes, loaded.format, loaded.size, loaded.warnings)


def _pdq_file_task(task: tuple[str, bool, int]) -> PdqOutcome:
    path, dihedral, max_pixels = task
    return pdq_file(path, dihedral=dihedral, max_pixels=max_pixels)


def pdq_files(
    paths: Iterable[Path | str],
    *,
    dihedral: bool = False,
    workers: int = 1,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    chunksize: int = 16,
) -> Iterator[PdqOutcome]:
    """:func:`pdq_file` over many files, in order, in ``workers`` processes (1: in this one).

    Never raises for a bad file: each gets its outcome.
    """
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    tasks = ((str(p), dihedral, max_pixels) for p in paths)
    if workers == 1:
        yield from map(_pdq_file_task, tasks)
        return
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_pdq_file_task, tasks, chunksize=chunksize)


def hamming(a: bytes, b: bytes) -> int:
    """Bits in which ``a`` and ``b`` (of equal length) differ."""
    if len(a) != len(b):
        raise UsageError(f"cannot compare hashes of {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def pack_codes(values: Iterable[bytes]) -> npt.NDArray[np.uint8]:
    """PDQ values as an (n, 32) array of bytes, the input of :func:`hamming_many`."""
    joined = b"".join(values)
    if len(joined) % PDQ_BYTES:
        raise UsageError("every PDQ value must be 32 bytes")
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, PDQ_BYTES)


def hamming_many(query: bytes, codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Distances in bits from ``query`` to each row of ``codes`` (see :func:`pack_codes`)."""
    if len(query) != PDQ_BYTES or codes.ndim != 2 or codes.shape[1] != PDQ_BYTES:
        raise UsageError("hamming_many needs a 32-byte query and an (n, 32) uint8 array")
    words = np.ascontiguousarray(codes).view(np.uint64)
    mask = np.frombuffer(query, dtype=np.uint64)
    distances: npt.NDArray[np.int64] = np.bitwise_count(words ^ mask).sum(axis=1, dtype=np.int64)
    return distances
