"""The shortcuts that let the analysis run ten million rows give what the general paths give:
subjects without a join when resolve's row order is kept, labels without resolve's tables, and
candidates that do not depend on the unmatched area's row order."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from icarus.intel.candidates import find_candidates
from icarus.intel.deconflict import aligned_subjects, with_subjects
from icarus.intel.geo import AnonymiserList, Locator
from icarus.intel.resolve import resolve_subjects, subject_labels
from icarus.intel.score import score_subjects
from icarus.sensors.schema import SIGHTINGS


class _NoGeo:
    name = "none"

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        return None, None


LOCATOR = Locator(_NoGeo(), AnonymiserList({}))
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _rows(n: int, seed: int, *, matched: bool) -> pa.Table:
    """``n`` sightings over a few clients: identifiers, shared addresses and files repeat."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        client = int(rng.integers(0, 12))
        network = ("edonkey", "gnutella", "bittorrent")[client % 3]
        ident = bytes([client + 1]) * 16
        size = int(rng.integers(1, 4)) * 1000
        digest = hashlib.sha256(f"file{size}".encode()).digest()[:20]  # a SHA-1-sized id
        rows.append({
            "sighting_id": hashlib.sha256(f"{seed}:{i}".encode()).digest()[:16],
            "observed_at": T0 + timedelta(minutes=int(rng.integers(0, 600))),
            "network": network, "ip": f"10.0.{client % 5}.{client}", "port": 4000 + client,
            "content_kind": "sha1", "content_id": digest, "file_name": f"f{size}.jpg",
            "file_size": size,
            "user_hash": ident if network == "edonkey" else None,
            "guid": ident if network == "gnutella" else None,
            "peer_id": (ident + b"pppp") if network == "bittorrent" else None,
            "sensor": "s1", "record_id": f"r{seed}-{i}", "evidence": "advertised",
            "category": "csam" if matched else "none", "severity": 2 if matched else 0,
            "match_set": "known" if matched else "", "source_sha256": "ab" * 32,
            "source_line": i + 1})
    return pa.Table.from_pylist(rows, schema=SIGHTINGS)


def test_subjects_without_a_join_are_the_joined_ones() -> None:
    table = _rows(200, 1, matched=True)
    assignments = resolve_subjects(table, locator=LOCATOR).assignments
    assert aligned_subjects(table, assignments) is not None
    shuffled = assignments.take(pa.array(np.random.default_rng(0).permutation(200)))
    assert aligned_subjects(table, shuffled) is None  # another order: the join path
    fast = with_subjects(table, assignments, ("sighting_id", "ip"))
    joined = with_subjects(table, shuffled, ("sighting_id", "ip"))
    pairs = {(bytes(r["sighting_id"]), r["subject_id"]) for r in fast.to_pylist()}
    assert pairs == {(bytes(r["sighting_id"]), r["subject_id"]) for r in joined.to_pylist()}
    assert len(pairs) == 200
    by_fast = score_subjects(table, assignments)
    assert by_fast.equals(score_subjects(table, shuffled))


def test_labels_are_resolves_subjects() -> None:
    table = _rows(300, 2, matched=True)
    subject = resolve_subjects(table, locator=LOCATOR).assignments["subject_id"].to_pylist()
    label = subject_labels(table, locator=LOCATOR).tolist()
    assert len(set(subject)) > 3  # several subjects, some of many rows
    assert len(set(zip(subject, label, strict=True))) == len(set(subject)) == len(set(label))


def test_candidates_do_not_depend_on_the_unmatched_row_order() -> None:
    alert = _rows(150, 3, matched=True)
    unmatched = _rows(400, 4, matched=False)
    assignments = resolve_subjects(alert, locator=LOCATOR).assignments
    scores = score_subjects(alert, assignments)
    first = find_candidates(alert, unmatched, assignments, scores, locator=LOCATOR)
    perm = pa.array(np.random.default_rng(5).permutation(unmatched.num_rows))
    again = find_candidates(alert, unmatched.take(perm), assignments, scores, locator=LOCATOR)
    assert first.num_rows > 0
    assert first.equals(again)
