"""Lead scores: bounded, monotone components, reasons for every lead, determinism."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icarus.core.errors import InputError
from icarus.intel.score import COMPONENTS, EVIDENCE_LEVELS, WEIGHTS, reasons, score_subjects
from icarus.sensors.schema import SIGHTINGS

T0 = datetime(2024, 4, 1, 12, tzinfo=UTC)
EVIDENCE = list(EVIDENCE_LEVELS)


def _row(n: int, *, subject: str = "a", day: float = 0.0, file: int = 0, severity: int = 2,
         evidence: str = "advertised", known: bool = True) -> dict[str, Any]:
    return {
        "sighting_id": hashlib.sha256(f"{subject}:{n}".encode()).digest()[:16],
        "observed_at": T0 + timedelta(days=day), "network": "edonkey", "ip": "192.0.2.1",
        "port": 4662, "content_kind": "md5", "content_id": file.to_bytes(16, "big"),
        "file_name": None, "file_size": None, "user_hash": None, "ed2k_client_id": None,
        "guid": None, "peer_id": None, "client": None, "nickname": None, "sensor": "s",
        "record_id": f"{subject}-{n}", "evidence": evidence, "category": "csam",
        "severity": severity, "match_set": "known" if known else "", "source_sha256": "0" * 64,
        "source_line": n, "_subject": subject,
    }


def _score(rows: list[dict[str, Any]], now: datetime | None = None) -> dict[str, dict[str, Any]]:
    table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "_subject"} for r in rows],
                                 schema=SIGHTINGS)
    assignments = pa.table({"sighting_id": table["sighting_id"],
                            "subject_id": [r["_subject"] for r in rows]})
    return {r["subject_id"]: r for r in score_subjects(table, assignments, now=now).to_pylist()}


def test_counts_files_days_and_evidence() -> None:
    rows = [_row(0, file=1, severity=3, evidence="download-verified"),
            _row(1, file=1, severity=3, day=0.1), _row(2, file=2, severity=1, day=3.0),
            _row(3, file=3, known=False, day=9.0, evidence="browsed")]
    a = _score(rows)["a"]
    assert (a["n_files"], a["n_files_gravest"], a["max_severity"], a["sum_severity"]) == \
        (2, 1, 3, 4)
    assert (a["n_sightings"], a["n_days"], a["span_days"]) == (4, 3, 10)
    assert (a["best_evidence"], a["n_downloads"], a["n_browsed"]) == ("download-verified", 1, 1)
    assert a["days_since_last"] == 0.0  # the analysis time defaults to the last sighting
    assert a["severity_max"] == 1.0 and a["evidence"] == 1.0
    assert a["distributor"] == 0.5  # a download and a browse list; not many files nor days


def _more(kind: str, base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``base`` with one more unit of ``kind`` (on subject "a")."""
    n = len(base)
    extra = {"files": _row(n, file=100 + n), "severity": _row(n, file=0, severity=3),
             "days": _row(n, file=0, day=2.0 + n), "sightings": _row(n, file=0, day=0.5),
             "evidence": _row(n, file=0, evidence="download-verified")}
    return [*base, extra[kind]]


@pytest.mark.parametrize(("kind", "component"), [
    ("files", "files"), ("severity", "severity_max"), ("severity", "severity_sum"),
    ("days", "persistence"), ("sightings", "volume"), ("evidence", "evidence")])
def test_components_grow_with_their_figure(kind: str, component: str) -> None:
    rows = [_row(0, file=0, severity=1)]
    now = T0 + timedelta(days=400)  # fixed, so that later sightings do not move the clock
    before = _score(rows, now)["a"]
    for _ in range(15):
        rows = _more(kind, rows)
        after = _score(rows, now)["a"]
        assert after[component] >= before[component]
        assert after["score"] >= before["score"]
        before = after
    assert after[component] > _score([_row(0, file=0, severity=1)], now)["a"][component]


def test_recency_falls_with_age_and_is_relative_to_now() -> None:
    rows = [_row(0)]
    ages = [_score(rows, T0 + timedelta(days=d))["a"]["recency"] for d in (0, 10, 30, 100)]
    assert ages == sorted(ages, reverse=True) and ages[0] == 1.0
    assert ages[2] == pytest.approx(0.5)  # the documented 30-day half-life


_rows = st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 120), st.integers(0, 40),
                           st.integers(0, 3), st.sampled_from(EVIDENCE), st.booleans()),
                 min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(_rows, st.randoms(use_true_random=False))
def test_bounded_deterministic_and_explained(spec: list[Any], rnd: Any) -> None:
    rows = [_row(i, subject=s, day=d, file=f, severity=v, evidence=e, known=k)
            for i, (s, d, f, v, e, k) in enumerate(spec)]
    scored = _score(rows)
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    assert _score(shuffled) == scored
    for row in scored.values():
        assert all(0.0 <= row[c] <= 1.0 for c in COMPONENTS)
        assert row["score"] == pytest.approx(sum(WEIGHTS[c] * row[c] for c in COMPONENTS))
        assert 0.0 <= row["score"] <= sum(WEIGHTS.values()) == 100.0
        sentences = reasons(row)
        assert sentences and all(isinstance(s, str) and s for s in sentences)


def test_rows_are_sorted_by_score() -> None:
    rows = [_row(0, subject="weak"), _row(1, subject="strong", evidence="download-verified"),
            _row(2, subject="strong", file=5, severity=3, day=4.0)]
    table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "_subject"} for r in rows],
                                 schema=SIGHTINGS)
    out = score_subjects(table, pa.table({"sighting_id": table["sighting_id"],
                                          "subject_id": ["weak", "strong", "strong"]}))
    assert out["subject_id"].to_pylist() == ["strong", "weak"]


def test_reasons_name_the_evidence() -> None:
    rows = [_row(i, file=i % 12, severity=3 if i < 3 else 2, day=i % 9 * 5,
                 evidence="download-verified" if i < 2 else "advertised") for i in range(30)]
    text = reasons(_score(rows)["a"])
    assert text[0] == "single-source download verified 2 times"
    assert "12 distinct known files, 3 of the gravest severity" in text
    assert "seen on 9 days over 41 days (30 sightings)" in text


def test_missing_columns_and_unassigned_sightings_are_refused() -> None:
    table = pa.Table.from_pylist([{k: v for k, v in _row(0).items() if k != "_subject"}],
                                 schema=SIGHTINGS)
    with pytest.raises(InputError, match="severity"):
        score_subjects(table.drop_columns(["severity"]),
                       pa.table({"sighting_id": table["sighting_id"], "subject_id": ["a"]}))
    with pytest.raises(InputError, match="no subject"):
        score_subjects(table, pa.table({"sighting_id": [b"x" * 16], "subject_id": ["a"]}))


def _kind_row(n: int, subject: str, kind: str, digest: bytes, severity: int) -> dict[str, Any]:
    return _row(n, subject=subject, severity=severity) | {"content_kind": kind,
                                                           "content_id": digest}


def test_a_bank_entry_seen_under_two_hash_kinds_is_one_file() -> None:
    ed2k_a, sha1_a = b"\x01" * 16, b"\x02" * 20  # entry 0:0, seen as ed2k and SHA-1
    ed2k_b, sha1_b = b"\x03" * 16, b"\x04" * 20  # entry 0:1
    rows = [_kind_row(0, "one", "ed2k", ed2k_a, 3), _kind_row(1, "one", "sha1", sha1_a, 3),
            _kind_row(2, "two", "ed2k", ed2k_a, 3), _kind_row(3, "two", "sha1", sha1_b, 2),
            _kind_row(4, "two", "md5", b"\x05" * 16, 1)]  # a digest items does not name
    items = pa.table({"content_kind": ["ed2k", "sha1", "ed2k", "sha1"],
                      "content_id": pa.array([ed2k_a, sha1_a, ed2k_b, sha1_b], pa.binary()),
                      "item": ["0:0", "0:0", "0:1", "0:1"]})
    table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "_subject"} for r in rows],
                                 schema=SIGHTINGS)
    assignments = pa.table({"sighting_id": table["sighting_id"],
                            "subject_id": [r["_subject"] for r in rows]})
    by_items = {r["subject_id"]: r for r in
                score_subjects(table, assignments, items=items).to_pylist()}
    one, two = by_items["one"], by_items["two"]
    assert (one["n_files"], one["n_files_gravest"], one["sum_severity"]) == (1, 1, 3)
    assert "1 distinct known file, 1 of the gravest severity" in reasons(one)
    assert (two["n_files"], two["n_files_gravest"], two["sum_severity"]) == (3, 1, 6)
    # Without items every digest is its own file: the entry seen twice counts twice.
    by_digest = _score(rows)
    assert (by_digest["one"]["n_files"], by_digest["one"]["sum_severity"]) == (2, 6)
    assert by_digest["one"]["score"] > one["score"]
    duplicated = pa.concat_tables([items, items.slice(0, 1)])
    with pytest.raises(InputError, match="twice"):
        score_subjects(table, assignments, items=duplicated)
    with pytest.raises(InputError, match=r"items\.item"):
        score_subjects(table, assignments, items=items.drop_columns(["item"]))
