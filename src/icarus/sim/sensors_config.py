"""Parameters of the sensors stage (:mod:`icarus.sim.sensors`), with presets per scale.

Nothing here is a published measurement: which sensors exist, what share of sessions each sees
and how noisy its files are are ASSUMPTIONS chosen to give ingest a realistic job. The one
anchor is what sensors were reported to record (time, address, SHA-1, file name per computer:
Peer Spectre; single-source downloads as the court-grade evidence: US v. Budziak 2012), which
fixes the fields and the rarity of ``download-verified``. See ``docs/formats/tool-exports.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from icarus.core.errors import ConfigError
from icarus.sim.formats import STYLE_NAMES
from icarus.sim.formats.noise import NoiseConfig

SENSOR_NETWORKS = {"edonkey": "edonkey", "kad": "edonkey", "gnutella": "gnutella",
                   "bittorrent": "bittorrent"}
"""A sensor's network -> the installations it observes (eMule is on eDonkey and Kad at once)."""

SCALE_TARGETS = {"tiny": 6_000, "small": 60_000, "medium": 1_000_000, "large": 10_000_000}
"""Records (before noise) the sensors write in all, per scale. Tiny and small worlds have few
sessions (about 1,500 and 19,000), so their targets keep items per observed session near the
default of 3 rather than inflating it; medium and large are the issue's volume targets."""


@dataclass(frozen=True)
class SensorSpec:
    """One sensor: who runs it, what it watches, how it writes, how wrong its clock is."""

    name: str
    """The file stem (``sightings/<name>.<ext>``) and the ``sensor`` value; [a-z0-9-]."""
    network: str
    """edonkey | kad | gnutella | bittorrent."""
    country: str
    """ISO 3166-1 alpha-2 code of the agency running it (metadata: sensors see the world)."""
    style: str
    """v1 | tool-a | tool-b."""
    weight: float = 1.0
    """Its share of the records, relative to the other sensors'."""
    skew_s: float = 0.0
    """Its clock's offset, added to every ``observed_at`` (seconds; negative = slow)."""
    truncated: bool = False
    """Whether its file ends in a cut last line (the collector died while writing)."""
    sha1_base32: bool = True
    """v1 Gnutella sensors: SHA-1 in ``urn:sha1`` base32 (true) or lower-case hex."""

    def __post_init__(self) -> None:
        where = f"sensors: sensor {self.name!r}"
        if not self.name or not all(c.isascii() and (c.isalnum() or c == "-") for c in self.name):
            raise ConfigError(f"{where}: the name must be ASCII letters, digits and '-'")
        if self.name != self.name.lower():
            raise ConfigError(f"{where}: the name must be lower-case")
        if self.network not in SENSOR_NETWORKS:
            raise ConfigError(f"{where}: network must be one of {', '.join(SENSOR_NETWORKS)}")
        if self.style not in STYLE_NAMES:
            raise ConfigError(f"{where}: style must be one of {', '.join(STYLE_NAMES)}")
        if not (self.weight > 0 and math.isfinite(self.weight) and math.isfinite(self.skew_s)):
            raise ConfigError(f"{where}: weight must be > 0 and skew_s finite")


@dataclass(frozen=True)
class EvidenceMix:
    """How strong the records are. The three weaker levels split every record by their
    relative weights; ``download_verified`` is the share of a distributor's records of illicit
    items that are single-source downloads instead (benign items and non-distributors: never)."""

    advertised: float = 0.62
    browsed: float = 0.25
    handshake: float = 0.13
    download_verified: float = 0.05

    def __post_init__(self) -> None:
        weights = (self.advertised, self.browsed, self.handshake)
        if min(weights) < 0 or sum(weights) <= 0 or not 0 <= self.download_verified <= 1:
            raise ConfigError("sensors.evidence: weights must be >= 0 (not all 0), "
                              "download_verified in [0, 1]")


BASE_SENSORS = (
    SensorSpec("dk-ed2k-1", "edonkey", "DK", "v1", weight=1.2, skew_s=1.8),
    SensorSpec("de-kad-1", "kad", "DE", "tool-a", weight=0.8, skew_s=-42.5, truncated=True),
    SensorSpec("nl-gnut-1", "gnutella", "NL", "tool-b", weight=0.9, skew_s=7.25),
    SensorSpec("se-gnut-2", "gnutella", "SE", "v1", weight=0.6, skew_s=-3.1, truncated=True),
    SensorSpec("fr-bt-1", "bittorrent", "FR", "tool-a", weight=1.0, skew_s=95.0),
    SensorSpec("es-bt-2", "bittorrent", "ES", "tool-b", weight=0.7, skew_s=-12.4,
               truncated=True),
)
"""Every scale's sensors: each network, each style, three truncated files."""

MEDIUM_SENSORS = (
    *BASE_SENSORS,
    SensorSpec("pl-ed2k-2", "edonkey", "PL", "tool-b", weight=1.0, skew_s=-150.0),
    SensorSpec("it-gnut-3", "gnutella", "IT", "v1", weight=0.6, skew_s=31.0, sha1_base32=False),
)
LARGE_SENSORS = (
    *MEDIUM_SENSORS,
    SensorSpec("dk-kad-2", "kad", "DK", "v1", weight=0.8, skew_s=0.4),
    SensorSpec("be-bt-3", "bittorrent", "BE", "v1", weight=0.9, skew_s=-64.0, truncated=True),
)
SCALE_SENSORS = {"tiny": BASE_SENSORS, "small": BASE_SENSORS, "medium": MEDIUM_SENSORS,
                 "large": LARGE_SENSORS}


@dataclass(frozen=True)
class SensorsConfig:
    """The sensors stage's parameters (defaults: the tiny scale; see :meth:`for_scale`)."""

    target_records: int = SCALE_TARGETS["tiny"]
    """Records all sensors write together, before noise; the sampling is calibrated to it."""
    sensors: tuple[SensorSpec, ...] = BASE_SENSORS
    items_per_session: float = 3.0
    """Mean items recorded per observed session (1 + Poisson); raised if sessions run short."""
    benign_session_factor: float = 0.1
    """A benign person's session is this many times as likely to be observed (sensors hunt
    for suspect content, so they meet benign peers less)."""
    rename_rate: float = 0.1
    """Share of (person, item) pairs whose copy carries another name than the catalogue's."""
    item_gap_s: float = 20.0
    """Mean seconds between successive items recorded in one session."""
    pick_attempts: int = 8
    """Draws per item among the person's shares before giving up (inactive shares rejected)."""
    chunk_sessions: int = 65_536
    """Sessions generated per step (bounds memory; changing it changes the output)."""
    evidence: EvidenceMix = field(default_factory=EvidenceMix)
    noise: NoiseConfig = field(default_factory=NoiseConfig)

    def __post_init__(self) -> None:
        names = [s.name for s in self.sensors]
        if not names or len(set(names)) != len(names):
            raise ConfigError("sensors: at least one sensor, names unique")
        if self.target_records < 0 or self.items_per_session < 1 or self.pick_attempts < 1:
            raise ConfigError("sensors: target_records >= 0, items_per_session >= 1, "
                              "pick_attempts >= 1")
        if self.benign_session_factor < 0 or not 0 <= self.rename_rate <= 1:
            raise ConfigError("sensors: benign_session_factor >= 0, rename_rate in [0, 1]")
        if self.item_gap_s < 0 or self.chunk_sessions < 1:
            raise ConfigError("sensors: item_gap_s >= 0, chunk_sessions >= 1")

    @classmethod
    def for_scale(cls, scale: str, overrides: Mapping[str, Any] | None = None) -> SensorsConfig:
        """The preset of ``scale`` with a ``[sensors]`` TOML table's ``overrides`` applied.

        ``overrides`` may set any field; ``evidence`` and ``noise`` are sub-tables, ``sensors``
        a list of tables (replacing the preset's list). Unknown keys raise ConfigError.
        """
        if scale not in SCALE_TARGETS:
            raise ConfigError(f"sensors: unknown scale {scale!r}")
        base = cls(target_records=SCALE_TARGETS[scale], sensors=SCALE_SENSORS[scale])
        out: SensorsConfig = override_dataclass(base, dict(overrides or {}), "sensors")
        return out


def override_dataclass(current: Any, table: dict[str, Any], where: str) -> Any:
    """``current`` (a frozen dataclass) with a TOML table applied; ConfigError names the key."""
    fields = {f.name: f for f in dataclasses.fields(current)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(fields)})")
        old = getattr(current, key)
        if key == "sensors":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{where}.sensors: expected a list of tables")
            try:
                values[key] = tuple(SensorSpec(**v) for v in value)
            except TypeError as exc:
                raise ConfigError(f"{where}.sensors: {exc}") from None
        elif dataclasses.is_dataclass(old):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key}: expected a table")
            values[key] = override_dataclass(old, value, f"{where}.{key}")
        else:
            values[key] = _coerce(value, old, f"{where}.{key}")
    try:
        return dataclasses.replace(current, **values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(value: Any, old: Any, where: str) -> Any:
    if isinstance(old, bool) or isinstance(value, bool):
        ok = isinstance(old, bool) and isinstance(value, bool)
    elif isinstance(old, int):
        ok = isinstance(value, int)
    elif isinstance(old, float):
        ok = isinstance(value, int | float) and math.isfinite(value)
        value = float(value) if ok else value
    elif isinstance(old, tuple):
        ok = isinstance(value, list) and len(value) == len(old)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, type(old))
    if not ok:
        raise ConfigError(f"{where}: expected a value like {old!r}, got {value!r}")
    return value
