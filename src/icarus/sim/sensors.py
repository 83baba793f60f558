"""What the sensors record: sighting files in three styles, and which person each record is.

A sensor watches one network. While an installation of that network is online (a session), the
sensor observes it with a calibrated probability; an observed session yields 1 + Poisson items,
observed one after another from a random moment of the session on, each drawn from what the
person shares at that moment (BitTorrent: only items that have a torrent); the sensor's clock
skew is added to the time it writes. Each record carries
the session's address and port, the installation's identifiers, the item's network-appropriate
digest, its name (some peers renamed their copy) and an evidence level. Files are written in
time order, chunk by chunk, then spoiled by :mod:`~icarus.sim.formats.noise`.

Calibration: a first pass computes, for every session and sensor, the chance that one item draw
succeeds (the person shares something active at that moment); the observation probability ``p``
is then set so that the expected number of records is the sensor's share of
``SensorsConfig.target_records`` (when ``p`` would exceed 1 the items per session rise instead).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from icarus.sim.formats import SightingFile, make_style, noise
from icarus.sim.formats.base import EVIDENCE_LEVELS
from icarus.sim.rng import Streams
from icarus.sim.sensors_config import SENSOR_NETWORKS, SensorsConfig, SensorSpec
from icarus.sim.sensors_world import INSTALL_NETWORKS, SensorWorld, mix64
from icarus.sim.tables import SIGHTINGS_TRUTH

__all__ = ["SUMMARY_KEY", "TruthSink", "emit_sightings", "sightings_summary"]

SUMMARY_KEY = b"icarus.sightings.summary"
"""Schema-metadata key of the per-sensor summary on the truth table (JSON)."""

I64 = npt.NDArray[np.int64]
Ints = npt.NDArray[np.signedinteger[Any]]
TruthSink = Callable[[pa.Table], None]
"""Receives SIGHTINGS_TRUTH batches (e.g. a ``pyarrow.parquet.ParquetWriter.write_table``)."""
_FIELDS = ("row", "content", "t", "evidence", "variant")


def emit_sightings(cfg: SensorsConfig, streams: Streams, *, persons: pa.Table,
                   installs: pa.Table, sessions: pa.Table, shares: pa.Table, content: pa.Table,
                   out_dir: Path, truth_sink: TruthSink | None = None) -> pa.Table:
    """Write ``out_dir/<sensor>.<ext>`` for every sensor and return the SIGHTINGS_TRUTH rows.

    Promises: one truth row per record that has at least one well-formed line in its file
    (malformed and truncated lines are left out), ordered by sensor (config order) then record
    number. With ``truth_sink`` the rows are handed to it batch by batch as they are final
    (a fixed order: by chunk, then sensor) and the returned table is empty, so ten million rows
    need not be held in memory. Every record comes from a session of the install and an item
    the person shares at that moment; output is byte-identical for equal inputs, config and
    seed. The per-sensor summary
    (records, lines, duplicates, malformed by kind, truncation, calibration) is in the table's
    schema metadata: read it with :func:`sightings_summary`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    world = SensorWorld(persons=persons, installs=installs, sessions=sessions, shares=shares,
                        content=content)
    sensors = [_Sensor(spec, cfg, world, streams, out_dir, truth_sink) for spec in cfg.sensors]
    chunks = world.chunks(cfg.chunk_sessions)
    for j, rows, _ in chunks:
        for sensor in sensors:
            sensor.expect(j, rows)
    weights = sum(s.spec.weight for s in sensors)
    for sensor in sensors:
        sensor.calibrate(cfg.target_records * sensor.spec.weight / weights)
    try:
        for j, rows, horizon in chunks:
            for sensor in sensors:
                sensor.generate(j, rows, horizon)
        parts = [sensor.finish() for sensor in sensors]
    finally:
        for sensor in sensors:
            sensor.file.abandon()
    summary = json.dumps([s.summary for s in sensors], sort_keys=True)
    truth = pa.concat_tables(parts) if parts else SIGHTINGS_TRUTH.empty_table()
    return truth.replace_schema_metadata({SUMMARY_KEY: summary.encode()})


def sightings_summary(truth: pa.Table) -> list[dict[str, Any]]:
    """The per-sensor summary :func:`emit_sightings` attached to its truth table."""
    raw = (truth.schema.metadata or {}).get(SUMMARY_KEY)
    return [] if raw is None else list(json.loads(raw))


class _Sensor:
    """One sensor's sampling state, file and ground truth."""

    def __init__(self, spec: SensorSpec, cfg: SensorsConfig, world: SensorWorld,
                 streams: Streams, out_dir: Path, sink: TruthSink | None) -> None:
        self.spec, self.cfg, self.world, self.streams = spec, cfg, world, streams
        self.style = make_style(spec.style, sha1_base32=spec.sha1_base32)
        self.file = SightingFile(out_dir / f"{spec.name}.{self.style.EXTENSION}", self.style,
                                 spec.name)
        self.install_network = INSTALL_NETWORKS.index(SENSOR_NETWORKS[spec.network])
        self.shares = world.share_index(bittorrent=spec.network == "bittorrent")
        self.expected = 0.0
        self.p, self.items = 0.0, cfg.items_per_session
        # One salt for all sensors: a renamed copy carries its name whoever looks at it.
        self.name_salt = int(streams.get("sensors.names").integers(0, 2**62))
        self.carry: dict[str, I64] = {k: np.empty(0, np.int64) for k in _FIELDS}
        self.count = 0
        self.sink = sink
        self.pending: dict[str, I64] | None = None  # the latest truth rows, not yet released
        self.parts: list[pa.Table] = []
        self.truth_rows = 0
        self.last: tuple[int, bool] | None = None  # last line: (record, kept by another line)
        self.malformed = np.zeros(len(noise.MALFORMED_KINDS), np.int64)
        self.evidence = np.zeros(len(EVIDENCE_LEVELS), np.int64)
        self.duplicates = self.runs = 0
        self.summary: dict[str, Any] = {}

    def _draws(self, j: int, rows: I64) -> tuple[np.random.Generator, I64, I64,
                                                 npt.NDArray[np.float64]]:
        """The chunk's generator after drawing the observation moment of each session of the
        sensor's network; those sessions, the moments, and their observation weights."""
        rng = self.streams.get(f"sensors.{self.spec.name}.{j}")
        w = self.world
        rows = rows[w.session_network[rows] == self.install_network]
        u = rng.random(len(rows))
        t = w.start[rows] + (u * np.maximum(w.end[rows] - w.start[rows], 0)).astype(np.int64)
        weight = np.where(w.session_benign[rows], self.cfg.benign_session_factor, 1.0)
        return rng, rows, t, weight

    def expect(self, j: int, rows: I64) -> None:
        """First pass: add the chunk's expected successful item draws per observed item."""
        _, rows, t, weight = self._draws(j, rows)
        _, prefix, active = self.shares.counts(self.world.person[rows], t)
        q = np.divide(active, prefix, out=np.zeros(len(rows)), where=prefix > 0)
        self.expected += float(np.sum(weight * (1.0 - (1.0 - q) ** self.cfg.pick_attempts)))

    def calibrate(self, target: float) -> None:
        """Set the observation probability (and, if it would exceed 1, the items per session)
        so that the expected record count is ``target``."""
        if self.expected <= 0 or target <= 0:
            self.p = 0.0
            return
        self.p = target / (self.items * self.expected)
        if self.p > 1.0:
            self.p, self.items = 1.0, target / self.expected

    def generate(self, j: int, rows: I64, horizon: int | None) -> None:
        """Second pass: the chunk's records; write those that precede ``horizon``."""
        rng, rows, t, weight = self._draws(j, rows)
        w = self.world
        seen = rng.random(len(rows)) < self.p * weight
        rows, t = rows[seen], t[seen]
        k = 1 + rng.poisson(self.items - 1.0, len(rows))
        item = np.repeat(np.arange(len(rows)), k)
        row, person = rows[item], w.person[rows][item]
        # Items of one session follow each other: the first at t, then exponential gaps.
        running = np.cumsum(rng.exponential(self.cfg.item_gap_s * 1000.0, len(item)))
        offset = running - np.repeat(running[np.cumsum(k) - k], k)
        when = np.minimum(t[item] + offset.astype(np.int64), w.end[row])
        lo, prefix, _ = self.shares.counts(person, when)
        share = self.shares.pick(lo, prefix, when, rng, self.cfg.pick_attempts)
        cid = self.shares.content_of(share)
        level = self._evidence(rng, person, cid)
        ok = share >= 0
        row, cid = row[ok], cid[ok]
        new = {"row": row, "content": cid, "t": when[ok], "evidence": level[ok],
               "variant": self._variants(w.person[row], cid)}
        merged = {key: np.concatenate([self.carry[key], new[key]]) for key in _FIELDS}
        order = np.argsort(merged["t"], kind="stable")
        cut = len(order) if horizon is None else int(np.searchsorted(merged["t"][order],
                                                                     horizon))
        self._write(j, {key: v[order[:cut]] for key, v in merged.items()})
        self.carry = {key: v[order[cut:]] for key, v in merged.items()}

    def _evidence(self, rng: np.random.Generator, person: Ints, content: I64) -> I64:
        mix = self.cfg.evidence
        weights = np.array([mix.advertised, mix.browsed, mix.handshake])
        if self.spec.network == "bittorrent":  # no browse host: browsing becomes a handshake
            weights = np.array([weights[0], 0.0, weights[1] + weights[2]])
        level = np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(len(person)),
                                side="right").clip(0, 2)
        w = self.world
        verified = (w.distributor[person] & w.illicit[np.maximum(content, 0)]
                    & (rng.random(len(person)) < mix.download_verified))
        return np.where(verified, 3, level).astype(np.int64)

    def _variants(self, person: Ints, content: I64) -> I64:
        """The name variant of each (person, item) copy: fixed per pair, 0 = not renamed."""
        h = mix64((person.astype(np.uint64) << np.uint64(32)) | content.astype(np.uint64),
                  self.name_salt)
        renamed = (h >> np.uint64(40)) % np.uint64(1_000_000) < self.cfg.rename_rate * 1e6
        variant = 1 + (h % np.uint64(self.world.name_variants - 1)).astype(np.int64)
        return np.where(renamed, variant, 0)

    def _write(self, j: int, rec: dict[str, I64]) -> None:
        n = len(rec["t"])
        if n == 0:
            return
        seq = self.count + np.arange(n, dtype=np.int64)
        self.count += n
        batch = self.world.batch(self.spec, self.style.record_ids(self.spec.name, seq), rec)
        rng = self.streams.get(f"sensors.{self.spec.name}.noise.{j}")
        plan = noise.plan(n, self.cfg.noise, rng)
        self.file.write(noise.apply(self.style.lines(batch), plan, self.style.corrupt, rng))
        good_line = plan.malformed < 0
        good = np.zeros(n, dtype=bool)
        good[plan.records[good_line]] = True
        last = int(plan.records[-1])
        kept = bool(np.any((plan.records[:-1] == last) & good_line[:-1]))
        self.last = (int(seq[last]), kept or not good_line[-1])
        if self.pending is not None:  # held back one batch: the last may lose its last row
            self._release(self.pending)
        self.pending = {"seq": seq[good], "row": rec["row"][good],
                        "content": rec["content"][good]}
        self.duplicates += plan.duplicates
        self.runs += plan.runs
        self.malformed += np.bincount(plan.malformed[~good_line], minlength=len(self.malformed))
        self.evidence += np.bincount(rec["evidence"], minlength=len(EVIDENCE_LEVELS))

    def _release(self, part: dict[str, I64]) -> None:
        """Hand a batch of truth rows on (to the sink, or to the table built at the end)."""
        w = self.world
        table = pa.table({
            "sensor": pa.repeat(pa.scalar(self.spec.name, pa.string()), len(part["seq"])),
            "record_id": self.style.record_ids(self.spec.name, part["seq"]),
            "person_id": w.person[part["row"]],
            "install_id": w.install[part["row"]],
            "content_id": part["content"].astype(np.int32),
        }, schema=SIGHTINGS_TRUTH)
        self.truth_rows += table.num_rows
        if self.sink is not None:
            self.sink(table)
        else:
            self.parts.append(table)

    def finish(self) -> pa.Table:
        """Close the file (cutting its last line if configured), release the last truth rows,
        and return this sensor's truth (empty when a sink took it)."""
        rng = self.streams.get(f"sensors.{self.spec.name}.truncate")
        cut = (lambda line: noise.cut(line, rng)) if self.spec.truncated else None
        truncated = self.file.close(cut=cut)
        if self.pending is not None:
            part = self.pending
            if truncated and self.last is not None and not self.last[1]:
                keep = part["seq"] != self.last[0]
                part = {key: v[keep] for key, v in part.items()}
            self._release(part)
            self.pending = None
        table = pa.concat_tables(self.parts) if self.parts else SIGHTINGS_TRUTH.empty_table()
        self.parts = []
        self.summary = {
            "sensor": self.spec.name, "network": self.spec.network,
            "country": self.spec.country, "style": self.spec.style,
            "file": self.file.path.name, "skew_s": self.spec.skew_s,
            "observe_probability": self.p, "items_per_session": self.items,
            "records": self.count, "lines": self.file.lines_written,
            "truth_records": self.truth_rows, "duplicates": self.duplicates,
            "out_of_order_runs": self.runs, "truncated": truncated,
            "malformed": dict(zip(noise.MALFORMED_KINDS, self.malformed.tolist(), strict=True)),
            "evidence": dict(zip(EVIDENCE_LEVELS, self.evidence.tolist(), strict=True)),
        }
        return table
