"""Fixtures of the hash-set format tests: the valid sample of every format."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bank.formats.samples import FIXTURES, build_rds3_full, build_rds3_minimal

TEXT_VALID = {
    "vics": FIXTURES / "vics" / "hashset-2.0.json",
    "icse": FIXTURES / "icse" / "icse.csv",
    "nsrl-rds2": FIXTURES / "nsrl2" / "with-products" / "NSRLFile.txt",
    "md5sum": FIXTURES / "md5sum" / "md5sum.txt",
    "hashdeep": FIXTURES / "hashdeep" / "hashdeep.txt",
    "hashlist": FIXTURES / "hashlist" / "hashlist.txt",
}


@pytest.fixture(scope="session")
def rds3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with minimal.db and full.db (built once per test session)."""
    folder = tmp_path_factory.mktemp("rds3")
    build_rds3_minimal(folder / "minimal.db")
    build_rds3_full(folder / "full.db")
    return folder


@pytest.fixture(scope="session")
def valid_samples(rds3_dir: Path) -> dict[str, Path]:
    """Format name -> a valid file of that format."""
    return {**TEXT_VALID, "nsrl-rds3": rds3_dir / "minimal.db"}
