"""Benchmark: the synthetic world's sensors stage (``icarus.sim.sensors.emit_sightings``).

Builds input tables of the sensors stage (persons, installs, sessions, shares, content) with a
vectorised stand-in for the world's earlier stages, saves them as Parquet, then, each phase in
its own process so that peak memory is its own:

* Icarus: ``emit_sightings`` for ``--target`` records (the scale's sensors and noise): wall
  time, records per second, peak RSS (the input tables are loaded in that process too);
* peer: the same v1 lines made the obvious way, ``json.dumps`` of one dict per record, on a
  sample of the records written, extrapolated to the whole count; the ratio is printed.

Full run (1 M records, medium sensors): ``.venv/bin/python bench/bench_sim_sensors.py``.
Large (10 M records): ``.venv/bin/python bench/bench_sim_sensors.py --people 120000 --days 90
--target 10000000 --scale large``.
Quick run: ``.venv/bin/python bench/bench_sim_sensors.py --people 2000 --target 100000``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, peak_rss_mib, print_table
from icarus.sim.tables import CONTENT, INSTALLS, PERSONS, SESSIONS, SHARES

T0_US = 1_711_929_600 * 1_000_000  # 2024-04-01T00:00:00Z
DAY_US = 86_400 * 1_000_000
NETS = ("edonkey", "gnutella", "bittorrent")
CLIENTS = ("eMule 0.50a", "Shareaza 2.7.10.2", "qBittorrent 4.5.2")
TABLES = ("persons", "installs", "sessions", "shares", "content")


def _fixed(rng: np.random.Generator, n: int, width: int, valid: Any = None) -> pa.Array:
    data = pa.py_buffer(rng.bytes(n * width))
    arr = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, data])
    return arr if valid is None else pc.if_else(pa.array(valid), arr,
                                                        pa.scalar(None, pa.binary(width)))


def generate(work: Path, people: int, days: int, items: int, seed: int,
             per_day: float = 0.4) -> dict[str, int]:
    """Input tables with plausible shapes (heavy-tailed libraries and online time)."""
    rng = np.random.default_rng(seed)
    role = rng.choice(np.array(["benign", "downloader", "distributor"]), people,
                      p=[0.5, 0.45, 0.05])
    n = people
    persons = pa.table({
        "person_id": np.arange(n, dtype=np.int32), "country": pa.array(["DK"] * n),
        "asn": np.full(n, 3292), "isp": pa.array(["TDC"] * n), "role": role,
        "uses_anonymiser": np.zeros(n, bool), "network_id": pa.nulls(n, pa.int32()),
        "nat_group": pa.nulls(n, pa.int32()), "should_identify": role != "benign",
        "in_earlier_intel": np.zeros(n, bool), "known_files": np.zeros(n, np.int32)},
        schema=PERSONS)
    net = rng.choice(3, n, p=[0.45, 0.2, 0.35])
    ed2k = net == 0
    installs = pa.table({
        "install_id": np.arange(n, dtype=np.int32), "person_id": np.arange(n, dtype=np.int32),
        "network": pa.array(np.array(NETS)[net]), "client": pa.array(np.array(CLIENTS)[net]),
        "user_hash": _fixed(rng, n, 16, ed2k), "guid": _fixed(rng, n, 16, net == 1),
        "peer_id_prefix": pa.nulls(n, pa.string()), "low_id": rng.random(n) < 0.3,
        "nickname": pc.if_else(pa.array(ed2k & (rng.random(n) < 0.5)),
                                       pa.array([f"nick{i}" for i in range(n)]),
                                       pa.scalar(None, pa.string()))}, schema=INSTALLS)
    status = rng.choice(np.array(["known", "unknown-illicit", "benign"]), items,
                        p=[0.5, 0.2, 0.3])
    content = pa.table({
        "content_id": np.arange(items, dtype=np.int32), "status": status,
        "category": pa.array(["x"] * items), "severity": np.zeros(items, np.int8),
        "vics_category": pa.nulls(items, pa.int8()), "media": pa.array(["video"] * items),
        "name": pa.array([f"synthetic item {i:06d}.avi" for i in range(items)]),
        "size": rng.integers(1, 10**9, items), "md5": _fixed(rng, items, 16),
        "sha1": _fixed(rng, items, 20), "sha256": _fixed(rng, items, 32),
        "ed2k": _fixed(rng, items, 16), "btih": _fixed(rng, items, 20, rng.random(items) < .4),
        "seed": np.arange(items), "pdq": pa.nulls(items, pa.binary(32)),
        "network_id": pa.nulls(items, pa.int32())}, schema=CONTENT)
    library = np.minimum(np.floor(rng.pareto(1.21, n) + 1).astype(np.int64) * 2, 2000)
    owner = np.repeat(np.arange(n), library)
    illicit, benign = np.flatnonzero(status != "benign"), np.flatnonzero(status == "benign")
    pool = np.where(role[owner] == "benign", benign[rng.integers(0, len(benign), len(owner))],
                    illicit[rng.integers(0, len(illicit), len(owner))])
    first = rng.integers(0, days, len(owner))
    last = np.where(rng.random(len(owner)) < 0.7, days - 1,
                    first + (rng.random(len(owner)) * (days - first)).astype(np.int64))
    shares = pa.table({
        "person_id": owner.astype(np.int32), "content_id": pool.astype(np.int32),
        "first": pa.array(T0_US + first * DAY_US, pa.timestamp("us", tz="UTC")),
        "last": pa.array(T0_US + last * DAY_US, pa.timestamp("us", tz="UTC"))},
        schema=SHARES)
    count = rng.poisson(days * per_day * np.minimum(rng.pareto(2.0, n) + 1, 4) / 1.5)
    who = np.repeat(np.arange(n), count)
    m = len(who)
    start = T0_US + (rng.random(m) * days * DAY_US).astype(np.int64)
    length = (rng.lognormal(np.log(2.0), 1.0, m) * 3_600e6).astype(np.int64)
    a, b = (who // 250) % 250, who % 250 + 1
    ip = pc.binary_join_element_wise(
        "10.", pa.array(a).cast(pa.string()), ".", pa.array(b).cast(pa.string()), ".7", "")
    sessions = pa.table({
        "install_id": who.astype(np.int32), "person_id": who.astype(np.int32),
        "start": pa.array(start, pa.timestamp("us", tz="UTC")),
        "end": pa.array(start + length, pa.timestamp("us", tz="UTC")),
        "ip": ip, "port": np.full(m, 4662, np.int32),
        "peer_id": _fixed(rng, m, 20, net[who] == 2),
        "ed2k_client_id": pc.if_else(pa.array(ed2k[who]),
                                             pa.array(rng.integers(1, 2**32, m)),
                                             pa.scalar(None, pa.int64()))}, schema=SESSIONS)
    out = {}
    for name, table in zip(TABLES, (persons, installs, sessions, shares, content), strict=True):
        pq.write_table(table, work / f"{name}.parquet")
        out[name] = table.num_rows
    return out


def phase_emit(work: Path, target: int, scale: str) -> dict[str, Any]:
    """Load the inputs and run the sensors stage."""
    from icarus.sim.rng import Streams
    from icarus.sim.sensors import emit_sightings, sightings_summary
    from icarus.sim.sensors_config import SensorsConfig

    tables = {name: pq.read_table(work / f"{name}.parquet") for name in TABLES}
    cfg = SensorsConfig.for_scale(scale, {"target_records": target})
    loaded = peak_rss_mib()
    start, cpu = time.perf_counter(), time.process_time()
    truth = emit_sightings(cfg, Streams(1), out_dir=work / "sightings", **tables)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    records = sum(s["records"] for s in sightings_summary(truth))
    size = sum(p.stat().st_size for p in (work / "sightings").iterdir())
    return {"seconds": seconds, "cpu": cpu, "records": records, "truth": truth.num_rows,
            "bytes": size, "rss_inputs": loaded, "peak_rss": peak_rss_mib()}


def phase_peer(work: Path, sample: int) -> dict[str, Any]:
    """``json.dumps`` per record for the first ``sample`` records of a v1 file."""
    path = next(p for p in sorted((work / "sightings").glob("*.jsonl")))
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
            if len(records) >= sample:
                break
    start, cpu = time.perf_counter(), time.process_time()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "records": len(records), "chars": len(text)}


def _run(phase: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--work", str(work),
           "--target", str(args.target), "--scale", args.scale, "--sample", str(args.sample)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=15_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--items", type=int, default=20_000, help="content items")
    parser.add_argument("--sessions-per-day", type=float, default=0.4,
                        help="mean sessions per person and day (the tiny world has ~0.36)")
    parser.add_argument("--target", type=int, default=1_000_000, help="records to write")
    parser.add_argument("--scale", default="medium", help="sensor preset (tiny ... large)")
    parser.add_argument("--sample", type=int, default=200_000, help="peer sample records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phase", default="", help=argparse.SUPPRESS)
    parser.add_argument("--work", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "emit":
        print(json.dumps(phase_emit(Path(args.work), args.target, args.scale)))
        return
    if args.phase == "peer":
        print(json.dumps(phase_peer(Path(args.work), args.sample)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-sensors-") as tmp:
        work = Path(tmp)
        counts = generate(work, args.people, args.days, args.items, args.seed,
                          args.sessions_per_day)
        emit = _run("emit", args, work)
        peer = _run("peer", args, work)
    per_record = peer["cpu"] / max(peer["records"], 1)
    peer_total = per_record * emit["records"]
    print(f"machine: {cpu_model()}, {cpu_count()} cores, load {load_average()}")
    print("inputs: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print_table(["what", "records", "wall s", "CPU s", "records/CPU s", "peak RSS MiB"], [
        ["icarus emit_sightings (all styles, noise)", emit["records"], emit["seconds"],
         emit["cpu"], emit["records"] / emit["cpu"], emit["peak_rss"]],
        ["peer json.dumps per record (format only)", emit["records"], float("nan"),
         peer_total, 1 / per_record, float("nan")],
    ])
    print(f"inputs loaded: {emit['rss_inputs']:.0f} MiB; files {emit['bytes'] / 2**20:.0f} MiB; "
          f"truth rows {emit['truth']:,}; peer/icarus CPU time ratio "
          f"{peer_total / emit['cpu']:.2f}")


if __name__ == "__main__":
    main()
