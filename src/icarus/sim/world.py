"""Build a whole synthetic operation world: every stage in order, then the ground truth.

The world is written into a temporary folder beside ``out`` and renamed into place only when
complete, so an interrupted run never leaves a half world under the final name. Same seed,
scale and configuration give byte-identical files (for the same versions of Pillow, PyAV and
FFmpeg, whose encoders make the pictures and clips).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from icarus import __version__
from icarus.core.errors import UsageError
from icarus.sim.behaviour import build_behaviour
from icarus.sim.clients import build_installs
from icarus.sim.config import WorldConfig, config_to_toml
from icarus.sim.content import build_catalogue, content_bytes, network_cores, variant_bytes
from icarus.sim.content_config import ContentConfig, content_config
from icarus.sim.exhibits import ExhibitsConfig, build_exhibits_detailed
from icarus.sim.geo import load_geo
from icarus.sim.hashsets import write_nsrl, write_vics
from icarus.sim.intel import write_earlier_intel
from icarus.sim.population import build_population
from icarus.sim.rng import Streams
from icarus.sim.sensors import emit_sightings
from icarus.sim.sensors_config import SensorsConfig, override_dataclass
from icarus.sim.tables import SIGHTINGS_TRUTH, TABLES

EXHIBITS_PER_SCALE = {"tiny": 6, "small": 12, "medium": 20, "large": 40}
"""Most exhibits of searched people per scale (a raw image costs ~0.1-0.5 s)."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StageConfigs:
    """The configurations of the stages that keep their own dataclasses."""

    content: ContentConfig
    sensors: SensorsConfig
    exhibits: ExhibitsConfig


def stage_configs(cfg: WorldConfig) -> StageConfigs:
    """The content, sensors and exhibits configs of ``cfg``: scale presets plus overrides."""
    extra = cfg.extra
    return StageConfigs(
        content=override_dataclass(content_config(cfg.scale), dict(extra.get("content", {})),
                                   "content"),
        sensors=SensorsConfig.for_scale(cfg.scale, extra.get("sensors")),
        exhibits=override_dataclass(
            ExhibitsConfig(max_searched=EXHIBITS_PER_SCALE[cfg.scale]),
            dict(extra.get("exhibits", {})), "exhibits"),
    )


def build_world(cfg: WorldConfig, out: Path, *, workers: int = 1,
                progress: Progress | None = None) -> dict[str, Any]:
    """Generate the world of ``cfg`` into ``out`` (which must not exist); returns the manifest."""
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out}: the output folder exists and is not empty")
    stages = stage_configs(cfg)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        manifest = _build(cfg, stages, tmp, workers, progress or (lambda _: None))
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _build(cfg: WorldConfig, stages: StageConfigs, root: Path, workers: int,
           say: Progress) -> dict[str, Any]:
    streams = Streams(cfg.seed)
    say("people, networks and addresses")
    geo = load_geo(cfg.geo.countries)
    persons, leases, networks = build_population(cfg, streams, geo)
    installs = build_installs(cfg, streams, persons)
    say("content: pictures, clips, archives, files")
    catalogue = build_catalogue(stages.content, streams, networks.num_rows, workers=workers)
    content = catalogue.table
    cores = network_cores(content, networks.num_rows)
    networks = networks.set_column(
        networks.schema.get_field_index("core_content"), TABLES["networks"].field("core_content"),
        pa.array(cores, type=pa.list_(pa.int32())))
    say("behaviour: shares and sessions")
    shares, sessions, persons = build_behaviour(cfg, streams, persons, installs, leases, content,
                                                networks)
    say("hash sets and earlier intelligence")
    hashsets = root / "hashsets"
    hashsets.mkdir()
    write_vics(content, hashsets / "known.vics.json", vpdq=catalogue.vpdq, workers=workers)
    write_nsrl(hashsets, streams)
    intel = write_earlier_intel(persons, installs, leases, networks, content,
                                hashsets / "earlier-intel.json", streams)
    say("sightings")
    truth_dir = root / "truth"
    truth_dir.mkdir()
    with pq.ParquetWriter(truth_dir / "sightings_truth.parquet", SIGHTINGS_TRUTH,
                          compression="zstd") as writer:
        summary_table = emit_sightings(
            stages.sensors, streams, persons=persons, installs=installs, sessions=sessions,
            shares=shares, content=content, out_dir=root / "sightings",
            truth_sink=writer.write_table)
    say("exhibits")
    built = build_exhibits_detailed(stages.exhibits, streams, persons, installs, shares, content,
                                    content_bytes, root, variant_of=variant_bytes)
    say("ground truth")
    tables = {"countries": geo.countries_table(), "persons": persons, "installs": installs,
              "leases": leases, "content": content, "shares": shares, "networks": networks,
              "sessions": sessions, "exhibits": built.exhibits, "exhibit_items": built.items}
    for name, table in tables.items():
        pq.write_table(table.cast(TABLES[name]), truth_dir / f"{name}.parquet",
                       compression="zstd")
    (root / "config.toml").write_text(config_to_toml(cfg), encoding="utf-8")
    from icarus.sim.sensors import sightings_summary

    manifest: dict[str, Any] = {
        "format": "icarus-world", "version": 1, "icarus_version": __version__,
        "seed": cfg.seed, "scale": cfg.scale,
        "window": {"start": cfg.window.start.isoformat(), "end": cfg.end.isoformat()},
        "counts": {name: t.num_rows for name, t in tables.items()},
        "sightings": sightings_summary(summary_table),
        "earlier_intel": {"operation": intel.operation,
                          "subjects": dict(sorted(intel.subjects.items())),
                          "networks": dict(sorted(intel.networks.items()))},
        "files": _inventory(root),
    }
    (root / "world.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                     encoding="utf-8")
    return manifest


def _inventory(root: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        out.append({"path": path.relative_to(root).as_posix(), "size": path.stat().st_size,
                     "sha256": h.hexdigest()})
    return out
