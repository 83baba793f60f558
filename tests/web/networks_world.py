"""Networks for the test world (tests/coord/world.py): a results folder written here and
imported through the use case. ``mixed`` holds both FR leads, the DE lead ``de-1`` and a
member that is no lead (IT); ``de-only`` holds ``de-2`` alone, so an FR user must not know
it exists."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from icarus.coord.networks import Networks
from tests.coord.world import OPERATION, World

CORE = "md5:" + "0" * 32
"""The file every test suspect's timeline holds (category "1")."""
MEMBERS = {"fr-1": "mixed", "fr-2": "mixed", "de-1": "mixed", "it-9": "mixed",
           "de-2": "de-only"}
COUNTRY = {"fr-1": "FR", "fr-2": "FR", "de-1": "DE", "it-9": "IT", "de-2": "DE"}


def write_results(folder: Path, *, details: bool = True) -> Path:
    """A results folder with the networks tables (and suspects for the countries)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "networks.csv").write_text(
        "subject_id,network\n" + "".join(f"{s},{n}\n" for s, n in MEMBERS.items()),
        encoding="utf-8")
    (folder / "suspects.csv").write_text(
        "subject_id,is_suspect,country,score\n"
        + "".join(f"{s},true,{c},1.0\n" for s, c in COUNTRY.items()), encoding="utf-8")
    if details:
        pq.write_table(pa.table({
            "network": ["de-only", "mixed"], "size": [1, 4],
            "countries": [["DE"], ["FR", "DE", "IT"]],
            "core_files": [[], [CORE, "sha1:" + "1" * 40]],
            "first_seen": pa.array([None, None], pa.timestamp("us", tz="UTC")),
            "last_seen": pa.array([None, None], pa.timestamp("us", tz="UTC")),
            "known_earlier": [True, False], "earlier_ref": ["EO-1", None],
            "earlier_evidence": ["2 members named", None]}), folder / "network_details.parquet")
    return folder


def import_networks(world: World) -> dict[str, int]:
    """Import the networks into the world (inside the test's savepoint): label -> id."""
    with tempfile.TemporaryDirectory() as tmp:
        Networks(world.db).import_networks(world.actors["coordinator"], OPERATION,
                                           write_results(Path(tmp)))
    rows = Networks(world.db).list_networks(world.actors["coordinator"])
    return {n.label: n.id for n in rows}
