"""``icarus analyze`` end to end on the tiny world: ingest, analyse, score with ``icarus eval``."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from icarus.bank.service import BankService
from icarus.cli.analyze import analyze_command
from icarus.cli.context import AppContext
from icarus.core.errors import StateError, UsageError
from icarus.core.settings import Settings, load_settings
from icarus.intel.analyze import AnalysisReport, analyze, default_out_dir
from icarus.sensors.ingest import ingest_files
from icarus.sim.eval import EvalReport, evaluate, read_results


@pytest.fixture(scope="module")
def analysed(workspace: Settings, tiny_world: Path) -> AnalysisReport:
    return analyze(workspace, operation="tiny", out_dir=default_out_dir(workspace, "tiny"),
                   earlier_intel=tiny_world / "hashsets" / "earlier-intel.json")




def _value(report: EvalReport, key: str) -> float:
    value = report.metric(key).value
    assert value is not None, report.metric(key)
    return value


def test_finds_the_suspects(scored: EvalReport) -> None:
    # Measured on tiny/seed 3: precision 1.000 (104/104), recall 1.000 (104/104).
    assert _value(scored, "suspects.precision") >= 0.9
    assert _value(scored, "suspects.recall") >= 0.9


def test_resolution_and_countries(scored: EvalReport) -> None:
    # Measured on tiny/seed 3: pairwise F1 0.895 (precision 1.0, recall 0.81); country
    # accuracy 1.000 for persons not using anonymisers (83/83), 0.524 for anonymiser users.
    assert _value(scored, "identity.pairwise_precision") >= 0.95
    assert _value(scored, "country.accuracy_direct") >= 0.95
    assert scored.metric("exhibits.link_accuracy").status == "not-evaluated"
    assert scored.metric("candidates.precision_at_10").status == "ok"  # tests/intel/test_candidates


def test_networks_are_recovered(scored: EvalReport) -> None:
    # Networks of the co-sharing graph, items joined through the bank's entries (an ed2k and a
    # SHA-1 of one file are one item). Measured on tiny/seed 3: see the assertion messages.
    ari = _value(scored, "networks.ari")
    assert ari >= 0.6, f"network ARI {ari:.3f}"
    assert scored.metric("networks.new_recall").status in {"ok", "undefined"}


def test_results_folder(analysed: AnalysisReport, workspace: Settings) -> None:
    out = analysed.out_dir
    assert out == workspace.home / "operations" / "tiny" / "results"
    results = read_results(out)
    manifest = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert manifest["operation"] == "tiny" and manifest["inputs"]["sightings"] == \
        analysed.sightings
    assert set(results.tables) == {"subjects", "suspects", "networks", "networks_new",
                                   "candidates"}
    assert results.tables["subjects"].num_rows == analysed.sightings
    leads = pq.read_table(out / "leads.parquet")
    assert leads.num_rows == analysed.subjects == results.tables["suspects"].num_rows
    assert all(leads["reasons"].to_pylist())  # every lead is explained
    scores = leads["score"].to_pylist()
    assert scores == sorted(scores, reverse=True)
    assert [lead.subject_id for lead in analysed.top] == \
        leads["subject_id"].to_pylist()[: len(analysed.top)]
    assert sum(n for _, n in analysed.countries) == analysed.suspects


def test_output_is_deterministic(analysed: AnalysisReport, workspace: Settings,
                                 tiny_world: Path, tmp_path: Path) -> None:
    analyze(workspace, operation="tiny", out_dir=tmp_path,
            earlier_intel=tiny_world / "hashsets" / "earlier-intel.json")
    for name in analysed.files:
        assert (tmp_path / name).read_bytes() == (analysed.out_dir / name).read_bytes(), name


def test_refusals(tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path / "home"))
    with pytest.raises(StateError, match="no sightings"):
        analyze(settings, operation="op", out_dir=tmp_path / "out")
    with pytest.raises(UsageError, match="operation name"):
        analyze(settings, operation="../escape", out_dir=tmp_path / "out")


def test_command_prints_ids_scores_and_countries_only(workspace: Settings,
                                                      analysed: AnalysisReport,
                                                      tmp_path: Path) -> None:
    app = AppContext.create(home=str(workspace.home), quiet=True)
    result = CliRunner().invoke(analyze_command, ["--operation", "tiny", "--out",
                                                  str(tmp_path / "r")], obj=app)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "suspects.parquet").is_file()
    leads = pq.read_table(tmp_path / "r" / "leads.parquet")
    for row in leads.to_pylist():  # addresses, AS names and identifiers stay in the folder
        if row["asn_name"]:
            assert row["asn_name"] not in result.output
        assert not any(i.split(":")[1] in result.output for i in row["identifiers"])
    assert analysed.top[0].subject_id in result.output


def test_subjects_without_known_material_are_not_suspects(tiny_world: Path,
                                                          tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path / "home"), sightings_keep_unmatched=True)
    BankService(settings).import_file(tiny_world / "hashsets" / "known.vics.json",
                                      set_name="known")
    ingest_files(settings, sorted((tiny_world / "sightings").iterdir()))
    report = analyze(settings, operation="all", out_dir=tmp_path / "out")
    leads = pq.read_table(tmp_path / "out" / "leads.parquet").to_pylist()
    assert report.suspects < report.subjects
    assert all(row["is_suspect"] == (row["n_files"] > 0) for row in leads)
    # Recall is not asserted here: persons sighted only with other content count as sighted,
    # but nothing they were seen with is known material (0.85 measured on tiny/seed 3).
    assert _value(evaluate(tiny_world, tmp_path / "out"), "suspects.precision") >= 0.9


def test_one_bank_entry_under_two_hash_kinds_is_one_file(tmp_path: Path) -> None:
    """The score counts bank entries: an ed2k and an MD5 of one entry are one known file."""
    entries = [{"MediaID": i + 1, "Category": 2, "MD5": f"{i + 1:02x}" * 16,
                "SHA1": f"{i + 1:02x}" * 20, "MediaSize": 1000,
                "AlternativeHashes": [{"HashName": "ED2K", "HashValue": f"{i + 0xa1:02x}" * 16}]}
               for i in range(2)]
    vics = tmp_path / "set.vics.json"
    vics.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/"
                                "DataModels/2.0.xml/US/$metadata#Media", "value": entries}),
                    encoding="utf-8")
    sightings = [("one", "ed2k", "a1" * 16), ("one", "md5", "01" * 16),
                 ("two", "ed2k", "a1" * 16), ("two", "ed2k", "a2" * 16)]
    lines = [json.dumps({
        "v": 1, "record_id": f"r{n}", "observed_at": f"2024-04-01T00:0{n}:00Z",
        "network": "edonkey", "ip": "192.0.2.1" if who == "one" else "198.51.100.7",
        "port": 4662, "content_kind": kind, "content_id": digest,
        "user_hash": ("11" if who == "one" else "22") * 16, "sensor": "s1",
        "evidence": "advertised"}) for n, (who, kind, digest) in enumerate(sightings)]
    feed = tmp_path / "s1.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = load_settings(home=str(tmp_path / "home"))
    BankService(settings).import_file(vics, set_name="known")
    ingest_files(settings, [feed])
    analyze(settings, operation="items", out_dir=tmp_path / "out")
    subjects = pq.read_table(tmp_path / "out" / "subjects.parquet").to_pylist()
    leads = {r["subject_id"]: r for r in pq.read_table(tmp_path / "out" / "leads.parquet")
             .to_pylist()}
    n_files = {row["record_id"]: leads[row["subject_id"]]["n_files"] for row in subjects}
    assert n_files == {"r0": 1, "r1": 1, "r2": 2, "r3": 2}
