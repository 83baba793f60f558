"""Intelligence packages end to end on the analysed tiny world: minimisation, signing,
verification, reports and determinism."""

from __future__ import annotations

import json
import re
import shutil
import stat
import xml.etree.ElementTree as ET
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from icarus.bank.service import BankService
from icarus.cli.context import AppContext
from icarus.cli.main import exit_code_for
from icarus.cli.packages import packages
from icarus.core.errors import InputError, NotFoundError, UsageError
from icarus.core.settings import Settings, load_settings
from icarus.intel.analyze import analyze
from icarus.intel.packages import (
    FILES,
    WrittenPackage,
    build_packages,
    canonical_bytes,
    load_or_create_key,
    sign_document,
    verify,
    write_packages,
)
from icarus.intel.packages.worldmap import (
    HIGHLIGHT,
    LAND,
    SHADES,
    country_map,
    known_countries,
    overview_map,
)
from icarus.sensors.ingest import ingest_files

WHEN = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def workspace(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings(home=str(tmp_path_factory.mktemp("home")))
    BankService(settings).import_file(tiny_world / "hashsets" / "known.vics.json",
                                      set_name="known")
    ingest_files(settings, sorted((tiny_world / "sightings").iterdir()))
    analyze(settings, operation="tiny", out_dir=settings.home / "results")
    return settings


@pytest.fixture(scope="module")
def key(workspace: Settings) -> Ed25519PrivateKey:
    return load_or_create_key(workspace.home / "keys" / "packages-ed25519.pem")


@pytest.fixture(scope="module")
def written(workspace: Settings, key: Ed25519PrivateKey) -> tuple[WrittenPackage, ...]:
    return write_packages(workspace, workspace.home / "results", workspace.home / "packages",
                          operation="tiny", generated_at=WHEN, key=key)


def _suspects_by_country(workspace: Settings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in pq.read_table(workspace.home / "results" / "leads.parquet").to_pylist():
        if row["is_suspect"] and row["country"]:
            out.setdefault(row["country"], set()).add(row["subject_id"])
    return out


def _pdf_text(data: bytes) -> str:
    """The strings shown by the PDF's content streams (fpdf2 writes ``(text) Tj``)."""
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue  # a font or an image stream: none is compressed text
        for text in re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", content):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return "\n".join(shown)


def test_one_package_per_country_with_only_its_suspects(
        workspace: Settings, written: tuple[WrittenPackage, ...]) -> None:
    by_country = _suspects_by_country(workspace)
    assert len(by_country) > 3
    assert [w.country for w in written] == sorted(by_country)
    every_id = {sid for ids in by_country.values() for sid in ids}
    every_id |= set(pq.read_table(workspace.home / "results" / "leads.parquet")[
        "subject_id"].to_pylist())
    for w in written:
        assert sorted(p.name for p in w.folder.iterdir()) == sorted(FILES)
        doc = json.loads((w.folder / "package.json").read_bytes())
        own = by_country[w.country]
        assert {s["subject_id"] for s in doc["suspects"]} == own
        assert all(s["jurisdiction"]["country"] == w.country for s in doc["suspects"])
        assert doc["summary"]["suspects"] == len(own) == w.suspects
        texts = {"json": (w.folder / "package.json").read_text("utf-8"),
                 "html": (w.folder / "report.html").read_text("utf-8"),
                 "pdf": _pdf_text((w.folder / "report.pdf").read_bytes())}
        for name, text in texts.items():
            assert all(sid in text for sid in own), (w.country, name)  # extraction works
            leaked = [sid for sid in every_id - own if sid in text]
            assert not leaked, (w.country, name, leaked[:3])


def test_timeline_is_the_subjects_evidence(written: tuple[WrittenPackage, ...]) -> None:
    doc = json.loads((written[0].folder / "package.json").read_bytes())
    suspect = doc["suspects"][0]
    times = [e["observed_at"] for e in suspect["timeline"]]
    assert times and times == sorted(times)
    assert times[0] == suspect["first_seen"] and times[-1] == suspect["last_seen"]
    event = suspect["timeline"][0]
    assert re.fullmatch(r"[a-z0-9_-]+:\S+", event["content"])
    assert event["evidence"] in {"advertised", "browsed", "handshake", "download-verified"}
    assert doc["summary"]["sightings"] == sum(len(s["timeline"]) for s in doc["suspects"])
    assert doc["generated_at"] == "2024-05-01T08:30:00.000000Z"


def test_signature_verifies_and_a_tampered_byte_fails(
        written: tuple[WrittenPackage, ...], key: Ed25519PrivateKey, tmp_path: Path) -> None:
    folder = written[0].folder
    report = verify(folder / "package.json", folder / "package.json.sig", key.public_key())
    assert report.ok, report.problems
    assert report.country == written[0].country
    data = bytearray((folder / "package.json").read_bytes())
    at = data.index(b'"score":') + len(b'"score":')
    data[at] = ord("1") if data[at] != ord("1") else ord("2")  # still valid JSON
    (tmp_path / "package.json").write_bytes(bytes(data))
    report = verify(tmp_path / "package.json", folder / "package.json.sig", key.public_key())
    assert not report.ok
    assert any("signature" in p for p in report.problems), report.problems
    other = Ed25519PrivateKey.generate().public_key()
    report = verify(folder / "package.json", folder / "package.json.sig", other)
    assert any("not with the given public key" in p for p in report.problems)


def _resigned(doc: dict[str, object], key: Ed25519PrivateKey, folder: Path) -> tuple[Path, Path]:
    (folder / "p.json").write_bytes(canonical_bytes(doc))
    (folder / "p.json.sig").write_text(json.dumps(sign_document(doc, key)), encoding="utf-8")
    return folder / "p.json", folder / "p.json.sig"


def test_schema_and_country_violations_are_named(
        written: tuple[WrittenPackage, ...], key: Ed25519PrivateKey, tmp_path: Path) -> None:
    pristine = (written[0].folder / "package.json").read_bytes()
    doc = json.loads(pristine)
    del doc["suspects"][0]["score"]
    report = verify(*_resigned(doc, key, tmp_path), key.public_key())
    assert report.problems == ("missing field 'suspects[0].score'",)

    doc = json.loads(pristine)
    doc["version"] = 7
    report = verify(*_resigned(doc, key, tmp_path), key.public_key())
    assert report.problems == ("unknown schema version 7 (this Icarus reads version 1)",)

    doc = json.loads(pristine)
    doc["suspects"][0]["jurisdiction"]["country"] = "ZZ"
    report = verify(*_resigned(doc, key, tmp_path), key.public_key())
    assert len(report.problems) == 1
    assert "is located in ZZ, not in the package's country" in report.problems[0]


def test_html_is_self_contained(written: tuple[WrittenPackage, ...]) -> None:
    for w in written:
        html = (w.folder / "report.html").read_text("utf-8")
        # Evidence text may hold a URL (eMule's client string does): only links count.
        hrefs = re.findall(r"\bhref\s*=\s*[\"']?([^\"' >]*)", html, re.IGNORECASE)
        assert hrefs and all(h.startswith("#") for h in hrefs)
        assert not re.search(r"<img|<link|<script|<iframe|\bsrc\s*=|url\(|@import", html,
                             re.IGNORECASE)
        assert "Leads by AS organisation" in html and "Evidence timeline" in html


def test_pdf_has_the_same_content(written: tuple[WrittenPackage, ...]) -> None:
    w = max(written, key=lambda p: p.suspects)
    doc = json.loads((w.folder / "package.json").read_bytes())
    text = _pdf_text((w.folder / "report.pdf").read_bytes())
    suspect = doc["suspects"][0]
    assert suspect["reasons"][0] in text
    event = suspect["timeline"][-1]
    assert event["observed_at"] in text and event["content"] in text
    assert f"{event['ip']}:{event['port']}" in text


def test_output_is_deterministic(workspace: Settings, written: tuple[WrittenPackage, ...],
                                 key: Ed25519PrivateKey, tmp_path: Path) -> None:
    countries = tuple(w.country for w in written[:2])
    again = write_packages(workspace, workspace.home / "results", tmp_path,
                           operation="tiny", generated_at=WHEN, key=key, countries=countries)
    for w in again:
        for name in FILES:
            assert (w.folder / name).read_bytes() == \
                (workspace.home / "packages" / w.country / name).read_bytes(), (w.country, name)


def test_key_is_private_and_reused(workspace: Settings, key: Ed25519PrivateKey) -> None:
    path = workspace.home / "keys" / "packages-ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path).public_key() == key.public_key()
    assert (path.parent / "packages-ed25519.pub.pem").is_file()


def test_refusals(workspace: Settings, tmp_path: Path) -> None:
    results = workspace.home / "results"
    with pytest.raises(UsageError, match="ISO 3166"):
        build_packages(workspace, results, operation="tiny", generated_at=WHEN,
                       countries=("germany",))
    with pytest.raises(NotFoundError, match="no suspect is located in AQ"):
        build_packages(workspace, results, operation="tiny", generated_at=WHEN,
                       countries=("AQ",))
    with pytest.raises(InputError, match=r"leads\.parquet: missing"):
        build_packages(workspace, tmp_path, operation="tiny", generated_at=WHEN)


def test_commands(workspace: Settings, written: tuple[WrittenPackage, ...],
                  tmp_path: Path) -> None:
    app = AppContext.create(home=str(workspace.home), quiet=True)
    cc = written[0].country
    result = CliRunner().invoke(packages, [
        "build", "--results", str(workspace.home / "results"), "--operation", "tiny",
        "--out", str(tmp_path), "--country", cc, "--generated-at", "2024-05-01T08:30:00Z"],
        obj=app)
    assert result.exit_code == 0, result.output
    assert (tmp_path / cc / "report.pdf").read_bytes() == \
        (written[0].folder / "report.pdf").read_bytes()
    result = CliRunner().invoke(packages, ["verify", str(tmp_path / cc / "package.json")],
                                obj=app)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    shutil.copy(written[1].folder / "package.json", tmp_path / cc / "package.json")
    result = CliRunner().invoke(packages, ["verify", str(tmp_path / cc / "package.json")],
                                obj=app)
    assert result.exception is not None and exit_code_for(result.exception) == 3
    assert "signature" in result.stderr


_SVG = "{http://www.w3.org/2000/svg}"


def _fills(svg: str) -> dict[str, str]:
    """Country code → fill of each country drawn on the map (``map-<cc>`` groups)."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return {g.attrib["id"][4:]: g.attrib["fill"] for g in root.iter(f"{_SVG}g")
            if g.attrib.get("id", "").startswith("map-")}


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{_SVG}text")]  # noqa: S314


@pytest.mark.parametrize("country", ["DE", "LU", "US", "NZ", "VA"])
def test_country_map_highlights_only_its_country(country: str) -> None:
    svg = country_map("op1", country, 7)
    fills = _fills(svg)
    assert fills[country.lower()] == HIGHLIGHT
    assert [cc for cc, fill in fills.items() if fill == HIGHLIGHT] == [country.lower()]
    assert len(fills) >= 2 and set(fills.values()) == {HIGHLIGHT, LAND}  # neighbours, unshaded
    root = ET.fromstring(svg)  # noqa: S314
    group = next(g for g in root.iter(f"{_SVG}g") if g.attrib.get("id") == f"map-{country.lower()}")
    assert group.findall(f"{_SVG}path")
    texts = _texts(svg)
    assert texts[0] == f"Operation op1: suspects located in {country}"
    assert any(t.startswith(f"{country}: 7 suspects in this package") for t in texts)
    assert any("pygal_maps_world" in t and "LGPL-3.0-or-later" in t for t in texts)
    assert not re.search(r"url\(|href|<script|<image", svg)  # nothing to fetch, nothing to run
    assert ("<circle" in svg) == (country == "VA")  # a ring makes a micro-state visible


def test_map_draws_nothing_past_its_frame() -> None:
    """fpdf2 clips nothing: paths crossing the map's edge must be cut, the rest dropped."""
    from icarus.intel.packages.worldmap import _BOTTOM, _TOP, WIDTH, _rings

    for country in ("DE", "US"):
        root = ET.fromstring(country_map("op1", country, 1))  # noqa: S314
        frame = next(g for g in root.iter(f"{_SVG}g") if "transform" in g.attrib)
        tx, ty, k = (float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?",
                                                        frame.attrib["transform"]))
        for path in frame.iter(f"{_SVG}path"):
            for ring in _rings(path.attrib["d"], flat=False):
                for x, y in ring:
                    assert -0.5 <= tx + k * x <= WIDTH + 0.5, (country, x)  # rounding
                    assert _TOP - 0.5 <= ty + k * y <= _BOTTOM + 0.5, (country, y)


@pytest.mark.parametrize("code", ["XK", "d3", ""])
def test_a_country_without_outline_gets_the_world_without_highlight(code: str) -> None:
    assert code.upper() not in known_countries()
    svg = country_map("op1", code, 2)
    fills = _fills(svg)
    assert len(fills) == len(known_countries()) and HIGHLIGHT not in fills.values()
    assert any(f"{code} has no outline in the map data" in t for t in _texts(svg))


def test_overview_shades_every_country_by_its_suspects() -> None:
    svg = overview_map("op1", {"DE": 300, "FR": 20, "NL": 1, "LU": 0, "XK": 3, "US": 5000})
    fills = _fills(svg)
    assert (fills["de"], fills["fr"], fills["nl"], fills["us"]) == \
        (SHADES[3], SHADES[1], SHADES[0], SHADES[4])
    assert fills["lu"] == fills["br"] == LAND
    assert "not drawn (no outline): XK 3" in _texts(svg)


def _svg_of(html: str) -> str:
    found = re.search(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert found, "no inline SVG"
    return found.group(0)


def test_reports_show_the_country_map(written: tuple[WrittenPackage, ...]) -> None:
    for w in written:
        html = (w.folder / "report.html").read_text("utf-8")
        svg = _svg_of(html)
        assert html.index(svg) < html.index("Leads by AS organisation")  # in the summary
        assert _fills(svg)[w.country.lower()] == HIGHLIGHT
        assert any(t.startswith(f"{w.country}: {w.suspects} suspect") for t in _texts(svg))
        # The PDF draws the same map on its summary page: the country's fill and its outlines
        # (cubic curves) in the content stream that shows "Summary".
        pages = [zlib.decompress(s).decode("latin-1") for s in re.findall(
            rb"stream\r?\n(.*?)\r?\nendstream", (w.folder / "report.pdf").read_bytes(),
            re.DOTALL) if s[:2] == b"x\x9c"]
        summary = next(p for p in pages if "(Summary) Tj" in p)
        red = " ".join(f"{int(HIGHLIGHT[i:i + 2], 16) / 255:.4f}".rstrip("0") for i in (1, 3, 5))
        assert f"{red} rg" in summary
        assert len(re.findall(r" c\b", summary)) > 100
        assert f"(Operation tiny: suspects located in {w.country}) Tj" in summary
