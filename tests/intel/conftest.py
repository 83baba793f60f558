"""A tiny synthetic world shared by the intel tests (built once per session, ~5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from icarus.sim.config import load_config
from icarus.sim.world import build_world


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "tiny"
    build_world(load_config("tiny", seed=3), out)
    return out


