"""The analysis of an operation: from the ingested sightings to a results folder.

Reads the workspace's sightings dataset, resolves the sightings to subjects, locates and scores
the subjects, and writes a results folder (docs/formats/results-v1.md): ``subjects`` and
``suspects``, ``networks``, ``networks_new`` and ``candidates`` (docs/intel/candidates.md: read
from the short-lived unmatched area, which is purged after use), plus Icarus's own tables.
Exhibit links come from a later stage and are left absent. The output
depends only on the dataset: no wall-clock time is written, rows are sorted.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icarus import __version__
from icarus.bank.segment import EXACT_KINDS
from icarus.bank.service import BankService
from icarus.core.errors import StateError, UsageError
from icarus.core.settings import Settings
from icarus.domain.bank import Match
from icarus.domain.categories import SetKind
from icarus.intel.candidates import find_candidates
from icarus.intel.geo import Locator, default_locator, jurisdictions
from icarus.intel.intel_file import read_earlier_intel
from icarus.intel.networks import find_networks
from icarus.intel.resolve import LABELLED, resolve_subjects
from icarus.intel.score import COMPONENTS, reasons, score_subjects
from icarus.sensors.dataset import committed_parts, ledger, query
from icarus.sensors.schema import SIGHTINGS
from icarus.sensors.unmatched import purge_unmatched, unmatched_dir

__all__ = ["LEADS", "STAGES", "AnalysisReport", "Lead", "analyze", "default_out_dir"]

FORMAT, VERSION = "icarus-results", 1
STAGES = ("reading sightings", "resolving subjects", "locating subjects", "scoring leads",
          "finding networks", "finding candidates", "writing results")
"""The stages :func:`analyze` reports through its ``progress`` callback, in order."""
TOP = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

LEADS = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("rank", pa.int64(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    *(pa.field(c, pa.float64(), nullable=False) for c in COMPONENTS),
    pa.field("reasons", pa.string(), nullable=False),  # sentences joined with "; "
    pa.field("is_suspect", pa.bool_(), nullable=False),
    pa.field("country", pa.string()),
    pa.field("location_status", pa.string(), nullable=False),  # located|anonymised|unlocated
    pa.field("asn_name", pa.string()),
    pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("last_seen", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("identifiers", pa.list_(pa.string()), nullable=False),  # user_hash:<hex>, guid:<hex>
    pa.field("n_files", pa.int64(), nullable=False),
    pa.field("n_sightings", pa.int64(), nullable=False),
    pa.field("n_days", pa.int64(), nullable=False),
    pa.field("best_evidence", pa.string(), nullable=False),
])
"""``leads.parquet``: one row per subject, highest score first."""


@dataclass(frozen=True)
class Lead:
    """A lead as the terminal summary shows it: ids, score, country, strongest reason."""

    subject_id: str
    score: float
    country: str | None
    reason: str


@dataclass(frozen=True)
class AnalysisReport:
    """What an analysis found and wrote."""

    operation: str
    out_dir: Path
    sightings: int
    subjects: int
    suspects: int
    countries: tuple[tuple[str, int], ...]
    """Suspects per country (``anonymised`` / ``unlocated`` when there is none), most first."""
    top: tuple[Lead, ...]
    """The :data:`TOP` suspects with the highest scores."""
    ambiguous: int
    """Address chains left unlinked because they touched two identifiers (see resolve)."""
    analysis_time: datetime
    files: tuple[str, ...]


def default_out_dir(settings: Settings, operation: str) -> Path:
    """``<home>/operations/<operation>/results``."""
    return settings.home / "operations" / _checked(operation) / "results"


def _checked(operation: str) -> str:
    if not _NAME.match(operation):
        raise UsageError(f"operation name {operation!r} is not valid: use 1-64 letters, digits, "
                         "'.', '_' or '-', starting with a letter or digit")
    return operation


def analyze(settings: Settings, *, operation: str, out_dir: Path,
            locator: Locator | None = None,
            progress: Callable[[str], None] | None = None,
            earlier_intel: Path | None = None) -> AnalysisReport:
    """Analyse every sighting in the workspace's dataset and write the results to ``out_dir``.

    A suspect is a subject with at least one sighting of material in an alert set. Tables of
    ``out_dir`` this analysis does not produce are left as they are. Raises
    :class:`UsageError` for an invalid operation name and :class:`StateError` when the dataset
    holds no sighting. ``earlier_intel`` (an earlier-intel-v1 file) tells which networks
    earlier operations already knew; without it every network is flagged new.
    """
    _checked(operation)
    step = progress or (lambda _stage: None)
    step(STAGES[0])
    sightings = _read_sightings(settings)
    step(STAGES[1])
    resolution = resolve_subjects(sightings, locator=locator)
    assignments, ambiguous = resolution.assignments, resolution.ambiguous
    out = _Output(out_dir)
    try:
        # Written now and let go: the largest tables are not kept through the analysis.
        out.add("merges", resolution.merges.sort_by([
            ("subject_id", "ascending"), ("sighting_a", "ascending"),
            ("sighting_b", "ascending")]))
        del resolution
        out.add("subjects", _subjects(sightings, assignments))
        assignments = assignments.select(["sighting_id", "subject_id"])
        subject = assignments["subject_id"]
        _release()
        step(STAGES[2])
        where = jurisdictions(subject, sightings["ip"], locator=locator)
        asn = _asn_names(subject, sightings["ip"], locator or default_locator())
        step(STAGES[3])
        items = bank_items(settings, sightings)  # one item per bank entry: scoring and networks
        scores = score_subjects(sightings, assignments, items=items)
        matched = pc.not_equal(sightings["match_set"], "")  # research mode keeps the others
        suspect_ids = pc.unique(pc.filter(subject, matched))
        leads = _leads(scores, where, asn, _identifiers(sightings, subject), suspect_ids)
        del scores, asn, suspect_ids
        out.add("suspects", leads.select(["subject_id", "is_suspect", "country", "score"]))
        out.add("leads", leads)
        manifest = _manifest(settings, operation, sightings)
        sightings = sightings.drop_columns(["sensor", "record_id", "evidence", "severity",
                                            "match_set", "source_sha256", "source_line"])
        _release()
        step(STAGES[4])
        earlier = read_earlier_intel(earlier_intel) if earlier_intel is not None else None
        if earlier is not None:  # its digests too: an MD5 listed earlier is the file we saw
            listed = [d for n in earlier.networks for d in n.content]
            extra = bank_items(settings, pa.table({
                "content_kind": pa.array([d.kind for d in listed], pa.string()),
                "content_id": pa.array([d.value for d in listed], pa.binary())}))
            merged = pa.concat_tables([items, extra]).group_by(
                ["content_kind", "content_id"]).aggregate([("item", "min")])  # once per digest
            items = pa.table({"content_kind": merged["content_kind"],
                              "content_id": merged["content_id"], "item": merged["item_min"]})
        found = find_networks(sightings, assignments, earlier=earlier,
                              countries=where.select(["subject_id", "country"]), items=items)
        del where, items, earlier
        out.add("networks", found.memberships)
        out.add("networks_new", pa.table({
            "network": found.networks["network"],
            "is_new": pc.invert(found.networks["known_earlier"])}))
        out.add("network_details", found.networks)
        del found
        _release()
        step(STAGES[5])
        n_sightings = sightings.num_rows
        analysis_time: datetime = pc.max(sightings["observed_at"]).as_py()
        if pc.all(matched).as_py():
            alert, unknown = sightings.select(LABELLED), None
        else:
            alert = sightings.filter(matched).select(LABELLED)
            unknown = sightings.filter(pc.invert(matched)).select(_UNKNOWN)
        del sightings, matched, subject
        # Handed over, not kept here: candidate discovery lets each column go once it has read
        # it (popped from a list, the call's arguments are the tables' only references).
        tables = [alert, _read_unmatched(settings, unknown), assignments]
        del alert, unknown, assignments
        out.add("candidates", find_candidates(tables.pop(0), tables.pop(0), tables.pop(0),
                                              leads, locator=locator))
        step(STAGES[6])
        files = out.finish(manifest)
    except BaseException:
        out.abandon()
        raise
    purge_unmatched(settings)
    return _report(operation, out_dir, n_sightings, leads, ambiguous, analysis_time, files)


def bank_items(settings: Settings, sightings: pa.Table) -> pa.Table:
    """Which sighted digests are one item: the bank entry each matched (segment and row).
    ``sightings`` needs only ``content_kind`` and ``content_id`` (any table of digests).

    The same file seen as ed2k on eDonkey and as SHA-1 on Gnutella is then one item: one
    distinct known file for the score and one item for the co-sharing graph. Digests matching
    no entry (research mode) are their own items.
    """
    matcher = BankService(settings).matcher()
    kinds: list[str] = []
    ids: list[bytes] = []
    items: list[str] = []
    pairs = sightings.select(["content_kind", "content_id"]).group_by(
        ["content_kind", "content_id"]).aggregate([])
    for kind in sorted(set(pairs["content_kind"].to_pylist())):
        values = pc.filter(pairs["content_id"], pc.equal(pairs["content_kind"], kind)).to_pylist()
        size = EXACT_KINDS.get(kind)
        found: list[list[Match]] = (
            matcher.match_exact(kind, np.frombuffer(b"".join(values), dtype=np.uint8)
                                .reshape(len(values), size))
            if size and values and all(len(v) == size for v in values)
            else [[] for _ in values])
        for value, matches in zip(values, found, strict=True):
            alert = sorted((m.segment, m.row) for m in matches if m.set_kind is SetKind.ALERT)
            kinds.append(kind)
            ids.append(value)
            items.append(f"{alert[0][0]}:{alert[0][1]}" if alert else f"{kind}:{value.hex()}")
    return pa.table({"content_kind": pa.array(kinds, pa.string()),
                     "content_id": pa.array(ids, pa.binary()),
                     "item": pa.array(items, pa.string())})


def _libc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - present only in glibc
    except (OSError, AttributeError):
        return None
    return libc


_READ = ("sighting_id", "observed_at", "network", "ip", "port", "content_kind", "content_id",
         "file_size", "user_hash", "guid", "peer_id", "sensor", "record_id", "evidence",
         "severity", "match_set")
"""The dataset's columns the analysis reads whole. Two more are read only where needed: the
file name of sightings in no alert set (research mode: candidates), and the source file and
line of sightings without a record id (their results-v1 record id)."""
ANALYSED = pa.schema([*(SIGHTINGS.field(c) for c in _READ),
                      SIGHTINGS.field("file_name").with_nullable(True),
                      SIGHTINGS.field("source_sha256").with_nullable(True),
                      SIGHTINGS.field("source_line").with_nullable(True)])
"""The sightings table of an analysis (one row per sighting, by ``sighting_id``)."""
_UNKNOWN = (*LABELLED, "content_kind", "file_name")
"""What candidates read of the unmatched area."""
_LIBC = _libc()


def _read_sightings(settings: Settings) -> pa.Table:
    table = query(settings, f"SELECT {', '.join(_READ)}, "  # noqa: S608 - fixed column names
                  "CASE WHEN match_set = '' THEN file_name END AS file_name, "
                  "CASE WHEN record_id IS NULL THEN source_sha256 END AS source_sha256, "
                  "CASE WHEN record_id IS NULL THEN source_line END AS source_line "
                  "FROM sightings ORDER BY sighting_id")
    if table.num_rows == 0:
        raise StateError(f"no sightings in the workspace {settings.home}: "
                         "ingest sensor files first (icarus sightings ingest)")
    table = table.cast(ANALYSED)
    _release()
    return table


def _read_unmatched(settings: Settings, more: pa.Table | None = None) -> pa.Table:
    """The unmatched area's columns that candidates need (:data:`_UNKNOWN`), in the order of
    its files (candidates do not depend on the row order; a sort would double the memory),
    followed by ``more`` (the dataset's own unmatched sightings in research mode)."""
    schema = pa.schema([SIGHTINGS.field(c) for c in _UNKNOWN])
    # Read by pyarrow, not DuckDB: DuckDB's allocator keeps the freed buffers of its results
    # (about 1.5 GB of RSS for the 6 M rows of a large world), at the analysis's peak.
    parts = committed_parts(settings, unmatched_dir(settings))
    area = (pa.concat_tables([pq.read_table(p, columns=list(_UNKNOWN)).cast(schema)
                              for p in parts]) if parts else schema.empty_table())
    _release()
    return area if more is None else pa.concat_tables([area, more.cast(schema)])


def _release() -> None:
    """Hand memory freed by a stage back to the system (Arrow's pool and the C heap keep
    freed pages for reuse, so a later stage's peak would add to the earlier one's)."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _asn_names(subject: pa.ChunkedArray, ips: pa.ChunkedArray, locator: Locator) -> dict[str,
                                                                                         str]:
    """Each subject's most frequent AS organisation over its non-anonymiser sightings (ties:
    the name sorting first)."""
    loc = locator.locate(ips)
    usable = pc.and_(pc.is_valid(loc["asn_name"]), pc.is_null(loc["anonymiser"]))
    pairs = pa.table({"s": subject, "a": loc["asn_name"]}).filter(usable)
    counts = pairs.group_by(["s", "a"]).aggregate([([], "count_all")])
    counts = counts.sort_by([("s", "ascending"), ("count_all", "descending"),
                             ("a", "ascending")])
    out: dict[str, str] = {}
    for s, a in zip(counts["s"].to_pylist(), counts["a"].to_pylist(), strict=True):
        out.setdefault(s, a)
    return out


def _identifiers(sightings: pa.Table, subject: pa.ChunkedArray) -> dict[str, list[str]]:
    """Each subject's distinct persistent identifiers, as ``user_hash:<hex>``/``guid:<hex>``."""
    out: dict[str, set[str]] = {}
    for column in ("user_hash", "guid"):
        pairs = pa.table({"s": subject, "v": sightings[column]}).filter(
            pc.is_valid(sightings[column])).group_by(["s", "v"]).aggregate([])
        for s, v in zip(pairs["s"].to_pylist(), pairs["v"].to_pylist(), strict=True):
            out.setdefault(s, set()).add(f"{column}:{v.hex()}")
    return {s: sorted(v) for s, v in out.items()}


def _leads(scores: pa.Table, where: pa.Table, asn: dict[str, str],
           idents: dict[str, list[str]], suspect_ids: pa.Array) -> pa.Table:
    place = {r["subject_id"]: r for r in where.to_pylist()}
    suspects = set(suspect_ids.to_pylist())
    rows: list[dict[str, Any]] = []
    for rank, row in enumerate(scores.to_pylist(), 1):
        sid, loc = row["subject_id"], place[row["subject_id"]]
        rows.append({**{k: row[k] for k in LEADS.names if k in row}, "rank": rank,
                     "reasons": "; ".join(reasons(row)), "is_suspect": sid in suspects,
                     "country": loc["country"], "location_status": loc["status"],
                     "asn_name": asn.get(sid), "identifiers": idents.get(sid, [])})
    return pa.Table.from_pylist(rows, schema=LEADS)


def _subjects(sightings: pa.Table, assignments: pa.Table) -> pa.Table:
    """results-v1's ``subjects``: a record_id for every sighting (one without is named by its
    source file and line), sorted."""
    record = assignments["record_id"].combine_chunks()
    missing = pc.is_null(record)
    if record.null_count:
        source = pc.binary_join_element_wise(
            "source", pc.utf8_slice_codeunits(pc.filter(sightings["source_sha256"], missing),
                                              0, 16),
            pc.cast(pc.filter(sightings["source_line"], missing), pa.string()), ":")
        record = pc.replace_with_mask(record, missing, source.combine_chunks())
    subjects = pa.table({"sensor": assignments["sensor"], "record_id": record,
                         "subject_id": assignments["subject_id"]})
    return subjects.sort_by([("sensor", "ascending"), ("record_id", "ascending"),
                             ("subject_id", "ascending")])


def _manifest(settings: Settings, operation: str, sightings: pa.Table) -> dict[str, Any]:
    """results.json; the analysis time is the last observation."""
    led = ledger(settings)
    try:
        files = [{"sha256": sha, "format": fmt} for sha, fmt in
                 led.db.execute("SELECT sha256, format FROM files ORDER BY sha256")]
    finally:
        led.close()
    seen = pc.min_max(sightings["observed_at"]).as_py()
    return {"format": FORMAT, "version": VERSION, "producer": f"icarus {__version__}",
            "operation": operation, "analysis_time": seen["max"].isoformat(),
            "inputs": {"sightings": sightings.num_rows, "first_observed": seen["min"].isoformat(),
                       "last_observed": seen["max"].isoformat(), "files": files},
            "tables": ["subjects", "suspects"], "extra": ["leads", "merges"]}


class _Output:
    """The results folder being written: every table goes into a temporary folder as soon as
    it is ready (so it need not be kept in memory), and :meth:`finish` moves each into
    ``out_dir`` (the manifest last), so an interrupted run never leaves a manifest naming
    half-written tables."""

    ORDER = ("subjects", "suspects", "leads", "merges", "networks", "networks_new",
             "network_details", "candidates")

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = out_dir / ".tmp-analyze"
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        self.names: set[str] = set()

    def add(self, name: str, table: pa.Table) -> None:
        """Write one table (a name of :data:`ORDER`)."""
        pq.write_table(table, self.tmp / f"{name}.parquet")
        self.names.add(name)

    def finish(self, manifest: dict[str, Any]) -> tuple[str, ...]:
        """Move the tables and the manifest into place; the file names, in order."""
        names = [f"{n}.parquet" for n in self.ORDER if n in self.names]
        for name in self.ORDER:
            if name in self.names:  # results-v1 refuses a table in both encodings
                (self.out_dir / f"{name}.csv").unlink(missing_ok=True)
        (self.tmp / "results.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                               encoding="utf-8")
        for name in [*names, "results.json"]:
            (self.tmp / name).replace(self.out_dir / name)
        self.tmp.rmdir()
        return (*names, "results.json")

    def abandon(self) -> None:
        """Remove what was written (the analysis failed)."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def _report(operation: str, out_dir: Path, n_sightings: int, leads: pa.Table, ambiguous: int,
            analysis_time: datetime, files: tuple[str, ...]) -> AnalysisReport:
    suspects = leads.filter(leads["is_suspect"])
    where = pc.if_else(pc.is_valid(suspects["country"]), suspects["country"],
                       suspects["location_status"])
    counts = pa.table({"c": where}).group_by("c").aggregate([([], "count_all")])
    countries = sorted(zip(counts["c"].to_pylist(), counts["count_all"].to_pylist(),
                           strict=True), key=lambda kv: (-kv[1], kv[0]))
    top = tuple(Lead(r["subject_id"], r["score"], r["country"], r["reasons"].split("; ")[0])
                for r in suspects.slice(0, TOP).to_pylist())
    return AnalysisReport(operation, out_dir, n_sightings, leads.num_rows, suspects.num_rows,
                          tuple(countries), top, ambiguous, analysis_time, files)
