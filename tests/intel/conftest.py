"""A tiny synthetic world shared by the intel tests (built once per session, ~5 s), and a
workspace per test module with its known set imported and its sightings ingested."""

from __future__ import annotations

from pathlib import Path

import pytest

from icarus.bank.service import BankService
from icarus.core.settings import Settings, load_settings
from icarus.intel.analyze import AnalysisReport
from icarus.sensors.ingest import ingest_files
from icarus.sim.config import load_config
from icarus.sim.eval import EvalReport, evaluate
from icarus.sim.world import build_world


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "tiny"
    build_world(load_config("tiny", seed=3), out)
    return out


@pytest.fixture(scope="module")
def workspace(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings(home=str(tmp_path_factory.mktemp("home")))
    BankService(settings).import_file(tiny_world / "hashsets" / "known.vics.json",
                                      set_name="known")
    ingest_files(settings, sorted((tiny_world / "sightings").iterdir()))
    return settings


@pytest.fixture(scope="module")
def scored(tiny_world: Path, analysed: AnalysisReport) -> EvalReport:
    """The evaluation of the module's own ``analysed`` fixture against the world's truth."""
    return evaluate(tiny_world, analysed.out_dir)
