"""The ground-truth tables ``icarus eval`` needs, read from a world's ``truth/`` folder.

Only the columns used are read (``sightings_truth`` has a row per sighting: ten million at the
large scale). The schemas are those of :mod:`icarus.sim.tables`; integer and string widths may
differ (int32 or int64, string or large string) but the kinds may not.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from icarus.core.errors import InputError
from icarus.sim.eval.files import Column, read_table

TRUTH_COLUMNS: dict[str, tuple[Column, ...]] = {
    "sightings_truth": (Column("sensor", "text"), Column("record_id", "text"),
                        Column("person_id", "int")),
    "persons": (Column("person_id", "int"), Column("country", "text"),
                Column("uses_anonymiser", "bool"), Column("network_id", "int", nullable=True),
                Column("should_identify", "bool"), Column("in_earlier_intel", "bool")),
    "networks": (Column("network_id", "int"), Column("known_earlier", "bool")),
    "content": (Column("content_id", "int"), Column("status", "text"),
                Column("md5", "binary"), Column("sha1", "binary"), Column("sha256", "binary"),
                Column("ed2k", "binary"), Column("btih", "binary", nullable=True),
                Column("pdq", "binary", nullable=True)),
    "exhibits": (Column("exhibit_id", "text"), Column("person_id", "int")),
}
"""The truth tables eval reads, with the columns it uses."""


def locate_truth(directory: Path) -> Path:
    """The folder holding the truth tables: ``directory/truth`` (a world folder was given) or
    ``directory`` itself. Raises :class:`InputError` if neither holds ``persons.parquet``."""
    directory = Path(directory)
    for candidate in (directory / "truth", directory):
        if (candidate / "persons.parquet").is_file():
            return candidate
    raise InputError("no ground truth here: neither truth/persons.parquet nor "
                     "persons.parquet exists (give a world folder or its truth/ folder)",
                     path=directory)


def read_truth(truth: Path, name: str) -> pa.Table:
    """The used columns of the truth table ``name`` in canonical types (ints as int64).

    Raises :class:`InputError` naming the file when it is absent or breaks its schema.
    """
    path = truth / f"{name}.parquet"
    if not path.is_file():
        raise InputError(f"the ground-truth table {name!r} is missing", path=path)
    table = read_table(path, TRUTH_COLUMNS[name])
    if name == "persons" and table.num_rows:
        ids = table["person_id"].to_numpy()
        if ids.min() < 0:
            raise InputError("person_id must not be negative", path=path)
    return table
