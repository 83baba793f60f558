"""Package downloads and verification: the bytes are the imported package's, only the
referral's agency and the coordinators get them (another agency: 404 like a missing one;
analysts: 403), the reports render, every download is audited, and verification reports
signature, schema and hash (and catches a stored package altered afterwards)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from icarus.coord import AuditLog, Operations
from icarus.coord.packages_store import Packages
from icarus.store.models import ReferralPackage
from tests.coord.world import World, suspect, write_package
from tests.web.conftest import Browser
from tests.web.matrix import normalised
from tests.web.pdftext import pdf_strings


def test_download_is_the_imported_package(browser: Browser, key: Ed25519PrivateKey,
                                          tmp_path: Path) -> None:
    world = browser.world
    ops = Operations(world.db)
    coordinator = world.actors["coordinator"]
    ops.create_operation(coordinator, name="op-bytes", agency_ids=[world.agency["FR"]])
    pkg, sig = write_package(tmp_path, key, "FR", [suspect("fr-9", "FR", ip="192.0.2.9",
                                                         identifiers=[])],
                             operation="op-bytes")
    (ref,) = ops.import_package(coordinator, pkg, sig, key.public_key())
    officer, _ = browser.client("officer_fr")
    response = officer.get(f"/referrals/{ref.id}/package/json")
    assert response.status_code == 200
    assert response.content == pkg.read_bytes()
    assert response.headers["content-disposition"] == (
        'attachment; filename="op-bytes-FR-package.json"')
    assert officer.get(f"/referrals/{ref.id}/package/sig").content == sig.read_bytes()
    api = officer.get(f"/api/v1/referrals/{ref.id}/package")
    assert api.content == pkg.read_bytes()
    assert api.headers["content-type"] == "application/json"


def test_reports_render_from_the_stored_package(browser: Browser) -> None:
    ref = browser.world.referrals["FR"].id
    officer, _ = browser.client("officer_fr")
    html = officer.get(f"/referrals/{ref}/package/html")
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith("attachment;")
    assert "fr-1" in html.text and "fr-2" in html.text
    pdf = officer.get(f"/referrals/{ref}/package/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(pdf_strings(pdf.content))
    assert "fr-1" in text and "192.0.2.1" in text and "de-1" not in text
    # The same stored package renders to the same bytes (the PDF is dated by the package).
    assert officer.get(f"/referrals/{ref}/package/pdf").content == pdf.content


def test_only_the_agency_and_coordinators_download(browser: Browser) -> None:
    world = browser.world
    fr, de = world.referrals["FR"].id, world.referrals["DE"].id
    officer, _ = browser.client("officer_fr")
    other = officer.get(f"/api/v1/referrals/{de}/package")
    missing = officer.get("/api/v1/referrals/987654/package")
    assert other.status_code == missing.status_code == 404
    assert normalised(other.text) == normalised(missing.text)
    assert officer.get(f"/referrals/{de}/package/pdf").status_code == 404
    analyst, _ = browser.client("analyst")
    assert analyst.get(f"/referrals/{fr}/package/json").status_code == 403
    coordinator, _ = browser.client("coordinator")
    body = coordinator.get(f"/api/v1/referrals/{de}/package").content
    assert hashlib.sha256(body).hexdigest() == world.referrals["DE"].package_sha256
    events = AuditLog(world.db).list_events(world.actors["auditor"], limit=6).items
    assert [e.details["format"] for e in events if e.action == "package.download"] == ["json"]
    denied = [e for e in events if e.action == "access.denied"]
    assert {e.details["attempted"] for e in denied} == {"package.download"}


def test_verification_reports_signature_schema_and_hash(browser: Browser) -> None:
    world = browser.world
    ref = world.referrals["FR"]
    officer, _ = browser.client("officer_fr")
    check = officer.get(f"/api/v1/referrals/{ref.id}/verification").json()
    assert check["ok"] and check["signature_valid"] and check["schema_valid"]
    assert check["sha256"] == check["recorded_sha256"] == ref.package_sha256
    assert check["key_id"] == ref.signing_key_id and check["problems"] == []
    page = officer.get(f"/referrals/{ref.id}/verify").text
    assert "The package is intact" in page and ref.package_sha256 in page


def test_verification_catches_an_altered_package(world: World) -> None:
    ref = world.referrals["FR"]
    with world.db.transaction() as s:
        raw = s.get(ReferralPackage, ref.id)
        assert raw is not None
        doc = json.loads(bytes(raw.package))
        doc["suspects"][0]["score"] = 99.0
        s.execute(update(ReferralPackage).where(ReferralPackage.referral_id == ref.id)
                  .values(package=json.dumps(doc).encode()))
    check = Packages(world.db).check(world.actors["coordinator"], ref.id)
    assert not check.ok and not check.signature_valid and check.schema_valid
    assert not check.sha256_matches
    assert any("bad signature" in p for p in check.problems)
    assert all("/tmp" not in p for p in check.problems)
