"""``evaluate(truth_dir, results_dir)``: every metric of docs/sim/eval.md in one report.

A metric whose input is absent is reported as *not evaluated* with the reason, never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError
from icarus.sim.eval.communities import found_networks, network_metrics, new_network_metric
from icarus.sim.eval.metrics import TITLES, Metric, not_evaluated, ratio
from icarus.sim.eval.people import People, country_metrics, suspect_metrics
from icarus.sim.eval.resolution import Resolution, SubjectIndex, identity_metrics, resolve
from icarus.sim.eval.results import RESULT_TABLES, Results, read_results
from icarus.sim.eval.truth import locate_truth, read_truth

TOP_K = (10, 50)
MATCHABLE = ("md5", "sha1", "sha256", "ed2k", "btih", "pdq")
"""Digest kinds a candidate can be matched by: the digest columns of the truth's content."""


@dataclass(frozen=True)
class EvalReport:
    """Every metric, in the order of :data:`~icarus.sim.eval.metrics.TITLES`, and the inputs."""

    truth_dir: Path
    results_dir: Path
    inputs: Mapping[str, str | None]
    """Each results table with the file it was read from (``None``: absent)."""
    metrics: tuple[Metric, ...]

    def metric(self, key: str) -> Metric:
        """The metric called ``key`` (e.g. ``suspects.precision``)."""
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(key)


def evaluate(truth_dir: Path, results_dir: Path) -> EvalReport:
    """Score the results folder against the world's ground truth (docs/sim/eval.md).

    ``truth_dir`` is a world folder or its ``truth/`` folder. Raises :class:`InputError`
    when an input is malformed or the two do not belong together.
    """
    truth = locate_truth(truth_dir)
    results = read_results(results_dir, unique_sightings=False)
    index = SubjectIndex.of(results)
    found: dict[str, Metric] = {}
    subjects = results.get("subjects")
    if subjects is not None:
        res = resolve(truth, results, index)
        for m in _person_metrics(truth, results, index, res):
            found[m.key] = m
    for m in _candidate_metrics(truth, results):
        found[m.key] = m
    metrics = tuple(found.get(key) or not_evaluated(key, _why_absent(key, results))
                    for key in TITLES)
    inputs = {name: (p.name if (p := results.files.get(name)) else None)
              for name in RESULT_TABLES}
    return EvalReport(Path(truth_dir), Path(results_dir), inputs, metrics)


def _person_metrics(truth: Path, results: Results, index: SubjectIndex,
                    res: Resolution) -> list[Metric]:
    out = identity_metrics(res)
    people = People.of(read_truth(truth, "persons"), res, truth / "persons.parquet")
    suspects = results.get("suspects")
    if suspects is not None:
        out += suspect_metrics(res, suspects, people, index)
        out += country_metrics(res, suspects, people, index)
    networks = results.get("networks")
    if networks is not None:
        flags = results.get("networks_new")
        communities = found_networks(res, networks, flags, people, index)
        out += network_metrics(res, communities, people)
        if flags is not None:
            out.append(new_network_metric(communities, flags, read_truth(truth, "networks"),
                                          people, res, truth / "persons.parquet"))
    links = results.get("exhibit_links")
    if links is not None:
        out.append(_exhibit_metric(read_truth(truth, "exhibits"), links, res, index,
                                   results.files["exhibit_links"]))
    return out


def _why_absent(key: str, results: Results) -> str:
    need = {"identity": ("subjects",), "suspects": ("subjects", "suspects"),
            "country": ("subjects", "suspects"), "networks": ("subjects", "networks"),
            "candidates": ("candidates",), "exhibits": ("subjects", "exhibit_links")}
    absent = [n for n in need[key.split(".")[0]] if results.get(n) is None]
    if key == "networks.new_recall" and results.get("networks_new") is None:
        absent.append("networks_new")
    return " and ".join(absent) + (" file absent" if len(absent) == 1 else " files absent")


def _candidate_metrics(truth: Path, results: Results) -> list[Metric]:
    candidates = results.get("candidates")
    if candidates is None:
        return []
    top = candidates.slice(0, max(TOP_K))
    content = read_truth(truth, "content")
    illicit = content.filter(pc.equal(content["status"], "unknown-illicit"))
    matches: dict[tuple[str, bytes], set[int]] = {}
    for kind in MATCHABLE:
        wanted = top.filter(pc.equal(top["content_kind"], kind))["digest"]
        if len(wanted):
            rows = illicit.filter(pc.is_in(illicit[kind], value_set=wanted.combine_chunks()))
            for value, cid in zip(rows[kind].to_pylist(), rows["content_id"].to_pylist(),
                                  strict=True):
                matches.setdefault((kind, value), set()).add(cid)
    covered: set[int] = set()
    hit = []
    for kind, value in zip(top["content_kind"].to_pylist(), top["digest"].to_pylist(),
                           strict=True):
        items = matches.get((kind, value), set())
        hit.append(bool(items - covered))
        covered |= items
    details: dict[str, int | float | str | None] = {
        "candidates": candidates.num_rows, "unknown_illicit_in_truth": illicit.num_rows,
        "unmatchable_kinds": int(np.count_nonzero(~np.isin(
            np.array(top["content_kind"].to_pylist(), dtype=object), MATCHABLE))),
    }
    return [ratio(f"candidates.precision_at_{k}", sum(hit[:k]), min(k, len(hit)),
                  empty="the candidates file lists nothing",
                  details=details)
            for k in TOP_K]


def _exhibit_metric(exhibits: pa.Table, links: pa.Table, res: Resolution,
                    index: SubjectIndex, path: Path) -> Metric:
    stray = pc.invert(pc.is_in(links["exhibit_id"], value_set=exhibits["exhibit_id"]))
    if pc.any(stray).as_py():
        name = links.filter(stray)["exhibit_id"][0].as_py()
        raise InputError(f"exhibit_id {name!r} is not an exhibit of the ground truth", path=path)
    at = pc.index_in(exhibits["exhibit_id"], value_set=links["exhibit_id"].combine_chunks())
    position = np.asarray(pc.fill_null(at, -1).to_numpy(), dtype=np.int64)
    linked = position >= 0
    codes = index.codes(links["subject_id"])
    person = np.full(position.size, -2, dtype=np.int64)
    person[linked] = res.person_of_subject[codes[position[linked]]]
    correct = person == np.asarray(exhibits["person_id"].to_numpy(), dtype=np.int64)
    return ratio("exhibits.link_accuracy", int(np.count_nonzero(correct)), exhibits.num_rows,
                 empty="the truth has no exhibit",
                 details={"exhibits_linked": int(np.count_nonzero(linked))})
