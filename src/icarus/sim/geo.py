"""Where the synthetic world's people live and which addresses they come from.

Countries and their weights come from ``icarus/data/sim/countries.json``; address holders (home
ISPs, VPN hosting providers, Tor-exit organisations) from ``isps.json``; and the address blocks
each holder owns in each country from ``ranges.json``, which ``python -m icarus.sim.geo derive``
builds from the offline geoip2fast database (GeoLite2 2024-06-18). Every block is homogeneous in
that database: each of its addresses resolves to the block's country and AS organisation, so
any address drawn here geolocates as the world's truth says. The tables are bundled rather than
derived at run time, so a newer geoip2fast cannot silently change a world; a test re-checks them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import ConfigError, InternalError
from icarus.sim.tables import COUNTRIES

__all__ = ["COUNTRY_SETS", "Geo", "Holders", "ip_ints", "ip_strings", "load_geo", "utc_offsets"]

COUNTRY_SETS = ("operation", "world")
"""``operation``: the 26 countries of Operation Icarus; ``world``: those plus 14 others."""

_DATA = ("data", "sim")


def _read_json(name: str) -> dict[str, Any]:
    path = resources.files("icarus").joinpath(*_DATA, name)
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InternalError(f"{path}: bundled data unreadable: {exc}") from exc
    return doc


@dataclass(frozen=True)
class Holders:
    """Address holders of one kind (home, vpn or tor) and the blocks they own.

    ``country`` is the ISO code of the holder's blocks; ``country_idx`` indexes ``Geo.codes``
    (-1 for a country outside the chosen set, possible for vpn/tor endpoints). Blocks are
    sorted by holder; ``block_first``/``block_size`` give each block's first address (as an
    unsigned 32-bit integer) and its number of addresses.
    """

    country: tuple[str, ...]
    country_idx: np.ndarray
    asn: np.ndarray
    org: tuple[str, ...]
    weight: np.ndarray  # addresses the holder has in that country (relative weight)
    block_holder: np.ndarray
    block_first: np.ndarray
    block_size: np.ndarray

    def draw_addresses(self, holder: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One address (uint32) per entry of ``holder``, uniform over the holder's blocks.

        Addresses ending in .0 or .255 are moved one step inwards: eMule reads an IPv4
        ending in .0 as a LowID, and .255 looks like a broadcast address.
        """
        holder = np.asarray(holder, dtype=np.int64)
        pick = _pick_within_groups(self.block_holder, self.block_size.astype(np.float64),
                                   holder, rng.random(holder.size))
        offset = np.floor(rng.random(holder.size) * self.block_size[pick]).astype(np.int64)
        addr = self.block_first[pick].astype(np.int64) + offset
        last = addr & 0xFF
        addr = addr + (last == 0) - (last == 0xFF)
        first = self.block_first[pick].astype(np.int64)
        out: np.ndarray = np.clip(addr, first, first + self.block_size[pick] - 1)
        return out.astype(np.uint32)


@dataclass(frozen=True)
class Geo:
    """The countries of a world, their weights, and the address holders in them."""

    country_set: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    weights: np.ndarray  # share of the world's people; sums to 1
    in_operation: np.ndarray
    home: Holders
    vpn: Holders
    tor: Holders

    def countries_table(self) -> pa.Table:
        """The COUNTRIES truth table of this world."""
        return pa.table({"country": list(self.codes), "name": list(self.names),
                         "weight": self.weights, "in_operation": self.in_operation},
                        schema=COUNTRIES)

    def draw_countries(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` country indexes (into ``codes``) drawn by weight."""
        return rng.choice(len(self.codes), size=n, p=self.weights).astype(np.int32)

    def draw_home_isps(self, country: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A home ISP (index into ``home``) per country index, by the ISP's address share."""
        group = self.home.country_idx
        return _pick_within_groups(group, self.home.weight, np.asarray(country, np.int64),
                                   rng.random(len(country)))


def _pick_within_groups(group: np.ndarray, weight: np.ndarray, want: np.ndarray,
                        u: np.ndarray) -> np.ndarray:
    """For each ``want[i]`` an index ``j`` with ``group[j] == want[i]``, chosen by ``weight``.

    ``group`` must be sorted ascending. Vectorised: cumulative weights are normalised within
    each group and offset by the group's value, so one searchsorted serves all groups.
    """
    values, starts, counts = np.unique(group, return_index=True, return_counts=True)
    totals = np.add.reduceat(weight, starts)
    rank = np.searchsorted(values, want)
    if np.any(rank >= values.size) or np.any(values[np.minimum(rank, values.size - 1)] != want):
        raise InternalError("address holder requested for a group that has none")
    within = np.cumsum(weight) - np.repeat(np.cumsum(totals) - totals, counts)
    key = np.repeat(np.arange(values.size, dtype=np.float64), counts) + within / np.repeat(
        totals, counts)
    pick = np.searchsorted(key, rank + u * (1 - 1e-12), side="right")
    out: np.ndarray = np.minimum(pick, starts[rank] + counts[rank] - 1)
    return out


def _holders(kind: str, ranges: list[dict[str, Any]], codes: tuple[str, ...]) -> Holders:
    rows = [r for r in ranges if r["kind"] == kind and (kind != "home" or r["country"] in codes)]
    if kind == "home":  # group by country index so draws can be vectorised per country
        rows.sort(key=lambda r: codes.index(r["country"]))
    holder, first, size = [], [], []
    for i, row in enumerate(rows):
        for lo, hi in row["blocks"]:
            a, b = _ip_int(lo), _ip_int(hi)
            holder.append(i)
            first.append(a)
            size.append(b - a + 1)
    return Holders(
        country=tuple(r["country"] for r in rows),
        country_idx=np.array([codes.index(r["country"]) if r["country"] in codes else -1
                              for r in rows], dtype=np.int64),
        asn=np.array([r["asn"] for r in rows], dtype=np.int64),
        org=tuple(r["org"] for r in rows),
        weight=np.array([r["addresses"] for r in rows], dtype=np.float64),
        block_holder=np.array(holder, dtype=np.int64),
        block_first=np.array(first, dtype=np.uint32),
        block_size=np.array(size, dtype=np.int64),
    )


def load_geo(country_set: str = "operation") -> Geo:
    """The countries of ``country_set`` with weights by Internet users, and their holders."""
    if country_set not in COUNTRY_SETS:
        raise ConfigError(f"geo.countries must be one of {', '.join(COUNTRY_SETS)}, "
                          f"got {country_set!r}")
    countries = [c for c in _read_json("countries.json")["countries"]
                 if country_set == "world" or c["in_operation"]]
    codes = tuple(c["country"] for c in countries)
    users = np.array([c["users_m"] for c in countries], dtype=np.float64)
    ranges = _read_json("ranges.json")["holders"]
    geo = Geo(country_set=country_set, codes=codes, names=tuple(c["name"] for c in countries),
              weights=users / users.sum(),
              in_operation=np.array([c["in_operation"] for c in countries], dtype=bool),
              home=_holders("home", ranges, codes), vpn=_holders("vpn", ranges, codes),
              tor=_holders("tor", ranges, codes))
    missing = set(codes) - set(geo.home.country)
    if missing:
        raise InternalError(f"ranges.json has no home ISP for {', '.join(sorted(missing))}")
    return geo


def _ip_int(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def utc_offsets() -> dict[str, float]:
    """Each known country's standard-time offset from UTC in hours (for daily rhythms)."""
    return {c["country"]: float(c["utc_offset"])
            for c in _read_json("countries.json")["countries"]}


def ip_ints(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """uint32 values of dotted-quad IPv4 strings (the inverse of ``ip_strings``)."""
    parts = pc.list_flatten(pc.split_pattern(text, "."))
    octets = np.asarray(parts.cast(pa.int64())).reshape(-1, 4)
    out: np.ndarray = ((octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8)
                       | octets[:, 3]).astype(np.uint32)
    return out


def ip_strings(addr: np.ndarray) -> pa.Array:
    """Dotted-quad strings of uint32 IPv4 addresses, vectorised with Arrow compute."""
    a = np.asarray(addr, dtype=np.uint32)
    parts = [pa.array((a >> s) & 0xFF).cast(pa.string()) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*parts, ".")


# --- Deriving ranges.json from geoip2fast (maintenance; not used when building a world) ------

def _asn_networks() -> list[tuple[int, int, str]]:
    """Every IPv4 network of geoip2fast's ASN data as (first, last, AS organisation name).

    geoip2fast's public API looks single addresses up but cannot list networks, so this one
    function reads the module-level lists its loader fills (``mainListFirstIPASN`` ...,
    geoip2fast 1.2.x, data version 120). Everything else goes through ``lookup``.
    """
    import geoip2fast.geoip2fast as g2f

    g2f.GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")
    out = []
    for firsts, ids, lengths in zip(g2f.mainListFirstIPASN, g2f.mainListIDASN,
                                    g2f.mainListNetlengthASN, strict=True):
        for first, asn_id, length in zip(firsts, ids, lengths, strict=True):
            if first <= 0xFFFFFFFF:
                out.append((first, first + 2 ** (32 - length) - 1, g2f.mainListNamesASN[asn_id]))
    return out


def derive_ranges(holders: list[dict[str, Any]], *, per_holder: int = 6,
                  min_size: int = 16) -> dict[str, Any]:
    """ranges.json's content: for each holder, its largest blocks that geoip2fast resolves
    wholly to the holder's country and organisation, and its total addresses there.

    A block is the intersection of one ASN network with one country network, found by walking
    the ASN network with ``lookup``; both are CIDR blocks, so the intersection is homogeneous.
    """
    import ipaddress

    from geoip2fast import GeoIP2Fast

    networks = _asn_networks()
    geoip = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")  # reloads its globals
    wanted = {(h["org"], h["country"]) for h in holders}
    orgs = {h["org"] for h in holders}
    found: dict[tuple[str, str], list[tuple[int, int]]] = {k: [] for k in wanted}
    for first, last, org in networks:
        if org not in orgs:
            continue
        ip = first
        while ip <= last:
            hit = geoip.lookup(str(ipaddress.IPv4Address(ip)))
            if not hit.cidr:
                break
            end = min(last, int(ipaddress.IPv4Network(hit.cidr).broadcast_address))
            if (org, hit.country_code) in wanted and hit.asn_name == org:
                found[(org, hit.country_code)].append((ip, end))
            ip = end + 1
    out = []
    for h in holders:
        blocks = found[(h["org"], h["country"])]
        best = sorted((b for b in blocks if b[1] - b[0] + 1 >= min_size),
                      key=lambda b: (b[0] - b[1], b[0]))[:per_holder]
        if not best:
            raise InternalError(f"geoip2fast has no block of {h['org']!r} in {h['country']}")
        out.append({**h, "addresses": sum(b - a + 1 for a, b in blocks),
                    "blocks": [[str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))]
                               for a, b in sorted(best)]})
    return {"about": "Derived from isps.json by `python -m icarus.sim.geo derive` from geoip2fast "
            f"{geoip.get_database_info()['source_info']}. addresses: all the holder's addresses "
            "in that country (its weight); blocks: its largest blocks, inclusive.",
            "holders": out}


def main(argv: list[str] | None = None) -> int:
    """``python -m icarus.sim.geo derive OUT.json``: rebuild ranges.json from isps.json."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "derive":
        print("usage: python -m icarus.sim.geo derive OUT.json", file=sys.stderr)
        return 2
    doc = derive_ranges(_read_json("isps.json")["holders"])
    lines = [f"    {json.dumps(h, ensure_ascii=False)}" for h in doc["holders"]]
    text = ('{\n  "about": ' + json.dumps(doc["about"]) + ',\n  "holders": [\n'
            + ",\n".join(lines) + "\n  ]\n}\n")
    Path(args[1]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
