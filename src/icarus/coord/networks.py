"""The operation's networks: imported from the analysis' results folder, shown on need to know.

Packages carry no network label (package-v1 holds one country's suspects only), so the
networks are imported for the whole operation from the results folder the packages were
built from (:meth:`Networks.import_networks`, coordinators only): ``networks`` (subject ->
label), ``network_details`` (size, countries, core files, known to earlier intelligence)
and ``suspects`` (each member's country).

Need to know: coordinators and analysts see every network and every member that is a lead.
An agency-scoped user sees only the networks holding at least one lead of its own agency;
of those, its own leads individually, and of every other member only how many there are per
country: never another agency's lead, subject id or evidence. Co-sharing edges join only
leads the viewer may see (two leads co-share when their evidence timelines hold a common
file).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Select, delete, func, insert, select

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, Scope, require
from icarus.coord.referrals import lead_scope
from icarus.core.errors import InputError, NotFoundError
from icarus.store.engine import Session
from icarus.store.models import (
    Lead,
    Network,
    NetworkMember,
    Operation,
    Outcome,
    Referral,
)

__all__ = ["GRAPH_LEADS", "MAX_MEMBER_LEADS", "CoreFile", "MemberLead", "NetworkDetail",
           "NetworkImport", "NetworkSummary", "Networks", "read_networks"]

MAX_MEMBER_LEADS = 500
"""At most this many member leads are listed (highest score first); the counts cover all."""
GRAPH_LEADS = 60
"""At most this many leads are drawn as nodes and joined by co-sharing edges."""
_LABEL_MAX, _SUBJECT_MAX = 128, 64


@dataclass(frozen=True)
class NetworkImport:
    """What an import wrote."""

    operation: str
    networks: int
    members: int
    member_leads: int
    replaced: int


@dataclass(frozen=True)
class NetworkSummary:
    """A network as lists show it (counts only)."""

    id: int
    operation: str
    label: str
    size: int
    countries: tuple[str, ...]
    known_earlier: bool
    earlier_ref: str | None
    first_seen: str | None
    last_seen: str | None
    visible_leads: int
    """Member leads the viewer may see (an agency: its own)."""


@dataclass(frozen=True)
class MemberLead:
    """A member that is a lead the viewer may see."""

    lead_id: int
    subject_id: str
    country: str
    agency_id: int
    score: float
    state: str


@dataclass(frozen=True)
class CoreFile:
    """One of the network's own files: digest and category only."""

    digest: str
    category: str | None


@dataclass(frozen=True)
class NetworkDetail:
    """A network: counts per country of all members, the leads the viewer may see (at most
    :data:`MAX_MEMBER_LEADS`), core files and co-sharing edges between the first
    :data:`GRAPH_LEADS` of those leads: ``(lead a, lead b, files both shared)``."""

    summary: NetworkSummary
    members_by_country: tuple[tuple[str, int], ...]
    """Country ("" unknown) -> members, most first."""
    leads: tuple[MemberLead, ...]
    leads_total: int
    core_files: tuple[CoreFile, ...]
    edges: tuple[tuple[int, int, int], ...]


# -- reading the results folder

def _table(results: Path, name: str, *, required: bool) -> tuple[pa.Table | None, Path]:
    parquet, csv = results / f"{name}.parquet", results / f"{name}.csv"
    if parquet.exists() and csv.exists():
        raise InputError(f"both {parquet.name} and {csv.name}: keep one", path=results)
    try:
        if parquet.exists():
            return pq.read_table(parquet), parquet
        if csv.exists():
            opts = pacsv.ConvertOptions(strings_can_be_null=False,
                                        column_types={"subject_id": pa.string(),
                                                      "network": pa.string(),
                                                      "country": pa.string()})
            return pacsv.read_csv(csv, convert_options=opts), csv
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"unreadable table ({exc})", path=parquet if parquet.exists() else csv
                         ) from None
    if required:
        raise InputError(f"no {name}.parquet or {name}.csv: not an analysed results folder",
                         path=results)
    return None, parquet


def _columns(table: pa.Table, path: Path, names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise InputError(f"column {missing[0]!r} is missing (columns found: "
                         f"{', '.join(table.column_names)})", path=path)


def _text(value: Any, path: Path, row: int, column: str, limit: int) -> str:
    if value is None or not str(value).strip():
        raise InputError(f"row {row}: column {column!r} is empty", path=path)
    text = str(value)
    if len(text) > limit:
        raise InputError(f"row {row}: column {column!r} is longer than {limit} characters",
                         path=path)
    return text


def _when(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return None if value is None else str(value)[:32]


def read_networks(results: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]],
                                          dict[str, str]]:
    """(networks, label -> member subject ids, subject id -> country) of a results folder.
    Without ``network_details`` each network's size and countries are counted from the
    members, and ``networks_new`` (if present) says which are new. Raises
    :class:`InputError` naming the file and row for anything malformed."""
    if not results.is_dir():
        raise InputError("not a folder", path=results)
    members_table, mpath = _table(results, "networks", required=True)
    assert members_table is not None
    _columns(members_table, mpath, ("subject_id", "network"))
    members: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for row, (sid, label) in enumerate(zip(members_table["subject_id"].to_pylist(),
                                           members_table["network"].to_pylist(),
                                           strict=True), 1):
        subject = _text(sid, mpath, row, "subject_id", _SUBJECT_MAX)
        if subject in seen:
            raise InputError(f"row {row}: subject {subject!r} is in two networks", path=mpath)
        seen.add(subject)
        members[_text(label, mpath, row, "network", _LABEL_MAX)].append(subject)
    country: dict[str, str] = {}
    suspects, spath = _table(results, "suspects", required=False)
    if suspects is not None:
        _columns(suspects, spath, ("subject_id", "country"))
        valid = pc.is_valid(suspects["country"])
        for sid, c in zip(pc.filter(suspects["subject_id"], valid).to_pylist(),
                          pc.filter(suspects["country"], valid).to_pylist(), strict=True):
            if sid in seen and c and len(str(c)) == 2:
                country[str(sid)] = str(c).upper()
    details, dpath = _table(results, "network_details", required=False)
    new_table, npath = _table(results, "networks_new", required=False)
    is_new: dict[str, bool] = {}
    if new_table is not None:
        _columns(new_table, npath, ("network", "is_new"))
        is_new = {str(k): bool(v) for k, v in zip(new_table["network"].to_pylist(),
                                                  new_table["is_new"].to_pylist(), strict=True)}
    by_label: dict[str, dict[str, Any]] = {}
    if details is not None:
        _columns(details, dpath, ("network", "size", "countries", "core_files",
                                  "known_earlier"))
        for row, r in enumerate(details.to_pylist(), 1):
            label = _text(r["network"], dpath, row, "network", _LABEL_MAX)
            if not isinstance(r["countries"], list) or not isinstance(r["core_files"], list):
                raise InputError(f"row {row}: 'countries' and 'core_files' must be lists",
                                 path=dpath)
            by_label[label] = {
                "size": int(r["size"]), "countries": [str(c) for c in r["countries"]],
                "core_files": [str(d) for d in r["core_files"]],
                "first_seen": _when(r.get("first_seen")), "last_seen": _when(r.get("last_seen")),
                "known_earlier": bool(r["known_earlier"]),
                "earlier_ref": (str(r["earlier_ref"])[:128] if r.get("earlier_ref") else None)}
    out = []
    for label in sorted(members):
        counts = Counter(country.get(s, "") for s in members[label])
        info = by_label.get(label) or {
            "size": len(members[label]),
            "countries": [c for c, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
                          if c],
            "core_files": [], "first_seen": None, "last_seen": None,
            "known_earlier": not is_new.get(label, True), "earlier_ref": None}
        out.append({"label": label, **info})
    return out, dict(members), country


# -- the use cases

class Networks(UseCases):
    """Importing an operation's networks (coordinators) and reading them (need to know)."""

    def import_networks(self, actor: Actor, operation: str, results_dir: Path,
                        ) -> NetworkImport:
        """Import (or replace) the networks of ``operation`` from an analysed results folder.
        Core files get their category from the operation's imported leads' evidence (a
        digest no lead holds has none). One transaction, audited ``networks.import``."""
        with self._transaction(actor, "networks.import", "operation", operation) as s:
            require(actor, Permission.MANAGE_OPERATIONS)
            op = s.scalar(select(Operation).where(Operation.name == operation))
            if op is None:
                raise NotFoundError(f"operation {operation!r} does not exist")
            networks, members, country = read_networks(results_dir)
            old = list(s.scalars(select(Network.id).where(Network.operation_id == op.id)))
            if old:
                s.execute(delete(NetworkMember).where(NetworkMember.network_id.in_(old)))
                s.execute(delete(Network).where(Network.id.in_(old)))
            categories = self._categories(s, op.id, {d for n in networks
                                                     for d in n["core_files"]})
            n_members = 0
            for n in networks:
                row = Network(operation_id=op.id, label=n["label"], size=n["size"],
                              countries=n["countries"],
                              core_files=[{"digest": d, "category": categories.get(d)}
                                          for d in n["core_files"]],
                              first_seen=n["first_seen"], last_seen=n["last_seen"],
                              known_earlier=n["known_earlier"], earlier_ref=n["earlier_ref"],
                              imported_by=actor.user_id)
                s.add(row)
                s.flush()
                s.execute(insert(NetworkMember), [
                    {"network_id": row.id, "subject_id": sid, "country": country.get(sid)}
                    for sid in members[n["label"]]])
                n_members += len(members[n["label"]])
            linked = s.scalar(
                select(func.count(func.distinct(Lead.id)))
                .join(Referral, Referral.id == Lead.referral_id)
                .join(NetworkMember, NetworkMember.subject_id == Lead.subject_id)
                .join(Network, Network.id == NetworkMember.network_id)
                .where(Referral.operation_id == op.id, Network.operation_id == op.id)) or 0
            self._audit(s, actor, "networks.import", "operation", op.id,
                        {"operation": op.name, "networks": len(networks),
                         "members": n_members, "member_leads": linked, "replaced": len(old)})
            return NetworkImport(op.name, len(networks), n_members, linked, len(old))

    @staticmethod
    def _categories(s: Session, operation_id: int, digests: set[str]) -> dict[str, str]:
        if not digests:
            return {}
        out: dict[str, str] = {}
        rows = s.scalars(select(Lead.evidence).join(Referral, Referral.id == Lead.referral_id)
                         .where(Referral.operation_id == operation_id))
        for evidence in rows:
            for event in evidence.get("timeline", []):
                content = event.get("content")
                if content in digests and content not in out:
                    out[content] = str(event.get("category"))
        return out

    @staticmethod
    def _member_leads(actor: Actor, scope: Scope) -> Select[*tuple[Any, ...]]:
        """(network id, lead id, subject, country, agency, score, state) of the member leads
        the actor may see."""
        query: Select[*tuple[Any, ...]] = (
            select(NetworkMember.network_id, Lead.id, Lead.subject_id, Lead.country,
                   Referral.agency_id, Lead.score, Outcome.state)
                 .join(Network, Network.id == NetworkMember.network_id)
                 .join(Lead, Lead.subject_id == NetworkMember.subject_id)
                 .join(Referral, Referral.id == Lead.referral_id)
                 .join(Outcome, Outcome.lead_id == Lead.id)
                 .where(Referral.operation_id == Network.operation_id))
        return lead_scope(query, actor, scope)

    def _networks(self, actor: Actor, scope: Scope) -> Select[*tuple[Any, ...]]:
        query: Select[*tuple[Any, ...]] = (select(Network, Operation.name)
                 .join(Operation, Operation.id == Network.operation_id))
        if scope is Scope.OWN_AGENCY:
            visible = self._member_leads(actor, scope).with_only_columns(
                NetworkMember.network_id).correlate(None)
            query = query.where(Network.id.in_(visible))
        return query

    def _counts(self, s: Session, actor: Actor, scope: Scope, ids: list[int],
                ) -> dict[int, int]:
        if not ids:
            return {}
        sub = self._member_leads(actor, scope).where(NetworkMember.network_id.in_(ids)
                                                     ).subquery()
        rows = s.execute(select(sub.c.network_id, func.count(func.distinct(sub.c.id)))
                         .group_by(sub.c.network_id)).all()
        return {int(k): int(v) for k, v in rows}

    @staticmethod
    def _summary(n: Network, op: str, visible: int) -> NetworkSummary:
        return NetworkSummary(n.id, op, n.label, n.size, tuple(n.countries), n.known_earlier,
                              n.earlier_ref, n.first_seen, n.last_seen, visible)

    def list_networks(self, actor: Actor, *, operation: str | None = None,
                      ) -> tuple[NetworkSummary, ...]:
        """The networks the actor may see (an agency: those holding one of its leads),
        largest first. Audited ``network.list``."""
        with self._transaction(actor, "network.list") as s:
            scope = require(actor, Permission.READ_LEADS)
            query = self._networks(actor, scope)
            if operation is not None:
                query = query.where(Operation.name == operation)
            rows = s.execute(query.order_by(Network.size.desc(), Network.id)).all()
            counts = self._counts(s, actor, scope, [n.id for n, _ in rows])
            out = tuple(self._summary(n, op, counts.get(n.id, 0)) for n, op in rows)
            self._audit(s, actor, "network.list", details={"operation": operation,
                                                           "returned": len(out)})
            return out

    def get_network(self, actor: Actor, network_id: int) -> NetworkDetail:
        """A network: member counts per country, the member leads the actor may see, core
        files and co-sharing edges. Another agency's network (none of the actor's leads in
        it) is "not found". Audited ``network.read`` with the leads shown."""
        with self._transaction(actor, "network.read", "network", network_id) as s:
            scope = require(actor, Permission.READ_LEADS)
            row = s.execute(self._networks(actor, scope).where(Network.id == network_id)
                            ).first()
            if row is None:
                raise NotFoundError(f"network {network_id} not found")
            network, op = row
            per_country = s.execute(
                select(NetworkMember.country, func.count())
                .where(NetworkMember.network_id == network.id)
                .group_by(NetworkMember.country)).all()
            leads_query = self._member_leads(actor, scope).where(
                NetworkMember.network_id == network.id)
            total = s.scalar(select(func.count()).select_from(leads_query.subquery())) or 0
            leads = tuple(MemberLead(lid, sid, c, agency, score, state)
                          for _n, lid, sid, c, agency, score, state in s.execute(
                              leads_query.order_by(Lead.score.desc(), Lead.id)
                              .limit(MAX_MEMBER_LEADS)).all())
            edges = self._edges(s, [x.lead_id for x in leads[:GRAPH_LEADS]])
            self._audit(s, actor, "network.read", "network", network.id,
                        {"lead_ids": [x.lead_id for x in leads]})
            counts = sorted(((c or "", int(k)) for c, k in per_country),
                            key=lambda x: (-x[1], x[0]))
            return NetworkDetail(
                self._summary(network, op, total), tuple(counts), leads, total,
                tuple(CoreFile(str(f["digest"]), f.get("category"))
                      for f in network.core_files),
                edges)

    @staticmethod
    def _edges(s: Session, lead_ids: list[int]) -> tuple[tuple[int, int, int], ...]:
        if len(lead_ids) < 2:
            return ()
        files: dict[int, set[str]] = {}
        for lid, evidence in s.execute(select(Lead.id, Lead.evidence)
                                       .where(Lead.id.in_(lead_ids))).all():
            files[int(lid)] = {str(e.get("content")) for e in evidence.get("timeline", [])}
        out = []
        for a, b in combinations(sorted(files), 2):
            shared = len(files[a] & files[b])
            if shared:
                out.append((a, b, shared))
        return tuple(out)
