"""Suspects and their countries: who Icarus named, against who should be identified.

Persons are counted once however many suspect subjects name them (precision over distinct
persons); duplicates are reported apart as fragmentation. See docs/sim/eval.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from icarus.core.errors import InputError
from icarus.sim.eval.metrics import IntArray, Metric, ratio
from icarus.sim.eval.resolution import BoolArray, Resolution, SubjectIndex

G = TypeVar("G", bound=np.generic)


@dataclass(frozen=True)
class People:
    """The truth's persons as arrays indexed by person_id (absent ids: ``exists`` false)."""

    exists: BoolArray
    country: npt.NDArray[np.object_]
    anonymiser: BoolArray
    network: IntArray
    """The true network_id, -1 for none."""
    should: BoolArray
    earlier: BoolArray

    @classmethod
    def of(cls, persons: pa.Table, res: Resolution, path: Path) -> People:
        """Arrays from the ``persons`` table; every sighted person must be in it."""
        ids = np.asarray(persons["person_id"].to_numpy(), dtype=np.int64)
        top = max(int(ids.max()) if ids.size else -1, int(res.person.max()) if res.person.size
                  else -1)
        size = top + 1
        exists = np.zeros(size, dtype=bool)
        exists[ids] = True
        missing = np.flatnonzero(res.sighted(size) & ~exists)
        if missing.size:
            raise InputError(f"person_id {int(missing[0])} emitted sightings but is not in "
                             "the persons table", path=path)

        def scatter(values: npt.NDArray[Any], fill: object, dtype: type[G]) -> npt.NDArray[G]:
            out = np.full(size, fill, dtype=dtype)
            out[ids] = values
            return out

        network = persons["network_id"].fill_null(-1).to_numpy()
        countries = np.array([c.upper() for c in persons["country"].to_pylist()], dtype=object)
        return cls(
            exists=exists,
            country=scatter(countries, None, np.object_),
            anonymiser=scatter(persons["uses_anonymiser"].to_numpy(), False, np.bool_),
            network=scatter(network, -1, np.int64),
            should=scatter(persons["should_identify"].to_numpy(), False, np.bool_),
            earlier=scatter(persons["in_earlier_intel"].to_numpy(), False, np.bool_),
        )


def suspect_metrics(res: Resolution, suspects: pa.Table, people: People,
                    index: SubjectIndex) -> list[Metric]:
    """Suspect precision, recall (sighted and all persons to identify), fragmentation."""
    named_subjects = suspects.filter(suspects["is_suspect"])
    mapped = res.person_of_subject[index.codes(named_subjects["subject_id"])]
    named = np.unique(mapped[mapped >= 0])
    unmapped = int(np.count_nonzero(mapped < 0))
    hits = int(np.count_nonzero(people.should[named]))
    targets = people.should & res.sighted(people.should.size)
    fresh = targets & ~people.earlier
    details: dict[str, int | float | str | None] = {
        "suspect_subjects": int(mapped.size), "subjects_without_sightings": unmapped,
        "persons_named": int(named.size),
    }
    recall_details: dict[str, int | float | str | None] = {
        "to_identify_not_in_earlier_intel": int(np.count_nonzero(fresh)),
        "identified_not_in_earlier_intel": int(np.count_nonzero(fresh[named])),
    }
    return [
        ratio("suspects.precision", hits,
              int(named.size) + unmapped, empty="no subject is flagged as a suspect",
              details=details),
        ratio("suspects.recall", hits,
              int(np.count_nonzero(targets)),
              empty="no person to identify appears in the ingested sightings",
              details=recall_details),
        ratio("suspects.recall_all", hits,
              int(np.count_nonzero(people.should)), empty="the truth has no person to identify"),
        ratio("suspects.fragmentation", int(mapped.size) - unmapped, int(named.size),
              empty="no suspect maps to a person"),
    ]


def country_metrics(res: Resolution, suspects: pa.Table, people: People,
                    index: SubjectIndex) -> list[Metric]:
    """Country attribution accuracy over named persons: all, non-anonymiser, anonymiser users.

    A person named by several suspect subjects takes the country of the highest-scoring one
    (ties: the smallest subject id); no country counts as wrong.
    """
    named_subjects = suspects.filter(suspects["is_suspect"])
    codes = index.codes(named_subjects["subject_id"])
    mapped = res.person_of_subject[codes]
    score = named_subjects["score"].to_numpy()
    country = np.array(named_subjects["country"].to_pylist(), dtype=object)
    keep = mapped >= 0
    order = np.lexsort((codes[keep], -score[keep], mapped[keep]))
    persons = mapped[keep][order]
    said = country[keep][order]
    first = np.ones(persons.size, dtype=bool)
    first[1:] = persons[1:] != persons[:-1]
    persons, said = persons[first], said[first]
    correct = np.asarray(said == people.country[persons], dtype=bool)
    anonymised = people.anonymiser[persons]
    blank = np.array([c is None for c in said], dtype=bool)
    groups = (("country.accuracy", np.ones(persons.size, dtype=bool)),
              ("country.accuracy_direct", ~anonymised),
              ("country.accuracy_anonymiser", anonymised))
    return [ratio(key, int(np.count_nonzero(correct & mask)), int(np.count_nonzero(mask)),
                  empty="no named person in this group",
                  details={"without_country": int(np.count_nonzero(blank & mask))})
            for key, mask in groups]
