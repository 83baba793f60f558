"""Benchmark: the PDQ multi-index against faiss ``IndexBinaryFlat`` brute force, radius 31.

Generates ``--entries`` uniform random 256-bit codes and ``--queries`` queries, each a bank
code with 0-31 random bits flipped (uniformly spread), and measures, each phase in its own
process so that peak memory is its own:

* Icarus: ``PdqIndex.build`` time and peak RSS (the index directory's size too), then
  ``PdqIndex.open`` and ``search`` of the whole batch at radius 31: the first pass (index pages
  mapped as they are touched; the page cache is warm, the files were just written) and the
  best of ``--repeat``. numpy is single-threaded: Icarus uses 1 thread.
* faiss: ``IndexBinaryFlat`` filled with the same codes, ``range_search`` with threshold 32
  (faiss keeps distances strictly below it, i.e. <= 31), with ``--threads`` OpenMP threads and,
  unless ``--no-faiss-2``, again with 2.

Recall is checked against the planted pairs and against faiss's full answer (the two result
sets must be identical). Full run: ``.venv/bin/python bench/bench_pdq_index.py``; quick run:
``.venv/bin/python bench/bench_pdq_index.py --entries 1000000 --queries 1000``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, peak_rss_mib, print_table
from icarus.bank.index.pdq import PdqIndex

RADIUS = 31


def generate(work: Path, entries: int, queries: int, seed: int) -> None:
    """Codes, queries and the planted (query, row) pairs as .npy files in ``work``."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (entries, 32), dtype=np.uint8)
    rows = rng.choice(entries, queries, replace=False)
    flips = rng.integers(0, RADIUS + 1, queries)
    # Each query flips its first ``flips`` bits of a random permutation of the 256.
    order = np.argsort(rng.random((queries, 256)), axis=1)
    mask = np.zeros((queries, 256), np.uint8)
    np.put_along_axis(mask, order, (np.arange(256)[None, :] < flips[:, None]).astype(np.uint8), 1)
    np.save(work / "codes.npy", codes)
    np.save(work / "queries.npy", codes[rows] ^ np.packbits(mask, axis=1))
    np.save(work / "planted.npy", np.stack([np.arange(queries), rows, flips], axis=1))


def phase_build(work: Path) -> dict[str, Any]:
    codes = np.load(work / "codes.npy")
    start = time.perf_counter()
    PdqIndex.build(codes, work / "index")
    return {"seconds": time.perf_counter() - start, "peak_rss": peak_rss_mib()}


def phase_icarus(work: Path, repeat: int) -> dict[str, Any]:
    queries = np.load(work / "queries.npy")
    start = time.perf_counter()
    index = PdqIndex.open(work / "index")
    opened = time.perf_counter() - start
    start = time.perf_counter()
    hits = index.search(queries, RADIUS)
    first = time.perf_counter() - start
    best = first
    for _ in range(repeat):
        start = time.perf_counter()
        index.search(queries, RADIUS)
        best = min(best, time.perf_counter() - start)
    np.save(work / "icarus.npy", np.stack(hits, axis=1))
    tables = [part.width for part in index.substrings]
    return {
        "open": opened,
        "first": first,
        "best": best,
        "tables": tables,
        "peak_rss": peak_rss_mib(),
    }


def phase_faiss(work: Path, threads: int, knn_queries: int) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(threads)
    codes, queries = np.load(work / "codes.npy"), np.load(work / "queries.npy")
    start = time.perf_counter()
    index = faiss.IndexBinaryFlat(256)
    index.add(codes)
    built = time.perf_counter() - start
    del codes
    start = time.perf_counter()
    lims, distances, ids = index.range_search(queries, RADIUS + 1)  # strict: < 32 means <= 31
    seconds = time.perf_counter() - start
    owners = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))
    # k-NN search blocks queries for cache reuse and is faiss's fastest brute force, but it
    # is not a range search (a fixed k can miss neighbours): timed only, as a reference.
    sample = queries[:knn_queries]
    start = time.perf_counter()
    index.search(sample, 1)
    knn = (time.perf_counter() - start) / max(1, len(sample))
    np.save(work / f"faiss{threads}.npy", np.stack([owners, ids, distances], axis=1))
    return {
        "build": built,
        "seconds": seconds,
        "knn": knn,
        "threads": faiss.omp_get_max_threads(),
        "peak_rss": peak_rss_mib(),
    }


def run_phase(work: Path, name: str, *extra: str) -> dict[str, Any]:
    """Run one phase of this script in a fresh interpreter and return its JSON result."""
    argv = [sys.executable, __file__, "--phase", name, "--workdir", str(work), *extra]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{result.stderr[-2000:]}")
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def pair_set(triples: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(triples[:, 0].tolist(), triples[:, 1].tolist(), strict=True))


def compare(args: argparse.Namespace, work: Path) -> None:
    """Generate the data in ``work``, run every phase, print the figures and ratios."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "index", ignore_errors=True)
    print(f"{cpu_model()}, {cpu_count()} cores; load before: {load_average()}")
    print(
        f"{args.entries:,} uniform random PDQ codes, {args.queries:,} queries planted at 0-31 bits"
    )
    generate(work, args.entries, args.queries, args.seed)
    build = run_phase(work, "build")
    icarus = run_phase(work, "icarus", "--repeat", str(args.repeat))
    thread_counts = [args.threads] + ([] if args.no_faiss_2 or args.threads == 2 else [2])
    knn = ["--knn-queries", str(args.knn_queries)]
    peers = [run_phase(work, "faiss", "--threads", str(t), *knn) for t in thread_counts]
    size = sum(p.stat().st_size for p in (work / "index").iterdir()) / (1 << 20)
    found = pair_set(np.load(work / "icarus.npy"))
    planted = pair_set(np.load(work / "planted.npy"))
    ms = 1e3 / args.queries
    print(
        f"Icarus tables: {len(icarus['tables'])} substrings of "
        f"{sorted(set(icarus['tables']))} bits; "
        f"index on disk {size:,.0f} MiB; open {icarus['open'] * 1e3:.1f} ms"
    )
    print(
        f"recall vs planted pairs: {len(found & planted) / len(planted):.6f} "
        f"({len(planted):,} planted)"
    )
    rows = [
        [
            "Icarus PdqIndex",
            1,
            build["seconds"],
            icarus["best"] * ms,
            icarus["first"] * ms,
            build["peak_rss"],
            icarus["peak_rss"],
            len(found),
        ]
    ]
    for peer in peers:
        theirs = pair_set(np.load(work / f"faiss{peer['threads']}.npy"))
        print(
            f"faiss {peer['threads']} thread(s): {len(theirs):,} pairs; Icarus recall vs faiss "
            f"{len(found & theirs) / max(1, len(theirs)):.6f}, identical sets: {found == theirs}"
        )
        rows.append(
            [
                "faiss IndexBinaryFlat range",
                peer["threads"],
                peer["build"],
                peer["seconds"] * ms,
                peer["seconds"] * ms,
                peer["peak_rss"],
                peer["peak_rss"],
                len(theirs),
            ]
        )
        knn_ms = peer["knn"] * 1e3
        rows.append(
            ["faiss IndexBinaryFlat k=1 *", peer["threads"], "", knn_ms, knn_ms, "", "", ""]
        )
    print_table(
        [
            "",
            "threads",
            "build s",
            "ms/query",
            "first pass ms/q",
            "build RSS MiB",
            "search RSS MiB",
            "pairs",
        ],
        rows,
    )
    print(f"* k-NN (k=1) on the first {args.knn_queries:,} queries: timing reference only")
    for peer in peers:
        print(
            f"Icarus (1 thread) is {peer['seconds'] / icarus['best']:.1f}x faster than faiss "
            f"range search and {peer['knn'] * args.queries / icarus['best']:.1f}x faster than "
            f"its k-NN search, with {peer['threads']} faiss thread(s)"
        )
    print(f"load after: {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1, help="faiss threads for the 1:1 run")
    parser.add_argument("--no-faiss-2", action="store_true", help="skip faiss with 2 threads")
    parser.add_argument("--repeat", type=int, default=2, help="timed search passes (best kept)")
    parser.add_argument("--knn-queries", type=int, default=1000, help="queries timed for k-NN")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep data and index here (default: temp)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phases = {
            "build": lambda: phase_build(args.workdir),
            "icarus": lambda: phase_icarus(args.workdir, args.repeat),
            "faiss": lambda: phase_faiss(args.workdir, args.threads, args.knn_queries),
        }
        print(json.dumps(phases[args.phase]()))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pdq-"))
    try:
        compare(args, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
