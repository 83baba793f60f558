"""The demo's data: a synthetic "known material" hash set and a seized folder to check.

The "known" items are generated pictures (nothing depicting people) written as BMP, whose bytes
are deterministic, so their MD5/SHA-1/SHA-256 are stable facts; the bundled VICS file
(``icarus/data/demo/demo-vics.json``) lists their hashes and PDQ values. The folder holds exact
copies of some, resized and re-encoded near-duplicates of others (found only by PDQ), and
unrelated pictures and files (found by nothing).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from icarus.identify.pdq import pdq_image
from icarus.sim.pictures import picture, variant

# seed -> Project VIC US category of the known item
KNOWN: dict[int, int] = {
    101: 1, 102: 1, 103: 1, 104: 1, 105: 1, 106: 1, 107: 1, 108: 1,
    109: 2, 110: 2, 111: 3, 112: 4, 113: 0, 114: 1, 115: 1, 116: 1,
}
EXACT_COPIES = (101, 102, 103, 109, 113)
NEAR_DUPLICATES = (104, 105, 110, 111)
UNRELATED = tuple(range(9001, 9013))
BUNDLED_VICS = Path(__file__).resolve().parent.parent / "data" / "demo" / "demo-vics.json"


def known_bytes(seed: int) -> bytes:
    """The BMP bytes of known item ``seed``."""
    buf = io.BytesIO()
    picture(seed).save(buf, format="BMP")
    return buf.getvalue()


def demo_bank_document() -> dict[str, Any]:
    """The VICS 2.0 hash set listing every known item (what ``demo-vics.json`` holds)."""
    media = []
    for media_id, (seed, category) in enumerate(sorted(KNOWN.items()), 1):
        data = known_bytes(seed)
        pdq = pdq_image(picture(seed))
        media.append({
            "MediaID": media_id,
            "Category": category,
            "MD5": hashlib.md5(data).hexdigest().upper(),  # noqa: S324 - a content id, not security
            "SHA1": hashlib.sha1(data).hexdigest().upper(),  # noqa: S324
            "MediaSize": len(data),
            "IsPrecategorized": "true",
            "AlternativeHashes": [
                {"HashName": "SHA256", "HashValue": hashlib.sha256(data).hexdigest()},
                {"HashName": "PDQ", "HashValue": pdq.value.hex()},
            ],
            "MediaFiles": [{"FileName": f"synthetic-{seed}.bmp"}],
            "Comments": "synthetic demo item: a generated picture of shapes",
        })
    return {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
                          "Default/$metadata#Media",
        "value": media,
    }


def write_bundled_vics(path: Path = BUNDLED_VICS) -> None:
    """(Re)write the bundled demo VICS file."""
    path.write_text(json.dumps(demo_bank_document(), indent=1) + "\n", encoding="utf-8")


def write_demo_folder(folder: Path) -> dict[str, int]:
    """Write the demo's "seized" folder; returns how many files of each sort it holds."""
    pics = folder / "Pictures"
    misc = folder / "Documents" / "misc"
    pics.mkdir(parents=True, exist_ok=True)
    misc.mkdir(parents=True, exist_ok=True)
    for seed in EXACT_COPIES:
        (pics / f"IMG_{seed:04d}.bmp").write_bytes(known_bytes(seed))
    for seed in NEAR_DUPLICATES:
        variant(picture(seed), seed).save(pics / f"resized_{seed:04d}.jpg", quality=80)
    for seed in UNRELATED:
        picture(seed).save(pics / f"holiday_{seed:04d}.png")
    rng = np.random.default_rng(7)
    for i in range(8):
        (misc / f"notes_{i}.bin").write_bytes(rng.bytes(int(rng.integers(1, 300_000))))
    return {"exact": len(EXACT_COPIES), "near-duplicate": len(NEAR_DUPLICATES),
            "unrelated": len(UNRELATED) + 8}
