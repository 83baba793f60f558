"""Deconfliction: subjects the coordinators must settle before anyone acts on them.

Two reasons put a subject on the list (docs/intel/networks.md):

``several-countries``
    its sightings come from addresses in more than one country, anonymiser endpoints (VPN,
    hosting, Tor) left out: two agencies may each think the subject is theirs.
``earlier-subject``
    it matches a subject of an earlier operation: the same eMule user hash (eDonkey/Kad
    sightings) or Gnutella GUID (Gnutella sightings), both persistent per installation, or
    the same address seen within ``ip_window_s`` of the earlier sighting (dynamic addresses
    pass to other subscribers, so only a short window says "same person"; anonymiser
    endpoints never match, they are shared by many).

:func:`earlier_matches` is the matching alone; the network stage uses it too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError, UsageError
from icarus.intel.geo import Locator, default_locator
from icarus.intel.intel_file import EarlierIntel

__all__ = ["DECONFLICT", "EARLIER_MATCHES", "DeconflictConfig", "aligned_subjects",
           "deconflict", "earlier_matches", "known_networks", "with_subjects"]

EARLIER_MATCHES = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("earlier_ref", pa.string(), nullable=False),  # the earlier subject's ref
    pa.field("earlier_network", pa.string()),  # its network's ref, if it had one
    pa.field("rule", pa.string(), nullable=False),  # user-hash | guid | ip
    pa.field("detail", pa.string(), nullable=False),
])
DECONFLICT = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),  # several-countries | earlier-subject
    pa.field("country", pa.string()),  # attributed country (from jurisdictions), if given
    pa.field("countries", pa.list_(pa.string()), nullable=False),  # of non-anonymiser sightings
    pa.field("earlier_operation", pa.string()),
    pa.field("earlier_ref", pa.string()),
    pa.field("earlier_network", pa.string()),
    pa.field("detail", pa.string(), nullable=False),
])
_IDENT = {"edonkey-user-hash": ("user_hash", ("edonkey", "kad"), "user-hash"),
          "gnutella-guid": ("guid", ("gnutella",), "guid")}
_NEEDED = ("sighting_id", "observed_at", "network", "ip", "user_hash", "guid")


@dataclass(frozen=True)
class DeconflictConfig:
    """``ip_window_s``: the longest gap between an earlier operation's sighting of an address
    and ours for the address to say "same subject" (default one day: many access providers
    re-assign dynamic addresses daily)."""

    ip_window_s: float = 86_400.0

    def __post_init__(self) -> None:
        if not self.ip_window_s >= 0:
            raise UsageError(f"ip_window_s must be >= 0 seconds, not {self.ip_window_s}")


def with_subjects(sightings: pa.Table, assignments: pa.Table, needed: tuple[str, ...]
                  ) -> pa.Table:
    """``sightings``' ``needed`` columns with each row's ``subject_id`` (rows without an
    assignment are dropped). Raises :class:`InputError` when a column is missing."""
    for name, table, cols in (("sightings", sightings, needed),
                              ("assignments", assignments, ("sighting_id", "subject_id"))):
        if missing := [c for c in cols if c not in table.column_names]:
            raise InputError(f"{name} table lacks column(s) {', '.join(missing)}")
    left = sightings.select(list(needed))
    aligned = aligned_subjects(sightings, assignments)
    if aligned is not None:  # resolve's own row order: no join (no copy of the rows)
        return left.append_column("subject_id", aligned)
    keys = assignments.select(["sighting_id", "subject_id"])
    keys = keys.set_column(0, "sighting_id", pc.cast(keys["sighting_id"], pa.binary()))
    left = left.set_column(left.column_names.index("sighting_id"), "sighting_id",
                           pc.cast(left["sighting_id"], pa.binary()))
    joined = left.join(keys, "sighting_id", join_type="inner")
    return joined.combine_chunks()


def aligned_subjects(sightings: pa.Table, assignments: pa.Table) -> pa.ChunkedArray | None:
    """``assignments``' ``subject_id`` column when it lists exactly the rows of ``sightings``
    in their order (as :func:`icarus.intel.resolve.resolve_subjects` returns them), else
    ``None``: the subject of each row without a join."""
    if sightings.num_rows != assignments.num_rows or not sightings.num_rows:
        return None
    ids, keys = sightings["sighting_id"], assignments["sighting_id"]
    if ids.type != keys.type:
        keys = pc.cast(keys, ids.type)
    if not pc.all(pc.equal(ids, keys)).as_py():
        return None
    return assignments["subject_id"]


def earlier_matches(sightings: pa.Table, assignments: pa.Table, earlier: EarlierIntel, *,
                    cfg: DeconflictConfig | None = None,
                    locator: Locator | None = None) -> pa.Table:
    """Every (subject, earlier subject) pair linked by an identifier or an address, with the
    rule and a detail a coordinator can check (:data:`EARLIER_MATCHES`, sorted)."""
    cfg = cfg or DeconflictConfig()
    rows = with_subjects(sightings, assignments, _NEEDED)
    by_ident: dict[tuple[str, bytes], list[str]] = defaultdict(list)
    by_ip: dict[str, list[tuple[float, str]]] = defaultdict(list)
    network_of = {s.ref: s.network for s in earlier.subjects}
    for s in earlier.subjects:
        for ident in s.identifiers:
            by_ident[(ident.kind, ident.value)].append(s.ref)
        for a in s.addresses:
            by_ip[a.ip].append((a.seen.timestamp(), s.ref))
    found: dict[tuple[str, str, str], tuple[float, str]] = {}  # -> (gap s, detail)
    for kind, (column, networks, rule) in _IDENT.items():
        sel = rows.filter(pc.and_(pc.is_in(rows["network"], pa.array(networks)),
                                  pc.is_valid(rows[column])))
        pairs = sel.group_by(["subject_id", column]).aggregate([]).to_pylist()
        for p in pairs:
            for ref in by_ident.get((kind, p[column]), ()):
                found.setdefault((p["subject_id"], ref, rule), (0.0, f"{rule} {p[column].hex()}"))
    loc = locator or default_locator()
    usable = [ip for ip in by_ip if loc.is_anonymiser(ip) is None]
    sel = rows.filter(pc.is_in(rows["ip"], pa.array(usable, pa.string())))
    for r in sel.select(["subject_id", "ip", "observed_at"]).to_pylist():
        t = r["observed_at"].timestamp()
        for seen, ref in by_ip[r["ip"]]:
            gap = abs(t - seen)
            key = (r["subject_id"], ref, "ip")
            if gap <= cfg.ip_window_s and (key not in found or gap < found[key][0]):
                found[key] = (gap, f"ip {r['ip']} {gap / 3600:.1f} h from the earlier sighting")
    out = [{"subject_id": s, "earlier_ref": ref, "earlier_network": network_of[ref],
            "rule": rule, "detail": detail}
           for (s, ref, rule), (_, detail) in sorted(found.items())]
    return pa.Table.from_pylist(out, schema=EARLIER_MATCHES)


def deconflict(sightings: pa.Table, assignments: pa.Table, *,
               earlier: EarlierIntel | None = None, jurisdictions: pa.Table | None = None,
               cfg: DeconflictConfig | None = None, locator: Locator | None = None) -> pa.Table:
    """The subjects to deconflict, one row per subject and reason (:data:`DECONFLICT`, sorted
    by subject, reason, earlier ref): seen in several countries, or matching a subject of the
    ``earlier`` package. ``jurisdictions`` (``icarus.intel.geo.jurisdictions``) fills the
    attributed ``country``."""
    loc = locator or default_locator()
    rows = with_subjects(sightings, assignments, _NEEDED)
    located = loc.locate(rows["ip"])
    keep = pc.and_(pc.is_null(located["anonymiser"]), pc.is_valid(located["country"]))
    pairs = pa.table({"subject_id": rows["subject_id"], "c": located["country"]}).filter(keep)
    counts = pairs.group_by(["subject_id", "c"]).aggregate([([], "count_all")])
    per: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for r in counts.to_pylist():
        per[r["subject_id"]].append((-r["count_all"], r["c"]))
    countries = {s: [c for _, c in sorted(v)] for s, v in per.items()}
    attributed: dict[str, str | None] = {}
    if jurisdictions is not None:
        attributed = dict(zip(jurisdictions["subject_id"].to_pylist(),
                              jurisdictions["country"].to_pylist(), strict=True))
    out = []
    for s, v in per.items():
        if len(v) > 1:
            detail = ", ".join(f"{c} {-n}" for n, c in sorted(v)) + " sightings"
            out.append(_row(s, "several-countries", attributed, countries, detail))
    if earlier is not None:
        for m in earlier_matches(sightings, assignments, earlier, cfg=cfg,
                                 locator=loc).to_pylist():
            row = _row(m["subject_id"], "earlier-subject", attributed, countries, m["detail"])
            row.update(earlier_operation=earlier.operation.reference or earlier.operation.name,
                       earlier_ref=m["earlier_ref"], earlier_network=m["earlier_network"])
            out.append(row)
    out.sort(key=lambda r: (r["subject_id"], r["reason"], r["earlier_ref"] or "", r["detail"]))
    return pa.Table.from_pylist(out, schema=DECONFLICT)


def _row(subject: str, reason: str, attributed: dict[str, str | None],
         countries: dict[str, list[str]], detail: str) -> dict[str, object]:
    return {"subject_id": subject, "reason": reason, "country": attributed.get(subject),
            "countries": countries.get(subject, []), "earlier_operation": None,
            "earlier_ref": None, "earlier_network": None, "detail": detail}


def known_networks(rows: pa.Table, members: pa.Table, held: pa.Table, earlier: EarlierIntel, *,
                   min_members: int = 1, member_share: float = 0.1, min_digests: int = 2,
                   own_share: float = 0.5, same_file: dict[tuple[str, bytes], str] | None = None,
                   cfg: DeconflictConfig | None = None,
                   locator: Locator | None = None) -> dict[str, tuple[str, str]]:
    """Which found networks an earlier operation already knew: label → (earlier network ref,
    evidence). Earlier network N must account for a substantial part of the found network,
    not for an incidental overlap (docs/intel/networks.md):

    - **members**: at least ``min_members`` members match subjects of N
      (:func:`earlier_matches`), and they are at least ``member_share`` of the members the
      package could have named: those seen with a persistent identifier (eMule user hash,
      Gnutella GUID) plus those it did name by address. One matching member among hundreds is
      someone who also moved in N's circle (or an address re-assigned within the window), not
      proof that N is this network. Members without an identifier (e.g. BitTorrent sessions)
      are not counted: a package names people by identifiers, so they could not have matched;
    - **content**: at least ``min(min_digests, files of N.content)`` of the files N's content
      lists are files the network co-shares *as its own* (held by two or more members, who
      are at least ``own_share`` of all their holders, so a file everyone shares proves
      nothing). ``same_file`` maps a digest (kind, value) to its file (e.g. its bank entry):
      an earlier MD5 then matches the ed2k or SHA-1 we saw of the same file, and two digests
      of one file count once. Digests it does not name are files of their own.

    With several candidates the one with the most evidence (members + digests) wins, ties to
    the smaller ref. The evidence text gives both counts and what they were measured against.

    ``rows`` are sightings with ``subject_id``, ``network``, ``user_hash`` and ``guid``;
    ``members`` (subject_id, network); ``held`` (label, content_kind, content_id, holders,
    all_holders).
    """
    same = same_file or {}

    def file_of(kind: str, value: bytes) -> str:
        return same.get((kind, value)) or f"{kind}:{value.hex()}"

    if not (0 <= member_share <= 1 and 0 < own_share <= 1) or min(min_members, min_digests) < 1:
        raise UsageError("member_share must be in [0, 1], own_share in (0, 1], min_members "
                         "and min_digests >= 1")
    keys = rows.select(["sighting_id", "subject_id"])
    matches = earlier_matches(rows, keys, earlier, cfg=cfg, locator=locator)
    label_of = dict(zip(members["subject_id"].to_pylist(), members["network"].to_pylist(),
                        strict=True))
    who: dict[tuple[str, str], set[str]] = defaultdict(set)  # (label, earlier net) → subjects
    for m in matches.to_pylist():
        if m["earlier_network"] is not None and m["subject_id"] in label_of:
            who[(label_of[m["subject_id"]], m["earlier_network"])].add(m["subject_id"])
    nameable: dict[str, set[str]] = defaultdict(set)  # label → members with an identifier
    for subject in _identified(rows).to_pylist():
        if subject in label_of:
            nameable[label_of[subject]].add(subject)
    content: dict[str, list[str]] = defaultdict(list)  # file → earlier networks listing it
    for n in earlier.networks:
        for f in dict.fromkeys(file_of(d.kind, d.value) for d in n.content):
            content[f].append(n.ref)
    own = held.filter(pc.and_(pc.greater_equal(held["holders"], 2),
                              pc.greater_equal(pc.divide(pc.cast(held["holders"], pa.float64()),
                                                         held["all_holders"]), own_share)))
    own_files = {(r["label"], file_of(r["content_kind"], r["content_id"]))
                 for r in own.select(["label", "content_kind", "content_id"]).to_pylist()}
    digests: dict[tuple[str, str], int] = defaultdict(int)
    for label, f in sorted(own_files):
        for ref in content.get(f, ()):
            digests[(label, ref)] += 1
    listed = {n.ref: len({file_of(d.kind, d.value) for d in n.content}) for n in earlier.networks}
    best: dict[str, tuple[int, str, str]] = {}
    for label, ref in sorted(set(who) | set(digests)):
        named = who.get((label, ref), set())
        m, shared = len(named), digests.get((label, ref), 0)
        could = len(nameable[label] | named)
        by_members = m >= min_members and m >= member_share * could
        by_content = listed[ref] > 0 and shared >= min(min_digests, listed[ref])
        if not (by_members or by_content):
            continue
        evidence = (f"{m} of {could} nameable member(s) match subjects of {ref}, "
                    f"{shared} of its {listed[ref]} file(s) co-shared")
        if label not in best or m + shared > best[label][0]:
            best[label] = (m + shared, ref, evidence)
    return {label: (ref, ev) for label, (_, ref, ev) in best.items()}


def _identified(rows: pa.Table) -> pa.Array:
    """Subjects seen with a persistent identifier: an eMule user hash on eDonkey/Kad, a
    Gnutella GUID on Gnutella (the identifiers an earlier package names people by)."""
    masks = [pc.and_(pc.is_in(rows["network"], pa.array(networks)), pc.is_valid(rows[column]))
             for column, networks, _ in _IDENT.values()]
    mask = masks[0]
    for other in masks[1:]:
        mask = pc.or_(mask, other)
    return pc.unique(rows.filter(mask)["subject_id"])
