"""Write a large synthetic VICS 2.0 hash set (deterministic: the same seed gives the same bytes).

Every hash is random bytes from a seeded generator, not the hash of anything. The mix mimics a
real hash set: MD5 on every Media (upper-case hex), SHA-1 on most, PhotoDNA on some (base64),
AlternativeHashes (SHA-256, PDQ) on some, a category on most (the rest null), string booleans,
a file name on some. Written streaming, one Media at a time.

    .venv/bin/python bench/make_vics.py --entries 1000000 --out /tmp/icarus-bench/vics-1000000.json
"""

from __future__ import annotations

import argparse
import base64
import json
import random
from pathlib import Path
from typing import Any

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
CATEGORIES = (None, 0, 1, 1, 1, 2, 3, 4)


def media(rng: random.Random, media_id: int) -> dict[str, Any]:
    """One synthetic Media object."""
    md5 = rng.randbytes(16).hex().upper()
    out: dict[str, Any] = {"MediaID": media_id}
    category = rng.choice(CATEGORIES)
    if category is not None:
        out["Category"] = category
    out["MD5"] = md5
    if rng.random() < 0.8:
        out["SHA1"] = rng.randbytes(20).hex().upper()
    out["MediaSize"] = rng.randrange(1_000, 20_000_000)
    out["DateUpdated"] = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T03:04:05Z"
    out["IsPrecategorized"] = "true" if rng.random() < 0.3 else "false"
    out["VictimIdentified"] = "true" if rng.random() < 0.1 else "false"
    out["IsDistributed"] = "true" if rng.random() < 0.5 else "false"
    if rng.random() < 0.1:
        out["PhotoDNA"] = base64.b64encode(rng.randbytes(144)).decode("ascii")
    if rng.random() < 0.1:
        out["AlternativeHashes"] = [
            {"HashName": "SHA256", "HashValue": rng.randbytes(32).hex(), "MD5": md5},
            {"HashName": "PDQ", "HashValue": rng.randbytes(32).hex(), "MD5": md5},
        ]
    if rng.random() < 0.2:
        out["MediaFiles"] = [{"MD5": md5, "FileName": f"file-{media_id}.jpg"}]
    return out


def write(path: Path, entries: int, seed: int = 1) -> Path:
    """Write ``entries`` Media to ``path`` (parents created); returns ``path``."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write('{"@odata.context": ' + json.dumps(CONTEXT) + ',\n"value": [\n')
        for media_id in range(1, entries + 1):
            if media_id > 1:
                fh.write(",\n")
            fh.write(json.dumps(media(rng, media_id), separators=(",", ":")))
        fh.write("\n]}\n")
    tmp.replace(path)
    return path


def main() -> None:
    """Command line: see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="Media to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None,
                        help="output file (default /tmp/icarus-bench/vics-ENTRIES.json)")
    args = parser.parse_args()
    out = args.out or Path(f"/tmp/icarus-bench/vics-{args.entries}.json")
    write(out, args.entries, args.seed)
    print(f"{out}: {args.entries:,} Media, {out.stat().st_size / 1e6:,.1f} MB")


if __name__ == "__main__":
    main()
