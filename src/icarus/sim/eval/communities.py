"""Network recovery: the communities Icarus found against the hidden sharing networks.

A sighted person's found network is the label carrying most of their ingested sightings among
the subjects that have a label (ties: the label that sorts first); a person none of whose
sightings is in a labelled subject has no found network. See docs/sim/eval.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError
from icarus.sim.eval.metrics import (
    TITLES,
    IntArray,
    Metric,
    adjusted_rand_index,
    contingency,
    jaccard,
    majority,
    normalized_mutual_info,
    ratio,
)
from icarus.sim.eval.people import People
from icarus.sim.eval.resolution import Resolution, SubjectIndex

JACCARD_MIN = 0.5
"""A found network flagged new recovers a true network if their members' Jaccard is this or
more."""


@dataclass(frozen=True)
class Found:
    """The found networks: label strings (sorted), and each person's label code (-1: none)."""

    labels: pa.Array
    person_label: IntArray


def found_networks(res: Resolution, networks: pa.Table, extra_labels: pa.Table | None,
                   people: People, index: SubjectIndex) -> Found:
    """Each person's found network label (see the module's docstring)."""
    parts = [networks["network"]] + ([extra_labels["network"]] if extra_labels is not None else [])
    unique = pc.unique(pa.chunked_array([c for p in parts for c in p.chunks], pa.string()))
    labels = unique.take(pc.sort_indices(unique))
    label_of_subject = np.full(len(index), -1, dtype=np.int64)
    label_of_subject[index.codes(networks["subject_id"])] = np.asarray(
        pc.index_in(networks["network"], value_set=labels).to_numpy(zero_copy_only=False),
        dtype=np.int64)
    label = label_of_subject[res.subject]
    labelled = label >= 0
    cells = contingency(res.person[labelled], label[labelled])
    persons, winners = majority(cells.row, cells.col, cells.count)
    person_label = np.full(people.exists.size, -1, dtype=np.int64)
    person_label[persons] = winners
    return Found(labels, person_label)


def network_metrics(res: Resolution, found: Found, people: People) -> list[Metric]:
    """ARI and NMI over sighted persons with a true network (unlabelled: singletons)."""
    population = res.sighted(people.exists.size) & (people.network >= 0)
    truth = people.network[population]
    guess = found.person_label[population].copy()
    alone = guess < 0
    guess[alone] = len(found.labels) + np.arange(int(np.count_nonzero(alone)))
    outsiders = (found.person_label >= 0) & (people.network < 0)
    details: dict[str, int | float | str | None] = {
        "persons": int(truth.size), "persons_without_found_network": int(alone.sum()),
        "true_networks": int(np.unique(truth).size),
        "found_networks": int(np.unique(found.person_label[found.person_label >= 0]).size),
        "found_members_without_true_network": int(np.count_nonzero(outsiders)),
    }
    if truth.size == 0:
        reason = "no sighted person belongs to a true network"
        return [Metric(k, TITLES[k], None, None, 0, "undefined", reason, details)
                for k in ("networks.ari", "networks.nmi")]
    return [
        Metric("networks.ari", TITLES["networks.ari"], adjusted_rand_index(truth, guess), None,
               int(truth.size), details=details),
        Metric("networks.nmi", TITLES["networks.nmi"], normalized_mutual_info(truth, guess),
               None, int(truth.size)),
    ]


def new_network_metric(found: Found, flags: pa.Table, true_networks: pa.Table,
                       people: People, res: Resolution, path: Path) -> Metric:
    """Recall of the true networks unknown to earlier intelligence (Jaccard >= 0.5 rule)."""
    ids = np.asarray(true_networks["network_id"].to_numpy(), dtype=np.int64)
    known = dict(zip(ids.tolist(), true_networks["known_earlier"].to_pylist(), strict=True))
    used = np.unique(people.network[people.network >= 0])
    absent = [int(n) for n in used if int(n) not in known]
    if absent:
        raise InputError(f"network_id {absent[0]} of the persons table is not in the networks "
                         "table", path=path)
    is_new = np.zeros(len(found.labels), dtype=bool)
    flagged = flags.filter(flags["is_new"])["network"]
    is_new[np.asarray(pc.index_in(flagged, value_set=found.labels).to_numpy(
        zero_copy_only=False), dtype=np.int64)] = True
    size = people.exists.size
    sighted = res.sighted(size)
    true_size = np.bincount(people.network[sighted & (people.network >= 0)],
                            minlength=int(ids.max(initial=-1)) + 1)
    found_size = np.bincount(found.person_label[found.person_label >= 0],
                             minlength=len(found.labels))
    both = (found.person_label >= 0) & (people.network >= 0)
    cells = contingency(found.person_label[both], people.network[both])
    recovered: set[int] = set()
    matching_labels: set[int] = set()
    for lab, net, inter in zip(cells.row.tolist(), cells.col.tolist(), cells.count.tolist(),
                               strict=True):
        if is_new[lab] and jaccard(inter, int(found_size[lab]), int(true_size[net])) \
                >= JACCARD_MIN and not known[net]:
            recovered.add(net)
            matching_labels.add(lab)
    unknown = [n for n, k in sorted(known.items()) if not k]
    population = [n for n in unknown if n < true_size.size and true_size[n] > 0]
    details: dict[str, int | float | str | None] = {
        "unknown_networks_in_truth": len(unknown),
        "found_networks_flagged_new": int(np.count_nonzero(is_new & (found_size > 0))),
        "flagged_new_matching_an_unknown_network": len(matching_labels),
    }
    return ratio("networks.new_recall", len(recovered), len(population),
                 empty="no network unknown to earlier intelligence has a sighted member",
                 details=details)
