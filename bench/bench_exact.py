"""Benchmark: the exact-digest index against a Python dict of the same digests.

Generates ``--entries`` random 16-byte (MD5-sized) digests and ``--queries`` queries, half of
them present, half absent, then measures, each phase in its own process so that peak memory is
its own:

* Icarus: ``ExactIndex.build`` time and peak RSS; ``ExactIndex.open`` time in fresh processes
  (median of ``--opens``; the files were just written, so the page cache is warm); lookups per
  second on the whole batch, first call (pages mapped as they are touched) and best of
  ``--repeat``; peak RSS, split into anonymous memory and mapped file pages;
* peer: a ``dict`` from the digests' ``bytes`` to their row, built from the same array, doing
  the same lookups (``dict.get`` on a prepared list of ``bytes``); build time and peak RSS.

Full run (20 M entries, 1 M queries): ``.venv/bin/python bench/bench_exact.py``.
Quick run: ``.venv/bin/python bench/bench_exact.py --entries 1000000 --queries 100000``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, peak_rss_mib, print_table
from icarus.bank.index.exact import ExactIndex

SIZE = 16


def memory() -> dict[str, float]:
    """Peak RSS, and current anonymous and file-backed resident memory, in MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return {
        "peak_rss": peak_rss_mib(),
        "anon": fields.get("RssAnon", 0.0),
        "file": fields.get("RssFile", 0.0),
    }


def generate(work: Path, entries: int, queries: int, seed: int) -> None:
    """Digests and queries (half present, half absent) as .npy files in ``work``."""
    rng = np.random.default_rng(seed)
    digests = rng.integers(0, 256, (entries, SIZE), dtype=np.uint8)
    present = digests[rng.integers(0, entries, queries // 2)]
    absent = rng.integers(0, 256, (queries - len(present), SIZE), dtype=np.uint8)
    wanted = np.concatenate([present, absent])
    rng.shuffle(wanted)
    np.save(work / "digests.npy", digests)
    np.save(work / "queries.npy", wanted)


def phase_build(work: Path) -> dict[str, Any]:
    digests = np.load(work / "digests.npy")
    start = time.perf_counter()
    ExactIndex.build(digests, work / "index", kind="md5")
    return {"seconds": time.perf_counter() - start, **memory()}


def phase_open(work: Path) -> dict[str, Any]:
    start = time.perf_counter()
    index = ExactIndex.open(work / "index")
    return {"seconds": time.perf_counter() - start, "entries": len(index)}


def phase_lookup(work: Path, repeat: int) -> dict[str, Any]:
    queries = np.load(work / "queries.npy")
    index = ExactIndex.open(work / "index")
    start = time.perf_counter()
    query_idx, _ = index.lookup(queries)
    first = time.perf_counter() - start
    best = first
    for _ in range(repeat):
        start = time.perf_counter()
        index.lookup(queries)
        best = min(best, time.perf_counter() - start)
    found = len(np.unique(query_idx))
    return {"first": first, "best": best, "found": found, **memory()}


def phase_dict(work: Path, repeat: int) -> dict[str, Any]:
    raw = np.load(work / "digests.npy").tobytes()
    start = time.perf_counter()
    table = {raw[i : i + SIZE]: i // SIZE for i in range(0, len(raw), SIZE)}
    build = time.perf_counter() - start
    del raw
    wanted = np.load(work / "queries.npy").tobytes()
    keys = [wanted[i : i + SIZE] for i in range(0, len(wanted), SIZE)]
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        rows = [table.get(key) for key in keys]
        best = min(best, time.perf_counter() - start)
    found = sum(row is not None for row in rows)
    return {"build": build, "best": best, "found": found, **memory()}


def run_phase(work: Path, name: str, *extra: str) -> dict[str, Any]:
    """Run one phase of this script in a fresh interpreter and return its JSON result."""
    argv = [sys.executable, __file__, "--phase", name, "--workdir", str(work), *extra]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{result.stderr[-2000:]}")
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def compare(args: argparse.Namespace, work: Path) -> None:
    """Generate the data in ``work``, run every phase, print the figures and ratios."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "index", ignore_errors=True)
    print(f"{cpu_model()}, {cpu_count()} cores; load before: {load_average()}")
    print(f"{args.entries:,} random MD5-sized digests, {args.queries:,} queries (half present)")
    generate(work, args.entries, args.queries, args.seed)
    build = run_phase(work, "build")
    opens = [run_phase(work, "open")["seconds"] for _ in range(args.opens)]
    repeat = ["--repeat", str(args.repeat)]
    icarus = run_phase(work, "lookup", *repeat)
    peer = run_phase(work, "dict", *repeat)
    size = sum(p.stat().st_size for p in (work / "index").iterdir()) / (1 << 20)
    rate = args.queries / icarus["best"]
    peer_rate = args.queries / peer["best"]
    print(
        f"index on disk: {size:,.0f} MiB; open (fresh process, warm page cache): "
        f"median {statistics.median(opens) * 1e3:.2f} ms, max {max(opens) * 1e3:.2f} ms"
    )
    print_table(
        [
            "",
            "build s",
            "lookups/s (best)",
            "first pass s",
            "found",
            "peak RSS MiB",
            "anon MiB",
            "file MiB",
        ],
        [
            [
                "Icarus ExactIndex",
                build["seconds"],
                rate,
                f"{icarus['first']:.3f}",
                icarus["found"],
                icarus["peak_rss"],
                icarus["anon"],
                icarus["file"],
            ],
            [
                "Python dict",
                peer["build"],
                peer_rate,
                "-",
                peer["found"],
                peer["peak_rss"],
                peer["anon"],
                peer["file"],
            ],
        ],
    )
    print("(RSS columns: the lookup process, after its lookups; file = mapped index pages)")
    print(
        f"Icarus lookups: {rate / peer_rate:.1f}x the dict's rate; build: "
        f"{peer['build'] / build['seconds']:.1f}x faster than the dict's; lookup-process "
        f"peak RSS {icarus['peak_rss'] / peer['peak_rss']:.2f}x the dict's"
    )
    print(
        f"Icarus build process peak RSS {build['peak_rss']:,.0f} MiB; load after: {load_average()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed lookup passes (best kept)")
    parser.add_argument("--opens", type=int, default=5, help="fresh processes timing open()")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep data and index here (default: temp)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phases = {
            "build": lambda: phase_build(args.workdir),
            "open": lambda: phase_open(args.workdir),
            "lookup": lambda: phase_lookup(args.workdir, args.repeat),
            "dict": lambda: phase_dict(args.workdir, args.repeat),
        }
        print(json.dumps(phases[args.phase]()))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-exact-"))
    try:
        compare(args, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
