"""``icarus eval`` on hand-made truth and results folders whose scores are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from icarus.core.errors import InputError
from icarus.sim import tables
from icarus.sim.eval import TITLES, evaluate, read_results, render, run_eval, write_results

# --- building truth folders with the real schemas --------------------------------------------


def _filler(field: pa.Field) -> Any:
    t = field.type
    if field.nullable:
        return None
    if pa.types.is_boolean(t):
        return False
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t):
        return 0
    if pa.types.is_fixed_size_binary(t):
        return b"\0" * t.byte_width
    if pa.types.is_binary(t):
        return b""
    if pa.types.is_list(t):
        return []
    return "x"


def write_truth(root: Path, **columns: dict[str, list[Any]]) -> Path:
    """Write ``root/truth/<table>.parquet`` with the schemas of icarus.sim.tables; columns not
    given are filled with neutral values."""
    out = root / "truth"
    out.mkdir(parents=True)
    for name, given in columns.items():
        schema = tables.TABLES[name]
        n = len(next(iter(given.values())))
        data = {f.name: given.get(f.name, [_filler(f)] * n) for f in schema}
        pq.write_table(pa.table(data, schema=schema), out / f"{name}.parquet")
    return out


def _digest(i: int, size: int) -> bytes:
    return np.random.default_rng(1000 + i).bytes(size)


def _content(status: list[str]) -> dict[str, list[Any]]:
    n = len(status)
    return {"content_id": list(range(n)), "status": status,
            **{k: [_digest(100 * j + i, s) for i in range(n)]
               for j, (k, s) in enumerate((("md5", 16), ("sha1", 20), ("sha256", 32),
                                           ("ed2k", 16), ("btih", 20), ("pdq", 32)))}}


# --- the hand-computed scenario ----------------------------------------------------------------
#
# person  country anonymiser network should earlier   sightings (sensor dk1)
#   0       DK      no          0      yes    no       r01 r02 r03 r13
#   1       DE      yes         0      yes    no       r04 r05
#   2       FR      no          1      yes    yes      r06 r07
#   3       SE      no          1      no     no       r08 r12 (r12 is not ingested)
#   4       NL      no          -      no     no       r09 r10
#   5       PL      no          2      yes    no       (never sighted)
# networks: 0 unknown earlier, 1 known earlier, 2 unknown earlier.

SIGHTINGS = {"r01": 0, "r02": 0, "r03": 0, "r04": 1, "r05": 1, "r06": 2, "r07": 2, "r08": 3,
             "r09": 4, "r10": 4, "r12": 3, "r13": 0}
SUBJECTS = {"A": ["r01", "r02"], "B": ["r03", "r04", "r05"], "C": ["r06", "r07"], "D": ["r08"],
            "E": ["r09", "r10"], "F": ["r13"]}


@pytest.fixture
def world(tmp_path: Path) -> Path:
    write_truth(
        tmp_path / "world",
        persons={"person_id": [0, 1, 2, 3, 4, 5],
                 "country": ["DK", "DE", "FR", "SE", "NL", "PL"],
                 "uses_anonymiser": [False, True, False, False, False, False],
                 "network_id": [0, 0, 1, 1, None, 2],
                 "should_identify": [True, True, True, False, False, True],
                 "in_earlier_intel": [False, False, True, False, False, False]},
        networks={"network_id": [0, 1, 2], "known_earlier": [False, True, False],
                  "name": ["n0", "n1", "n2"]},
        sightings_truth={"sensor": ["dk1"] * len(SIGHTINGS), "record_id": list(SIGHTINGS),
                         "person_id": list(SIGHTINGS.values()),
                         "install_id": list(SIGHTINGS.values()),
                         "content_id": [0] * len(SIGHTINGS)},
        content=_content(["known", "unknown-illicit", "unknown-illicit", "benign",
                          "unknown-illicit", "unknown-illicit"]),
        exhibits={"exhibit_id": ["X1", "X2", "X3"], "person_id": [0, 1, 4]},
    )
    return tmp_path / "world"


def _candidates() -> pa.Table:
    def hx(kind: str, cid: int) -> str:
        index = ("md5", "sha1", "sha256", "ed2k", "btih", "pdq").index(kind)
        size = {"md5": 16, "sha1": 20, "sha256": 32, "ed2k": 16, "btih": 20, "pdq": 32}[kind]
        return _digest(100 * index + cid, size).hex()

    filler = [("md5", _digest(9000 + i, 16).hex()) for i in range(5)]
    rows = [("sha1", hx("sha1", 1)),      # 1 hit: content 1 is unknown-illicit
            ("md5", hx("md5", 1)),        # 2 the same item again: no new hit
            ("ed2k", hx("ed2k", 3)),      # 3 benign
            ("sha256", hx("sha256", 2)),  # 4 hit
            ("md5", hx("md5", 0)),        # 5 known material is not new material
            ("tth", "A" * 39),            # 6 a kind the truth has no digest of
            *filler,                      # 7-11 nothing
            ("pdq", hx("pdq", 4))]        # 12 hit
    order = [11, 3, 0, 5, 1, 10, 2, 4, 6, 7, 8, 9]  # rows out of rank order on purpose
    return pa.table({"rank": [i + 1 for i in order],
                     "content_kind": [rows[i][0] for i in order],
                     "content_id": [rows[i][1] for i in order],
                     "score": [0.0] * 12})


def scenario_tables() -> dict[str, pa.Table]:
    sightings = [(r, s) for s, records in SUBJECTS.items() for r in records]
    suspects = [("A", True, "DK", 0.9), ("F", True, "se", 0.95), ("B", True, "DK", 0.5),
                ("C", True, "FR", 0.8), ("D", False, "SE", 0.1), ("E", True, None, 0.3),
                ("X", True, "GB", 0.2)]
    return {
        "subjects": pa.table({"sensor": ["dk1"] * len(sightings),
                              "record_id": [r for r, _ in sightings],
                              "subject_id": [s for _, s in sightings]}),
        "suspects": pa.table({"subject_id": [s[0] for s in suspects],
                              "is_suspect": [s[1] for s in suspects],
                              "country": [s[2] for s in suspects],
                              "score": [s[3] for s in suspects]}),
        "networks": pa.table({"subject_id": ["A", "B", "C", "E", "F"],
                              "network": ["n1", "n1", "n2", "n3", "n1"]}),
        "networks_new": pa.table({"network": ["n1", "n2", "n3"],
                                  "is_new": [True, False, True]}),
        "candidates": _candidates(),
        "exhibit_links": pa.table({"exhibit_id": ["X1", "X2"], "subject_id": ["F", "A"]}),
    }


def values(report: Any) -> dict[str, float | None]:
    return {m.key: m.value for m in report.metrics}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_scenario_scores_are_the_hand_computed_ones(world: Path, tmp_path: Path,
                                                    fmt: Any) -> None:
    write_results(tmp_path / "res", scenario_tables(), fmt=fmt)
    report = evaluate(world, tmp_path / "res")
    got = values(report)
    # 11 of the 12 emitted sightings were ingested (r12 was not).
    assert got["identity.ingested"] == 11 / 12
    # Cells (subject, person): A·0=2, B·0=1, B·1=2, C·2=2, D·3=1, E·4=2, F·0=1.
    # Same subject and person: A 1 + B(r04,r05) 1 + C 1 + E 1 = 4.
    # Same subject: A 1 + B 3 + C 1 + E 1 = 6.  Same person: p0 C(4,2)=6 + p1 1 + p2 1 + p4 1 = 9.
    assert got["identity.pairwise_precision"] == 4 / 6
    assert got["identity.pairwise_recall"] == 4 / 9
    assert got["identity.pairwise_f1"] == pytest.approx(2 * (4 / 6) * (4 / 9) / (4 / 6 + 4 / 9))
    # Suspect subjects A F B C E X map to persons 0 0 1 2 4 and nobody (X has no sighting):
    # distinct named = {0,1,2,4} + 1 unmapped = 5; should-identify among them: 0 1 2.
    assert got["suspects.precision"] == 3 / 5
    assert got["suspects.recall"] == 3 / 3  # person 5 was never sighted
    assert got["suspects.recall_all"] == 3 / 4
    assert got["suspects.fragmentation"] == 5 / 4
    # Countries: p0 takes F's "SE" (score .95 beats A's .9): wrong; p1 (anonymiser) DK ≠ DE;
    # p2 FR right; p4 none given: wrong.
    assert got["country.accuracy"] == 1 / 4
    assert got["country.accuracy_direct"] == 1 / 3
    assert got["country.accuracy_anonymiser"] == 0 / 1
    # Persons with a true network, sighted: 0 1 2 3 → truth [0,0,1,1], found [n1,n1,n2,alone]:
    # ARI 4/7 and NMI 0.8 (see test_eval_metrics).
    assert got["networks.ari"] == pytest.approx(4 / 7)
    assert got["networks.nmi"] == pytest.approx(0.8)
    # Unknown networks with a sighted member: 0 only (2's member is never sighted); n1 = {0, 1}.
    assert got["networks.new_recall"] == 1 / 1
    # Hits at ranks 1, 4 and 12: P@10 = 2/10, P@50 = 3/12 (only 12 candidates).
    assert got["candidates.precision_at_10"] == 2 / 10
    assert got["candidates.precision_at_50"] == 3 / 12
    # X1 → F → p0 right; X2 → A → p0 but it is p1's; X3 not linked.
    assert got["exhibits.link_accuracy"] == 1 / 3
    m = report.metric("suspects.precision")
    assert (m.numerator, m.denominator) == (3, 5)
    assert report.metric("identity.pairwise_precision").details["subjects_mixing_persons"] == 1
    assert report.metric("networks.new_recall").details["unknown_networks_in_truth"] == 2
    assert report.metric("country.accuracy").details["without_country"] == 1


def test_truth_folder_itself_may_be_given(world: Path, tmp_path: Path) -> None:
    write_results(tmp_path / "res", scenario_tables())
    assert values(evaluate(world / "truth", tmp_path / "res")) == values(
        evaluate(world, tmp_path / "res"))


def test_new_network_needs_jaccard_of_one_half(world: Path, tmp_path: Path) -> None:
    t = scenario_tables()
    # n1 gets person 3 (D) and person 4 (E) too: members {0,1,3,4} vs true {0,1}: J = 2/4.
    t["networks"] = pa.table({"subject_id": ["A", "B", "D", "E", "F"],
                              "network": ["n1"] * 5})
    write_results(tmp_path / "half", t)
    assert values(evaluate(world, tmp_path / "half"))["networks.new_recall"] == 1.0
    # Flagged not new: no longer counts, whatever the overlap.
    t["networks_new"] = pa.table({"network": ["n1"], "is_new": [False]})
    write_results(tmp_path / "notnew", t)
    assert values(evaluate(world, tmp_path / "notnew"))["networks.new_recall"] == 0.0
    # Below one half: {0,1} split, n1 = {0, 3, 4} → J = 1/4.
    t["networks"] = pa.table({"subject_id": ["A", "D", "E", "F"], "network": ["n1"] * 4})
    t["networks_new"] = pa.table({"network": ["n1"], "is_new": [True]})
    write_results(tmp_path / "low", t)
    assert values(evaluate(world, tmp_path / "low"))["networks.new_recall"] == 0.0


# --- perfect and random results on a generated world ------------------------------------------


def random_world(root: Path, rng: np.random.Generator) -> dict[str, Any]:
    n_persons, n_sightings, n_networks = 60, 900, 5
    network = rng.integers(-1, n_networks, n_persons)
    persons = {"person_id": list(range(n_persons)),
               "country": [["DK", "DE", "FR", "SE"][i] for i in rng.integers(0, 4, n_persons)],
               "uses_anonymiser": (rng.random(n_persons) < 0.2).tolist(),
               "network_id": [None if n < 0 else int(n) for n in network],
               "should_identify": (rng.random(n_persons) < 0.5).tolist(),
               "in_earlier_intel": [False] * n_persons}
    persons["uses_anonymiser"][0] = True
    persons["should_identify"][0] = True
    owner = np.concatenate([np.arange(n_persons), rng.integers(0, n_persons, n_sightings
                                                                 - n_persons)])
    status = ["unknown-illicit" if s < 0.3 else "benign" for s in rng.random(200)]
    write_truth(
        root,
        persons=persons,
        networks={"network_id": list(range(n_networks)),
                  "known_earlier": [i % 2 == 1 for i in range(n_networks)]},
        sightings_truth={"sensor": ["s"] * n_sightings,
                         "record_id": [f"r{i}" for i in range(n_sightings)],
                         "person_id": owner.tolist()},
        content=_content(status),
        exhibits={"exhibit_id": [f"X{i}" for i in range(10)], "person_id": list(range(10))},
    )
    return {"persons": persons, "owner": owner, "status": status, "network": network}


def perfect_tables(w: dict[str, Any]) -> dict[str, pa.Table]:
    p = w["persons"]
    sid = [f"P{o}" for o in w["owner"]]
    with_net = [i for i, n in enumerate(w["network"]) if n >= 0]
    illicit = [i for i, s in enumerate(w["status"]) if s == "unknown-illicit"]
    return {
        "subjects": pa.table({"sensor": ["s"] * len(sid),
                              "record_id": [f"r{i}" for i in range(len(sid))],
                              "subject_id": sid}),
        "suspects": pa.table({"subject_id": [f"P{i}" for i in range(len(p["person_id"]))],
                              "is_suspect": p["should_identify"], "country": p["country"],
                              "score": [1.0] * len(p["person_id"])}),
        "networks": pa.table({"subject_id": [f"P{i}" for i in with_net],
                              "network": [f"N{w['network'][i]}" for i in with_net]}),
        "networks_new": pa.table({"network": [f"N{i}" for i in range(5)],
                                  "is_new": [i % 2 == 0 for i in range(5)]}),
        "candidates": pa.table({"rank": list(range(1, len(illicit) + 1)),
                                "content_kind": ["sha1"] * len(illicit),
                                "content_id": [_digest(100 + i, 20).hex() for i in illicit]}),
        "exhibit_links": pa.table({"exhibit_id": [f"X{i}" for i in range(10)],
                                   "subject_id": [f"P{i}" for i in range(10)]}),
    }


def test_a_perfect_result_scores_one_everywhere(tmp_path: Path) -> None:
    w = random_world(tmp_path / "w", np.random.default_rng(3))
    write_results(tmp_path / "res", perfect_tables(w))
    report = evaluate(tmp_path / "w", tmp_path / "res")
    assert all(m.status == "ok" for m in report.metrics)
    assert values(report) == pytest.approx(dict.fromkeys(TITLES, 1.0))


def test_a_random_result_scores_low(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    w = random_world(tmp_path / "w", rng)
    t = perfect_tables(w)
    n = len(w["owner"])
    shuffled = [f"S{i}" for i in rng.integers(0, 60, n)]
    t["subjects"] = t["subjects"].set_column(2, "subject_id", pa.array(shuffled))
    t["suspects"] = pa.table({"subject_id": [f"S{i}" for i in range(60)],
                              "is_suspect": (rng.random(60) < 0.5).tolist(),
                              "country": [["DK", "DE", "FR", "SE"][i]
                                          for i in rng.integers(0, 4, 60)],
                              "score": rng.random(60).tolist()})
    t["networks"] = pa.table({"subject_id": [f"S{i}" for i in range(60)],
                              "network": [f"N{i}" for i in rng.integers(0, 5, 60)]})
    t["exhibit_links"] = t["exhibit_links"].set_column(
        1, "subject_id", pa.array([f"S{i}" for i in rng.integers(0, 60, 10)]))
    write_results(tmp_path / "res", t)
    got = values(evaluate(tmp_path / "w", tmp_path / "res"))
    # Chance levels: about 1/60 of pairs share a person; networks near ARI 0.
    assert got["identity.pairwise_precision"] is not None
    assert got["identity.pairwise_precision"] < 0.1
    assert got["identity.pairwise_recall"] is not None
    assert got["identity.pairwise_recall"] < 0.1
    assert got["networks.ari"] is not None
    assert abs(got["networks.ari"]) < 0.1
    assert got["exhibits.link_accuracy"] is not None
    assert got["exhibits.link_accuracy"] <= 0.2


# --- absent and malformed inputs ----------------------------------------------------------------


def test_absent_files_are_not_evaluated_not_zero(world: Path, tmp_path: Path) -> None:
    write_results(tmp_path / "empty", {})
    report = evaluate(world, tmp_path / "empty")
    assert {m.status for m in report.metrics} == {"not-evaluated"}
    assert all(m.value is None and m.reason for m in report.metrics)
    only = {"subjects": scenario_tables()["subjects"], "networks": scenario_tables()["networks"]}
    write_results(tmp_path / "some", only)
    report = evaluate(world, tmp_path / "some")
    status = {m.key: m.status for m in report.metrics}
    assert status["identity.pairwise_f1"] == "ok"
    assert status["networks.ari"] == "ok"
    assert status["suspects.precision"] == "not-evaluated"
    assert report.metric("suspects.precision").reason == "suspects file absent"
    assert report.metric("networks.new_recall").reason == "networks_new file absent"
    assert report.metric("exhibits.link_accuracy").reason == "exhibit_links file absent"
    assert report.inputs["subjects"] == "subjects.parquet"
    assert report.inputs["suspects"] is None


def test_empty_populations_are_undefined(world: Path, tmp_path: Path) -> None:
    t = scenario_tables()
    t["suspects"] = t["suspects"].slice(0, 0)
    t["candidates"] = t["candidates"].slice(0, 0)
    write_results(tmp_path / "res", t)
    report = evaluate(world, tmp_path / "res")
    m = report.metric("suspects.precision")
    assert (m.status, m.value, m.denominator) == ("undefined", None, 0)
    assert report.metric("suspects.recall").value == 0.0  # persons to identify exist
    assert report.metric("candidates.precision_at_10").status == "undefined"


def test_json_report_has_every_metric_and_is_reproducible(world: Path, tmp_path: Path) -> None:
    t = scenario_tables()
    del t["candidates"]
    write_results(tmp_path / "res", t)
    run_eval(world, tmp_path / "res", tmp_path / "a.json")
    run_eval(world, tmp_path / "res", tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    doc = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert (doc["format"], doc["version"]) == ("icarus-eval", 1)
    assert list(doc["metrics"]) == list(TITLES)
    p = doc["metrics"]["suspects.precision"]
    assert (p["value"], p["numerator"], p["denominator"], p["status"]) == (0.6, 3, 5, "ok")
    c = doc["metrics"]["candidates.precision_at_10"]
    assert (c["status"], c["value"], c["reason"]) == ("not-evaluated", None,
                                                      "candidates file absent")


def test_render_prints_every_metric(world: Path, tmp_path: Path) -> None:
    t = scenario_tables()
    del t["exhibit_links"]
    write_results(tmp_path / "res", t)
    console = Console(record=True, width=200)
    render(evaluate(world, tmp_path / "res"), console)
    text = console.export_text()
    for title in TITLES.values():
        assert title in text
    assert "0.600" in text and "3 / 5" in text
    assert "not-evaluated: exhibit_links file absent" in text


def _write_csv(folder: Path, name: str, text: str) -> None:
    write_results(folder, {})
    (folder / f"{name}.csv").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("subjects", "sensor,record_id\ndk1,r01\n", r"subjects\.csv: column 'subject_id' is missing"),
    ("subjects", "sensor,record_id,subject_id\ndk1,r01,A\ndk1,,B\n",
     r"subjects\.csv: row 2: column 'record_id' is empty"),
    ("subjects", "sensor,record_id,subject_id\ndk1,r01,A\ndk1,r01,B\n",
     r"subjects\.csv: sensor='dk1', record_id='r01' appears more than once"),
    ("suspects", "subject_id,is_suspect,country,score\nA,maybe,DK,1\n",
     r"suspects\.csv: row 1: column 'is_suspect': 'maybe' is not a valid bool"),
    ("suspects", "subject_id,is_suspect,country,score\nA,true,DNK,1\n",
     r"suspects\.csv: row 1: column 'country': 'DNK' is not an ISO 3166-1 alpha-2"),
    ("suspects", "subject_id,is_suspect,country,score\nA,true,DK,high\n",
     r"suspects\.csv: row 1: column 'score': 'high' is not a valid float"),
    ("candidates", "rank,content_kind,content_id\n1,sha1,abc\n",
     r"candidates\.csv: row 1: column 'content_id': not a valid sha1 value: 'abc'"),
    ("candidates", "rank,content_kind,content_id\n1,crc32,abc\n",
     r"candidates\.csv: row 1: column 'content_kind': unknown hash kind 'crc32'"),
    ("candidates", "rank,content_kind,content_id\nfirst,md5,abc\n",
     r"candidates\.csv: row 1: column 'rank': 'first' is not a valid int"),
    ("exhibit_links", 'exhibit_id,subject_id\n"a,b\n', r"exhibit_links\.csv: not a readable CSV"),
])
def test_malformed_results_name_the_file_and_column(tmp_path: Path, name: str, text: str,
                                                    expected: str) -> None:
    _write_csv(tmp_path / "res", name, text)
    with pytest.raises(InputError, match=expected):
        read_results(tmp_path / "res")


def test_malformed_parquet_names_the_column(tmp_path: Path) -> None:
    write_results(tmp_path / "res", {"suspects": pa.table({
        "subject_id": ["A"], "is_suspect": [True], "country": ["DK"], "score": ["high"]})})
    with pytest.raises(InputError, match=r"suspects\.parquet: column 'score' must hold float"):
        read_results(tmp_path / "res")
    (tmp_path / "res" / "suspects.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"suspects\.parquet: not a readable Parquet"):
        read_results(tmp_path / "res")


def test_results_folder_must_be_versioned(tmp_path: Path) -> None:
    (tmp_path / "res").mkdir()
    with pytest.raises(InputError, match=r"results\.json is missing"):
        read_results(tmp_path / "res")
    (tmp_path / "res" / "results.json").write_text('{"format": "icarus-results", "version": 2}')
    with pytest.raises(InputError, match="version 2 is not supported"):
        read_results(tmp_path / "res")
    write_results(tmp_path / "both", {"subjects": scenario_tables()["subjects"]})
    write_results(tmp_path / "both", {"subjects": scenario_tables()["subjects"]}, fmt="csv")
    with pytest.raises(InputError, match=r"both subjects\.parquet and subjects\.csv"):
        read_results(tmp_path / "both")


def test_results_of_another_world_are_refused(world: Path, tmp_path: Path) -> None:
    write_results(tmp_path / "res", {"subjects": pa.table({
        "sensor": ["dk1", "dk2"], "record_id": ["r01", "r01"], "subject_id": ["A", "A"]})})
    with pytest.raises(InputError, match=r"subjects\.parquet: 1 sighting\(s\) of sensor 'dk2' "
                                         r"are not in the ground truth, e\.g\. row 2: "
                                         r"record_id='r01'"):
        evaluate(world, tmp_path / "res")
    write_results(tmp_path / "dup", {"subjects": pa.table({
        "sensor": ["dk1", "dk1", "dk1"], "record_id": ["r01", "r02", "r01"],
        "subject_id": ["A", "A", "B"]})})
    with pytest.raises(InputError, match=r"subjects\.parquet: row 3: sensor='dk1', "
                                         r"record_id='r01' appears more than once"):
        evaluate(world, tmp_path / "dup")
    write_results(tmp_path / "ex", {"subjects": scenario_tables()["subjects"],
                                    "exhibit_links": pa.table({"exhibit_id": ["X9"],
                                                               "subject_id": ["A"]})})
    with pytest.raises(InputError, match=r"exhibit_links\.parquet: exhibit_id 'X9' is not"):
        evaluate(world, tmp_path / "ex")


def test_missing_truth_is_named(tmp_path: Path) -> None:
    write_results(tmp_path / "res", {})
    with pytest.raises(InputError, match="no ground truth here"):
        evaluate(tmp_path, tmp_path / "res")


def test_csv_cells_are_parsed_and_only_empty_is_null(tmp_path: Path) -> None:
    _write_csv(tmp_path / "res", "suspects",
               "score,subject_id,is_suspect,country,note\n"
               "1.5,7,TRUE,NA,x\n0,8,0,,y\n-2e-3,9,False,dk,\n")
    suspects = read_results(tmp_path / "res").get("suspects")
    assert suspects is not None
    assert suspects.to_pydict() == {"subject_id": ["7", "8", "9"],
                                    "is_suspect": [True, False, False],
                                    "country": ["NA", None, "DK"], "score": [1.5, 0.0, -0.002]}


def test_integer_subject_ids_in_parquet_match_their_text(world: Path, tmp_path: Path) -> None:
    t = scenario_tables()
    number = {s: i for i, s in enumerate(SUBJECTS)}
    t["subjects"] = t["subjects"].set_column(2, "subject_id", pa.array(
        [number[s] for s in t["subjects"]["subject_id"].to_pylist()], pa.int64()))
    t["suspects"] = t["suspects"].set_column(0, "subject_id", pa.array(
        [str(number.get(s, 99)) for s in t["suspects"]["subject_id"].to_pylist()]))
    write_results(tmp_path / "res", t)
    got = values(evaluate(world, tmp_path / "res"))
    assert got["suspects.precision"] == 3 / 5


def test_truth_columns_read_are_those_of_the_world_schemas() -> None:
    from icarus.sim.eval.truth import TRUTH_COLUMNS

    for name, columns in TRUTH_COLUMNS.items():
        schema = tables.TABLES[name]
        for column in columns:
            field = schema.field(column.name)
            # Eval must accept a null wherever the world may write one.
            assert column.nullable or not field.nullable, f"{name}.{column.name}"
