"""Where sightings come from: country and AS organisation of addresses, anonymiser endpoints,
and a subject's jurisdiction.

The default database is geoip2fast 1.2.2's ``geoip2fast-asn.dat.gz`` (MaxMind GeoLite2 Country
and ASN of 2024-06-18; attribution required by MaxMind's GeoLite2 EULA). It gives a country
code and the AS organisation *name*, never the AS number, so anonymiser endpoints are
recognised by organisation name (``icarus/data/intel/anonymisers.json``). geoip2fast keeps its
data in module-level globals: one instance is created per process and reused. Another database
(a MaxMind ``.mmdb``) plugs in through :class:`GeoDatabase`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import InputError, InternalError

__all__ = ["AnonymiserList", "GeoDatabase", "Geoip2FastDatabase", "Locator", "default_locator",
           "is_anonymiser", "jurisdictions", "locate"]

AnonymiserKind = Literal["vpn", "hosting", "tor"]
_KINDS = ("vpn", "hosting", "tor")

LOCATIONS = pa.schema([
    pa.field("country", pa.string()),  # ISO 3166-1 alpha-2; null if unknown or private
    pa.field("asn_name", pa.string()),  # AS organisation name; null if unknown
    pa.field("anonymiser", pa.string()),  # vpn | hosting | tor; null for other addresses
])


class GeoDatabase(Protocol):
    """An offline address database: what a :class:`Locator` needs of it."""

    name: str
    """Which data it is, for reports (product and data date)."""

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        """``(country code, AS organisation name)`` of ``ip``; ``None`` for what is unknown."""
        ...


class Geoip2FastDatabase:
    """geoip2fast's bundled GeoLite2 Country+ASN data (2024-06-18). Load it once per process."""

    name = "geoip2fast 1.2.2 geoip2fast-asn.dat.gz (MaxMind GeoLite2, 2024-06-18)"

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast

        self._db = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        """Country and AS organisation; private, unknown and invalid addresses give Nones."""
        hit = self._db.lookup(ip)
        country = str(hit.country_code)
        org = str(hit.asn_name)
        if hit.is_private or len(country) != 2 or country == "--":
            return None, None
        return country, (org or None)


@dataclass(frozen=True)
class AnonymiserList:
    """Organisations (by exact AS organisation name, any case) and addresses of anonymisers."""

    organisations: Mapping[str, AnonymiserKind]
    """Lower-cased organisation name → kind."""
    addresses: Mapping[str, AnonymiserKind] = field(default_factory=dict)
    """Individual addresses (e.g. a Tor exit list of the observation dates) → kind."""

    @classmethod
    def bundled(cls) -> AnonymiserList:
        """The documented list of ``icarus/data/intel/anonymisers.json`` (see its README)."""
        path = resources.files("icarus").joinpath("data", "intel", "anonymisers.json")
        try:
            doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            orgs = {str(o["name"]).lower(): o["kind"] for o in doc["organisations"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InternalError(f"{path}: bundled data unreadable: {exc}") from exc
        if bad := sorted(k for k in orgs.values() if k not in _KINDS):
            raise InternalError(f"{path}: unknown anonymiser kind {bad[0]!r}")
        return cls(orgs)

    def kind(self, ip: str, asn_name: str | None) -> AnonymiserKind | None:
        """The anonymiser kind of an address, or ``None`` if it is not a known endpoint."""
        if ip in self.addresses:
            return self.addresses[ip]
        return self.organisations.get(asn_name.lower()) if asn_name else None


class Locator:
    """Looks addresses up once each (over the unique addresses of a column)."""

    def __init__(self, database: GeoDatabase | None = None,
                 anonymisers: AnonymiserList | None = None) -> None:
        self.database = database if database is not None else Geoip2FastDatabase()
        self.anonymisers = anonymisers if anonymisers is not None else AnonymiserList.bundled()

    def locate(self, ips: pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Table:
        """A :data:`LOCATIONS` row per address of ``ips``, in order (each address looked up
        once). Null addresses give null columns."""
        column = ips if isinstance(ips, pa.Array | pa.ChunkedArray) else pa.array(ips, pa.string())
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = column.dictionary_encode()
        country, org, anon = [], [], []
        for ip in encoded.dictionary.to_pylist():
            c, o = self.database.lookup(ip)
            country.append(c)
            org.append(o)
            anon.append(self.anonymisers.kind(ip, o))
        idx = encoded.indices
        return pa.table([pa.array(country, pa.string()).take(idx), pa.array(org, pa.string())
                         .take(idx), pa.array(anon, pa.string()).take(idx)], schema=LOCATIONS)

    def is_anonymiser(self, ip: str) -> AnonymiserKind | None:
        """``vpn``, ``hosting`` or ``tor`` if ``ip`` is a known anonymiser endpoint, else None."""
        return self.anonymisers.kind(ip, self.database.lookup(ip)[1])


_DEFAULT: list[Locator] = []


def default_locator() -> Locator:
    """The process-wide locator on the bundled database and list (created on first use)."""
    if not _DEFAULT:
        _DEFAULT.append(Locator())
    return _DEFAULT[0]


def locate(ips: pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Table:
    """Country, AS organisation name and anonymiser kind of each address (default locator)."""
    return default_locator().locate(ips)


def is_anonymiser(ip: str) -> AnonymiserKind | None:
    """The anonymiser kind of one address with the default locator, or ``None``."""
    return default_locator().is_anonymiser(ip)


JURISDICTIONS = pa.schema([
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("country", pa.string()),  # null unless status is "located"
    pa.field("share", pa.float64()),  # of the located sightings, those in that country
    pa.field("sightings_located", pa.int64(), nullable=False),
    pa.field("sightings_anonymised", pa.int64(), nullable=False),
    pa.field("status", pa.string(), nullable=False),  # located | anonymised | unlocated
])


def jurisdictions(subject_ids: pa.Array | pa.ChunkedArray, ips: pa.Array | pa.ChunkedArray,
                  *, locator: Locator | None = None) -> pa.Table:
    """Each subject's country: the country of its non-anonymiser sightings, by majority of
    sightings (ties: the code that sorts first).

    ``subject_ids[i]`` is the subject of the sighting seen from ``ips[i]``. Sightings from
    anonymiser endpoints never count (they show the exit's country); a subject seen only
    through them has status ``anonymised`` and no country, one with no locatable address
    ``unlocated``. Rows are sorted by subject id.
    """
    if len(subject_ids) != len(ips):
        raise InputError(f"{len(subject_ids)} subject ids for {len(ips)} addresses")
    loc = (locator or default_locator()).locate(ips)
    subj = pc.dictionary_encode(subject_ids)
    if isinstance(subj, pa.ChunkedArray):
        subj = subj.combine_chunks()
    names = subj.dictionary
    s = np.asarray(subj.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    anon = np.asarray(pc.is_valid(loc["anonymiser"]).to_numpy(), dtype=bool)
    has_country = np.asarray(pc.is_valid(loc["country"]).to_numpy(), dtype=bool)
    usable = ~anon & has_country
    ctry = pc.dictionary_encode(pc.fill_null(loc["country"], "")).combine_chunks()
    codes = ctry.dictionary.to_pylist()
    c = np.asarray(ctry.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    n = len(names)
    located = np.bincount(s[usable], minlength=n)
    anonymised = np.bincount(s[anon], minlength=n)
    # Majority country per subject: rank country codes alphabetically so ties go to the first.
    rank = np.argsort(np.argsort(np.array(codes, dtype=object)))
    key_s, key_c = s[usable], rank[c[usable]]
    best: dict[int, tuple[int, int]] = {}
    if key_s.size:
        pairs, counts = np.unique(key_s * len(codes) + key_c, return_counts=True)
        order = np.lexsort((pairs % len(codes), -counts, pairs // len(codes)))
        for p, k in zip(pairs[order].tolist(), counts[order].tolist(), strict=True):
            best.setdefault(p // len(codes), (p % len(codes), k))
    by_rank = {int(r): codes[i] for i, r in enumerate(rank)}
    rows = _jurisdiction_rows(names.to_pylist(), located, anonymised, best, by_rank)
    table = pa.Table.from_pylist(rows, schema=JURISDICTIONS)
    return table.take(pc.sort_indices(table["subject_id"]))


def _jurisdiction_rows(names: Iterable[str], located: np.ndarray, anonymised: np.ndarray,
                       best: Mapping[int, tuple[int, int]],
                       by_rank: Mapping[int, str]) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names):
        win = best.get(i)
        status = "located" if win else ("anonymised" if anonymised[i] else "unlocated")
        rows.append({"subject_id": name, "country": by_rank[win[0]] if win else None,
                     "share": win[1] / int(located[i]) if win else None,
                     "sightings_located": int(located[i]),
                     "sightings_anonymised": int(anonymised[i]), "status": status})
    return rows
