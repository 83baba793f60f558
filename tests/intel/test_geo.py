"""Geolocation, anonymiser endpoints and jurisdiction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus.intel.geo import AnonymiserList, default_locator, is_anonymiser, jurisdictions, locate
from icarus.intel.resolve import resolve_subjects
from tests.intel.world_sightings import world_sightings


def test_locate_gives_country_and_organisation_per_address() -> None:
    got = locate(["84.58.204.165", "10.0.0.1", "84.58.204.165", "not an ip"])
    assert got["country"].to_pylist() == ["DE", None, "DE", None]
    assert got["asn_name"].to_pylist()[0] == "Vodafone GmbH"
    assert got["anonymiser"].to_pylist() == [None] * 4


def test_listed_organisations_are_anonymisers() -> None:
    assert is_anonymiser("107.189.0.135") == "hosting"  # PONYNET (FranTech)
    assert is_anonymiser("84.58.204.165") is None
    assert AnonymiserList.bundled().kind("1.2.3.4", "stiftung erneuerbare freiheit") == "tor"


def test_jurisdiction_ignores_anonymiser_sightings() -> None:
    subj = pa.array(["a", "a", "a", "b", "c"])
    ips = pa.array(["84.58.204.165", "84.58.204.166", "107.189.0.135", "107.189.0.135",
                    "10.0.0.1"])
    rows = {r["subject_id"]: r for r in jurisdictions(subj, ips).to_pylist()}
    assert (rows["a"]["country"], rows["a"]["share"], rows["a"]["status"]) == ("DE", 1.0,
                                                                              "located")
    assert (rows["b"]["country"], rows["b"]["status"]) == (None, "anonymised")
    assert (rows["c"]["country"], rows["c"]["status"]) == (None, "unlocated")


def test_tiny_world_country_of_persons_without_anonymisers(tiny_world: Path) -> None:
    t = world_sightings(tiny_world)
    truth = pq.read_table(tiny_world / "truth" / "sightings_truth.parquet")
    persons = pq.read_table(tiny_world / "truth" / "persons.parquet")
    key = pc.binary_join_element_wise(truth["sensor"], truth["record_id"], "|")
    at = pc.index_in(pc.binary_join_element_wise(t["sensor"], t["record_id"], "|"),
                     value_set=key)
    t = t.filter(pc.is_valid(at))
    person = truth["person_id"].to_numpy()[at.drop_null().to_numpy()]
    res = resolve_subjects(t, locator=default_locator())
    found = jurisdictions(res.assignments["subject_id"], t["ip"])
    country = dict(zip(found["subject_id"].to_pylist(), found["country"].to_pylist(),
                       strict=True))
    direct = ~persons["uses_anonymiser"].to_numpy(zero_copy_only=False)
    true_country = np.array(persons["country"].to_pylist(), dtype=object)
    subjects = res.assignments["subject_id"].to_pylist()
    # Each direct person's subjects (weighted by sightings) must carry their true country.
    right = total = 0
    for sid, pid in {(s, int(p)) for s, p in zip(subjects, person, strict=True)}:
        if direct[pid]:
            total += 1
            right += country[sid] == true_country[pid]
    assert total > 50
    assert right / total >= 0.99
