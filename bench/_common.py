"""Small helpers shared by the benchmarks: machine description, memory, timing, tables."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HASH_FLAGS = ("sha_ni", "avx512f", "avx512bw", "avx2", "avx", "ssse3", "sse4_1", "bmi2")
"""CPU flags that decide how fast the common hash implementations can go."""


def _cpuinfo() -> dict[str, str]:
    """The first processor's block of /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """The CPU model name, or the platform's processor string when /proc has none."""
    return _cpuinfo().get("model name") or platform.processor() or "unknown CPU"


def cpu_flags(relevant: Sequence[str] = HASH_FLAGS) -> list[str]:
    """Which of the ``relevant`` flags the CPU has, in the order given."""
    present = set(_cpuinfo().get("flags", "").split())
    return [flag for flag in relevant if flag in present]


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, to judge whether other work disturbed a run."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def peak_rss_mib(*, children: bool = False) -> float:
    """Peak resident memory of this process (or of its waited-for children), in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    # Linux reports kilobytes, macOS bytes.
    scale = 1 if platform.system() == "Darwin" else 1024
    return resource.getrusage(who).ru_maxrss * scale / (1 << 20)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The shortest wall-clock time, in seconds, of ``repeat`` calls of ``run``."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def run_quiet(argv: Sequence[str]) -> None:
    """Run a peer tool with its output discarded; a failure stops the benchmark loudly."""
    result = subprocess.run(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()[:500]
        raise SystemExit(f"{argv[0]} failed (exit {result.returncode}): {message}")


def which(tool: str) -> str | None:
    """The path of ``tool`` on PATH, if installed."""
    return shutil.which(tool)


def tool_version(argv: Sequence[str]) -> str:
    """The first line a tool prints for its version option, or "unknown"."""
    try:
        result = subprocess.run(list(argv), capture_output=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (result.stdout or result.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else "unknown"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print ``rows`` under ``headers`` as an aligned plain-text table (numbers right-aligned)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    numeric = [
        all(isinstance(row[i], int | float) for row in rows if i < len(row)) and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)
