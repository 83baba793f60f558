"""Benchmark: ingesting sighting files into the dataset, against DuckDB reading them alone.

Builds (once, cached under /tmp/icarus-bench) a synthetic world with ``icarus sim world``, or
takes ``--world DIR``. Each contender runs in its own child process, so each peak RSS is its own:

* Icarus ``ingest_files`` with its defaults (files of 8 MiB or more in all are read by one
  worker process per CPU, two at most, each a shard of every file; with ``--one-process``
  also read in the ingest process alone, by its second thread) into a fresh
  workspace whose bank holds the world's ``hashsets/known.vics.json`` (imported in the child
  before the clock starts): every record validated (bad ones quarantined with file, line and
  reason), matched against the alert sets, benign sightings dropped (data minimisation),
  duplicates removed via the SQLite ledger, kept rows written to day-partitioned Parquet,
  crash-safe commit; its CPU time is that of all its processes;
* the peer: DuckDB alone reading the same files (``read_json(format='newline_delimited')`` for
  the v1 JSON lines, ``read_csv`` for the tool A CSV) into one Parquet file, with no validation,
  no matching and no dedupe, on 1 thread and on 2.

Issue #4 target: Icarus >= 0.5x DuckDB's rows/s on the same files. The machine's speed drifts
(a shared host): every contender runs ``--repeat`` rounds (default 3), one after the other in
each round, and the ratio reported is the median of the rounds' own ratios (and that of the
best rounds).
Full run: ``.venv/bin/python bench/bench_ingest.py`` (medium world, about 1 M sightings).
Quick check: ``.venv/bin/python bench/bench_ingest.py --scale tiny``.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, peak_rss_mib, print_table

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/icarus-bench")
SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "json": ".json"}


def world_dir(scale: str, seed: int) -> Path:
    """The cached world of ``scale`` and ``seed``, generated on first use."""
    out = CACHE / f"world-{scale}-s{seed}"
    if not (out / "sightings").is_dir():
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the {scale} world (seed {seed}) in {out} ...", flush=True)
        start = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "icarus"), "sim", "world", "--seed",
                        str(seed), "--scale", scale, "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"  built in {time.perf_counter() - start:.0f} s", flush=True)
    return out


def files_of(world: Path, kind: str) -> list[Path]:
    """The world's sensor files of one kind (v1 JSON lines, or tool A CSV)."""
    return sorted(p for p in (world / "sightings").iterdir() if p.suffix == SUFFIX[kind])


def run_icarus(world: Path, kind: str, profile: Path | None, *,
               one_process: bool = False) -> dict[str, Any]:
    """Import the world's VICS into a fresh workspace, then time ``ingest_files`` (in this
    with Icarus's defaults, or read in this process alone if ``one_process``)."""
    from icarus.bank.service import BankService
    from icarus.core.settings import load_settings
    from icarus.sensors import ingest
    from icarus.sensors.ingest import ingest_files

    if one_process:
        ingest.WORKER_BYTES = None

    home = Path(tempfile.mkdtemp(prefix="icarus-bench-ingest-"))
    try:
        settings = load_settings(home=str(home))
        BankService(settings).import_file(world / "hashsets" / "known.vics.json",
                                          set_name="known")
        files = files_of(world, kind)
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        faults = _minor_faults()
        if profile is not None:
            import cProfile

            with cProfile.Profile() as prof:
                reports = ingest_files(settings, files)
            prof.dump_stats(profile)
        else:
            reports = ingest_files(settings, files)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        others = _children_cpu() - children  # the reading worker processes (reaped by now)
        faults = {k: after - before for (k, after), before
                  in zip(_minor_faults().items(), faults.values(), strict=True)}
    finally:
        shutil.rmtree(home, ignore_errors=True)
    totals = {k: sum(getattr(r, k) for r in reports)
              for k in ("read", "kept", "not_alert", "duplicates", "quarantined")}
    return {"rows": totals["read"], "seconds": seconds, "cpu": cpu + others, "cpu_main": cpu,
            "rss_mib": peak_rss_mib(), "faults": faults, **totals}


def _minor_faults() -> dict[str, int]:
    """Minor page faults so far of this process and of its reaped children (the workers)."""
    import resource

    return {"main": resource.getrusage(resource.RUSAGE_SELF).ru_minflt,
            "workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_duckdb(world: Path, kind: str, threads: int) -> dict[str, Any]:
    """DuckDB alone: the same files read and written to one Parquet file."""
    import duckdb

    paths = files_of(world, kind)
    if kind == "json":  # DuckDB cannot read a truncated JSON document at all: whole ones only
        paths = [p for p in paths if _whole_document(p)]
    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    source = {
        "jsonl": f"read_json({files}, format = 'newline_delimited', ignore_errors = true)",
        "csv": f"read_csv({files}, delim = ';', header = true, ignore_errors = true)",
        # tool B: one JSON document per file, its results unnested into rows
        "json": f"(SELECT unnest(results, recursive := true) FROM read_json({files}, "
                f"maximum_object_size = 2147483647, ignore_errors = true))",
    }[kind]
    out = Path(tempfile.mkdtemp(prefix="icarus-bench-duckdb-"))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        con = duckdb.connect()
        con.execute(f"SET threads TO {threads}")
        con.execute(f"COPY (SELECT * FROM {source}) TO '{out / 'rows.parquet'}' "
                    f"(FORMAT parquet)")
        row = con.execute(f"SELECT count(*) FROM '{out / 'rows.parquet'}'").fetchone()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"rows": row[0] if row else 0, "seconds": seconds, "cpu": cpu,
            "rss_mib": peak_rss_mib()}


def _whole_document(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 16))
        return fh.read().rstrip().endswith(b"]}")


def child(which: str, world: Path, kind: str, profile: Path | None) -> dict[str, Any]:
    """Run one contender in a fresh interpreter; its JSON result."""
    argv = [sys.executable, __file__, "--child", which, "--world", str(world), "--kind", kind]
    if profile is not None:
        argv += ["--profile", str(profile)]
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{which} ({kind}) failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def compare(world: Path, kind: str, profile: Path | None, *, one_process: bool,
            repeat: int) -> None:
    """Run the contenders on one kind of file, ``repeat`` rounds (each round every contender
    once, one after the other), and print each one's best round and the ratios: the median
    over the rounds of each round's own ratio (the contenders of a round ran under the same
    load), and the ratio of the best rounds."""
    files = files_of(world, kind)
    size = sum(p.stat().st_size for p in files)
    print(f"\n{kind}: {len(files)} files, {size / 2**20:,.0f} MiB; load before {load_average()}")
    names = {"icarus": f"icarus ingest_files ({kind}, defaults)",
             "duckdb1": "duckdb -> parquet, 1 thread", "duckdb2": "duckdb -> parquet, 2 threads"}
    if one_process:
        names["icarus1"] = f"icarus ingest_files ({kind}, one process)"
    rounds: list[dict[str, dict[str, Any]]] = []
    for number in range(repeat):
        rounds.append({which: child(which, world, kind, profile if number == 0 and
                                    which == "icarus" else None) for which in names})
    best = {which: min((r[which] for r in rounds), key=lambda x: x["seconds"])
            for which in names}
    rows = [[names[which], f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{r['cpu']:.2f}",
             f"{r['rows'] / r['seconds']:,.0f}", f"{r['rss_mib']:,.0f}"]
            for which, r in best.items()]
    print(f"best of {repeat} rounds:")
    print_table(["contender", "rows", "seconds", "CPU s", "rows/s", "peak RSS MiB"], rows)
    icarus = best["icarus"]
    print(f"icarus: read {icarus['read']:,} = kept {icarus['kept']:,} + benign dropped "
          f"{icarus['not_alert']:,} + duplicates {icarus['duplicates']:,} + quarantined "
          f"{icarus['quarantined']:,}")
    print(f"icarus (defaults) CPU s: {icarus['cpu_main']:.2f} ingest process + "
          f"{icarus['cpu'] - icarus['cpu_main']:.2f} reading workers (peak RSS: the ingest "
          f"process's); minor page faults {icarus['faults']['main']:,} + "
          f"{icarus['faults']['workers']:,}")

    def speed(r: dict[str, Any]) -> float:
        return float(r["rows"]) / float(r["seconds"])

    for mine in ("icarus", "icarus1") if one_process else ("icarus",):
        per_round = {peer: sorted(speed(r[mine]) / speed(r[peer]) for r in rounds)
                     for peer in ("duckdb1", "duckdb2")}
        print(f"{names[mine]}/duckdb speed ratio: median of the rounds' ratios "
              f"{statistics.median(per_round['duckdb1']):.2f}x (1 thread; rounds "
              f"{', '.join(f'{x:.2f}' for x in per_round['duckdb1'])}), "
              f"{statistics.median(per_round['duckdb2']):.2f}x (2 threads); best rounds "
              f"{speed(best[mine]) / speed(best['duckdb1']):.2f}x (1 thread), "
              f"{speed(best[mine]) / speed(best['duckdb2']):.2f}x (2 threads); target >= 0.5x")
    print(f"CPU-time ratio (best rounds, 1 thread) {best['duckdb1']['cpu'] / icarus['cpu']:.2f}x;"
          f" load after {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, help="an existing world (else one is built)")
    parser.add_argument("--scale", default="medium",
                        choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default="jsonl,csv",
                        help="comma-separated: jsonl (v1), csv (tool A), json (tool B)")
    parser.add_argument("--profile", type=Path,
                        help="write cProfile stats of the Icarus run to PROFILE.<kind>")
    parser.add_argument("--one-process", action="store_true",
                        help="also time the ingest reading in its own process (no workers)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of every contender (the median of the rounds' ratios and "
                             "the best round of each are reported)")
    parser.add_argument("--child", choices=["icarus", "icarus1", "duckdb1", "duckdb2"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=sorted(SUFFIX), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (run_icarus(args.world, args.kind, args.profile,
                             one_process=args.child == "icarus1")
                  if args.child.startswith("icarus")
                  else run_duckdb(args.world, args.kind, int(args.child[-1])))
        print(json.dumps(result))
        return
    world = args.world or world_dir(args.scale, args.seed)
    print(f"{cpu_model()}, {cpu_count()} cores (shared: see the load averages); world {world}")
    print("Note: Icarus validates every record (rejects are quarantined with file, line and "
          "reason), matches it against the alert sets and drops benign sightings (data "
          "minimisation), dedupes through its SQLite ledger and commits crash-safely; DuckDB "
          "only parses and writes. Rows = records read by each.")
    for kind in args.kinds.split(","):
        if kind not in SUFFIX:
            parser.error(f"unknown kind {kind!r}")
        compare(world, kind,
                args.profile.with_suffix(f".{kind}") if args.profile is not None else None,
                one_process=args.one_process, repeat=max(1, args.repeat))


if __name__ == "__main__":
    main()
