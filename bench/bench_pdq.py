"""Benchmark: PDQ of JPEG files, Icarus ``pdq_file`` against calling ``pdqhash`` directly.

Generates (once, cached) ``--count`` seeded synthetic JPEGs (gradients, shapes, noise; default
200 of 1024×768), then times, best of ``--repeat``, side by side:

* Icarus ``pdq_files`` (sniff, decode - JPEG at a reduced DCT scale -, EXIF, RGB, reduce to
  512 px, PDQ, outcome objects);
* peer "pdqhash": ``PIL.Image.open`` + ``convert("RGB")`` + numpy + ``pdqhash.compute`` at full
  size (what a caller of the binding does without the reference's 512-px pre-resize);
* peer "pdqhash+thumbnail": the same with ``thumbnail((512, 512))`` first, as Meta's Python
  reference does: the fair peer for Icarus, whose hashes it should equal.

Each is run in one process and, with ``--workers``, in a pool of processes. Runs are
interleaved so that load from other users of the machine spreads over all of them.
Full run: ``.venv/bin/python bench/bench_pdq.py``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageDraw

# The bench folder is not a package: make its helpers importable when run as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, cpu_count, cpu_model, load_average, print_table
from icarus.identify.pdq import hamming, pdq_files


def make_corpus(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """``count`` seeded JPEGs in ``folder`` (kept between runs: generated only once)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img{seed:05d}.jpg" for seed in range(count)]
    for seed, path in enumerate(paths):
        if not path.exists():
            _picture(seed, size).save(path, format="JPEG", quality=85)
    return paths


def _picture(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    start, end = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    base = np.broadcast_to(start + (end - start) * ramp, (height, width, 3))
    image = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(16):
        x0, x1 = sorted(rng.uniform(0, width, 2))
        y0, y1 = sorted(rng.uniform(0, height, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.integers(0, 2) else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def peer_full(path: Path) -> bytes:
    """``pdqhash.compute`` on the decoded picture at full size."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    bits, _quality = pdqhash.compute(pixels)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def peer_thumbnail(path: Path) -> bytes:
    """``pdqhash.compute`` after ``thumbnail((512, 512))``, like Meta's Python reference."""
    with Image.open(path) as image:
        image.thumbnail((512, 512))
        pixels = np.asarray(image.convert("RGB"))
    bits, _quality = pdqhash.compute(pixels)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def icarus_values(paths: Sequence[Path], workers: int) -> list[bytes]:
    """Icarus's hashes of ``paths``, in order."""
    values = []
    for outcome in pdq_files(paths, workers=workers):
        if outcome.hash is None:
            raise SystemExit(f"Icarus failed on {outcome.path}: {outcome.error}")
        values.append(outcome.hash.value)
    return values


def peer_values(peer: Callable[[Path], bytes], paths: Sequence[Path], workers: int) -> list[bytes]:
    """A peer's hashes of ``paths``, in order, in ``workers`` processes."""
    if workers == 1:
        return [peer(p) for p in paths]
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(peer, paths, chunksize=16))


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, build the corpus, run every variant, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="pictures (default 200)")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, cpu_count()], help="process counts"
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/icarus-bench-pdq"), help="corpus folder"
    )
    args = parser.parse_args(argv)

    size = (args.width, args.height)
    paths = make_corpus(args.cache / f"{args.width}x{args.height}", args.count, size)
    icarus = icarus_values(paths, 1)
    reference = peer_values(peer_thumbnail, paths, 1)
    worst = max(hamming(a, b) for a, b in zip(icarus, reference, strict=True))

    print(f"PDQ of {len(paths)} JPEGs of {args.width}×{args.height} ({args.cache})")
    print(f"CPU: {cpu_model()}, {cpu_count()} cores usable; load before: {load_average()}")
    rows = []
    for workers in dict.fromkeys(args.workers):
        runs: dict[str, Callable[[], object]] = {
            "icarus": functools.partial(icarus_values, paths, workers),
            "pdqhash": functools.partial(peer_values, peer_full, paths, workers),
            "pdqhash+thumbnail": functools.partial(peer_values, peer_thumbnail, paths, workers),
        }
        timings = dict.fromkeys(runs, float("inf"))
        for _ in range(max(1, args.repeat)):  # interleaved rounds: load spreads over all
            for name, run in runs.items():
                timings[name] = min(timings[name], best_of(1, run))
        rate = {name: len(paths) / seconds for name, seconds in timings.items()}
        rows.append(
            [
                workers,
                rate["icarus"],
                rate["pdqhash"],
                rate["pdqhash+thumbnail"],
                rate["icarus"] / rate["pdqhash"],
                rate["icarus"] / rate["pdqhash+thumbnail"],
            ]
        )
    print_table(
        [
            "workers",
            "icarus img/s",
            "pdqhash img/s",
            "pdqhash+thumb img/s",
            "icarus/pdqhash",
            "icarus/pdqhash+thumb",
        ],
        rows,
    )
    print(
        f"largest distance Icarus vs pdqhash+thumbnail: {worst} bits; load after: {load_average()}"
    )


if __name__ == "__main__":
    main()
