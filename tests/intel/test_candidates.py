"""Candidate new material on the tiny world: minimised store, ranking, review into the bank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from icarus.bank.service import BankService
from icarus.cli.candidates import candidates
from icarus.cli.context import AppContext
from icarus.core.settings import Settings
from icarus.domain.categories import SetKind
from icarus.identify.kinds import parse_digest
from icarus.intel.analyze import AnalysisReport, analyze, default_out_dir
from icarus.intel.review import VerdictKind, read_verdicts, record_verdict
from icarus.sensors.dataset import query
from icarus.sensors.unmatched import purge_unmatched, read_unmatched, unmatched_dir
from icarus.sim.eval import EvalReport


@pytest.fixture(scope="module")
def analysed(workspace: Settings) -> AnalysisReport:
    return analyze(workspace, operation="tiny", out_dir=default_out_dir(workspace, "tiny"))




def test_unmatched_rows_only_in_the_unmatched_area(workspace: Settings) -> None:
    in_dataset = query(workspace, "SELECT count(*) AS n FROM sightings WHERE match_set = ''")
    assert in_dataset["n"][0].as_py() == 0
    area = read_unmatched(workspace)
    assert area.num_rows > 0
    assert pc.all(pc.equal(area["category"], "none")).as_py()
    assert area["file_name"].null_count == area.num_rows  # reduced
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
