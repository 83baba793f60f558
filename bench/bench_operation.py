"""Benchmark: a whole operation on a synthetic world: bank import, sightings ingest, analysis.

Each stage runs in its own child process (so each peak RSS is its own, read from the kernel's
accounting of the waited-for child; the summed RSS of the child and its descendants, such as the
ingest's forked reading workers, is sampled every 0.2 s, and a stage counts with the larger of
the two) on a fresh workspace:

1. ``icarus bank import WORLD/hashsets/known.vics.json --name known``;
2. ``icarus sightings ingest WORLD/sightings/*`` (exit 1 is expected: the world holds
   malformed records, which are quarantined);
3. ``icarus analyze`` with the world's earlier intelligence, timed per analysis stage
   (:data:`icarus.intel.analyze.STAGES`, with the process's resident memory at the end of each,
   the stage's own peak and the peak so far).

Issue #4 target, on the large world (``icarus sim world --seed 1 --scale large``, about 10 M
sightings): import + ingest + analyze <= 10 min in total on 2 cores, peak RSS <= 4 GB.
Run: ``.venv/bin/python bench/bench_operation.py --world /tmp/perf-wl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, print_table

ROOT = Path(__file__).resolve().parent.parent
ICARUS = ROOT / ".venv" / "bin" / "icarus"
BUDGET_S, BUDGET_MIB = 600.0, 4096.0


def _tree_rss_kib(root: int) -> int:
    """The summed resident memory (KiB) of process ``root`` and its descendants, from /proc
    (shared pages count once per process: an upper bound)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[int(entry.name)] = next((int(line.split()[1]) for line in status.splitlines()
                                     if line.startswith("VmRSS:")), 0)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(child for child, up in parent.items() if up == pid)
    return total


def run_child(argv: list[str], ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Run ``argv``; its wall time, CPU time, peak RSS (kernel accounting of the child: the
    largest of it and its descendants) and the peak of its process tree's summed RSS (sampled
    every 0.2 s: the ingest forks reading workers)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tree = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            tree[0] = max(tree[0], _tree_rss_kib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # wait4 gives this child's own rusage (not the sum over every child so far).
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in ok:
        raise SystemExit(f"{argv[1:4]} failed (exit {code}):\n{err[-3000:]}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024, "tree_mib": tree[0] / 1024, "stdout": out}


def _memory() -> tuple[float, float]:
    """This process's resident and peak resident memory (MiB), from /proc."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _reset_peak() -> bool:
    """Reset the kernel's peak resident memory of this process to its current value (Linux:
    /proc/self/clear_refs), so the next reading is one stage's own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def analyze_child(home: Path, world: Path) -> None:
    """(In the child) run the analysis, printing one JSON line per finished stage.

    Each stage's own peak needs the kernel's high-water mark reset at its start, which the
    parent's accounting of this child (``ru_maxrss``) then misses: the child prints the peak of
    the whole analysis last (``{"peak_mib": ...}``) for the parent to use."""
    from icarus.core.settings import load_settings
    from icarus.intel.analyze import analyze, default_out_dir

    marks: list[tuple[str, float]] = []
    overall = _memory()[1]  # the peak so far (imports), then each stage's
    resets = _reset_peak()

    def step(stage: str) -> None:
        nonlocal overall
        now = time.perf_counter()
        rss, peak = _memory()
        overall = max(overall, peak)
        if marks:
            name, began = marks[-1]
            print(json.dumps({"stage": name, "seconds": now - began, "rss_mib": rss,
                              "stage_peak_mib": peak if resets else None,
                              "peak_mib": overall}), flush=True)
        _reset_peak()
        marks.append((stage, now))

    settings = load_settings(home=str(home))
    report = analyze(settings, operation="bench", out_dir=default_out_dir(settings, "bench"),
                     progress=step, earlier_intel=world / "hashsets" / "earlier-intel.json")
    step("")
    print(json.dumps({"report": {"sightings": report.sightings, "subjects": report.subjects,
                                 "suspects": report.suspects}}), flush=True)
    print(json.dumps({"peak_mib": max(overall, _memory()[1])}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, required=True,
                        help="a world from `icarus sim world` (e.g. --scale large)")
    parser.add_argument("--home", type=Path, help="workspace to create (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    parser.add_argument("--child-analyze", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_analyze:
        analyze_child(args.child_analyze, args.world)
        return
    home = args.home or Path(tempfile.mkdtemp(prefix="icarus-bench-op-"))
    if args.home:
        shutil.rmtree(home, ignore_errors=True)
    files = sorted(p for p in (args.world / "sightings").iterdir() if p.is_file())
    size = sum(p.stat().st_size for p in files)
    print(f"{cpu_model()}, {cpu_count()} cores (shared: see the load averages)")
    print(f"world {args.world}: {len(files)} sighting files, {size / 2**30:.2f} GiB; "
          f"workspace {home}; load before {load_average()}", flush=True)
    base = [str(ICARUS), "-q", "--home", str(home)]
    stages: list[tuple[str, dict[str, Any]]] = []
    try:
        stages.append(("bank import", run_child(
            [*base, "bank", "import", str(args.world / "hashsets" / "known.vics.json"),
             "--name", "known"])))
        print(f"  import done, load {load_average()}", flush=True)
        stages.append(("sightings ingest", run_child(
            [*base, "sightings", "ingest", *map(str, files)], ok=(0, 1))))
        print(f"  ingest done, load {load_average()}", flush=True)
        analysis = run_child([sys.executable, __file__, "--world", str(args.world),
                              "--child-analyze", str(home)])
        # The child resets its high-water mark per stage: its own whole-run peak counts too.
        analysis["rss_mib"] = max([analysis["rss_mib"], *(
            json.loads(line)["peak_mib"] for line in analysis["stdout"].splitlines()
            if line.startswith('{"peak_mib"'))])
        stages.append(("analyze", analysis))
        print(f"  analyze done, load {load_average()}", flush=True)
    finally:
        if not args.keep and not args.home:
            shutil.rmtree(home, ignore_errors=True)
    rows = [[name, f"{r['seconds']:.1f}", f"{r['cpu']:.1f}", f"{r['rss_mib']:,.0f}",
             f"{r['tree_mib']:,.0f}"] for name, r in stages]
    total = sum(r["seconds"] for _, r in stages)
    # A stage's memory: its largest process, or all its processes together where more.
    peak = max(max(r["rss_mib"], r["tree_mib"]) for _, r in stages)
    rows.append(["total", f"{total:.1f}", f"{sum(r['cpu'] for _, r in stages):.1f}",
                 f"{peak:,.0f} (max)", ""])
    print_table(["stage", "wall s", "CPU s", "peak RSS MiB", "summed RSS MiB (sampled)"], rows)
    print("\nanalysis stages:")
    detail = [json.loads(line) for line in analysis["stdout"].splitlines()
              if line.startswith("{")]
    print_table(["stage", "wall s", "RSS at end MiB", "stage peak MiB", "peak so far MiB"],
                [[d["stage"], f"{d['seconds']:.1f}", f"{d['rss_mib']:,.0f}",
                  "n/a" if d["stage_peak_mib"] is None else f"{d['stage_peak_mib']:,.0f}",
                  f"{d['peak_mib']:,.0f}"] for d in detail if "stage" in d])
    summary: dict[str, Any] = next((d["report"] for d in detail if "report" in d), {})
    print(f"analysed {summary}")
    verdict = "meets" if total <= BUDGET_S and peak <= BUDGET_MIB else "MISSES"
    print(f"\ntotal {total:.0f} s (budget {BUDGET_S:.0f} s), peak RSS {peak:,.0f} MiB "
          f"(budget {BUDGET_MIB:,.0f} MiB): {verdict} the target; load after {load_average()}")


if __name__ == "__main__":
    main()
