"""The synthetic world's parameters: defaults, scale presets and TOML overrides.

``load_config(scale, overrides, seed=N)`` starts from the scale's preset and applies a TOML file
whose tables mirror the dataclasses below (``[population]`` ``people = 5000`` ...). Unknown keys
and wrong types are refused with a ConfigError naming the file and the key. Every parameter, its
meaning and its source is listed in ``docs/sim/parameters.md``. ``config_to_toml`` writes the
effective configuration (byte-identical for equal configurations) into the world.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from icarus.core.errors import ConfigError
from icarus.sim.geo import COUNTRY_SETS

__all__ = [
    "EXTRA_TABLES", "SCALES", "BehaviourConfig", "ClientsConfig", "GeoConfig",
    "PopulationConfig", "WindowConfig", "WorldConfig", "config_to_toml", "load_config", "preset",
]

SCALES = ("tiny", "small", "medium", "large")


def _p(default: Any, lo: float | None = None, hi: float | None = None) -> Any:
    """A parameter with inclusive bounds, checked by ``load_config``."""
    return field(default=default, metadata={"lo": lo, "hi": hi})


def _share(default: float) -> Any:
    return _p(default, 0.0, 1.0)


@dataclass(frozen=True)
class WindowConfig:
    """The observation window: ``days`` whole days from ``start`` (UTC)."""

    start: datetime = datetime(2024, 4, 1, tzinfo=UTC)
    days: int = _p(30, 1, 3660)


@dataclass(frozen=True)
class GeoConfig:
    """Countries and the pools of anonymiser endpoints."""

    countries: str = "operation"  # operation (26 countries) | world (40)
    vpn_endpoints: int = _p(40, 1)  # distinct VPN server addresses in the world
    tor_exits: int = _p(30, 1)  # distinct Tor-exit-like addresses in the world


@dataclass(frozen=True)
class PopulationConfig:
    """People, roles, anonymisers, NAT, address leases and hidden sharing networks."""

    people: int = _p(3000, 1)
    benign_share: float = _share(0.5)  # people who share benign files only
    distributor_share: float = _share(0.1)  # of offenders (the others are downloaders)
    anonymiser_offender_share: float = _share(0.16)  # ~1 in 6 offenders (CRC x GeoComply)
    anonymiser_benign_share: float = _share(0.08)  # ~8 % of P2P IPs anonymised (same)
    tor_share: float = _share(0.3)  # of anonymiser users, Tor rather than a VPN
    anonymiser_leak_share: float = _share(0.9)  # ever connect from home (Hurley 2013: >90 %)
    nat_share: float = _share(0.06)  # people sharing a home address with others
    nat_group_max: int = _p(4, 2, 64)
    static_share: float = _share(0.2)  # home addresses that never change
    lease_days_min: float = _p(1.0, 0.01)  # typical lease length, log-uniform in [min, max]
    lease_days_max: float = _p(30.0, 0.01)
    vpn_switch_days: float = _p(3.0, 0.01)  # mean days before a VPN user changes server
    networks: int = _p(12, 0)  # hidden sharing networks
    network_member_share: float = _share(0.35)  # of offenders, members of some network
    network_size_alpha: float = _p(1.2, 0.1, 10.0)  # Pareto tail of network sizes
    known_network_share: float = _share(0.5)  # networks named by earlier intelligence
    intel_member_share: float = _share(0.3)  # members of known networks named earlier
    intel_other_share: float = _share(0.02)  # other offenders named earlier


@dataclass(frozen=True)
class ClientsConfig:
    """Client installations and their identifiers."""

    edonkey_weight: float = _p(0.45, 0.0)  # network mix of installations (relative)
    gnutella_weight: float = _p(0.2, 0.0)
    bittorrent_weight: float = _p(0.35, 0.0)
    second_install_share: float = _share(0.12)  # people with a second network's client
    low_id_share: float = _share(0.3)  # eDonkey installations behind a firewall
    custom_nickname_share: float = _share(0.35)  # eDonkey users who set a nickname
    default_nickname_share: float = _share(0.45)  # eDonkey users keeping the client's default
    random_port_share: float = _share(0.6)  # installations not on the default port


@dataclass(frozen=True)
class BehaviourConfig:
    """What people share and when they are online."""

    files_alpha: float = _p(1.21, 0.2, 5.0)  # P(known files >= x) = x^-alpha (Wolak 2014)
    distributor_bias: float = _share(0.5)  # how strongly distributors get the larger libraries
    popularity_exponent: float = _p(0.8, 0.0, 5.0)  # Zipf popularity of catalogue items
    offender_without_known_share: float = _share(0.03)  # offenders sharing no known item
    core_share: float = _share(0.7)  # chance a member shares each core item of its network
    unknown_per_member: float = _p(1.5, 0.0)  # mean unknown-illicit items a member co-shares
    stray_unknown_share: float = _share(0.05)  # non-members sharing an unknown-illicit item
    benign_files_mean: float = _p(6.0, 0.0)  # benign items of a benign person (mean)
    offender_benign_files_mean: float = _p(2.0, 0.0)  # benign items of an offender (mean)
    span_alpha: float = _p(0.8, 0.05, 10.0)  # P(active span >= d days) = d^-alpha
    distributor_span_alpha: float = _p(0.4, 0.05, 10.0)
    active_day_share: float = _share(0.6)  # mean share of days online within the span
    sessions_per_day_alpha: float = _p(2.0, 0.1, 10.0)  # P(sessions >= k) = k^-alpha
    session_hours_median: float = _p(2.0, 0.01, 24.0)
    session_hours_sigma: float = _p(1.0, 0.0, 5.0)  # lognormal spread of session length
    anonymised_session_share: float = _share(0.85)  # of a leaking anonymiser user's sessions
    whole_span_share: float = _share(0.7)  # shares kept over the person's whole activity


EXTRA_TABLES = ("content", "sensors", "hashsets", "exhibits")
"""Other stages' tables, kept verbatim in ``WorldConfig.extra`` until they have dataclasses."""


@dataclass(frozen=True)
class WorldConfig:
    """Everything that, with the seed, determines a world."""

    seed: int
    scale: str
    window: WindowConfig = field(default_factory=WindowConfig)
    geo: GeoConfig = field(default_factory=GeoConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    clients: ClientsConfig = field(default_factory=ClientsConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    # Other stages' configs go here as typed fields (content, sensors, exhibits, ...): add the
    # dataclass, a field, and its name to _SECTIONS; the loader and writer follow.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        """The end of the observation window (exclusive)."""
        return self.window.start + timedelta(days=self.window.days)


_SECTIONS = ("window", "geo", "population", "clients", "behaviour")

_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {"window": {"days": 14}, "geo": {"vpn_endpoints": 12, "tor_exits": 8},
             "population": {"people": 300, "networks": 4}},
    "small": {"window": {"days": 30}, "geo": {"vpn_endpoints": 40, "tor_exits": 30},
              "population": {"people": 3000, "networks": 12}},
    "medium": {"window": {"days": 60}, "geo": {"vpn_endpoints": 150, "tor_exits": 100},
               "population": {"people": 15000, "networks": 40}},
    "large": {"window": {"days": 90}, "geo": {"vpn_endpoints": 800, "tor_exits": 400},
              "population": {"people": 120000, "networks": 200}},
}


def preset(scale: str, *, seed: int) -> WorldConfig:
    """The defaults of ``scale`` (tiny, small, medium or large)."""
    if scale not in _PRESETS:
        raise ConfigError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    return _apply(WorldConfig(seed=seed, scale=scale), _PRESETS[scale], f"<preset {scale}>")


def load_config(scale: str, overrides: Path | None = None, *, seed: int) -> WorldConfig:
    """The preset of ``scale`` with the TOML file ``overrides`` applied, checked.

    Top-level ``seed`` and ``scale`` keys (as ``config_to_toml`` writes them) are accepted when
    they agree with the arguments, so a world's ``config.toml`` can be fed back as overrides.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    cfg = preset(scale, seed=seed)
    if overrides is None:
        return cfg
    try:
        doc = tomllib.loads(Path(overrides).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{overrides}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{overrides}: not valid TOML: {exc}") from exc
    for key, want in (("seed", seed), ("scale", scale)):
        if key in doc and doc.pop(key) != want:
            raise ConfigError(f"{overrides}: key '{key}' disagrees with the command line "
                              f"({want!r})")
    return _apply(cfg, doc, str(overrides))


def _apply(cfg: WorldConfig, doc: dict[str, Any], source: str) -> WorldConfig:
    changes: dict[str, Any] = {}
    extra = dict(cfg.extra)
    for name, table in doc.items():
        if name in EXTRA_TABLES:
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: '{name}' must be a table")
            extra[name] = table
            continue
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown key '{name}' (tables: "
                              f"{', '.join(_SECTIONS + EXTRA_TABLES)})")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{name}' must be a table")
        changes[name] = _section(getattr(cfg, name), table, f"{source}: {name}")
    out = dataclasses.replace(cfg, extra=extra, **changes)
    _check_relations(out, source)
    return out


def _section(current: Any, table: dict[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(current)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(fields)})")
        values[key] = _coerce(value, type(getattr(current, key)), f"{where}.{key}")
        meta = fields[key].metadata
        lo, hi = meta.get("lo"), meta.get("hi")
        if (lo is not None and values[key] < lo) or (hi is not None and values[key] > hi):
            raise ConfigError(f"{where}.{key}: {values[key]!r} is outside [{lo}, {hi}]")
    return dataclasses.replace(current, **values)


def _coerce(value: Any, want: type, where: str) -> Any:
    if want is bool:
        ok = isinstance(value, bool)
    elif want is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif want is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
        ok = ok and math.isfinite(value)
    elif want is datetime:
        ok = isinstance(value, datetime) and value.tzinfo is not None
        if ok:
            value = value.astimezone(UTC)
    else:
        ok = isinstance(value, want)
    if not ok:
        hint = " with a UTC offset, e.g. 2024-04-01T00:00:00Z" if want is datetime else ""
        raise ConfigError(f"{where}: expected {want.__name__}{hint}, got {value!r}")
    return value


def _check_relations(cfg: WorldConfig, source: str) -> None:
    pop, cl = cfg.population, cfg.clients
    if cfg.geo.countries not in COUNTRY_SETS:
        raise ConfigError(f"{source}: geo.countries must be one of {', '.join(COUNTRY_SETS)}")
    if pop.lease_days_min > pop.lease_days_max:
        raise ConfigError(f"{source}: population.lease_days_min exceeds lease_days_max")
    if cl.edonkey_weight + cl.gnutella_weight + cl.bittorrent_weight <= 0:
        raise ConfigError(f"{source}: clients: the network weights must not all be 0")
    if cl.custom_nickname_share + cl.default_nickname_share > 1:
        raise ConfigError(f"{source}: clients: nickname shares add up to more than 1")


def config_to_toml(cfg: WorldConfig) -> str:
    """The configuration as TOML; equal configurations give identical text."""
    lines = [f"seed = {cfg.seed}", f"scale = {_toml_value(cfg.scale)}"]
    for name in _SECTIONS:
        section = getattr(cfg, name)
        lines += ["", f"[{name}]"]
        lines += [f"{f.name} = {_toml_value(getattr(section, f.name))}"
                  for f in dataclasses.fields(section)]
    for name in sorted(cfg.extra):
        _toml_table(lines, name, cfg.extra[name])
    return "\n".join(lines) + "\n"


def _toml_table(lines: list[str], name: str, table: dict[str, Any]) -> None:
    lines += ["", f"[{name}]"]
    subtables = []
    for key in sorted(table):
        if isinstance(table[key], dict):
            subtables.append(key)
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(table[key])}")
    for key in subtables:
        _toml_table(lines, f"{name}.{_toml_key(key)}", table[key])


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else
                                                          ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {type(value).__name__} {value!r} as TOML")
