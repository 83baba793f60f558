"""From an analysed results folder and the sightings dataset to one package per country.

A package holds only the suspects located in its country, each with the evidence timeline of
its own sightings; the summary counts only those suspects. Leads without a country
(anonymised, unlocated) get no package.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus import __version__
from icarus.core.errors import CorruptInputError, InputError, NotFoundError, UsageError
from icarus.core.settings import Settings
from icarus.domain.digests import Digest
from icarus.identify.kinds import KINDS, format_digest
from icarus.intel.packages.model import (
    Event,
    Package,
    Summary,
    Suspect,
    canonical_bytes,
    to_document,
    utc_text,
)
from icarus.intel.packages.render_html import render_html
from icarus.intel.packages.render_pdf import render_pdf
from icarus.intel.packages.sign import sign_document
from icarus.intel.score import COMPONENTS
from icarus.sensors.dataset import query

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["FILES", "TOP", "WrittenPackage", "build_packages", "write_packages"]

FILES = ("package.json", "package.json.sig", "report.html", "report.pdf")

TOP = 10


@dataclass(frozen=True)
class WrittenPackage:
    """One country's package as written: its folder and what it holds."""

    country: str
    suspects: int
    sightings: int
    folder: Path
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LEAD_COLUMNS = ("subject_id", "score", *COMPONENTS, "reasons", "is_suspect", "country",
                 "asn_name", "first_seen", "last_seen", "identifiers", "n_files",
                 "best_evidence")
# A sighting is named in subjects.parquet by (sensor, record_id), a sighting without record_id
# by its source (docs/intel/scoring.md): the same key is computed here to find its subject.
_SIGHTINGS_SQL = """
SELECT *, coalesce(record_id, 'source:' || substr(source_sha256, 1, 16) || ':'
                   || CAST(source_line AS VARCHAR)) AS _key
FROM sightings ORDER BY observed_at, sighting_id
"""


def build_packages(settings: Settings, results_dir: Path, *, operation: str,
                   generated_at: datetime, countries: tuple[str, ...] | None = None,
                   ) -> tuple[Package, ...]:
    """One :class:`Package` per country with suspects (or per country of ``countries``),
    sorted by country code.

    Reads ``leads.parquet``, ``subjects.parquet`` and ``results.json`` of ``results_dir`` and
    the workspace's sightings. Raises :class:`InputError` when a results file is missing or
    malformed, :class:`UsageError` for an invalid country code and :class:`NotFoundError` for
    a requested country without suspects.
    """
    leads = _read(results_dir / "leads.parquet", _LEAD_COLUMNS)
    leads = leads.filter(pc.and_(leads["is_suspect"], pc.is_valid(leads["country"])))
    available = sorted(set(leads["country"].to_pylist()))
    wanted = available if countries is None else sorted(set(_checked(countries)))
    for cc in wanted:
        if cc not in available:
            raise NotFoundError(f"{results_dir}: no suspect is located in {cc} "
                                f"(countries with suspects: {', '.join(available) or 'none'})")
    leads = leads.filter(pc.is_in(leads["country"], pa.array(wanted)))
    events = _events(settings, results_dir, set(leads["subject_id"].to_pylist()))
    analysis_time = _analysis_time(results_dir / "results.json")
    generated = utc_text(generated_at)
    packages = []
    for cc in wanted:
        rows = leads.filter(pc.equal(leads["country"], cc)).sort_by(
            [("score", "descending"), ("subject_id", "ascending")]).to_pylist()
        suspects = tuple(_suspect(rank, row, events.get(row["subject_id"], []))
                         for rank, row in enumerate(rows, 1))
        packages.append(Package(operation, cc, generated, f"icarus {__version__}",
                                analysis_time, _summary(suspects), suspects))
    return tuple(packages)


def _checked(countries: tuple[str, ...]) -> list[str]:
    for cc in countries:
        if not _COUNTRY.match(cc):
            raise UsageError(f"country {cc!r} is not an ISO 3166-1 alpha-2 code (e.g. DE)")
    return list(countries)


def _read(path: Path, columns: tuple[str, ...]) -> pa.Table:
    if not path.is_file():
        raise InputError("missing: run `icarus analyze` first", path=path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise CorruptInputError(f"not a readable Parquet file ({exc})", path=path) from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise CorruptInputError(f"column(s) {', '.join(missing)} missing", path=path)
    return table.select(list(columns))


def _analysis_time(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("analysis_time")
        return utc_text(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except (ValueError, AttributeError) as exc:
        raise CorruptInputError(f"not a results manifest ({exc})", path=path) from exc


def _events(settings: Settings, results_dir: Path, subject_ids: set[str],
            ) -> dict[str, list[Event]]:
    """The timeline of each of ``subject_ids``: its sightings, oldest first."""
    subjects = _read(results_dir / "subjects.parquet", ("sensor", "record_id", "subject_id"))
    subjects = subjects.filter(pc.is_in(subjects["subject_id"], pa.array(sorted(subject_ids),
                                                                          pa.string())))
    key_of = {(s, r): sid for s, r, sid in zip(subjects["sensor"].to_pylist(),
                                                subjects["record_id"].to_pylist(),
                                                subjects["subject_id"].to_pylist(), strict=True)}
    sightings = query(settings, _SIGHTINGS_SQL)
    keep = pc.is_in(sightings["_key"], pa.array(sorted({r for _, r in key_of}), pa.string()))
    out: dict[str, list[Event]] = {}
    for row in sightings.filter(keep).to_pylist():
        sid = key_of.get((row["sensor"], row["_key"]))
        if sid is not None:
            out.setdefault(sid, []).append(_event(row))
    return out


def _event(row: dict[str, Any]) -> Event:
    idents = tuple(f"{name}:{row[name].hex()}" for name in ("user_hash", "guid", "peer_id")
                   if row[name] is not None)
    kind, value = row["content_kind"], row["content_id"]
    content = format_digest(Digest(kind, value)) if kind in KINDS else value.hex()
    return Event(utc_text(row["observed_at"]), row["ip"], row["port"], row["network"],
                 row["client"], row["nickname"], idents, row["file_name"], row["file_size"],
                 f"{kind}:{content}", row["category"], row["severity"], row["match_set"],
                 row["sensor"], row["record_id"], row["evidence"], row["source_sha256"],
                 row["source_line"])


def _suspect(rank: int, row: dict[str, Any], events: list[Event]) -> Suspect:
    return Suspect(
        subject_id=row["subject_id"], rank=rank, score=row["score"],
        components=tuple((c, row[c]) for c in COMPONENTS),
        reasons=tuple(r for r in row["reasons"].split("; ") if r),
        country=row["country"], asn_name=row["asn_name"],
        first_seen=utc_text(row["first_seen"]), last_seen=utc_text(row["last_seen"]),
        identifiers=tuple(row["identifiers"]), n_files=row["n_files"],
        best_evidence=row["best_evidence"], events=tuple(events))


def _most_first(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _summary(suspects: tuple[Suspect, ...]) -> Summary:
    events = [e for s in suspects for e in s.events]
    files = {e.content: e.category for e in events}
    return Summary(
        suspects=len(suspects), sightings=len(events), files=len(files),
        categories=_most_first(Counter(files.values())),
        networks=_most_first(Counter(e.network for e in events)),
        evidence=_most_first(Counter(e.evidence for e in events)),
        top=tuple(s.subject_id for s in suspects[:TOP]))


def write_packages(settings: Settings, results_dir: Path, out_dir: Path, *, operation: str,
                   generated_at: datetime, key: Ed25519PrivateKey,
                   countries: tuple[str, ...] | None = None) -> tuple[WrittenPackage, ...]:
    """Build the packages (:func:`build_packages`) and write each to ``out_dir/<CC>/``:
    ``package.json`` (canonical bytes), ``package.json.sig``, ``report.html`` and
    ``report.pdf``. Each file is written beside its target and moved into place, the
    signature last; the same inputs, ``generated_at`` and key give the same bytes."""
    written = []
    for package in build_packages(settings, results_dir, operation=operation,
                                  generated_at=generated_at, countries=countries):
        folder = out_dir / package.country
        folder.mkdir(parents=True, exist_ok=True)
        document = to_document(package)
        signature = json.dumps(sign_document(document, key), indent=2, sort_keys=True) + "\n"
        contents = {"package.json": canonical_bytes(document),
                    "report.html": render_html(package).encode("utf-8"),
                    "report.pdf": render_pdf(package, generated_at),
                    "package.json.sig": signature.encode("ascii")}
        for name, data in contents.items():
            tmp = folder / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(folder / name)
        written.append(WrittenPackage(package.country, package.summary.suspects,
                                      package.summary.sightings, folder))
    return tuple(written)
