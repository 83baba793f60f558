"""The bundled demo hash set is exactly what the generator makes (no drift, reproducible)."""

from __future__ import annotations

import json

from icarus.sim.demo_data import BUNDLED_VICS, KNOWN, demo_bank_document, known_bytes
from icarus.sim.pictures import picture


def test_bundled_vics_is_reproducible() -> None:
    bundled = json.loads(BUNDLED_VICS.read_text(encoding="utf-8"))
    assert bundled == demo_bank_document()
    assert len(bundled["value"]) == len(KNOWN)


def test_pictures_are_deterministic_and_distinct() -> None:
    assert known_bytes(101) == known_bytes(101)
    assert known_bytes(101) != known_bytes(102)
    assert picture(5).tobytes() == picture(5).tobytes()
