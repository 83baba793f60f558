"""The sensors stage: what is written follows from the world, the truth matches the files.

The world tables are built by hand here (schemas of ``icarus.sim.tables``), small and with
awkward names, so the stage is tested on its own; the files are read back with the independent
readers of ``test_sim_formats``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from icarus.core.errors import ConfigError, InternalError, UsageError
from icarus.sim.formats import STYLE_NAMES
from icarus.sim.formats.noise import MALFORMED_KINDS, NoiseConfig
from icarus.sim.rng import Streams
from icarus.sim.sensors import emit_sightings, sightings_summary
from icarus.sim.sensors_config import (
    BASE_SENSORS,
    SCALE_SENSORS,
    SCALE_TARGETS,
    SensorsConfig,
    SensorSpec,
)
from icarus.sim.tables import CONTENT, INSTALLS, PERSONS, SESSIONS, SHARES, SIGHTINGS_TRUTH
from tests.sim.test_sim_formats import Read, _validator, read_file

T0_US = int(datetime(2024, 4, 1, tzinfo=UTC).timestamp()) * 1_000_000
DAY_US, HOUR_US = 86_400_000_000, 3_600_000_000
CLIENTS = {"edonkey": "eMule 0.50a", "gnutella": "Shareaza 2.7.10.2",
           "bittorrent": "qBittorrent 4.5.2"}
NAMES = ("holiday video.avi", 'say "cheese".jpg', "a;b;c.zip", "Ünïcødé clip.mp4",
         "tab\tname.txt", "plain", "album.2024.rar", "IMG_0001.JPG")
NOISE = NoiseConfig(duplicate_rate=0.03, malformed_rate=0.01, out_of_order_rate=0.002)
CFG = SensorsConfig(target_records=6000, chunk_sessions=97, noise=NOISE)


def make_inputs(people: int = 90, days: int = 7, items: int = 60, seed: int = 1
                ) -> dict[str, pa.Table]:
    """Persons, installs (some people on two networks), content, shares, sessions."""
    rng = np.random.default_rng(seed)
    role = rng.choice(np.array(["benign", "downloader", "distributor"]), people, p=[.4, .4, .2])
    persons = pa.table({
        "person_id": np.arange(people, dtype=np.int32), "country": ["DK"] * people,
        "asn": np.full(people, 3292), "isp": ["TDC"] * people, "role": role,
        "uses_anonymiser": np.zeros(people, bool), "network_id": pa.nulls(people, pa.int32()),
        "nat_group": pa.nulls(people, pa.int32()), "should_identify": role != "benign",
        "in_earlier_intel": np.zeros(people, bool),
        "known_files": np.zeros(people, np.int32)}, schema=PERSONS)
    owner = np.sort(np.concatenate([np.arange(people),
                                    np.flatnonzero(rng.random(people) < 0.25)]))
    second = np.r_[0, owner[1:] == owner[:-1]]
    net = np.array(list(CLIENTS))[(rng.integers(0, 3, len(owner)) + second) % 3]
    m = len(owner)
    ids = rng.integers(0, 256, (m, 16), dtype=np.uint8)
    ids[:, 5], ids[:, 14] = 0x0E, 0x6F
    blobs = [bytes(r) for r in ids]
    installs = pa.table({
        "install_id": np.arange(m, dtype=np.int32), "person_id": owner.astype(np.int32),
        "network": net, "client": [CLIENTS[n] for n in net],
        "user_hash": pa.array([b if n == "edonkey" else None for b, n in zip(blobs, net,
                                                                             strict=True)],
                              pa.binary(16)),
        "guid": pa.array([b if n == "gnutella" else None for b, n in zip(blobs, net,
                                                                         strict=True)],
                         pa.binary(16)),
        "peer_id_prefix": ["-qB4520-" if n == "bittorrent" else None for n in net],
        "low_id": rng.random(m) < 0.3,
        "nickname": pa.array([f"nick{i}" if n == "edonkey" and i % 2 else None
                              for i, n in enumerate(net)], pa.string())}, schema=INSTALLS)
    status = rng.choice(np.array(["known", "unknown-illicit", "benign"]), items, p=[.5, .2, .3])
    raw = rng.integers(0, 256, (items, 104), dtype=np.uint8)
    has_btih = rng.random(items) < 0.5
    content = pa.table({
        "content_id": np.arange(items, dtype=np.int32), "status": status,
        "category": ["x"] * items, "severity": np.zeros(items, np.int8),
        "vics_category": pa.nulls(items, pa.int8()), "media": ["video"] * items,
        "name": [f"{i:03d} {NAMES[i % len(NAMES)]}" for i in range(items)],
        "size": rng.integers(1, 10**9, items),
        "md5": [bytes(r[0:16]) for r in raw], "ed2k": [bytes(r[16:32]) for r in raw],
        "sha1": [bytes(r[32:52]) for r in raw], "sha256": [bytes(r[52:84]) for r in raw],
        "btih": pa.array([bytes(r[84:]) if b else None for r, b in zip(raw, has_btih,
                                                                      strict=True)],
                         pa.binary(20)),
        "seed": np.arange(items), "pdq": pa.nulls(items, pa.binary(32)),
        "network_id": pa.nulls(items, pa.int32())}, schema=CONTENT)
    illicit, benign = np.flatnonzero(status != "benign"), np.flatnonzero(status == "benign")
    share_rows: list[tuple[int, int, int, int]] = []
    for p in range(people):
        pool = benign if role[p] == "benign" else illicit
        chosen = list(rng.choice(pool, min(int(rng.integers(1, 9)), len(pool)), replace=False))
        if role[p] != "benign":
            chosen.append(int(rng.choice(benign)))
        for c in chosen:
            first = T0_US + int(rng.integers(0, days * DAY_US))
            last = (T0_US + days * DAY_US if rng.random() < 0.7
                    else first + int(rng.integers(HOUR_US, 2 * DAY_US)))
            share_rows.append((p, int(c), first, last))
    sp, sc, sf, sl = (list(x) for x in zip(*share_rows, strict=True))
    ts = pa.timestamp("us", tz="UTC")
    shares = pa.table({"person_id": pa.array(sp, pa.int32()),
                       "content_id": pa.array(sc, pa.int32()),
                       "first": pa.array(sf, ts), "last": pa.array(sl, ts)}, schema=SHARES)
    rows: dict[str, list[Any]] = {k: [] for k in SESSIONS.names}
    for i in range(m):
        ip = f"198.51.{int(owner[i]) % 250}.{1 + i % 250}" if i % 9 else f"2001:db8::{i + 1:x}"
        for d in range(days):
            for _ in range(int(rng.integers(0, 3))):
                start = T0_US + d * DAY_US + int(rng.integers(0, 20 * HOUR_US))
                rows["install_id"].append(i)
                rows["person_id"].append(int(owner[i]))
                rows["start"].append(start)
                rows["end"].append(start + int(rng.integers(HOUR_US // 6, 4 * HOUR_US)))
                rows["ip"].append(ip)
                rows["port"].append(4662 + i)
                rows["peer_id"].append(b"-qB4520-" + rng.bytes(12)
                                       if net[i] == "bittorrent" else None)
                rows["ed2k_client_id"].append(int(rng.integers(1, 2**24))
                                              if net[i] == "edonkey" else None)
    sessions = pa.table(rows, schema=SESSIONS)
    return {"persons": persons, "installs": installs, "sessions": sessions, "shares": shares,
            "content": content}


@dataclass
class Emitted:
    inputs: dict[str, pa.Table]
    truth: pa.Table
    summary: dict[str, dict[str, Any]]
    reads: dict[str, Read]
    paths: dict[str, Path]


def _emit(out: Path, cfg: SensorsConfig = CFG, seed: int = 7,
          inputs: dict[str, pa.Table] | None = None) -> Emitted:
    inputs = inputs or make_inputs()
    truth = emit_sightings(cfg, Streams(seed), out_dir=out, **inputs)
    summary = {s["sensor"]: s for s in sightings_summary(truth)}
    validator = _validator()
    paths = {name: out / s["file"] for name, s in summary.items()}
    reads = {name: read_file(path, validator) for name, path in paths.items()}
    return Emitted(inputs, truth, summary, reads, paths)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Emitted:
    return _emit(tmp_path_factory.mktemp("sightings"))


def _digests(paths: dict[str, Path]) -> dict[str, str]:
    return {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in sorted(paths.items())}


def test_truth_is_exactly_the_well_formed_records(world: Emitted) -> None:
    assert world.truth.schema.equals(SIGHTINGS_TRUTH)
    for spec in CFG.sensors:
        read, summary = world.reads[spec.name], world.summary[spec.name]
        ids = {rec["record_id"] for _, rec in read.records}
        rows = world.truth.filter(pa.compute.equal(world.truth["sensor"], spec.name))
        assert sorted(rows["record_id"].to_pylist()) == sorted(ids)
        assert rows.num_rows == summary["truth_records"] == len(ids)
        spoilt = sum(summary["malformed"].values()) + int(summary["truncated"])
        assert len(read.rejects) == spoilt
        assert summary["lines"] == len(read.records) + len(read.rejects)
        assert read.truncated == spec.truncated == summary["truncated"]
        if spec.truncated:
            assert read.rejects[-1][1] == "truncated"


def test_records_follow_from_sessions_installs_shares_and_content(world: Emitted) -> None:
    inp = world.inputs
    sessions = defaultdict(list)
    for s in inp["sessions"].to_pylist():
        sessions[s["install_id"]].append(s)
    installs = {i["install_id"]: i for i in inp["installs"].to_pylist()}
    content = {c["content_id"]: c for c in inp["content"].to_pylist()}
    shares = defaultdict(list)
    for s in inp["shares"].to_pylist():
        shares[(s["person_id"], s["content_id"])].append(s)
    kinds = {"edonkey": "ed2k", "kad": "ed2k", "gnutella": "sha1", "bittorrent": "btih"}
    checked = 0
    for spec in CFG.sensors:
        records = {rec["record_id"]: rec for _, rec in world.reads[spec.name].records}
        rows = world.truth.filter(pa.compute.equal(world.truth["sensor"], spec.name))
        slack = 999 if spec.style == "tool-a" else 0  # tool A drops the milliseconds
        for row in rows.to_pylist():
            rec, inst = records[row["record_id"]], installs[row["install_id"]]
            assert inst["person_id"] == row["person_id"]
            assert rec["network"] == spec.network and rec["sensor"] == spec.name
            t = rec["observed_ms"] * 1000 - round(spec.skew_s * 1e6)
            match = [s for s in sessions[row["install_id"]]
                     if s["start"].timestamp() * 1e6 - slack * 1000 <= t
                     <= s["end"].timestamp() * 1e6 and s["ip"] == rec["ip"]
                     and s["port"] == rec["port"]]
            assert match, rec
            item = content[row["content_id"]]
            assert rec["content_kind"] == kinds[spec.network]
            assert rec["digest"] == item[rec["content_kind"]]
            assert rec["file_size"] == item["size"]
            assert any(s["first"].timestamp() * 1e6 - slack * 1000 <= t
                       <= s["last"].timestamp() * 1e6
                       for s in shares[(row["person_id"], row["content_id"])])
            known = rec["evidence"] != "advertised"
            if spec.network in ("edonkey", "kad"):
                assert rec["user_hash"] == inst["user_hash"] and rec["guid"] is None
                if spec.network == "edonkey" or known:
                    assert rec["client"] == inst["client"]
                    assert rec["nickname"] == inst["nickname"]
                    assert rec["ed2k_client_id"] in {s["ed2k_client_id"] for s in match}
                else:  # a Kad source answer names the user hash and the address alone
                    assert rec["client"] is rec["nickname"] is rec["ed2k_client_id"] is None
            elif spec.network == "gnutella":
                assert rec["guid"] == inst["guid"] and rec["client"] == inst["client"]
                assert rec["user_hash"] is rec["peer_id"] is None
            else:
                assert item["btih"] is not None
                if known:
                    assert rec["peer_id"] in {s["peer_id"] for s in match}
                    assert rec["client"] == inst["client"]
                else:  # a tracker or DHT answer has no peer id
                    assert rec["peer_id"] is rec["client"] is None
            checked += 1
    assert checked == world.truth.num_rows > 1000


def test_evidence_mix(world: Emitted) -> None:
    persons = {p["person_id"]: p["role"] for p in world.inputs["persons"].to_pylist()}
    status = {c["content_id"]: c["status"] for c in world.inputs["content"].to_pylist()}
    records = {(s, rec["record_id"]): rec for s, read in world.reads.items()
               for _, rec in read.records}
    levels: Counter[str] = Counter()
    verified = eligible = 0
    for row in world.truth.to_pylist():
        rec = records[(row["sensor"], row["record_id"])]
        distributor = persons[row["person_id"]] == "distributor"
        illicit = status[row["content_id"]] != "benign"
        eligible += distributor and illicit
        if rec["evidence"] == "download-verified":
            assert distributor and illicit
            verified += 1
        elif rec["network"] != "bittorrent":
            levels[rec["evidence"]] += 1
        else:
            assert rec["evidence"] != "browsed"  # BitTorrent has no browse host
    total = sum(levels.values())
    mix = CFG.evidence
    for level, want in (("advertised", mix.advertised), ("browsed", mix.browsed),
                        ("handshake", mix.handshake)):
        assert abs(levels[level] / total - want) < 0.04, (level, levels)
    assert abs(verified - eligible * mix.download_verified) < 4 * np.sqrt(eligible * 0.05) + 2
    assert 0 < verified < levels["handshake"]


def test_noise_rates(world: Emitted) -> None:
    records = sum(s["records"] for s in world.summary.values())
    malformed: Counter[str] = Counter()
    for s in world.summary.values():
        malformed.update(s["malformed"])
    assert set(malformed) == set(MALFORMED_KINDS)
    total = sum(malformed.values())
    assert abs(total - NOISE.malformed_rate * records) < 4 * np.sqrt(records * 0.01)
    copies = sum(len(r.records) for r in world.reads.values()) - world.truth.num_rows
    duplicates = sum(s["duplicates"] for s in world.summary.values())
    cut = sum(s["truncated"] for s in world.summary.values())  # a cut line may be a copy
    assert duplicates - cut <= copies <= duplicates
    assert abs(copies - NOISE.duplicate_rate * records) < 4 * np.sqrt(records * 0.03)
    for name, read in world.reads.items():
        seen = Counter(rec["record_id"] for _, rec in read.records)
        firsts = {rid: rec for _, rec in read.records for rid in [rec["record_id"]]}
        for _, rec in read.records:  # a copy is the same record, field for field
            assert rec == firsts[rec["record_id"]]
        assert max(seen.values()) <= 2, name
    runs = sum(s["out_of_order_runs"] for s in world.summary.values())
    assert runs > 0


def test_files_are_in_time_order_but_for_the_noise(world: Emitted, tmp_path: Path) -> None:
    for name, read in world.reads.items():
        times = [rec["observed_ms"] for _, rec in read.records]
        descents = sum(b < a for a, b in pairwise(times))
        s = world.summary[name]
        assert descents <= s["out_of_order_runs"] + s["duplicates"] + sum(
            s["malformed"].values())
    quiet = dataclasses.replace(CFG, noise=NoiseConfig(0.0, 0, 0.0, (3, 40), 0.0))
    clean = _emit(tmp_path, quiet, inputs=world.inputs)
    for read in clean.reads.values():
        times = [rec["observed_ms"] for _, rec in read.records]
        assert times == sorted(times)


def test_volume_is_calibrated_to_the_target(world: Emitted, tmp_path: Path) -> None:
    records = {n: s["records"] for n, s in world.summary.items()}
    assert abs(sum(records.values()) - CFG.target_records) < 0.08 * CFG.target_records
    weights = {s.name: s.weight for s in CFG.sensors}
    for name, count in records.items():
        want = CFG.target_records * weights[name] / sum(weights.values())
        assert abs(count - want) < 0.25 * want, name
    small = _emit(tmp_path, dataclasses.replace(CFG, target_records=300),
                  inputs=world.inputs)
    assert all(s["observe_probability"] < 1 for s in small.summary.values())
    assert abs(sum(s["records"] for s in small.summary.values()) - 300) < 60


def test_same_seed_same_bytes_other_seed_other_bytes(world: Emitted, tmp_path: Path) -> None:
    again = _emit(tmp_path / "again", inputs=world.inputs)
    assert _digests(again.paths) == _digests(world.paths)
    assert again.truth.equals(world.truth)
    assert again.truth.schema.metadata == world.truth.schema.metadata
    other = _emit(tmp_path / "other", seed=8, inputs=world.inputs)
    assert _digests(other.paths) != _digests(world.paths)


def test_benign_content_and_renamed_copies(world: Emitted) -> None:
    status = {c["content_id"]: c["status"] for c in world.inputs["content"].to_pylist()}
    names = {c["content_id"]: c["name"] for c in world.inputs["content"].to_pylist()}
    statuses = Counter(status[c] for c in world.truth["content_id"].to_pylist())
    assert statuses["benign"] > 0 and statuses["known"] > statuses["benign"]
    records = {(s, rec["record_id"]): rec for s, read in world.reads.items()
               for _, rec in read.records}
    copy_names: dict[tuple[int, int], set[str]] = defaultdict(set)
    for row in world.truth.to_pylist():
        copy_names[(row["person_id"], row["content_id"])].add(
            records[(row["sensor"], row["record_id"])]["file_name"])
    assert all(len(v) == 1 for v in copy_names.values())  # a copy keeps its name
    renamed = [k for k, v in copy_names.items() if v != {names[k[1]]}]
    assert 0 < len(renamed) < 0.3 * len(copy_names)


def test_config_presets_and_overrides() -> None:
    for scale, target in SCALE_TARGETS.items():
        cfg = SensorsConfig.for_scale(scale)
        assert cfg.target_records == target and cfg.sensors == SCALE_SENSORS[scale]
        assert {s.style for s in cfg.sensors} == set(STYLE_NAMES)
        assert {s.network for s in cfg.sensors} == {"edonkey", "kad", "gnutella",
                                                    "bittorrent"}
        assert any(s.truncated for s in cfg.sensors)
    cfg = SensorsConfig.for_scale("small", {
        "target_records": 5, "noise": {"malformed_rate": 0.2, "run_length": [2, 9]},
        "sensors": [{"name": "x-1", "network": "kad", "country": "DK", "style": "tool-b"}]})
    assert cfg.target_records == 5 and cfg.noise.malformed_rate == 0.2
    assert cfg.noise.run_length == (2, 9) and cfg.sensors[0].name == "x-1"
    for bad in ({"nope": 1}, {"target_records": "many"}, {"noise": {"malformed_rate": 2.0}},
                {"sensors": [{"name": "Bad Name", "network": "kad", "country": "DK",
                              "style": "v1"}]},
                {"sensors": [{"name": "x", "network": "irc", "country": "DK", "style": "v1"}]},
                {"sensors": [{"name": "x"}]}, {"evidence": {"advertised": -1.0}}):
        with pytest.raises(ConfigError):
            SensorsConfig.for_scale("tiny", bad)
    with pytest.raises(ConfigError):
        SensorsConfig.for_scale("huge")
    with pytest.raises(ConfigError):
        SensorsConfig(sensors=(BASE_SENSORS[0], BASE_SENSORS[0]))
    assert SensorSpec("a-1", "gnutella", "SE", "v1").sha1_base32


def test_inputs_are_checked(tmp_path: Path) -> None:
    inputs = make_inputs(people=10, days=2)
    with pytest.raises(UsageError, match="sessions table lacks"):
        emit_sightings(CFG, Streams(1), out_dir=tmp_path, **{
            **inputs, "sessions": inputs["sessions"].drop_columns(["ip"])})
    stray = inputs["sessions"].set_column(0, "install_id", pa.array(
        [999] * inputs["sessions"].num_rows, pa.int32()))
    with pytest.raises(InternalError, match="install_id"):
        emit_sightings(CFG, Streams(1), out_dir=tmp_path, **{**inputs, "sessions": stray})


def test_an_empty_world_writes_empty_files(tmp_path: Path) -> None:
    inputs = make_inputs(people=5, days=1)
    empty = {**inputs, "sessions": inputs["sessions"].slice(0, 0),
             "shares": inputs["shares"].slice(0, 0)}
    truth = emit_sightings(CFG, Streams(1), out_dir=tmp_path, **empty)
    assert truth.num_rows == 0 and truth.schema.equals(SIGHTINGS_TRUTH)
    for s in sightings_summary(truth):
        assert s["records"] == 0 and not s["truncated"]
        assert not read_file(tmp_path / s["file"]).records
