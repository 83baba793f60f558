"""Benchmark: one-pass multi-hashing of a file tree, Icarus against hashdeep and RHash.

Generates (once, cached) a seeded corpus of many small files (1 KiB-2 MiB, log-uniform) and a
few big ones, warms the page cache, then times side by side, best of ``--repeat``:

* Icarus ``hash_files`` (MD5 + SHA-1 + SHA-256 + ed2k red/blue), all cores, and one thread;
* ``hashdeep -r -c md5,sha1,sha256 DIR`` (multi-threaded, one file per thread);
* ``rhash -r --md5 --sha1 --sha256 --ed2k DIR`` (one thread).

Runs are interleaved (each round runs every tool once) so that load from other users of the
machine spreads over all of them. Full run: ``.venv/bin/python bench/bench_hashing.py``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The bench folder is not a package: make its helpers importable when run as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    best_of,
    cpu_count,
    cpu_flags,
    cpu_model,
    load_average,
    peak_rss_mib,
    print_table,
    run_quiet,
    tool_version,
    which,
)
from icarus.identify.multihash import hash_files
from icarus.identify.walk import iter_files

MIB = 1 << 20
SMALL_MIN, SMALL_MAX = 1024, 2 * MIB
BIG_COUNT = 3
BIG_SHARE = 120_000_000 / (1 << 30)
"""Each big file is this share of the corpus: 3 x 120 MB in the 1 GiB corpus."""
FILES_PER_FOLDER = 200
CHUNK = 4 * MIB


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: int
    total_bytes: int


def _plan_sizes(total: int, rng: random.Random) -> tuple[list[int], list[int]]:
    big = [max(SMALL_MAX + 1, int(total * BIG_SHARE))] * BIG_COUNT
    budget = total - sum(big)
    small: list[int] = []
    low, high = math.log(SMALL_MIN), math.log(SMALL_MAX)
    while budget > 0:
        size = min(budget, int(math.exp(rng.uniform(low, high))))
        small.append(max(size, 1))
        budget -= size
    return big, small


def _write(path: Path, size: int, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        left = size
        while left:
            step = min(left, CHUNK)
            fh.write(rng.randbytes(step))
            left -= step


def build_corpus(base: Path, size_mib: int, seed: int) -> Corpus:
    """The corpus for these parameters, generated under ``base`` unless already complete."""
    root = base / f"seed{seed}-{size_mib}MiB"
    marker = root / "COMPLETE.json"
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        return Corpus(root, int(info["files"]), int(info["total_bytes"]))
    rng = random.Random(seed)
    big, small = _plan_sizes(size_mib * MIB, rng)
    print(f"generating {len(big) + len(small)} files ({size_mib} MiB) in {root} ...", flush=True)
    for i, size in enumerate(big):
        _write(root / "big" / f"big{i:02d}.bin", size, rng)
    for i, size in enumerate(small):
        _write(root / f"d{i // FILES_PER_FOLDER:04d}" / f"f{i:06d}.bin", size, rng)
    total = sum(big) + sum(small)
    info = {"files": len(big) + len(small), "total_bytes": total, "seed": seed}
    marker.write_text(json.dumps(info), encoding="utf-8")
    return Corpus(root, len(big) + len(small), total)


def warm(corpus: Corpus) -> None:
    """Read every file once so that every tool is timed on a warm page cache."""
    view = memoryview(bytearray(MIB))
    for path in iter_files([corpus.root]):
        with path.open("rb", buffering=0) as fh:
            while fh.readinto(view):
                pass


def icarus_run(corpus: Corpus, workers: int) -> None:
    """Hash the whole corpus once with Icarus; any error stops the benchmark."""
    count = 0
    for outcome in hash_files(iter_files([corpus.root]), workers=workers):
        if outcome.error is not None:
            raise SystemExit(f"icarus: {outcome.error}")
        count += 1
    if count != corpus.files + 1:  # the COMPLETE.json marker is hashed too
        raise SystemExit(f"icarus hashed {count} files, expected {corpus.files + 1}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path("/tmp/icarus-bench-corpus"),
        help="folder where the generated corpus is cached",
    )
    parser.add_argument(
        "--size-mib",
        type=int,
        default=1024,
        help="corpus size in MiB (default 1024; e.g. 64 for a quick check)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is kept")
    parser.add_argument("--seed", type=int, default=20260529, help="corpus RNG seed")
    parser.add_argument(
        "--workers", type=int, default=cpu_count(), help="Icarus threads (default: all cores)"
    )
    parser.add_argument(
        "--no-single",
        action="store_true",
        help="skip the one-thread Icarus run (it shows how threads scale)",
    )
    args = parser.parse_args(argv)

    corpus = build_corpus(args.corpus, args.size_mib, args.seed)
    warm(corpus)
    rss_before = peak_rss_mib()
    mib = corpus.total_bytes / MIB
    root = str(corpus.root)

    runs: dict[str, list[float]] = {}
    tools: dict[str, Callable[[], None]] = {
        f"icarus ({args.workers} threads)": lambda: icarus_run(corpus, args.workers),
    }
    if not args.no_single and args.workers != 1:
        tools["icarus (1 thread)"] = lambda: icarus_run(corpus, 1)
    peers = {
        "hashdeep": ["hashdeep", "-r", "-c", "md5,sha1,sha256", root],
        "rhash": ["rhash", "-r", "--md5", "--sha1", "--sha256", "--ed2k", root],
    }
    for name, cmd in peers.items():
        if which(cmd[0]) is None:
            print(f"note: {cmd[0]} is not installed; its row is skipped", file=sys.stderr)
        else:
            tools[name] = functools.partial(run_quiet, cmd)
    load_start = load_average()
    for _ in range(max(1, args.repeat)):
        for name, run in tools.items():
            runs.setdefault(name, []).append(best_of(1, run))
    load_end = load_average()

    best = {name: min(times) for name, times in runs.items()}
    speed = {name: mib / seconds for name, seconds in best.items()}
    icarus = speed[f"icarus ({args.workers} threads)"]
    rows = [[name, best[name], speed[name], icarus / speed[name]] for name in best]
    print()
    print(f"corpus    {corpus.files} files, {mib:,.0f} MiB, {corpus.root} (page cache warm)")
    print(f"machine   {cpu_model()}, {cpu_count()} cores; flags: {' '.join(cpu_flags())}")
    print(
        f"python    {sys.version.split()[0]}; "
        f"{tool_version(['hashdeep', '-V'])} (hashdeep); {tool_version(['rhash', '-V'])}"
    )
    print(f"load avg  {load_start} before, {load_end} after (other users disturb figures)")
    print(
        f"rounds    {args.repeat}, best kept; all times: "
        + "; ".join(f"{n} " + ", ".join(f"{t:.2f}" for t in ts) for n, ts in runs.items())
    )
    print()
    print_table(["tool", "best s", "MiB/s", "icarus / tool"], rows)
    print()
    for peer, target in (("hashdeep", 1.5), ("rhash", 1.3)):
        if peer in speed:
            ratio = icarus / speed[peer]
            verdict = "met" if ratio >= target else "NOT met"
            print(f"icarus/{peer:<8} {ratio:5.2f}  (target >= {target}: {verdict})")
    print(
        f"icarus peak RSS {peak_rss_mib():.0f} MiB (process high-water mark; "
        f"{rss_before:.0f} MiB before hashing)"
    )
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    raise SystemExit(code)
