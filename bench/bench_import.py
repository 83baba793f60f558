"""Benchmark: importing a VICS hash set into the bank, end to end, against DuckDB.

Generates (once, cached; bench/make_vics.py) a VICS 2.0 hash set of ``--entries`` Media, then
runs each contender in its own child process, so that each one's peak RSS is its own:

* Icarus ``icarus bank import`` (the real command into a fresh workspace): streaming parse,
  validation, category mapping, entries written to Parquet, exact and PDQ indexes compiled;
* the peer: DuckDB reading the same file on its own (``read_json`` of the ``value`` array,
  unnested) and writing it to Parquet, with no validation and no index, on 1 thread (as
  Icarus's import runs) and on 2.

Budget (issue #2): >= 50k entries/s with peak RSS under 1 GB for 1 M entries.
Full run: ``.venv/bin/python bench/bench_import.py`` (1 M entries, about 450 MB of JSON).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, peak_rss_mib, print_table
from make_vics import write

ROOT = Path(__file__).resolve().parent.parent


def run_icarus(path: Path) -> dict[str, Any]:
    """Import ``path`` with the real command into a fresh workspace (in this process)."""
    from icarus.cli.main import main

    home = Path(tempfile.mkdtemp(prefix="icarus-bench-import-"))
    try:
        start = time.perf_counter()
        code = main(["--home", str(home), "-q", "bank", "import", str(path), "--name", "bench"])
        seconds = time.perf_counter() - start
        if code not in (0, 1):
            raise SystemExit(f"import failed with exit code {code}")
        from icarus.bank.service import BankService
        from icarus.core.settings import load_settings

        entries = BankService(load_settings(home=str(home))).get_set("bench").entries
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"entries": entries, "seconds": seconds, "rss_mib": peak_rss_mib()}


def run_duckdb(path: Path, threads: int) -> dict[str, Any]:
    """DuckDB alone: the Media array of the file, unnested, written to Parquet."""
    import duckdb

    out = Path(tempfile.mkdtemp(prefix="icarus-bench-duckdb-"))
    try:
        start = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"SET threads TO {threads}")
        con.execute(
            f"COPY (SELECT unnest(value, recursive := true) FROM read_json('{path}', "
            f"maximum_object_size = {path.stat().st_size + 1024})) "
            f"TO '{out / 'media.parquet'}' (FORMAT parquet)"
        )
        entries = con.execute(
            f"SELECT count(*) FROM '{out / 'media.parquet'}'").fetchone()
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"entries": entries[0] if entries else 0, "seconds": seconds,
            "rss_mib": peak_rss_mib()}


def child(which: str, path: Path) -> dict[str, Any]:
    """Run one contender in a fresh interpreter; its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--child", which, "--file", str(path)],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--threads-note", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["icarus", "duckdb1", "duckdb2"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (run_icarus(args.file) if args.child == "icarus"
                  else run_duckdb(args.file, int(args.child[-1])))
        print(json.dumps(result))
        return
    path = Path(f"/tmp/icarus-bench/vics-{args.entries}.json")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, args.entries, seed=1)
    print(f"{cpu_model()}, {cpu_count()} cores, load {load_average()}; "
          f"{path} ({path.stat().st_size / 2**20:,.0f} MiB)")
    icarus = child("icarus", path)
    duck = child("duckdb1", path)
    duck2 = child("duckdb2", path)
    rows = []
    for name, r in (("icarus bank import (1 thread)", icarus),
                    ("duckdb read_json -> parquet, 1 thread", duck),
                    ("duckdb read_json -> parquet, 2 threads", duck2)):
        rows.append([name, f"{r['entries']:,}", f"{r['seconds']:.2f}",
                     f"{r['entries'] / r['seconds']:,.0f}", f"{r['rss_mib']:,.0f}"])
    print_table(["contender", "entries", "seconds", "entries/s", "peak RSS MiB"], rows)
    speed = (icarus["entries"] / icarus["seconds"]) / (duck["entries"] / duck["seconds"])
    speed2 = (icarus["entries"] / icarus["seconds"]) / (duck2["entries"] / duck2["seconds"])
    print(f"icarus/duckdb speed ratio: {speed:.2f}x (1 thread), {speed2:.2f}x (2 threads); "
          f"icarus entries/s "
          f"{icarus['entries'] / icarus['seconds']:,.0f} (budget >= 50,000), peak RSS "
          f"{icarus['rss_mib']:,.0f} MiB (budget < 1024)")


if __name__ == "__main__":
    main()
