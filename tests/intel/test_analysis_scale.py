"""The shortcuts that let the analysis run ten million rows give what the general paths give:
subjects without a join when resolve's row order is kept, labels without resolve's tables (also
from columns handed over one at a time), int32 codes without overflow, and candidates that do
not depend on the unmatched area's row order nor on the assignments' order."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from icarus.core.errors import InputError
from icarus.intel import resolve_graph
from icarus.intel.candidates import find_candidates
from icarus.intel.deconflict import aligned_subjects, with_subjects
from icarus.intel.geo import AnonymiserList, Locator
from icarus.intel.resolve import LABELLED, resolve_subjects, subject_labels
from icarus.intel.resolve_graph import components, id_codes
from icarus.intel.resolve_links import consecutive_spans, shared_share
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


def test_labels_from_columns_handed_over_are_the_tables() -> None:
    """A column source over two tables (the way candidates resolve) is asked for each column
    once, and gives the labels of the two tables joined."""
    first, second = _rows(120, 6, matched=True), _rows(180, 7, matched=False)
    tables = [first.select(LABELLED), second.select(LABELLED)]
    asked: list[str] = []

    def source(name: str) -> pa.ChunkedArray:
        asked.append(name)
        chunks = [c for t in tables for c in t[name].chunks]
        tables[:] = [t.drop_columns([name]) for t in tables]
        return pa.chunked_array(chunks, SIGHTINGS.field(name).type)

    label = subject_labels(source, locator=LOCATOR)
    assert sorted(asked) == sorted(LABELLED)  # each once
    expected = subject_labels(pa.concat_tables([first, second]), locator=LOCATOR)
    assert label.tolist() == expected.tolist()
    subject = resolve_subjects(pa.concat_tables([first, second]), locator=LOCATOR)
    pairs = set(zip(subject.assignments["subject_id"].to_pylist(), label.tolist(), strict=True))
    assert len(pairs) == len(set(label.tolist())) > 3


def test_int32_codes_do_not_overflow_in_products() -> None:
    """Labels and item codes held as int32 are combined (label * items + item) beyond 2**31:
    the products are computed in int64."""
    big = 70_000  # 70,000 * 70,000 > 2**31
    a, b = np.array([big - 2], np.int32), np.array([big - 1], np.int32)
    lib_label = np.array([big - 2, big - 2, big - 1], np.int32)
    lib_item = np.array([big - 1, 5, big - 1], np.int32)
    shared, smaller = shared_share(a, b, lib_label, lib_item, big)
    assert (shared.tolist(), smaller.tolist()) == ([1], [1])
    # Two labels following each other on one key (rows 0 and 1 of a sighting set of 2**16+).
    n = 1 << 17
    t = np.arange(n, dtype=np.int64) * 1_000_000
    pos = np.arange(n, dtype=np.int32)
    rows = np.array([0, 1], dtype=np.int32)
    la, lb, ra, rb = consecutive_spans(np.array([n - 1, n - 1], np.int32),
                                       np.array([n - 2, n - 1], np.int32), t, pos, rows, 10**6)
    assert (la.tolist(), lb.tolist(), ra.tolist(), rb.tolist()) == ([n - 2], [n - 1], [0], [1])
    comp = components(n, np.array([n - 1], np.int32), np.array([3], np.int32))
    assert comp.dtype == np.int32 and comp[n - 1] == 3


def test_a_repeated_id_is_found_across_the_compared_slices(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Sorted ids are compared a slice at a time: a repeat on a slice's edge is found too."""
    monkeypatch.setattr(resolve_graph, "_CHECK_ROWS", 3)
    ids = [bytes([i]) * 16 for i in (9, 1, 5, 7, 3, 2, 8)]
    assert id_codes(pa.array(ids, pa.binary(16))).tolist() == [6, 0, 3, 4, 2, 1, 5]
    by_rank = sorted(range(len(ids)), key=ids.__getitem__)  # the row of each rank
    for r in range(len(ids) - 1):  # ranks r and r + 1 made one: a repeat at each place
        a, b = by_rank[r], by_rank[r + 1]
        repeated = list(ids)
        repeated[b] = ids[a]
        chunked = pa.chunked_array([repeated[:4], repeated[4:]], pa.binary(16))
        with pytest.raises(InputError, match=f"row {min(a, b) + 1} and row {max(a, b) + 1}"):
            id_codes(chunked)


def test_candidates_with_assignments_in_another_order() -> None:
    """The subjects of alert sightings looked up (assignments in another order) weigh as
    when taken in resolve's row order."""
    alert = _rows(150, 8, matched=True)
    unmatched = _rows(400, 9, matched=False)
    assignments = resolve_subjects(alert, locator=LOCATOR).assignments
    scores = score_subjects(alert, assignments)
    first = find_candidates(alert, unmatched, assignments, scores, locator=LOCATOR)
    shuffled = assignments.take(pa.array(np.random.default_rng(2).permutation(150)))
    assert aligned_subjects(alert, shuffled) is None
    again = find_candidates(alert, unmatched, shuffled, scores, locator=LOCATOR)
    assert first.num_rows > 0
    assert first.equals(again)
