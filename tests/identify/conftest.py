"""Fixtures of the identify tests: files written from bytes, deterministic random content."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

MakeFile = Callable[[str, bytes], Path]
RandomBytes = Callable[[int, int], bytes]


@pytest.fixture
def make_file(tmp_path: Path) -> MakeFile:
    """Write ``data`` to ``tmp_path / name`` (folders created) and return the path."""

    def make(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return make


@pytest.fixture
def random_bytes() -> RandomBytes:
    """``random_bytes(seed, size)``: the same bytes for the same seed, on every run."""

    def generate(seed: int, size: int) -> bytes:
        return random.Random(seed).randbytes(size)

    return generate
