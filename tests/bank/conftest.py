"""Helpers to build small hash-set files and a workspace for bank tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from icarus.bank.service import BankService
from icarus.core.settings import Settings, load_settings

VICS_CONTEXT = ("http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/"
                "$metadata#Media")


def md5_of(text: str) -> str:
    """MD5 hex of a text: stand-in content ids."""
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - an id, not security


def vics_media(n: int, *, category: int | None = 1, pdq: str | None = None,
               prefix: str = "item") -> dict[str, Any]:
    """One VICS Media record for synthetic item ``n``."""
    media: dict[str, Any] = {"MediaID": n, "MD5": md5_of(f"{prefix}-{n}").upper(),
                             "SHA1": hashlib.sha1(f"{prefix}-{n}".encode()).hexdigest(),  # noqa: S324
                             "MediaSize": 1000 + n}
    if category is not None:
        media["Category"] = category
    if pdq:
        media["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": pdq}]
    return media


def write_vics(path: Path, media: list[dict[str, Any]]) -> Path:
    """Write a VICS 2.0 hash set."""
    path.write_text(json.dumps({"@odata.context": VICS_CONTEXT, "value": media}),
                    encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh workspace in tmp_path."""
    return load_settings(home=str(tmp_path / "home"))


@pytest.fixture
def service(settings: Settings) -> BankService:
    """The bank service of a fresh workspace."""
    return BankService(settings)
