"""Settings of one Icarus installation, validated when a command starts.

Sources, highest first: environment variables ``ICARUS_<NAME>``, then ``icarus.toml`` in the
workspace (``ICARUS_HOME``, default ``./icarus-data``), then the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from icarus.core.errors import ConfigError

DEFAULT_HOME = Path("icarus-data")


class Settings(BaseSettings):
    """Every setting, with its default and its bounds."""

    model_config = SettingsConfigDict(env_prefix="ICARUS_", extra="forbid", frozen=True)

    home: Path = Field(default=DEFAULT_HOME, description="The workspace directory.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level written to the workspace log."
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        description="Parallel workers for hashing, scanning and reading sighting files "
        "(default: all cores).",
    )
    ed2k_variant: Literal["red", "blue"] = Field(
        default="red",
        description="ed2k for sizes that are exact multiples of 9,728,000 bytes: "
        "'red' as eMule computes it, 'blue' without the trailing empty part.",
    )
    pdq_radius: int = Field(
        default=31, ge=0, le=128, description="Default PDQ match radius (inclusive, bits)."
    )
    pdq_min_quality: int = Field(
        default=50, ge=0, le=100, description="PDQ hashes of lower quality are not matched."
    )
    vpdq_query_percent: float = Field(
        default=80.0, ge=0, le=100, description="vPDQ: share of query frames that must match."
    )
    vpdq_compared_percent: float = Field(
        default=0.0, ge=0, le=100, description="vPDQ: share of bank frames that must match."
    )

    sightings_keep_unmatched: bool = Field(
        default=False,
        description="Research only: also keep sightings of content in no alert set in the "
        "dataset (by default they are counted, and kept only briefly, reduced, for candidate "
        "discovery: see sightings_unmatched_days).",
    )
    sightings_unmatched_days: int | None = Field(
        default=30, ge=1,
        description="Days a sighting of content in no alert set stays in the short-lived "
        "unmatched area for candidate discovery, counted from its ingest (none: not kept).",
    )
    sightings_retention_days: int | None = Field(
        default=None, ge=1,
        description="`icarus sightings purge` removes observation days older than this "
        "(none: kept).",
    )
    database_url: str | None = Field(
        default=None,
        description="The coordination database, an SQLAlchemy URL such as "
        "postgresql+psycopg://user@host/db (none: SQLite file <home>/coord.sqlite).",
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60,
        description="A web session unused for this many minutes ends (log in again).",
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, le=7 * 24,
        description="A web session ends this many hours after login, however busy.",
    )
    session_cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only (turn off only for plain-http "
        "development on localhost).",
    )
    login_address_max_failures: int = Field(
        default=20, ge=1, le=10_000,
        description="Failed logins from one client address (an IPv6 client: its /64) within "
        "login_address_window_minutes after which that address is refused for "
        "login_address_block_minutes, before any password is checked.",
    )
    login_address_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60,
        description="The window in which failed logins from one address are counted.",
    )
    login_address_block_minutes: int = Field(
        default=15, ge=1, le=24 * 60,
        description="How long an address that failed too often is refused (HTTP 429).",
    )
    web_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=64 * 1_048_576,
        description="Largest request body the web server accepts (larger: HTTP 413).",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def log_path(self) -> Path:
        """The structured log of this workspace."""
        return self.home / "logs" / "icarus.log"

    @property
    def bank_dir(self) -> Path:
        """Where the bank keeps its hash sets and indexes."""
        return self.home / "bank"


def _toml_settings(home: Path) -> dict[str, Any]:
    path = home / "icarus.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    section = data.get("icarus", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [icarus] must be a table")
    return section


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raises :class:`ConfigError` naming the bad value."""
    home = Path(overrides.get("home") or os.environ.get("ICARUS_HOME") or DEFAULT_HOME)
    values = _toml_settings(home.expanduser())
    env_names = {k[len("ICARUS_") :].lower() for k in os.environ if k.startswith("ICARUS_")}
    values = {k: v for k, v in values.items() if k not in env_names}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
