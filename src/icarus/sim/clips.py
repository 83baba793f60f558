"""Short synthetic video clips: one generated scene per second, MP4 or AVI, from a seed.

Each second of a clip shows one :func:`icarus.sim.media.scene`, drifting sideways so that the
encoder sees motion; vPDQ (one frame a second) therefore gets one distinct frame per second.
Encoding is pinned for reproducible bytes: one encoder thread (x264's output depends on the
thread count), fixed presets, CRF or bit rate, fixed timing, no timestamps; the same PyAV/FFmpeg
version gives the same bytes. Clips are MP4 with H.264 (libx264) or AVI with MPEG-4 Part 2 (the
XviD/DivX kind common on file-sharing networks of the time).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.stream import VideoStream
from PIL import Image

from icarus.core.errors import InternalError
from icarus.identify.vpdq import VpdqFrame, vpdq_file
from icarus.sim.media import BASE_MASK, scene

FPS = 2
"""Frames a second: few, to keep clips cheap; vPDQ samples one a second anyway."""
_SIZES = ((160, 120), (320, 240))
_SIZE_WEIGHTS = (0.9, 0.1)
SECONDS = (4, 8)
"""Shortest and longest clip, seconds."""
_CLIP = 6


@dataclass(frozen=True, slots=True)
class VideoSpec:
    """How a clip is made: frame size, length, container and codec, and quality."""

    width: int
    height: int
    seconds: int
    container: str  # "mp4" (H.264, libx264) | "avi" (MPEG-4 Part 2, as XviD/DivX files are)
    quality: int
    """libx264 CRF, or the MPEG-4 bit rate in kbit/s."""

    @property
    def extension(self) -> str:
        """The file-name extension of the container."""
        return "." + self.container


def video_spec(seed: int, variant: int = 0) -> VideoSpec:
    """The clip of ``seed``: 160x120 (90 %) or 320x240, 4-8 s, MP4/H.264 (60 %) or AVI/MPEG-4.

    A variant (``variant`` >= 1) is a transcode: the other container and codec, three quarters
    of the size, lower quality.
    """
    rng = np.random.default_rng([seed & BASE_MASK, _CLIP])
    w, h = _SIZES[int(rng.choice(len(_SIZES), p=_SIZE_WEIGHTS))]
    seconds = int(rng.integers(SECONDS[0], SECONDS[1] + 1))
    mp4 = bool(rng.random() < 0.6)
    if variant:
        mp4 = not mp4
        # Both codecs need even sides with 4:2:0 chroma.
        w, h = w * 3 // 4 // 2 * 2, h * 3 // 4 // 2 * 2
    if mp4:
        return VideoSpec(w, h, seconds, "mp4", 26 + 6 * bool(variant) + variant % 3)
    return VideoSpec(w, h, seconds, "avi", (160 if variant else 240) * w // 160)


def video_bytes(seed: int, *, variant: int = 0) -> bytes:
    """The bytes of the clip of ``seed`` (or of its transcoded variant ``variant``)."""
    spec = video_spec(seed, variant)
    base = video_spec(seed)  # scenes are drawn at the original's size: a variant shows the same
    w, h = spec.width, spec.height
    scenes = np.random.default_rng([seed & BASE_MASK, _CLIP, 1]).integers(
        0, 1 << 56, spec.seconds)
    out = io.BytesIO()
    with av.open(out, mode="w", format=spec.container) as container:
        if spec.container == "mp4":
            stream = container.add_stream(
                "libx264", rate=FPS, options={"preset": "ultrafast", "crf": str(spec.quality)})
        else:
            stream = container.add_stream("mpeg4", rate=FPS)
        if not isinstance(stream, VideoStream):
            raise InternalError("the encoder did not give a video stream")
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, FPS)
        if spec.container == "avi":
            stream.bit_rate = spec.quality * 1000
        stream.codec_context.thread_count = 1  # encoders' output depends on their thread count
        drift = max(1, base.width // 80)
        step = max(1, drift * w // base.width)
        pts = 0
        for scene_seed in scenes:
            wide = scene(int(scene_seed), (base.width + drift * FPS, base.height))
            if (w, h) != (base.width, base.height):
                wide = wide.resize((w + step * FPS, h), Image.Resampling.BILINEAR)
            pixels = np.asarray(wide)
            for offset in range(FPS):
                frame = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(pixels[:, offset * step : offset * step + w]),
                    format="rgb24")
                frame.pts = pts
                pts += 1
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def video_vpdq(data: bytes) -> tuple[VpdqFrame, ...]:
    """vPDQ frames (one a second) of MP4 ``data``, as Icarus computes them from a file.

    The reference hasher reads only files, so the bytes go through a temporary file that is
    removed at once. Raises :class:`InternalError` if the clip cannot be hashed.
    """
    with tempfile.TemporaryDirectory(prefix="icarus-clip-") as tmp:
        path = Path(tmp) / ("clip.avi" if data[:4] == b"RIFF" else "clip.mp4")
        path.write_bytes(data)
        outcome = vpdq_file(path, threads=1)
    if outcome.error is not None:
        raise InternalError(f"a generated clip could not be hashed: {outcome.error}")
    return outcome.frames
