"""A tiny synthetic world (built once per session) and a workspace with its VICS imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from icarus.bank.service import BankService
from icarus.core.settings import Settings, load_settings
from icarus.sim.config import load_config
from icarus.sim.world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    build_world(load_config("tiny", seed=3), out)
    return out


def world_files(world: Path) -> list[Path]:
    return sorted((world / "sightings").iterdir())


def banked_settings(home: Path, world: Path) -> Settings:
    settings = load_settings(home=str(home))
    BankService(settings).import_file(world / "hashsets" / "known.vics.json", set_name="known")
    return settings
