"""The results folder, format version 1 (docs/formats/results-v1.md): reading and writing.

Icarus's analysis writes what it concluded into a results folder; ``icarus eval`` reads it and
scores it against the synthetic world's ground truth. Every table is optional; a table that is
present is validated whole, and anything wrong is refused with the file, column and row named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icarus.core.errors import IcarusError, InputError, UsageError
from icarus.identify.kinds import parse_digest
from icarus.sim.eval.files import Column, first_true, read_table

FORMAT = "icarus-results"
VERSION = 1
MANIFEST = "results.json"

RESULT_TABLES: dict[str, tuple[Column, ...]] = {
    "subjects": (Column("sensor", "text"), Column("record_id", "text"),
                 Column("subject_id", "text")),
    "suspects": (Column("subject_id", "text"), Column("is_suspect", "bool"),
                 Column("country", "text", nullable=True), Column("score", "float")),
    "networks": (Column("subject_id", "text"), Column("network", "text")),
    "networks_new": (Column("network", "text"), Column("is_new", "bool")),
    "candidates": (Column("rank", "int"), Column("content_kind", "text"),
                   Column("content_id", "text")),
    "exhibit_links": (Column("exhibit_id", "text"), Column("subject_id", "text")),
}
"""Every results table by name, with the columns it must have (others are ignored)."""

UNIQUE: dict[str, tuple[str, ...]] = {
    "subjects": ("sensor", "record_id"), "suspects": ("subject_id",),
    "networks": ("subject_id",), "networks_new": ("network",), "candidates": ("rank",),
    "exhibit_links": ("exhibit_id",),
}


@dataclass(frozen=True)
class Results:
    """A validated results folder: its manifest and the tables that are present."""

    directory: Path
    manifest: Mapping[str, Any]
    tables: Mapping[str, pa.Table]
    files: Mapping[str, Path]

    def get(self, name: str) -> pa.Table | None:
        """The table ``name`` in canonical types (candidates gain a binary ``digest`` column
        and are sorted by rank), or ``None`` when its file is absent."""
        return self.tables.get(name)


def read_results(directory: Path, *, unique_sightings: bool = True) -> Results:
    """Read and validate the results folder ``directory`` (format version 1).

    Raises :class:`InputError` when the folder has no valid ``results.json``, when a table has
    both a ``.parquet`` and a ``.csv`` file, or when a table breaks its specification.
    ``unique_sightings=False`` skips the check that each sighting of ``subjects`` is listed
    once (eval makes it while matching the sightings to the truth, at no extra cost).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("the results folder does not exist", path=directory)
    manifest = _read_manifest(directory / MANIFEST)
    tables: dict[str, pa.Table] = {}
    files: dict[str, Path] = {}
    for name, columns in RESULT_TABLES.items():
        found = [p for p in (directory / f"{name}.parquet", directory / f"{name}.csv")
                 if p.is_file()]
        if len(found) > 1:
            raise InputError(f"both {name}.parquet and {name}.csv are present: keep one",
                             path=directory)
        if not found:
            continue
        path = found[0]
        table = read_table(path, columns)
        if unique_sightings or name != "subjects":
            _check_unique(table, UNIQUE[name], path)
        tables[name] = _CHECKS[name](table, path) if name in _CHECKS else table
        files[name] = path
    return Results(directory, manifest, tables, files)


def write_results(directory: Path, tables: Mapping[str, pa.Table], *,
                  fmt: Literal["parquet", "csv"] = "parquet",
                  manifest: Mapping[str, Any] | None = None) -> None:
    """Write a results folder: ``results.json`` and one file per table given.

    ``tables`` maps table names of :data:`RESULT_TABLES` to Arrow tables with (at least) the
    specified columns; ``manifest`` adds keys to ``results.json`` (e.g. the producer).
    """
    directory = Path(directory)
    for name, table in tables.items():
        if name not in RESULT_TABLES:
            raise UsageError(f"unknown results table {name!r}; "
                             f"choose from {', '.join(RESULT_TABLES)}")
        missing = [c.name for c in RESULT_TABLES[name] if c.name not in table.column_names]
        if missing:
            raise UsageError(f"results table {name!r} lacks column(s) {', '.join(missing)}")
    directory.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "version": VERSION, **(manifest or {})}
    (directory / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for name, table in tables.items():
        if fmt == "parquet":
            pq.write_table(table, directory / f"{name}.parquet")
        else:
            pacsv.write_csv(table, directory / f"{name}.csv")


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"not an Icarus results folder: {MANIFEST} is missing",
                         path=path.parent)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", path=path) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'"format" must be "{FORMAT}"', path=path)
    if document.get("version") != VERSION:
        raise InputError(f"results format version {document.get('version')!r} is not "
                         f"supported; this Icarus reads version {VERSION}", path=path)
    return document


def _check_unique(table: pa.Table, keys: tuple[str, ...], path: Path) -> None:
    # A count of distinct values (per sensor for subjects) is much lighter than a group-by on
    # two string columns; the offending value is looked for only when there is one.
    last = keys[-1]
    groups = [pc.equal(table[keys[0]], v) for v in pc.unique(table[keys[0]]).to_pylist()] \
        if len(keys) > 1 else [None]
    for mask in groups:
        part = table if mask is None else table.filter(mask)
        if pc.count_distinct(part[last]).as_py() == part.num_rows:
            continue
        counts = pc.value_counts(part[last])
        dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        values = ", ".join([f"{k}={part[k][0].as_py()!r}" for k in keys[:-1]]
                           + [f"{last}={dup!r}"])
        raise InputError(f"{values} appears more than once; each must be unique", path=path)


def _check_suspects(table: pa.Table, path: Path) -> pa.Table:
    country = table["country"]
    bad = first_true(pc.invert(pc.match_substring_regex(country, r"^[A-Za-z]{2}$")))
    if bad >= 0:
        raise InputError(f"row {bad + 1}: column 'country': {country[bad].as_py()!r} is not "
                         "an ISO 3166-1 alpha-2 code", path=path)
    return table.set_column(2, "country", pc.utf8_upper(country))


def _check_candidates(table: pa.Table, path: Path) -> pa.Table:
    bad = first_true(pc.less(table["rank"], 1))
    if bad >= 0:
        raise InputError(f"row {bad + 1}: column 'rank' must be 1 or more", path=path)
    kinds: list[str] = []
    digests: list[bytes] = []
    rows = zip(table["content_kind"].to_pylist(), table["content_id"].to_pylist(), strict=True)
    for row, (kind, text) in enumerate(rows):
        try:
            digest = parse_digest(kind.strip().lower(), text)
        except IcarusError as exc:
            column = "content_kind" if isinstance(exc, UsageError) else "content_id"
            raise InputError(f"row {row + 1}: column {column!r}: {exc}", path=path) from None
        kinds.append(digest.kind)
        digests.append(digest.value)
    out = pa.table({"rank": table["rank"], "content_kind": pa.array(kinds, pa.string()),
                    "content_id": table["content_id"],
                    "digest": pa.array(digests, pa.binary())})
    return out.sort_by("rank")


_CHECKS = {"suspects": _check_suspects, "candidates": _check_candidates}
