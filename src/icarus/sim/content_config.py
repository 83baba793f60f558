"""Parameters of the catalogue (:mod:`icarus.sim.content`), with defaults per scale.

Almost nothing here is published: the numbers are assumptions chosen to give Icarus a
realistic mix to work on, and ``docs/sim/content.md`` says which measurement, if any, each one
leans on. The catalogue is a scaled-down stand-in: RoundUp alone saw 120,418 distinct known
files on US Gnutella in a year (Wolak, Liberatore, Levine 2014).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from icarus.core.errors import ConfigError

STATUSES = ("known", "unknown-illicit", "benign")
"""Item statuses, in catalogue order."""


@dataclass(frozen=True)
class MediaMix:
    """Shares of pictures, videos, archives and other files (summing to 1)."""

    image: float
    video: float
    archive: float
    other: float

    def shares(self) -> tuple[float, float, float, float]:
        """The shares in :data:`icarus.sim.media.MEDIA` order."""
        return (self.image, self.video, self.archive, self.other)


@dataclass(frozen=True)
class ContentConfig:
    """How many items of each status, and how they are mixed (defaults: the tiny scale).

    Every share is an ASSUMPTION unless ``docs/sim/content.md`` cites a source for it.
    """

    known: int = 120
    """Items in the VICS hash set (top-level; pictures inside archives come on top)."""
    unknown_illicit: int = 40
    """Illicit items in no hash set: new material, and variants of known items."""
    benign: int = 140
    """Popular harmless files shared by the same peers (music, software, documents, photos)."""
    known_media: MediaMix = field(default_factory=lambda: MediaMix(0.64, 0.32, 0.04, 0.0))
    unknown_media: MediaMix = field(default_factory=lambda: MediaMix(0.58, 0.34, 0.04, 0.04))
    benign_media: MediaMix = field(default_factory=lambda: MediaMix(0.15, 0.10, 0.03, 0.72))
    vics_mix: tuple[float, float, float, float, float] = (0.04, 0.80, 0.10, 0.04, 0.02)
    """Known items by Project VIC US category 0 (non-pertinent), 1 (CSAM), 2 (exploitative or
    age difficult), 3 (CGI/animation), 4 (comparison)."""
    csam_severity: tuple[float, float, float] = (0.15, 0.60, 0.25)
    """CSAM items by Icarus severity low, medium, high (VICS carries none: Icarus sees
    medium for every category 1 item; the truth keeps the grade)."""
    variant_share: float = 0.3
    """Share of unknown illicit items that are variants of known CSAM pictures and videos."""
    torrent_share: float = 0.4
    """Share of videos, archives and other files that are also spread as a torrent."""
    torrent_share_image: float = 0.05
    """The same for single pictures (rarely torrented alone)."""
    core_median: float = 12.0
    """Median size of a network's core collection (lognormal)."""
    core_sigma: float = 0.7
    core_min: int = 3
    core_unknown_share: float = 0.2
    """Share of a core that is unknown illicit material (the network's own, unlisted items)."""

    def media_mix(self, status: str) -> tuple[float, float, float, float]:
        """The media shares of items of ``status``."""
        mix = {"known": self.known_media, "unknown-illicit": self.unknown_media,
               "benign": self.benign_media}
        return mix[status].shares()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first parameter that makes no sense."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and value < 0:
                raise ConfigError(f"content.{f.name} must not be negative, got {value}")
        for name in ("known_media", "unknown_media", "benign_media", "vics_mix",
                     "csam_severity"):
            value = getattr(self, name)
            shares = value.shares() if isinstance(value, MediaMix) else value
            if any(s < 0 for s in shares) or not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
                raise ConfigError(f"content.{name} must be shares summing to 1, got {shares}")
        for name in ("variant_share", "torrent_share", "torrent_share_image",
                     "core_unknown_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"content.{name} must be within 0-1, got {getattr(self, name)}")
        if self.core_median < 1 or self.core_sigma < 0:
            raise ConfigError("content.core_median must be >= 1 and core_sigma >= 0")


PRESETS: dict[str, ContentConfig] = {
    "tiny": ContentConfig(),
    "small": ContentConfig(known=1200, unknown_illicit=400, benign=1400),
    "medium": ContentConfig(known=2500, unknown_illicit=700, benign=3800),
    "large": ContentConfig(known=12000, unknown_illicit=3000, benign=15000),
}
"""The catalogue per world scale (top-level items; archives add their pictures)."""


def content_config(scale: str) -> ContentConfig:
    """The preset of ``scale`` (tiny, small, medium, large); :class:`ConfigError` otherwise."""
    try:
        return PRESETS[scale]
    except KeyError:
        raise ConfigError(
            f"unknown scale {scale!r}; expected one of {', '.join(PRESETS)}") from None
