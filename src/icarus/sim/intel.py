"""What earlier operations knew: the ``earlier-intel-v1`` JSON document of the world.

An earlier operation (another country's, or an old one of the same team) named some subjects
by their client identifiers, addresses it saw and country, and some sharing networks by a
name, their members and content digests. It knew part of the truth only: each identifier and
address of a subject is included with a probability, and a network's content is a sample of its
core collection. The format is ``docs/formats/earlier-intel-v1.md``; its JSON Schema is
``icarus/data/schemas/earlier-intel-v1.schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError, UsageError
from icarus.sim.rng import Streams

FORMAT = "icarus-earlier-intel"
VERSION = 1
IDENTIFIER_SHARE = 0.85
"""Chance that the intelligence has a given client identifier of a subject (ASSUMPTION)."""
ADDRESS_SHARE = 0.7
"""Chance that it has a given address seen before the operation (ASSUMPTION)."""
MAX_ADDRESSES = 3
_WORDS = ("Hypothetical", "Placeholder", "Specimen", "Surrogate", "Notional", "Proxy")
_KINDS = ("ed2k", "md5", "sha1")
_KIND_SHARES = (0.5, 0.3, 0.2)


@dataclass(frozen=True)
class EarlierIntel:
    """What the document says, keyed for the ground truth: refs -> person and network ids."""

    operation: str
    subjects: dict[str, int]
    networks: dict[str, int]


def _micros(column: pa.ChunkedArray) -> list[int]:
    return [int(v) for v in column.cast(pa.int64()).to_pylist()]


def _iso(micros: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def write_earlier_intel(persons: pa.Table, installs: pa.Table, leases: pa.Table,
                        networks: pa.Table, content: pa.Table, path: Path,
                        streams: Streams) -> EarlierIntel:
    """Write the intelligence of one earlier operation about the persons ``in_earlier_intel``
    and the networks ``known_earlier``; returns which ref names which person and network.

    The operation's date falls in the first half of the leases' span; subjects' addresses are
    leases that began before it, each with a time seen inside the lease and before the date.
    """
    rng = streams.get("hashsets.intel")
    first = pc.min(leases.column("start").cast(pa.int64())).as_py() or 0
    last = pc.max(leases.column("end").cast(pa.int64())).as_py() or first
    op_time = first + int(rng.uniform(0.3, 0.5) * (last - first))
    op_day = _iso(op_time)[:10]
    name = f"Operation {_WORDS[int(rng.integers(len(_WORDS)))]} {op_day[:4]}"
    code = f"EO-{op_day[:4]}-{int(rng.integers(1, 1000)):03d}"

    named = persons.filter(pc.field("in_earlier_intel"))
    person_ids = [int(p) for p in named.column("person_id").to_pylist()]
    order = rng.permutation(len(person_ids))
    subject_ref = {person_ids[int(j)]: f"{code}-S{n + 1:04d}" for n, j in enumerate(order)}
    known = networks.filter(pc.field("known_earlier")).sort_by("network_id").to_pylist()
    network_ref = {int(n["network_id"]): f"{code}-N{i + 1:03d}" for i, n in enumerate(known)}

    subjects = _subjects(named.to_pylist(), installs, leases, subject_ref, network_ref,
                         op_time, rng)
    members: dict[int, list[str]] = {}
    for person in named.to_pylist():
        if person["network_id"] is not None and int(person["network_id"]) in network_ref:
            members.setdefault(int(person["network_id"]), []).append(
                subject_ref[int(person["person_id"])])
    by_id = {int(r["content_id"]): r for r in content.select(
        ["content_id", "md5", "sha1", "ed2k"]).to_pylist()}
    networks_out = []
    for net in known:
        core = [int(c) for c in net["core_content"]]
        unknown = [c for c in core if c not in by_id]
        if unknown:
            raise UsageError(f"network {net['network_id']} lists content {unknown[0]}, which is "
                             "not in the content table")
        take = min(len(core), int(rng.integers(3, 16)))
        picked = sorted(int(core[int(j)]) for j in rng.choice(len(core), take, replace=False))
        kinds = rng.choice(len(_KINDS), take, p=_KIND_SHARES)
        networks_out.append({
            "ref": network_ref[int(net["network_id"])], "name": net["name"],
            "members": sorted(members.get(int(net["network_id"]), [])),
            "content": [{"kind": _KINDS[int(k)], "value": by_id[c][_KINDS[int(k)]].hex()}
                        for c, k in zip(picked, kinds, strict=True)],
        })
    doc = {"format": FORMAT, "version": VERSION,
           "operation": {"name": name, "reference": code, "date": op_day},
           "subjects": subjects, "networks": networks_out}
    try:
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    return EarlierIntel(name, {v: k for k, v in subject_ref.items()},
                        {v: k for k, v in network_ref.items()})


def _subjects(named: list[dict[str, Any]], installs: pa.Table, leases: pa.Table,
              subject_ref: dict[int, str], network_ref: dict[int, str], op_time: int,
              rng: np.random.Generator) -> list[dict[str, Any]]:
    ids = pa.array(sorted(subject_ref), pa.int32())
    their_installs: dict[int, list[dict[str, Any]]] = {}
    mine = installs.filter(pc.is_in(installs.column("person_id"), ids)).sort_by("install_id")
    for row in mine.to_pylist():
        their_installs.setdefault(int(row["person_id"]), []).append(row)
    their_leases: dict[int, list[tuple[int, int, str]]] = {}
    seen = leases.filter(pc.is_in(leases.column("person_id"), ids))
    for pid, ip, start, end in zip(seen.column("person_id").to_pylist(),
                                   seen.column("ip").to_pylist(),
                                   _micros(seen.column("start")), _micros(seen.column("end")),
                                   strict=True):
        if start < op_time:
            their_leases.setdefault(int(pid), []).append((start, min(end, op_time), ip))
    out = []
    for person in sorted(named, key=lambda p: subject_ref[int(p["person_id"])]):
        pid = int(person["person_id"])
        identifiers = []
        for inst in their_installs.get(pid, []):
            for kind, field in (("edonkey-user-hash", "user_hash"), ("gnutella-guid", "guid")):
                if inst[field] is not None and rng.random() < IDENTIFIER_SHARE:
                    entry = {"kind": kind, "value": inst[field].hex(), "client": inst["client"]}
                    if inst["nickname"] and rng.random() < 0.5:
                        entry["nickname"] = inst["nickname"]
                    identifiers.append(entry)
        addresses = []
        for start, end, ip in sorted(their_leases.get(pid, []))[-MAX_ADDRESSES:]:
            if rng.random() < ADDRESS_SHARE:
                addresses.append({"ip": ip, "seen": _iso(int(rng.integers(start, max(end,
                                                                                   start + 1))))})
        net = person["network_id"]
        out.append({
            "ref": subject_ref[pid], "country": person["country"],
            "network": network_ref.get(int(net)) if net is not None else None,
            "identifiers": identifiers, "addresses": addresses,
        })
    return out
