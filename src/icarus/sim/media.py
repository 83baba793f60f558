"""The bytes of the synthetic world's content items, regenerated from a seed.

Every item is a pure function of its media kind and its seed: pictures (JPEG, some PNG), short
video clips (:mod:`icarus.sim.clips`), ZIP archives of pictures, and "other" files of
pseudo-random bytes. Nothing depicts a person: pictures are gradients, shapes and noise.

A seed is 63 bits: the low :data:`VARIANT_SHIFT` bits are the base seed, the bits above it the
variant number (0: the item itself; k >= 1: its k-th perceptual variant, with bytes of its own:
a re-encoded, resized or recoloured copy of a picture, a re-encoded video, a re-packed
archive). So a catalogue row's ``seed`` alone regenerates a near-duplicate too.

Byte-identical output is promised for the same software versions only: JPEG bytes depend on the
libjpeg bundled with Pillow, PNG and ZIP bytes on zlib, videos on the FFmpeg/libx264 bundled
with PyAV. Encoders are configured with fixed settings, no timestamps and no metadata.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

from icarus.core.errors import UsageError

MEDIA = ("image", "video", "archive", "other")
"""The media kinds of the catalogue (``media`` column)."""

VARIANT_SHIFT = 56
BASE_MASK = (1 << VARIANT_SHIFT) - 1
MAX_VARIANT = 127

# Tags that separate the random streams of one seed's different uses.
_SCENE, _IMAGE, _VARIANT, _ARCHIVE, _OTHER = 1, 2, 3, 4, 5

_SIZES = ((320, 240), (400, 300), (480, 360), (640, 480))
_SIZE_WEIGHTS = (0.7, 0.15, 0.1, 0.05)
_JPEG_QUALITIES = (75, 80, 85, 90, 95)
PNG_SHARE = 0.05
OTHER_SIZES = (1024, 256 * 1024)
"""Smallest and largest "other" file, bytes (log-uniform between)."""


def split_seed(seed: int) -> tuple[int, int]:
    """(base seed, variant number) of a catalogue seed."""
    if seed < 0:
        raise UsageError(f"a content seed is not negative, got {seed}")
    return seed & BASE_MASK, seed >> VARIANT_SHIFT


def variant_seed(seed: int, k: int) -> int:
    """The seed of variant ``k`` (1..127) of the item whose (base) seed is ``seed``."""
    if not 0 <= k <= MAX_VARIANT:
        raise UsageError(f"variant number must be 0-{MAX_VARIANT}, got {k}")
    return (seed & BASE_MASK) | (k << VARIANT_SHIFT)


def _rng(seed: int, tag: int) -> np.random.Generator:
    return np.random.default_rng([seed & BASE_MASK, tag])


def scene(seed: int, size: tuple[int, int]) -> Image.Image:
    """An RGB picture of a gradient, 24-40 shapes and light noise, deterministic from ``seed``.

    Shapes are placed in relative coordinates, so one seed at two sizes gives the same picture
    scaled. Different seeds give unrelated pictures (PDQ about 128 bits apart).
    """
    rng = _rng(seed, _SCENE)
    w, h = size
    angle = rng.uniform(0, 2 * np.pi)
    # Colours stop at 240 so that noise of 0-15 can be added in uint8 without overflow.
    start, end = rng.integers(0, 241, (2, 3)).astype(np.float32)
    x = np.linspace(0, 1, w, dtype=np.float32) * np.float32(np.cos(angle))
    y = np.linspace(0, 1, h, dtype=np.float32) * np.float32(np.sin(angle))
    low = float(min(x[0], x[-1]) + min(y[0], y[-1]))
    scale = np.float32(255 / max(float(max(x[0], x[-1]) + max(y[0], y[-1])) - low, 1e-6))
    ramp = (((x - np.float32(low)) * scale)[None, :] + (y * scale)[:, None]).astype(np.uint8)
    # A colour table indexed by the ramp: far cheaper than blending every pixel.
    lut = (start + (end - start) * np.linspace(0, 1, 256, dtype=np.float32)[:, None])
    img = Image.fromarray(np.take(lut.astype(np.uint8), ramp, axis=0), "RGB")
    draw = ImageDraw.Draw(img)
    count = int(rng.integers(24, 41))
    corners = rng.uniform(0, 1, (count, 2))
    extents = rng.uniform(1 / 16, 1 / 3, (count, 2))
    colours = rng.integers(0, 241, (count, 3))
    kinds = rng.integers(0, 3, count)
    for (x0, y0), (dx, dy), colour, kind in zip(corners, extents, colours, kinds, strict=True):
        box = (x0 * w, y0 * h, (x0 + dx) * w, (y0 + dy) * h)
        fill = (int(colour[0]), int(colour[1]), int(colour[2]))
        if kind == 0:
            draw.rectangle(box, fill=fill)
        elif kind == 1:
            draw.ellipse(box, fill=fill)
        else:
            draw.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) / 2, box[1])],
                         fill=fill)
    # Grey noise, the same on the three channels: a third of the draws of colour noise, and
    # enough to keep flat areas and JPEG sizes realistic.
    pixels = np.array(img)
    pixels += np.frombuffer(rng.bytes(w * h), dtype=np.uint8).reshape(h, w, 1) >> 4
    return Image.fromarray(pixels, "RGB")


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """How a picture item is encoded: size, format and JPEG quality."""

    width: int
    height: int
    format: str  # "jpeg" | "png"
    quality: int

    @property
    def extension(self) -> str:
        """The file-name extension of the format."""
        return ".png" if self.format == "png" else ".jpg"


def image_spec(seed: int) -> ImageSpec:
    """The size (320x240 to 640x480, a fifth portrait) and format (one in twenty is PNG)."""
    rng = _rng(seed, _IMAGE)
    w, h = _SIZES[int(rng.choice(len(_SIZES), p=_SIZE_WEIGHTS))]
    if rng.random() < 0.2:
        w, h = h, w
    fmt = "png" if rng.random() < PNG_SHARE else "jpeg"
    return ImageSpec(w, h, fmt, int(rng.choice(_JPEG_QUALITIES)))


def encode_image(img: Image.Image, fmt: str, quality: int = 85) -> bytes:
    """Deterministic bytes of ``img``: baseline JPEG 4:2:0 or PNG at zlib level 1, no metadata."""
    out = io.BytesIO()
    if fmt == "png":
        img.save(out, format="PNG", compress_level=1)
    else:
        img.save(out, format="JPEG", quality=quality, subsampling="4:2:0", optimize=False,
                 progressive=False)
    return out.getvalue()


def image_bytes(seed: int) -> bytes:
    """The encoded picture of base ``seed`` (the variant bits are ignored)."""
    spec = image_spec(seed)
    return encode_image(scene(seed, (spec.width, spec.height)), spec.format, spec.quality)


def image_variant(seed: int, k: int) -> bytes:
    """Variant ``k`` >= 1 of the picture of ``seed``: the original decoded, then re-encoded
    (k = 1, 4, 7...), resized to 70-90 % (k = 2, 5...) or recoloured by 5-10 % (k = 3, 6...),
    always as JPEG; PDQ stays within a few bits of the original's."""
    if k < 1:
        raise UsageError(f"variant number must be at least 1, got {k}")
    rng = np.random.default_rng([seed & BASE_MASK, _VARIANT, k])
    with Image.open(io.BytesIO(image_bytes(seed))) as opened:
        img = opened.convert("RGB")
    form = (k - 1) % 3
    if form == 1:
        scale = float(rng.uniform(0.7, 0.9))
        img = img.resize((max(16, round(img.width * scale)), max(16, round(img.height * scale))),
                         Image.Resampling.BILINEAR)
    elif form == 2:
        factor = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(0.05, 0.10))
        img = ImageEnhance.Brightness(img).enhance(factor)
        img = ImageEnhance.Color(img).enhance(float(rng.uniform(0.8, 1.2)))
    return encode_image(img, "jpeg", int(rng.integers(60, 91)))


def other_bytes(seed: int) -> bytes:
    """Pseudo-random bytes, 1 KiB to 256 KiB (log-uniform): files of no recognisable format."""
    rng = _rng(seed, _OTHER)
    low, high = np.log(OTHER_SIZES[0]), np.log(OTHER_SIZES[1])
    return rng.bytes(int(np.exp(rng.uniform(low, high))))


def archive_members(seed: int) -> list[tuple[str, int]]:
    """(file name, picture seed) of the 2-5 pictures in the archive of ``seed``."""
    rng = _rng(seed, _ARCHIVE)
    count = int(rng.integers(2, 6))
    first = int(rng.integers(1, 9000))
    seeds = rng.integers(0, 1 << VARIANT_SHIFT, count)
    return [(f"IMG_{first + i:04d}{image_spec(int(s)).extension}", int(s))
            for i, s in enumerate(seeds)]


def archive_bytes(seed: int, *, variant: int = 0, members: list[bytes] | None = None) -> bytes:
    """A ZIP of :func:`archive_members`, dated 2005-2011 and stored or deflated by the seed.

    ``variant`` >= 1 re-packs the same pictures in reverse order with the other compression;
    ``members`` may pass the pictures' bytes when the caller has them already.
    """
    rng = _rng(seed, _ARCHIVE)
    listing = archive_members(seed)
    data = members if members is not None else [image_bytes(s) for _, s in listing]
    date = (int(rng.integers(2005, 2012)), int(rng.integers(1, 13)), int(rng.integers(1, 29)),
            int(rng.integers(0, 24)), int(rng.integers(0, 60)), 2 * int(rng.integers(0, 30)))
    deflate = bool(rng.random() < 0.5) != bool(variant % 2)
    order = list(range(len(listing)))
    if variant:
        order.reverse()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in order:
            info = zipfile.ZipInfo(listing[i][0], date_time=date)
            info.create_system = 0  # MS-DOS, as Windows tools write: not the host's value
            info.external_attr = 0x20  # the DOS "archive" attribute
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            archive.writestr(info, data[i], compresslevel=6 if deflate else None)
    return out.getvalue()


def media_bytes(media: str, seed: int) -> bytes:
    """The bytes of an item of kind ``media`` (see :data:`MEDIA`) and catalogue ``seed``.

    Variant seeds (see :func:`variant_seed`) give the variant's bytes. Raises
    :class:`UsageError` for an unknown kind, or a variant of an "other" file (which has none).
    """
    base, k = split_seed(seed)
    if media == "image":
        return image_bytes(base) if k == 0 else image_variant(base, k)
    if media == "video":
        from icarus.sim.clips import video_bytes  # PyAV is loaded only where videos are made

        return video_bytes(base, variant=k)
    if media == "archive":
        return archive_bytes(base, variant=k)
    if media == "other":
        if k:
            raise UsageError("an 'other' file has no perceptual variant")
        return other_bytes(base)
    raise UsageError(f"unknown media kind {media!r}; expected one of {', '.join(MEDIA)}")
