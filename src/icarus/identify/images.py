"""Loading pictures for perceptual hashing: what a viewer shows, as RGB, or a clear reason why not.

Formats are recognised by their first bytes, not by their names, so a PNG renamed ``.jpg`` (or
``.dat``) is still read, with a warning. Only JPEG, PNG, GIF, BMP, TIFF and WebP are decoded: a
decoder that guesses from weak signatures (TGA, raw formats) would turn random bytes into a
picture. The picture is turned upright (EXIF orientation), transparent parts are put on white
(what a viewer shows), and every colour mode becomes 8-bit RGB. Animated files and multi-page
TIFFs give their first frame.

Two entry points: :func:`load_image` raises the project's errors; :func:`read_image` never raises
for bad input and returns an :class:`ImageLoad` with the error and any warnings instead, which is
what a batch over thousands of seized files needs. Pillow's warnings about a file's header are
recorded as that file's warnings; later ones (rare) take the ordinary ``warnings`` route.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from icarus.core.errors import CorruptInputError, FormatMismatchError, InputError

_FORMAT_EXTENSIONS = {
    "jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "png": {".png", ".apng"},
    "gif": {".gif"},
    "bmp": {".bmp", ".dib"},
    "tiff": {".tif", ".tiff"},
    "webp": {".webp"},
}
IMAGE_EXTENSIONS = frozenset(ext for exts in _FORMAT_EXTENSIONS.values() for ext in exts)
"""File names that announce a picture this module reads."""

_PILLOW_FORMATS = {
    "jpeg": ["JPEG", "MPO"],
    "png": ["PNG"],
    "gif": ["GIF"],
    "bmp": ["BMP"],
    "tiff": ["TIFF"],
    "webp": ["WEBP"],
}
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_ORIENTATION = 0x0112
SNIFF_BYTES = 32
"""How many leading bytes :func:`sniff_image` needs."""

DEFAULT_MAX_PIXELS = 89_478_485
"""Larger pictures are refused before decoding: Pillow's own decompression-bomb threshold, above
which it would also warn while decoding (about 9,459 px square; a 100-megapixel camera exceeds
it, which callers may allow with ``max_pixels``)."""

_OPEN_LOCK = threading.Lock()


def sniff_image(head: bytes) -> str | None:
    """The picture format announced by a file's first bytes ("jpeg", "png", ...), or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    # "BM" alone is too weak a signature: the DIB header that follows has one of a few sizes.
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    return None


def image_format_of(path: Path | str) -> str | None:
    """The picture format of the file at ``path`` by content; ``None`` if unreadable or not one."""
    try:
        with Path(path).open("rb") as fh:
            return sniff_image(fh.read(SNIFF_BYTES))
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class ImageLoad:
    """The outcome of reading one picture: the RGB image, or an error; warnings either way."""

    path: str
    image: Image.Image | None
    format: str | None = None
    """The format by content: "jpeg", "png", "gif", "bmp", "tiff" or "webp"."""
    size: tuple[int, int] | None = None
    """Width and height as shown (after EXIF orientation), before any reduction."""
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when there is a picture to hash."""
        return self.image is not None


def load_image(path: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The picture at ``path`` as RGB, upright, transparency on white.

    Raises :class:`FormatMismatchError` for a file that is no supported picture,
    :class:`CorruptInputError` for a broken or truncated one, :class:`InputError` for an
    unreadable file or one of more than ``max_pixels`` pixels.
    """
    image, _fmt, _size = _decode(Path(path), None, max_pixels, [])
    return image


def read_image(
    path: Path | str, *, max_side: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ImageLoad:
    """Like :func:`load_image`, but bad input gives an :class:`ImageLoad` with ``error`` set.

    With ``max_side``, a picture whose longer side exceeds it is reduced to fit (aspect kept,
    bicubic). A JPEG is first decoded at the smallest scale (1/2, 1/4, 1/8) that is still at
    least the reduced size: decoding a 1024×768 JPEG straight to 512×384 is about 2.5 times
    faster than decoding it whole and resizing it, and moves its PDQ hash by 2 bits at most in
    our measurements.
    """
    notes: list[str] = []
    try:
        image, fmt, size = _decode(Path(path), max_side, max_pixels, notes)
    except InputError as exc:
        return ImageLoad(str(path), None, warnings=tuple(notes), error=str(exc))
    return ImageLoad(str(path), image, fmt, size, tuple(notes))


def _decode(
    path: Path, max_side: int | None, max_pixels: int, notes: list[str]
) -> tuple[Image.Image, str, tuple[int, int]]:
    try:
        with path.open("rb") as fh:
            fmt = sniff_image(fh.read(SNIFF_BYTES))
            if fmt is None:
                raise FormatMismatchError(
                    "not a picture Icarus reads (JPEG, PNG, GIF, BMP, TIFF or WebP)", path=path
                )
            fh.seek(0)
            _note_name(path, fmt, notes)
            image = _open(fh, path, fmt, notes)
            size = _load(image, path, fmt, max_side, max_pixels, notes)
    except OSError as exc:  # reading the file itself failed (decoder errors are handled below)
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    image, size = _upright(image, size, notes)
    try:
        image = to_rgb(image)
    except MemoryError:
        raise
    except Exception as exc:  # colour modes Pillow cannot convert (LAB, HSV...)
        raise FormatMismatchError(
            f"{image.mode} pictures are not supported: {exc}", path=path
        ) from None
    if max_side is not None:
        image = fit_within(image, max_side)
    return image, fmt, size


def _note_name(path: Path, fmt: str, notes: list[str]) -> None:
    suffix = path.suffix.lower()
    if suffix not in _FORMAT_EXTENSIONS[fmt]:
        named = f"the name ends in {suffix!r}" if suffix else "the name has no extension"
        notes.append(f"content is {fmt.upper()} but {named}")


def _open(fh: BinaryIO, path: Path, fmt: str, notes: list[str]) -> Image.Image:
    # Pillow reports odd headers through the process-wide warnings machinery. Recording them
    # for one file needs catch_warnings, which is not thread-safe: hence the lock, held only
    # while the header is parsed (decoding, the costly part, runs unlocked).
    with _OPEN_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = Image.open(fh, formats=_PILLOW_FORMATS[fmt])
        except Image.DecompressionBombError as exc:
            raise InputError(
                f"refused as a possible decompression bomb: {exc}", path=path
            ) from None
        except MemoryError:
            raise
        except Exception as exc:  # a broken header can fail in any of Pillow's parsers
            raise CorruptInputError(f"broken {fmt.upper()} header: {exc}", path=path) from None
    # Size warnings are decided by ``max_pixels``; deprecations concern code, not the file.
    ignored = Image.DecompressionBombWarning | DeprecationWarning
    notes.extend(f"decoder: {w.message}" for w in caught if not issubclass(w.category, ignored))
    return image


def _load(
    image: Image.Image,
    path: Path,
    fmt: str,
    max_side: int | None,
    max_pixels: int,
    notes: list[str],
) -> tuple[int, int]:
    width, height = image.size
    if width * height > max_pixels:
        raise InputError(
            f"{width}×{height} px exceeds the limit of {max_pixels} pixels "
            "(decompression-bomb protection); not decoded",
            path=path,
        )
    try:
        if getattr(image, "is_animated", False):
            notes.append(f"{getattr(image, 'n_frames', 'several')} frames: the first is used")
            image.seek(0)
        if max_side is not None and max(width, height) > max_side:
            image.draft(None, fitted_size((width, height), max_side))
        image.load()
    except MemoryError:
        raise
    except Exception as exc:  # Pillow reports broken data with OSError, ValueError, SyntaxError...
        reason = "truncated" if "truncated" in str(exc) else "corrupt"
        raise CorruptInputError(f"{fmt.upper()} data is {reason}: {exc}", path=path) from None
    if min(image.size) < 1:
        raise CorruptInputError(f"{fmt.upper()} declares an empty picture", path=path)
    return width, height


def _upright(
    image: Image.Image, size: tuple[int, int], notes: list[str]
) -> tuple[Image.Image, tuple[int, int]]:
    try:
        orientation = image.getexif().get(_ORIENTATION, 1)
        if orientation not in range(2, 9):
            return image, size
        upright = ImageOps.exif_transpose(image)
    except Exception as exc:  # EXIF from cameras and editors is often malformed
        notes.append(f"EXIF orientation unreadable, picture used as stored: {exc}")
        return image, size
    # Orientations 5 to 8 turn the picture by a quarter: width and height swap.
    return upright, (size[1], size[0]) if orientation >= 5 else size


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB: alpha put on white, 16-bit and float scaled, CMYK converted."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16") or mode in ("I", "F"):
        image = _to_8bit_grey(image)
        mode = "L"
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _to_8bit_grey(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64)
    peak = float(pixels.max()) if pixels.size else 0.0
    if image.mode == "F" and peak <= 1.0:
        pixels = pixels * 255.0
    elif peak > 255.0:
        # 16-bit samples (PNG, TIFF): 65535 is white.
        pixels = pixels / 257.0
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "L")


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` reduced (bicubic, aspect kept) so that neither side exceeds ``max_side``.

    A side is never reduced below 5 px (or its own length, if shorter), so a long thin picture
    keeps something to hash.
    """
    size = fitted_size(image.size, max_side)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def fitted_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size :func:`fit_within` reduces ``size`` to (unchanged if it already fits)."""
    width, height = size
    if max(width, height) <= max_side:
        return size
    scale = max_side / max(width, height)
    return (
        max(round(width * scale), min(width, 5)),
        max(round(height * scale), min(height, 5)),
    )
