"""Benchmark: the streaming VICS reader against the naive json.load, on one synthetic file.

Generates (once, cached; bench/make_vics.py) a VICS 2.0 hash set of ``--entries`` Media, then
runs each contender in its own child process, so that each one's peak RSS is its own:

* Icarus ``icarus.bank.formats.vics`` (ijson, yajl2_c backend): BankRecord objects, streamed;
* the naive peer: ``json.load`` of the whole file, then a loop touching each Media's MD5.

Prints entries/s, seconds and peak RSS (resource.getrusage) for both, and the ratios. The peer
builds no records, so the speed ratio is conservative for Icarus. Full run (1 M entries, about
450 MB on disk): ``.venv/bin/python bench/bench_vics_parse.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The bench folder is not a package: make its helpers importable when run as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, peak_rss_mib, print_table
from make_vics import write


def run_icarus(path: Path) -> dict[str, Any]:
    """Read ``path`` with the VICS format; entries, seconds, rejects."""
    from icarus.bank.formats.vics import BACKEND, FORMAT
    from icarus.core.sinks import CollectingSink

    sink = CollectingSink(str(path))
    start = time.perf_counter()
    entries = sum(1 for _ in FORMAT.read(path, sink))
    seconds = time.perf_counter() - start
    return {"entries": entries, "seconds": seconds, "rejects": len(sink.rejects),
            "backend": BACKEND.__name__}


def run_json(path: Path) -> dict[str, Any]:
    """Read ``path`` with json.load and touch each Media's MD5: the naive peer."""
    start = time.perf_counter()
    with path.open("rb") as fh:
        data = json.load(fh)
    entries = sum(1 for m in data["value"] if m.get("MD5"))
    seconds = time.perf_counter() - start
    return {"entries": entries, "seconds": seconds}


def child(which: str, path: Path) -> dict[str, Any]:
    """Run one contender in a fresh interpreter; its result plus its own peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, "--file", str(path)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{which} run failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Command line: see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000,
                        help="Media in the generated file (default 1,000,000)")
    parser.add_argument("--file", type=Path, default=None,
                        help="a VICS file to use instead of the generated one")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; best kept")
    parser.add_argument("--no-peer", action="store_true", help="skip the json.load peer")
    parser.add_argument("--child", choices=["icarus", "json"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = run_icarus(args.file) if args.child == "icarus" else run_json(args.file)
        print(json.dumps({**result, "peak_rss_mib": peak_rss_mib()}))
        return

    path = args.file or Path(f"/tmp/icarus-bench/vics-{args.entries}.json")
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        write(path, args.entries)
    print(f"file: {path} ({path.stat().st_size / 1e6:,.1f} MB)")
    print(f"machine: {cpu_model()}, {cpu_count()} cores, load {load_average()}")

    contenders = ["icarus"] if args.no_peer else ["icarus", "json"]
    best: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, args.repeat)):
        for which in contenders:  # interleaved, so other load spreads over both
            result = child(which, path)
            if which not in best or result["seconds"] < best[which]["seconds"]:
                best[which] = result
    if "backend" in best["icarus"]:
        print(f"ijson backend: {best['icarus']['backend']}")
    rows = [[name, int(r["entries"]), r["seconds"], r["entries"] / r["seconds"], r["peak_rss_mib"]]
            for name, r in (("icarus vics reader", best["icarus"]),
                            *((("json.load + loop", best["json"]),) if "json" in best else ()))]
    print_table(["reader", "entries", "seconds", "entries/s", "peak RSS MiB"], rows)
    if "json" in best:
        ice, peer = best["icarus"], best["json"]
        print(f"speed ratio icarus/json.load: {peer['seconds'] / ice['seconds']:.2f}x; "
              f"peak RSS ratio json.load/icarus: {peer['peak_rss_mib'] / ice['peak_rss_mib']:.1f}x")


if __name__ == "__main__":
    main()
