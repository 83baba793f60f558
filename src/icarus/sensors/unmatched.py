"""The unmatched area: short-lived, reduced sightings of content in no alert set.

Candidate discovery (docs/intel/candidates.md) needs to see what suspects share besides known
material; data minimisation forbids keeping that for long. So, unless
``sightings_keep_unmatched`` (research mode) keeps them in the dataset itself, ingest writes such
sightings only here::

    <home>/sightings/unmatched/day=YYYY-MM-DD/part-<file-sha256[:16]>-<n>.parquet

with the SIGHTINGS schema (category ``none``), reduced: nickname, client, eDonkey client ID and
record id are dropped (null). The file name and size stay: they are how one file's identifiers
on several networks are grouped into one candidate. The day is the **ingest** day (UTC): retention
counts from when Icarus received the rows, so ``sightings_unmatched_days`` is how long they may
be analysed. :func:`purge_unmatched` removes older days; it runs at every ingest and after
every analysis. Parts of files the ledger has not committed are invisible and removed by
:func:`recover_unmatched`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus.core.settings import Settings
from icarus.sensors.dataset import Ledger, ledger, sightings_dir
from icarus.sensors.schema import SIGHTINGS

REDUCED = ("nickname", "client", "ed2k_client_id", "record_id")
"""Columns nulled in the unmatched area: candidate discovery does not need them. The file name
stays: with the size it is what lets one file's identifiers on several networks be grouped
(docs/intel/candidates.md)."""


def unmatched_dir(settings: Settings) -> Path:
    """``<home>/sightings/unmatched``."""
    return sightings_dir(settings) / "unmatched"


def reduce(table: pa.Table) -> pa.Table:
    """``table`` (SIGHTINGS, or any with the :data:`REDUCED` columns) with those nulled."""
    for name in REDUCED:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, SIGHTINGS.field(name),
                                 pa.nulls(table.num_rows, SIGHTINGS.field(name).type))
    return table


def _parts(settings: Settings, prefixes: set[str]) -> list[Path]:
    root = unmatched_dir(settings)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("day=*/part-*.parquet") if p.name[5:21] in prefixes)


def read_unmatched(settings: Settings) -> pa.Table:
    """Every committed row of the unmatched area (SIGHTINGS), sorted by ``sighting_id``."""
    led = ledger(settings)
    try:
        prefixes = led.prefixes()
    finally:
        led.close()
    tables = [pq.read_table(p, schema=SIGHTINGS) for p in _parts(settings, prefixes)]
    if not tables:
        return SIGHTINGS.empty_table()
    table = pa.concat_tables(tables)
    return table.take(pc.sort_indices(table["sighting_id"]))


def recover_unmatched(settings: Settings, led: Ledger) -> int:
    """Remove unmatched parts of files the ledger has not committed; a count."""
    root = unmatched_dir(settings)
    if not root.is_dir():
        return 0
    prefixes = led.prefixes()
    stale = [p for p in root.glob("day=*/part-*.parquet") if p.name[5:21] not in prefixes]
    for part in stale:
        part.unlink()
    return len(stale)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge removed: day partitions and their rows."""

    days: int
    rows: int


def purge_unmatched(settings: Settings, *, now: datetime | None = None) -> PurgeReport:
    """Remove the unmatched days ingested more than ``sightings_unmatched_days`` before ``now``
    (default: the current time); with no retention set nothing is kept at all, so every day
    goes."""
    root = unmatched_dir(settings)
    if not root.is_dir():
        return PurgeReport(0, 0)
    keep = settings.sightings_unmatched_days
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    oldest = None if keep is None else today - timedelta(days=keep)
    days = rows = 0
    for day in sorted(root.glob("day=*")):
        try:
            when = datetime.strptime(day.name[4:], "%Y-%m-%d").date()
        except ValueError:
            continue  # not ours: left alone
        if oldest is None or when < oldest:
            rows += sum(pq.ParquetFile(p).metadata.num_rows for p in day.glob("*.parquet"))
            shutil.rmtree(day)
            days += 1
    return PurgeReport(days, rows)
