"""Generated test pictures and videos: shapes, gradients and noise, deterministic from a seed.

Nothing here depicts people. Every picture is drawn by code from a seed, so tests can make as
many distinct (or identical) pictures as they need without committing binary files.

* :func:`synthetic_image` - a gradient background, a handful of random shapes, light noise.
  The same seed at different sizes gives the same picture, scaled (coordinates are relative).
* :func:`flat_image` - one colour: PDQ quality 0.
* :func:`write_video` - one generated scene per second, in any container/codec PyAV can write.
* :func:`reencode_video` - a degraded copy or a clip of a video, as a re-encoder would make it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.video.stream import VideoStream
from PIL import Image, ImageDraw

DEFAULT_SIZE = (320, 240)


def synthetic_image(
    seed: int, size: tuple[int, int] = DEFAULT_SIZE, *, shapes: int = 16, noise: float = 4.0
) -> Image.Image:
    """An RGB picture made of a colour gradient, ``shapes`` random shapes and Gaussian noise.

    Deterministic in (``seed``, ``size``, ``shapes``, ``noise``); different seeds give unrelated
    pictures (PDQ distance far above 31).
    """
    rng = np.random.default_rng(seed)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx / width) * math.cos(angle) + (yy / height) * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    start, end = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    background = start + (end - start) * ramp[..., None]
    img = Image.fromarray(background.astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(img)
    for _ in range(shapes):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, x1 = sorted(rng.uniform(-0.1, 1.1, 2) * width)
        y0, y1 = sorted(rng.uniform(-0.1, 1.1, 2) * height)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            points = [(float(x * width), float(y * height)) for x, y in rng.uniform(0, 1, (5, 2))]
            draw.polygon(points, fill=colour)

    if noise > 0:
        noisy = np.asarray(img, dtype=np.float64) + rng.normal(0.0, noise, (height, width, 3))
        img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")
    return img


def flat_image(
    colour: tuple[int, int, int] = (128, 128, 128), size: tuple[int, int] = DEFAULT_SIZE
) -> Image.Image:
    """A picture of one colour: nothing for PDQ to describe (quality 0)."""
    return Image.new("RGB", size, colour)


@dataclass(frozen=True, slots=True)
class VideoFormat:
    """A container and a codec PyAV's FFmpeg can write, with a frame size the codec accepts."""

    extension: str
    container: str
    codec: str
    size: tuple[int, int] = DEFAULT_SIZE
    pixel_format: str = "yuv420p"


VIDEO_FORMATS: dict[str, VideoFormat] = {
    f.extension: f
    for f in (
        VideoFormat("mp4", "mp4", "libx264"),
        VideoFormat("avi", "avi", "mpeg4"),
        VideoFormat("mkv", "matroska", "libx264"),
        VideoFormat("wmv", "asf", "wmv2"),
        VideoFormat("flv", "flv", "flv"),
        # H.263 only allows a few frame sizes; CIF is one of them.
        VideoFormat("3gp", "3gp", "h263", size=(352, 288)),
        VideoFormat("mov", "mov", "libx264"),
        VideoFormat("webm", "webm", "libvpx"),
        VideoFormat("mpg", "mpeg", "mpeg2video"),
        VideoFormat("m4v", "mp4", "mpeg4"),
    )
}


def write_video(
    path: Path,
    seeds: Sequence[int],
    *,
    fmt: VideoFormat | None = None,
    size: tuple[int, int] | None = None,
    fps: int = 10,
    bit_rate: int = 800_000,
) -> Path:
    """Write a video showing ``synthetic_image(seed)`` for one second per seed, in order.

    The container and codec come from ``fmt`` (by default from ``path``'s extension, see
    :data:`VIDEO_FORMATS`); ``size`` overrides the format's frame size. Each scene drifts
    sideways within its second so that the encoder sees motion, as in a real video.
    """
    fmt = fmt or VIDEO_FORMATS[path.suffix.lower().lstrip(".")]
    width, height = size or fmt.size

    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        for seed in seeds:
            scene = np.asarray(synthetic_image(seed, (width + fps, height)))
            for offset in range(fps):
                yield np.ascontiguousarray(scene[:, offset : offset + width])

    return _encode(path, frames(), fmt=fmt, size=(width, height), fps=fps, bit_rate=bit_rate)


def reencode_video(
    source: Path,
    target: Path,
    *,
    size: tuple[int, int] | None = None,
    bit_rate: int = 800_000,
    start: float = 0.0,
    end: float | None = None,
    fmt: VideoFormat | None = None,
) -> Path:
    """Decode ``source`` and encode its frames from ``start`` to ``end`` seconds into ``target``.

    With a smaller ``size`` or ``bit_rate`` this is a degraded copy; with ``start``/``end`` a
    clip. The frame rate is kept; the clip's time starts again at 0.
    """
    fmt = fmt or VIDEO_FORMATS[target.suffix.lower().lstrip(".")]
    with av.open(str(source)) as src:
        video = src.streams.video[0]
        fps = round(video.average_rate or 10)
        width, height = size or (video.codec_context.width, video.codec_context.height)

        def frames() -> Iterator[npt.NDArray[np.uint8]]:
            for frame in src.decode(video):
                if frame.time is None or frame.time < start - 1e-6:
                    continue
                if end is not None and frame.time >= end - 1e-6:
                    return
                rgb = frame.reformat(width=width, height=height, format="rgb24")
                yield np.asarray(rgb.to_ndarray(), dtype=np.uint8)

        return _encode(target, frames(), fmt=fmt, size=(width, height), fps=fps, bit_rate=bit_rate)


def _encode(
    path: Path,
    frames: Iterable[npt.NDArray[np.uint8]],
    *,
    fmt: VideoFormat,
    size: tuple[int, int],
    fps: int,
    bit_rate: int,
) -> Path:
    with av.open(str(path), mode="w", format=fmt.container) as container:
        stream = container.add_stream(fmt.codec, rate=fps)
        if not isinstance(stream, VideoStream):
            raise TypeError(f"{fmt.codec} is not a video codec")
        stream.width, stream.height = size
        stream.pix_fmt = fmt.pixel_format
        stream.bit_rate = bit_rate
        stream.time_base = Fraction(1, fps)
        for pts, pixels in enumerate(frames):
            # Fresh frames with our own timing: a decoded frame's metadata confuses some muxers.
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
