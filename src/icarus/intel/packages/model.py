"""The intelligence package document, schema version 1 (docs/formats/package-v1.md).

A package holds one country's suspects and nothing about any other country. Its canonical
bytes (:func:`canonical_bytes`) are what is signed and what ``package.json`` contains.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FORMAT = "icarus-package"
VERSION = 1


def utc_text(when: datetime) -> str:
    """``when`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, microseconds always written)."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: packages hold UTC times only")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Event:
    """One sighting of the suspect: when, where, with what client and file, by which sensor."""

    observed_at: str
    ip: str
    port: int
    network: str
    client: str | None
    nickname: str | None
    identifiers: tuple[str, ...]
    """``user_hash:<hex>``, ``guid:<hex>``, ``peer_id:<hex>`` as the sighting carried them."""
    file_name: str | None
    file_size: int | None
    content: str
    """``<hash kind>:<canonical digest text>``."""
    category: str
    severity: int
    match_set: str
    sensor: str
    record_id: str | None
    evidence: str
    source_sha256: str
    source_line: int


@dataclass(frozen=True, slots=True)
class Suspect:
    """A lead of the package's country with its reasons and its evidence timeline."""

    subject_id: str
    rank: int
    """Rank within the package (1 = highest score); the operation-wide rank is not disclosed."""
    score: float
    components: tuple[tuple[str, float], ...]
    reasons: tuple[str, ...]
    country: str
    asn_name: str | None
    first_seen: str
    last_seen: str
    identifiers: tuple[str, ...]
    n_files: int
    best_evidence: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts over the package's own suspects only."""

    suspects: int
    sightings: int
    files: int
    categories: tuple[tuple[str, int], ...]
    """Distinct files per category, most first."""
    networks: tuple[tuple[str, int], ...]
    """Sightings per network, most first."""
    evidence: tuple[tuple[str, int], ...]
    """Sightings per evidence level, most first."""
    top: tuple[str, ...]
    """Subject ids of the highest-scored suspects (at most 10)."""


@dataclass(frozen=True, slots=True)
class Package:
    """One country's intelligence package."""

    operation: str
    country: str
    generated_at: str
    producer: str
    analysis_time: str | None
    summary: Summary
    suspects: tuple[Suspect, ...]


def _pairs(pairs: tuple[tuple[str, int], ...] | tuple[tuple[str, float], ...]) -> dict[str, Any]:
    return dict(pairs)


def to_document(package: Package) -> dict[str, Any]:
    """The JSON document of ``package`` (the shape package-v1.schema.json describes)."""
    s = package.summary
    return {
        "format": FORMAT, "version": VERSION, "operation": package.operation,
        "country": package.country, "generated_at": package.generated_at,
        "producer": package.producer, "analysis_time": package.analysis_time,
        "summary": {"suspects": s.suspects, "sightings": s.sightings, "files": s.files,
                    "categories": _pairs(s.categories), "networks": _pairs(s.networks),
                    "evidence": _pairs(s.evidence), "top": list(s.top)},
        "suspects": [{
            "subject_id": x.subject_id, "rank": x.rank, "score": x.score,
            "components": _pairs(x.components), "reasons": list(x.reasons),
            "jurisdiction": {"country": x.country, "asn_name": x.asn_name},
            "first_seen": x.first_seen, "last_seen": x.last_seen,
            "identifiers": list(x.identifiers), "n_files": x.n_files,
            "best_evidence": x.best_evidence,
            "timeline": [{
                "observed_at": e.observed_at, "ip": e.ip, "port": e.port, "network": e.network,
                "client": e.client, "nickname": e.nickname, "identifiers": list(e.identifiers),
                "file_name": e.file_name, "file_size": e.file_size, "content": e.content,
                "category": e.category, "severity": e.severity, "match_set": e.match_set,
                "sensor": e.sensor, "record_id": e.record_id, "evidence": e.evidence,
                "source": {"sha256": e.source_sha256, "line": e.source_line},
            } for e in x.events],
        } for x in package.suspects],
    }


def canonical_bytes(document: Any) -> bytes:
    """The canonical form: UTF-8 JSON, keys sorted, no whitespace, non-ASCII unescaped.

    Floats are written as Python's shortest round-trip ``repr``; NaN and infinities are refused.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
