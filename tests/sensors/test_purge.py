"""Retention: whole observation days older than sightings_retention_days are purged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from icarus.core.settings import Settings
from icarus.sensors.dataset import query
from icarus.sensors.ingest import ingest_files, purge_expired
from tests.sensors.conftest import banked_settings, world_files


def _days(settings: Settings) -> list[str]:
    table = query(settings, "SELECT DISTINCT CAST(day AS VARCHAR) AS d FROM sightings ORDER BY d")
    return [str(d) for d in table["d"].to_pylist()]


def test_purge_removes_only_days_past_the_retention(world: Path, tmp_path: Path) -> None:
    settings = banked_settings(tmp_path / "home", world)
    ingest_files(settings, world_files(world))
    days = _days(settings)
    assert len(days) > 3
    # no retention set: nothing goes
    assert purge_expired(settings).rows == 0 and _days(settings) == days
    cutoff = datetime.fromisoformat(days[2]).replace(tzinfo=UTC)
    kept = settings.model_copy(update={"sightings_retention_days": 1})
    report = purge_expired(kept, now=cutoff)
    assert report.days == 1 and report.rows > 0
    assert _days(settings) == days[1:]
    # re-ingesting the same files does not bring purged sightings back
    again = ingest_files(settings, world_files(world))
    assert all(r.already_ingested for r in again)
    assert _days(settings) == days[1:]
