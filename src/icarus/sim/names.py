"""Neutral file names for the catalogue: camera-style, numbered and everyday names only.

Names never describe content: pictures are ``IMG_2041.jpg``, videos ``clip_0193.mp4``, archives
``holiday_2009.zip``; benign popular files look like music, software and documents. Illicit and
benign pictures and videos draw from the same patterns, so a name tells nothing of an item's
status, as with real shared files.
"""

from __future__ import annotations

import numpy as np

_IMAGE = ("IMG_{n4}", "DSC{n5}", "photo_{n4}", "{date}_{time}", "image{n3}", "P{n7}")
_PNG = ("image_{n4}", "scan_{n3}", "picture_{n4}", "Screenshot_{n4}")
_VIDEO = ("clip_{n4}", "VID_{date}_{n4}", "MOV_{n4}", "video_{n3}", "movie_{n3}")
_ARCHIVE = ("holiday_{year}", "pack_{n3}", "backup_{n4}", "photos_{year}_{n2}", "album_{n3}")
_OTHER = ("file_{n4}.dat", "data_{n3}.bin", "part_{n3}.dat", "{n5}.tmp")
_BENIGN_OTHER = (
    "song_{n2}.mp3", "track_{n2}.mp3", "podcast_ep{n3}.mp3", "linux-distro-{major}.{minor:02d}.iso",
    "setup_{n3}.exe", "report_{year}_{n2}.pdf", "ebook_{n4}.epub", "game-demo-{major}.{minor}.exe",
    "wallpaper_pack_{n2}.bin", "driver_{major}.{minor}.{n2}.exe",
)


def _fields(rng: np.random.Generator) -> dict[str, object]:
    year = int(rng.integers(2005, 2012))
    month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
    n = int(rng.integers(0, 10_000_000))
    return {
        "n2": f"{n % 100:02d}", "n3": f"{n % 1000:03d}", "n4": f"{n % 10000:04d}",
        "n5": f"{n % 100000:05d}", "n7": f"{n:07d}", "year": year,
        "date": f"{year}{month:02d}{day:02d}",
        "time": f"{n % 24:02d}{n // 24 % 60:02d}{n // 1440 % 60:02d}",
        "major": int(rng.integers(1, 24)), "minor": int(rng.integers(0, 12)),
    }


def item_name(rng: np.random.Generator, media: str, status: str, extension: str = "") -> str:
    """A neutral file name for an item of ``media`` and ``status``.

    ``extension`` (with its dot) is the format's: ``.jpg`` or ``.png`` for pictures, ``.mp4``
    or ``.avi`` for videos; archives are ``.zip``; "other" files carry their pattern's.
    """
    fields = _fields(rng)
    patterns: tuple[str, ...]
    if media == "image":
        patterns, suffix = (_PNG, ".png") if extension == ".png" else (_IMAGE, ".jpg")
    elif media == "video":
        patterns, suffix = _VIDEO, extension or ".mp4"
    elif media == "archive":
        patterns, suffix = _ARCHIVE, ".zip"
    else:
        patterns, suffix = (_BENIGN_OTHER if status == "benign" else _OTHER), ""
    pattern = patterns[int(rng.integers(0, len(patterns)))]
    if pattern.startswith(("DSC", "P{")):
        suffix = suffix.upper()  # as cameras write them
    return pattern.format(**fields) + suffix
