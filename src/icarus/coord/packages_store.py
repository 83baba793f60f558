"""The referrals' packages as imported: download (JSON, signature, HTML, PDF) and verify.

The package bytes, the signature and the public key are stored at import
(:func:`store_package`), so that what an agency downloads is byte for byte what the
coordinators imported, and anyone entitled can check the signature again. Only the
referral's agency and the coordinators may download or verify: a package holds every
personal datum of its suspects, and it is made for its country alone. Analysts read leads
through the lists and the lead pages, never the distributable package.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from icarus.coord.actor import Actor, Role
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, Scope, require
from icarus.core.errors import NotFoundError, PermissionDeniedError
from icarus.intel.packages import canonical_bytes, key_id, verify
from icarus.intel.packages.model import Event, Package, Summary, Suspect
from icarus.intel.packages.render_html import render_html
from icarus.intel.packages.render_pdf import render_pdf
from icarus.intel.packages.sign import signature_matches
from icarus.intel.packages.verify import schema_problems
from icarus.store.engine import Session
from icarus.store.models import Agency, Operation, Referral, ReferralPackage

__all__ = ["FORMATS", "PackageCheck", "PackageFile", "Packages", "document_to_package",
           "store_package"]

Format = Literal["json", "sig", "html", "pdf"]
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "package.json"),
    "sig": ("application/json", "package.json.sig"),
    "html": ("text/html; charset=utf-8", "package.html"),
    "pdf": ("application/pdf", "package.pdf"),
}
"""Download format -> (media type, file name)."""


@dataclass(frozen=True)
class PackageFile:
    """A file to download: its bytes, media type and a file name for the browser."""

    referral_id: int
    content: bytes
    media_type: str
    filename: str


@dataclass(frozen=True)
class PackageCheck:
    """The verification of a stored package: the signature (by the key it was imported
    with), the schema, whether the bytes still hash to what the referral recorded at
    import, and every problem found."""

    referral_id: int
    operation: str
    agency: str
    country: str
    package_id: str
    key_id: str
    recorded_sha256: str
    sha256: str
    sha256_matches: bool
    signature_valid: bool
    schema_valid: bool
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    checked_at: datetime

    @property
    def ok(self) -> bool:
        """Signature, schema and hash all as imported."""
        return self.sha256_matches and self.signature_valid and not self.problems


def store_package(s: Session, referral_id: int, package: bytes, signature: bytes,
                  public_key: Ed25519PublicKey) -> None:
    """Keep the package as imported (called by ``Operations.import_package``)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    s.add(ReferralPackage(referral_id=referral_id, package=package, signature=signature,
                          public_key=raw.hex()))


def _pairs(value: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(value.items())


def document_to_package(doc: dict[str, Any]) -> Package:
    """The :class:`Package` of a (verified) package-v1 document: the inverse of
    ``to_document``, so the reports render exactly as at build time."""
    s = doc["summary"]
    return Package(
        operation=doc["operation"], country=doc["country"], generated_at=doc["generated_at"],
        producer=doc["producer"], analysis_time=doc["analysis_time"],
        summary=Summary(s["suspects"], s["sightings"], s["files"], _pairs(s["categories"]),
                        _pairs(s["networks"]), _pairs(s["evidence"]), tuple(s["top"])),
        suspects=tuple(Suspect(
            subject_id=x["subject_id"], rank=x["rank"], score=x["score"],
            components=_pairs(x["components"]), reasons=tuple(x["reasons"]),
            country=x["jurisdiction"]["country"], asn_name=x["jurisdiction"]["asn_name"],
            first_seen=x["first_seen"], last_seen=x["last_seen"],
            identifiers=tuple(x["identifiers"]), n_files=x["n_files"],
            best_evidence=x["best_evidence"],
            events=tuple(Event(
                observed_at=e["observed_at"], ip=e["ip"], port=e["port"],
                network=e["network"], client=e["client"], nickname=e["nickname"],
                identifiers=tuple(e["identifiers"]), file_name=e["file_name"],
                file_size=e["file_size"], content=e["content"], category=e["category"],
                severity=e["severity"], match_set=e["match_set"], sensor=e["sensor"],
                record_id=e["record_id"], evidence=e["evidence"],
                source_sha256=e["source"]["sha256"], source_line=e["source"]["line"])
                for e in x["timeline"]))
            for x in doc["suspects"]))


def _created(generated_at: str) -> datetime:
    """The PDF's creation date: the package's own, so the same package gives the same PDF."""
    try:
        return datetime.strptime(generated_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


class Packages(UseCases):
    """Downloading and verifying the package of a referral."""

    @staticmethod
    def _stored(s: Session, actor: Actor, referral_id: int,
                ) -> tuple[Referral, ReferralPackage, str, str]:
        scope = require(actor, Permission.READ_LEADS)
        if actor.role is Role.ANALYST:
            raise PermissionDeniedError("the role analyst may not download or verify a "
                                        "country's package (only its agency and the "
                                        "coordinators)")
        query = (select(Referral, ReferralPackage, Operation.name, Agency.name)
                 .join(ReferralPackage, ReferralPackage.referral_id == Referral.id)
                 .join(Operation, Operation.id == Referral.operation_id)
                 .join(Agency, Agency.id == Referral.agency_id)
                 .where(Referral.id == referral_id))
        if scope is Scope.OWN_AGENCY:
            query = query.where(Referral.agency_id == actor.agency_id)
        row = s.execute(query).first()
        if row is None:
            raise NotFoundError(f"referral {referral_id} not found (or no package stored)")
        referral, stored, op, agency = row
        return referral, stored, op, agency

    def download(self, actor: Actor, referral_id: int, fmt: Format) -> PackageFile:
        """The referral's package as imported (``json``, its signature ``sig``), or its
        report rendered from it (``html``, ``pdf``). Audited as ``package.download``."""
        with self._transaction(actor, "package.download", "referral", referral_id) as s:
            referral, stored, op, _agency = self._stored(s, actor,
                                                          referral_id)
            self._audit(s, actor, "package.download", "referral", referral.id,
                        {"format": fmt, "agency_id": referral.agency_id,
                         "package_sha256": referral.package_sha256})
            package, signature = bytes(stored.package), bytes(stored.signature)
        media_type, name = FORMATS[fmt]
        filename = f"{op}-{referral.country}-{name}"
        if fmt == "json":
            content = package
        elif fmt == "sig":
            content = signature
        else:
            doc = document_to_package(json.loads(package.decode("utf-8")))
            content = (render_html(doc).encode("utf-8") if fmt == "html"
                       else render_pdf(doc, _created(doc.generated_at)))
        return PackageFile(referral.id, content, media_type, filename)

    def check(self, actor: Actor, referral_id: int) -> PackageCheck:
        """Verify the stored package again (``intel.packages.verify``) with the key it was
        imported with, and compare its hash with the referral's. Audited."""
        with self._transaction(actor, "package.verify", "referral", referral_id) as s:
            referral, stored, op, agency = self._stored(s, actor,
                                                         referral_id)
            package, signature = bytes(stored.package), bytes(stored.signature)
            public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(stored.public_key))
            problems, warnings, schema_ok, signature_ok, digest = _check(
                package, signature, public_key)
            result = PackageCheck(
                referral.id, op, agency, referral.country, referral.package_id,
                key_id(public_key), referral.package_sha256, digest,
                digest == referral.package_sha256, signature_ok, schema_ok, problems, warnings,
                datetime.now(UTC))
            self._audit(s, actor, "package.verify", "referral", referral.id,
                        {"ok": result.ok, "problems": len(problems)})
            return result


def _check(package: bytes, signature: bytes, public_key: Ed25519PublicKey,
           ) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool, str]:
    """(problems, warnings, schema valid, signature valid, SHA-256 of the canonical bytes)."""
    with tempfile.TemporaryDirectory(prefix="icarus-verify-") as tmp:
        pkg, sig = Path(tmp) / "package.json", Path(tmp) / "package.json.sig"
        pkg.write_bytes(package)
        sig.write_bytes(signature)
        report = verify(pkg, sig, public_key)
    problems = tuple(p.replace(tmp, "stored") for p in report.problems)
    warnings = tuple(w.replace(tmp, "stored") for w in report.warnings)
    try:
        doc = json.loads(package.decode("utf-8"))
        sig_doc = json.loads(signature.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return problems, warnings, False, False, hashlib.sha256(package).hexdigest()
    schema_ok = not schema_problems(doc)
    signature_ok = (isinstance(sig_doc, dict) and sig_doc.get("key_id") == key_id(public_key)
                    and signature_matches(doc, sig_doc, public_key))
    return (problems, warnings, schema_ok, signature_ok,
            hashlib.sha256(canonical_bytes(doc)).hexdigest())
