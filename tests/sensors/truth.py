"""The synthetic world's ground truth of sightings, per sensor."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from icarus.core.sinks import CollectingSink
from icarus.sensors.formats import SightingReader


def truth_ids(world: Path, sensor: str) -> set[str]:
    t = pq.read_table(world / "truth" / "sightings_truth.parquet",
                      columns=["sensor", "record_id"]).to_pydict()
    return {r for s, r in zip(t["sensor"], t["record_id"], strict=True) if s == sensor}


def check_world_file(reader: SightingReader, path: Path, world: Path) -> CollectingSink:
    """The reader's well-formed records are exactly the world's truth for the file's sensor."""
    sink = CollectingSink(str(path))
    records = [rec for _, rec in reader.read(path, sink)]
    sensors = {r.sensor for r in records}
    assert len(sensors) == 1
    assert {r.record_id for r in records} == truth_ids(world, sensors.pop())
    return sink
