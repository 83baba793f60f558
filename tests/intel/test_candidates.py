"""Candidate new material: grouping a file's identifiers, the ranking statistic, the minimised
store and the review into the bank (on small hand-made sightings and on the tiny world)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from icarus.bank.service import BankService
from icarus.cli.candidates import candidates
from icarus.cli.context import AppContext
from icarus.core.errors import CorruptInputError, UsageError
from icarus.core.settings import Settings
from icarus.domain.categories import SetKind
from icarus.identify.kinds import parse_digest
from icarus.intel.analyze import AnalysisReport, analyze, default_out_dir
from icarus.intel.candidates import find_candidates
from icarus.intel.candidates_groups import group_identifiers, normalise_names
from icarus.intel.review import VerdictKind, read_verdicts, record_verdict, review_dir
from icarus.sensors.dataset import query
from icarus.sensors.schema import SIGHTINGS
from icarus.sensors.unmatched import REDUCED, purge_unmatched, read_unmatched, unmatched_dir
from icarus.sim.eval import EvalReport

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _seen(rows: list[tuple[str, str, int | None, str | None]]) -> pa.Table:
    """(kind, hex, size, name) per sighting, as group_identifiers reads them."""
    return pa.table({"kind": [r[0] for r in rows], "id": [bytes.fromhex(r[1]) for r in rows],
                     "size": pa.array([r[2] for r in rows], pa.int64()),
                     "name": pa.array([r[3] for r in rows], pa.string())})


def _groups(ids: pa.Table) -> dict[str, set[str]]:
    """Each identifier (kind:hex) -> the identifiers of its group."""
    keys = [f"{k}:{v.hex()}" for k, v in zip(ids["kind"].to_pylist(), ids["id"].to_pylist(),
                                              strict=True)]
    members: dict[int, set[str]] = {}
    for key, g in zip(keys, ids["group"].to_pylist(), strict=True):
        members.setdefault(g, set()).add(key)
    return {key: members[g] for key, g in zip(keys, ids["group"].to_pylist(), strict=True)}


def test_copy_markers_case_and_underscores_do_not_make_another_name() -> None:
    names = pa.array(["Holiday Trip.JPG", "holiday_trip (1).jpg", "HOLIDAY  TRIP(12).jpg",
                      "holiday trip 2.jpg"])
    out = normalise_names(names).to_pylist()
    assert out[:3] == ["holiday trip.jpg"] * 3
    assert out[3] == "holiday trip 2.jpg"  # a different name stays different


def test_one_file_on_three_networks_is_one_group() -> None:
    ed2k, sha1, btih = "aa" * 16, "bb" * 20, "cc" * 20
    other_size, lonely = "dd" * 20, "ee" * 16
    ids = group_identifiers(_seen([
        ("ed2k", ed2k, 5000, "clip_1.avi"), ("ed2k", ed2k, 5000, "clip_1.avi"),
        ("ed2k", ed2k, 5000, "renamed.avi"),  # a minority name does not decide
        ("sha1", sha1, 5000, "Clip_1 (1).avi"), ("btih", btih, 5000, "clip 1.avi"),
        ("sha1", other_size, 5001, "clip_1.avi"),  # another size: another file
        ("ed2k", lonely, None, "clip_1.avi"),  # no size: no grouping
    ]))
    groups = _groups(ids)
    assert groups[f"ed2k:{ed2k}"] == {f"ed2k:{ed2k}", f"sha1:{sha1}", f"btih:{btih}"}
    assert groups[f"sha1:{other_size}"] == {f"sha1:{other_size}"}
    assert groups[f"ed2k:{lonely}"] == {f"ed2k:{lonely}"}
    primary = ids.filter(ids["primary"])
    # one primary per group, and a file digest stands for the group rather than a torrent's
    assert primary.num_rows == len(set(ids["group"].to_pylist()))
    first = primary.filter(pc.equal(primary["group"], ids.filter(
        pc.equal(ids["kind"], "btih"))["group"][0]))
    assert first["kind"].to_pylist() == ["sha1"]


def test_an_ambiguous_size_and_name_groups_nothing() -> None:
    # two different ed2k with one size and name cannot both be one SHA-1's file
    ids = group_identifiers(_seen([("ed2k", "01" * 16, 700, "IMG_1.jpg"),
                                   ("ed2k", "02" * 16, 700, "IMG_1.jpg"),
                                   ("sha1", "03" * 20, 700, "IMG_1.jpg")]))
    assert all(len(g) == 1 for g in _groups(ids).values())


def _sighting(n: int, *, network: str, ident: bytes, kind: str, digest: bytes,
              size: int | None = 1000, name: str | None = "x.jpg",
              match_set: str = "") -> dict[str, Any]:
    return {
        "sighting_id": hashlib.sha256(f"s{n}".encode()).digest()[:16],
        "observed_at": T0 + timedelta(minutes=n), "network": network,
        "ip": f"81.{n // 250 % 250}.{n % 250}.{7 + n % 3}", "port": 4662 + n,
        "content_kind": kind, "content_id": digest, "file_name": name, "file_size": size,
        "user_hash": ident if network == "edonkey" else None, "ed2k_client_id": None,
        "guid": ident if network == "gnutella" else None, "peer_id": None, "client": None,
        "nickname": None, "sensor": "t1", "record_id": None, "evidence": "browsed",
        "category": "csam" if match_set else "none", "severity": 2 if match_set else 0,
        "match_set": match_set, "source_sha256": "0" * 64, "source_line": n}


def test_a_file_only_suspects_hold_outranks_a_popular_one() -> None:
    """Three suspects share file X (two by ed2k on eDonkey, one by SHA-1 on Gnutella); all
    thirty suspects share a popular file P that seventy other peers share too. X is one
    candidate listing both its identifiers and ranks first; P, although ten times as many
    suspects hold it, ranks below (a share of suspects at the base rate is no evidence)."""
    known = bytes(16)
    x_ed2k, x_sha1 = b"\x11" * 16, b"\x22" * 20
    p_ed2k, p_sha1 = b"\x33" * 16, b"\x44" * 20
    suspects = [("edonkey", bytes([0xA0, i]) * 8) for i in range(29)]
    suspects.append(("gnutella", b"\xa3" * 16))
    alert, unmatched = [], []
    n = 0
    for i, (network, ident) in enumerate(suspects):
        alert.append(_sighting(n, network=network, ident=ident, kind="md5", digest=known,
                               match_set="known"))
        gnutella = network == "gnutella"
        if i < 2 or gnutella:
            unmatched.append(_sighting(n + 1, network=network, ident=ident,
                                       kind="sha1" if gnutella else "ed2k",
                                       digest=x_sha1 if gnutella else x_ed2k, size=48213,
                                       name="IMG_0042.jpg"))
        unmatched.append(_sighting(n + 2, network=network, ident=ident,
                                   kind="sha1" if gnutella else "ed2k",
                                   digest=p_sha1 if gnutella else p_ed2k, size=3_000_000,
                                   name="song_07.mp3"))
        n += 3
    for i in range(70):
        unmatched.append(_sighting(n + i, network="edonkey", ident=bytes([0xB0, i]) * 8,
                                   kind="ed2k", digest=p_ed2k, size=3_000_000,
                                   name="Song_07 (1).mp3"))
    alert_t = pa.Table.from_pylist(alert, schema=SIGHTINGS)
    subjects = [f"s{i}" for i in range(len(alert))]
    assignments = pa.table({"sighting_id": alert_t["sighting_id"],
                            "subject_id": pa.array(subjects, pa.string())})
    scores = pa.table({"subject_id": pa.array(subjects, pa.string()),
                       "score": pa.array(np.linspace(90.0, 10.0, len(subjects)))})
    table = find_candidates(alert_t, pa.Table.from_pylist(unmatched, schema=SIGHTINGS),
                            assignments, scores)
    assert table.num_rows == 2  # one candidate per file, not per identifier
    x, p = table.to_pylist()
    assert x["content_kind"] == "sha1" and x["content_id"] == x_sha1.hex()
    assert x["identifiers"].split() == [f"sha1:{x_sha1.hex()}", f"ed2k:{x_ed2k.hex()}"]
    assert (x["suspect_holders"], x["holders"]) == (3, 3) and x["file_name"] == "IMG_0042.jpg"
    assert 0 < x["weighted_suspects"] < 3  # weakly scored suspects weigh less
    assert p["identifiers"].split() == [f"sha1:{p_sha1.hex()}", f"ed2k:{p_ed2k.hex()}"]
    assert (p["suspect_holders"], p["holders"]) == (30, 100)
    assert p["statistic"] < 1.0 < x["statistic"]
    assert [x["rank"], p["rank"]] == [1, 2]


@pytest.fixture(scope="module")
def analysed(workspace: Settings) -> AnalysisReport:
    return analyze(workspace, operation="tiny", out_dir=default_out_dir(workspace, "tiny"))


def test_unmatched_rows_only_in_the_unmatched_area(workspace: Settings) -> None:
    in_dataset = query(workspace, "SELECT count(*) AS n FROM sightings WHERE match_set = ''")
    assert in_dataset["n"][0].as_py() == 0
    area = read_unmatched(workspace)
    assert area.num_rows > 0
    assert pc.all(pc.equal(area["category"], "none")).as_py()
    for name in REDUCED:  # reduced
        assert area[name].null_count == area.num_rows, name
    # kept: with the size, the name groups one file's identifiers on several networks
    assert area["file_name"].null_count < area.num_rows
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert {p.name for p in unmatched_dir(workspace).iterdir()} == {f"day={today}"}


def test_candidates_rank_unknown_illicit_first(scored: EvalReport,
                                              analysed: AnalysisReport) -> None:
    p10 = scored.metric("candidates.precision_at_10").value
    assert p10 is not None and p10 >= 0.5, scored.metric("candidates.precision_at_10")
    table = pq.read_table(analysed.out_dir / "candidates.parquet")
    assert table["rank"].to_pylist() == list(range(1, table.num_rows + 1))
    stats = table["statistic"].to_pylist()
    assert stats == sorted(stats, reverse=True)
    assert pc.all(pc.greater_equal(table["suspect_holders"], 1)).as_py()


def test_purge_after_retention(workspace: Settings, analysed: AnalysisReport) -> None:
    assert read_unmatched(workspace).num_rows > 0  # analysis purged nothing recent
    days = workspace.sightings_unmatched_days
    assert days == 30
    now = datetime.now(UTC)
    assert purge_unmatched(workspace, now=now + timedelta(days=days)).rows == 0
    report = purge_unmatched(workspace, now=now + timedelta(days=days + 1))
    assert report.days == 1 and report.rows > 0
    assert read_unmatched(workspace).num_rows == 0


def test_review_confirms_into_the_bank(workspace: Settings, analysed: AnalysisReport,
                                       tmp_path: Path) -> None:
    table = pq.read_table(analysed.out_dir / "candidates.parquet")
    sha1 = table.filter(pc.equal(table["content_kind"], "sha1"))
    assert sha1.num_rows > 0
    text = sha1["content_id"][0].as_py()
    digest = parse_digest("sha1", text)
    service = BankService(workspace)
    before = service.matcher().match_exact("sha1", np.frombuffer(digest.value, np.uint8)
                                           .reshape(1, -1))[0]
    assert not [m for m in before if m.set_kind is SetKind.ALERT]
    app = AppContext.create(home=str(workspace.home), quiet=True)
    result = CliRunner().invoke(candidates, [
        "review", "--operation", "tiny", "--content", f"sha1:{text}",
        "--verdict", "confirmed", "--note", "reviewed image"], obj=app)
    assert result.exit_code == 0, result.output
    found = BankService(workspace).matcher().match_exact(
        "sha1", np.frombuffer(digest.value, np.uint8).reshape(1, -1))[0]
    assert [m.set_name for m in found if m.set_kind is SetKind.ALERT] == ["confirmed-tiny"]
    info = BankService(workspace).get_set("confirmed-tiny")
    assert "operation tiny" in info.imports[0].source and "reviewed image" in \
        info.imports[0].source
    # A second review appends; the bank import of the same list changes nothing.
    CliRunner().invoke(candidates, ["review", "--operation", "tiny", "--content",
                                    f"sha1:{text}", "--verdict", "confirmed"], obj=app)
    assert len(BankService(workspace).get_set("confirmed-tiny").imports) == 1
    verdicts = read_verdicts(workspace, "tiny")
    assert [v.verdict for v in verdicts] == ["confirmed", "confirmed"]
    assert verdicts[0].reviewer and verdicts[0].reviewed_at
    out = tmp_path / "review.csv"
    listed = CliRunner().invoke(candidates, ["list", "--operation", "tiny", "--export",
                                             str(out)], obj=app)
    assert listed.exit_code == 0, listed.output
    assert "confirmed" in out.read_text(encoding="utf-8")


def test_confirmed_ed2k_joins_the_bank_by_its_kind(workspace: Settings,
                                                  analysed: AnalysisReport) -> None:
    table = pq.read_table(analysed.out_dir / "candidates.parquet")
    ed2k = table.filter(pc.equal(table["content_kind"], "ed2k"))["content_id"][0].as_py()
    digest = parse_digest("ed2k", ed2k)
    confirmed = record_verdict(workspace, operation="tiny", content=digest,
                               verdict=VerdictKind.CONFIRMED, note="reviewed")
    assert confirmed.bank_set == "confirmed-tiny"
    matcher = BankService(workspace).matcher(["confirmed-tiny"])
    query = np.frombuffer(digest.value, dtype=np.uint8).reshape(1, 16)
    assert [m.digest_kind for m in matcher.match_exact("ed2k", query)[0]] == ["ed2k"]
    # an ed2k is never mistaken for an MD5 of the same hex
    assert matcher.match_exact("md5", query) == [[]]


def test_a_rejection_adds_nothing_to_the_bank(workspace: Settings,
                                              analysed: AnalysisReport) -> None:
    table = pq.read_table(analysed.out_dir / "candidates.parquet")
    sha1 = table.filter(pc.equal(table["content_kind"], "sha1"))["content_id"][-1].as_py()
    before = BankService(workspace).list_sets()
    rejected = record_verdict(workspace, operation="tiny", content=parse_digest("sha1", sha1),
                              verdict=VerdictKind.REJECTED, note="benign")
    assert rejected.bank_set is None and read_verdicts(workspace, "tiny")[-1] == rejected
    assert [(s.name, s.entries) for s in BankService(workspace).list_sets()] == [
        (s.name, s.entries) for s in before]


def test_confirming_one_identifier_of_a_file_banks_all_of_them(
        workspace: Settings, analysed: AnalysisReport, tmp_path: Path) -> None:
    table = pq.read_table(analysed.out_dir / "candidates.parquet")
    grouped = [r for r in table.to_pylist() if len(r["identifiers"].split()) >= 2
               and r["content_kind"] != "sha1"]
    if not grouped:  # every grouped primary is a SHA-1 (other tests review some of those)
        grouped = [r for r in table.to_pylist() if len(r["identifiers"].split()) >= 2]
    row = grouped[-1]
    names = row["identifiers"].split()
    assert names[0] == f"{row['content_kind']}:{row['content_id']}"
    other = names[1]  # not the identifier the candidate is listed under
    app = AppContext.create(home=str(workspace.home), quiet=True)
    result = CliRunner().invoke(candidates, [
        "review", "--operation", "tiny", "--content", other, "--verdict", "confirmed"],
        obj=app)
    assert result.exit_code == 0, result.output
    verdict = read_verdicts(workspace, "tiny")[-1]
    assert verdict.identifiers[0] == other and set(verdict.identifiers) == set(names)
    matcher = BankService(workspace).matcher(["confirmed-tiny"])
    for name in names:
        kind, _, text = name.partition(":")
        value = parse_digest(kind, text).value
        hits = matcher.match_exact(kind, np.frombuffer(value, np.uint8).reshape(1, -1))[0]
        assert [m.set_name for m in hits] == ["confirmed-tiny"], name
    out = tmp_path / "review.csv"
    listed = CliRunner().invoke(candidates, ["list", "--operation", "tiny", "--export",
                                             str(out)], obj=app)
    assert listed.exit_code == 0, listed.output
    exported = pcsv.read_csv(out).sort_by("rank").to_pylist()
    assert exported[row["rank"] - 1]["verdict"] == "confirmed"


def test_identifiers_are_listed_once(analysed: AnalysisReport) -> None:
    table = pq.read_table(analysed.out_dir / "candidates.parquet")
    names = [n for ids in table["identifiers"].to_pylist() for n in ids.split()]
    assert len(names) == len(set(names)) and len(names) > table.num_rows


def test_a_file_without_a_bankable_identifier_is_refused(workspace: Settings) -> None:
    pdq = parse_digest("pdq", "ab" * 32)
    with pytest.raises(UsageError, match="cannot join the bank"):
        record_verdict(workspace, operation="pdqop", content=pdq,
                       verdict=VerdictKind.CONFIRMED, identifiers=[pdq])
    assert read_verdicts(workspace, "pdqop") == []  # nothing recorded
    unsure = record_verdict(workspace, operation="pdqop", content=pdq,
                            verdict=VerdictKind.UNSURE)
    assert unsure.bank_set is None and unsure.identifiers == (f"pdq:{'ab' * 32}",)


def test_verdicts_recorded_before_grouping_still_read(workspace: Settings) -> None:
    folder = review_dir(workspace, "older")
    folder.mkdir(parents=True)
    path = folder / "verdicts.jsonl"
    path.write_text(
        '{"bank_set": null, "category": null, "content_id": "' + "ab" * 20 + '", '
        '"content_kind": "sha1", "note": "", "operation": "older", "reviewed_at": '
        '"2026-01-01T00:00:00+00:00", "reviewer": "x", "verdict": "rejected"}\n',
        encoding="utf-8")
    [old] = read_verdicts(workspace, "older")
    assert old.verdict == "rejected" and old.identifiers == ()
    with path.open("a", encoding="utf-8") as fh:
        fh.write('["not", "a", "verdict"]\n')
    with pytest.raises(CorruptInputError, match="line 2"):
        read_verdicts(workspace, "older")
