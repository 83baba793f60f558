"""Countries, home ISPs and anonymiser endpoints, checked against geoip2fast itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pytest
from geoip2fast import GeoIP2Fast

from icarus.core.errors import ConfigError
from icarus.sim.geo import Geo, derive_ranges, ip_ints, ip_strings, load_geo, utc_offsets
from icarus.sim.rng import Streams
from icarus.sim.tables import COUNTRIES

ARREST_COUNTRIES = {"AT", "BE", "BG", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "IE", "IT", "LU",
                    "MT", "NL", "PL", "SK", "ES", "SE", "HR", "NO", "CH"}  # field-measurements §1


@pytest.fixture(scope="module")
def geoip() -> Iterator[GeoIP2Fast]:
    # geoip2fast keeps its data in module globals: load the ASN file right before use.
    yield GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")


@pytest.fixture(scope="module")
def world() -> Geo:
    return load_geo("world")


def _resolve(geoip: GeoIP2Fast, ips: list[str]) -> list[tuple[str, str]]:
    GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")  # in case another loaded others
    return [(h.country_code, h.asn_name) for h in map(geoip.lookup, ips)]


def test_operation_set_is_the_26_icarus_countries() -> None:
    geo = load_geo("operation")
    assert len(geo.codes) == 26
    assert set(geo.codes) >= ARREST_COUNTRIES
    assert geo.in_operation.all()
    assert geo.weights.sum() == pytest.approx(1.0)
    assert geo.weights[geo.codes.index("DE")] > geo.weights[geo.codes.index("MT")] * 50


def test_world_set_adds_countries_outside_the_operation(world: Geo) -> None:
    assert {"US", "BR", "IN"} <= set(world.codes)
    outside = {c for c, op in zip(world.codes, world.in_operation, strict=True) if not op}
    assert {"US", "BR", "IN"} <= outside and not outside & ARREST_COUNTRIES
    table = world.countries_table()
    assert table.schema == COUNTRIES and table.num_rows == len(world.codes)


def test_unknown_country_set_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"geo\.countries"):
        load_geo("europe")


def test_every_country_has_an_offset_and_a_home_isp(world: Geo) -> None:
    offsets = utc_offsets()
    assert set(world.codes) <= set(offsets)
    assert set(world.codes) <= set(world.home.country)


def test_countries_are_drawn_by_weight() -> None:
    geo = load_geo("operation")
    drawn = geo.draw_countries(40_000, Streams(3).get("t"))
    share = np.bincount(drawn, minlength=len(geo.codes)) / drawn.size
    assert np.abs(share - geo.weights).max() < 0.01


def test_every_bundled_block_resolves_to_its_country_and_org(world: Geo,
                                                             geoip: GeoIP2Fast) -> None:
    for holders in (world.home, world.vpn, world.tor):
        first = holders.block_first.astype(np.int64)
        ends = np.concatenate([first, first + holders.block_size - 1])
        got = _resolve(geoip, ip_strings(ends).to_pylist())
        owner = np.concatenate([holders.block_holder, holders.block_holder])
        want = [(holders.country[h], holders.org[h]) for h in owner]
        assert got == want


def test_drawn_home_addresses_resolve_to_the_persons_country_and_isp(
        world: Geo, geoip: GeoIP2Fast) -> None:
    rng = Streams(11).get("t")
    country = world.draw_countries(3000, rng)
    isp = world.draw_home_isps(country, rng)
    addr = world.home.draw_addresses(isp, rng)
    assert [world.home.country[i] for i in isp] == [world.codes[c] for c in country]
    got = _resolve(geoip, ip_strings(addr).to_pylist())
    assert got == [(world.codes[c], world.home.org[i]) for c, i in zip(country, isp, strict=True)]
    assert not np.isin(addr & 0xFF, [0, 255]).any()  # .0 would read as an eMule LowID


def test_anonymiser_endpoints_resolve_to_their_own_country(world: Geo,
                                                           geoip: GeoIP2Fast) -> None:
    rng = Streams(12).get("t")
    for holders in (world.vpn, world.tor):
        pick = rng.integers(0, len(holders.org), size=400)
        got = _resolve(geoip, ip_strings(holders.draw_addresses(pick, rng)).to_pylist())
        assert got == [(holders.country[h], holders.org[h]) for h in pick]


def test_isps_in_a_country_are_drawn_by_address_share(world: Geo) -> None:
    de = world.codes.index("DE")
    isp = world.draw_home_isps(np.full(20_000, de), Streams(2).get("t"))
    mine = np.flatnonzero(world.home.country_idx == de)
    expected = world.home.weight[mine] / world.home.weight[mine].sum()
    got = np.bincount(isp, minlength=len(world.home.org))[mine] / isp.size
    assert np.abs(got - expected).max() < 0.02


def test_ip_strings_and_ints_are_inverse() -> None:
    addr = np.array([1, 0x7F000001, 0xC0000201, 0xFFFFFFFF], dtype=np.uint32)
    text = ip_strings(addr)
    assert text.to_pylist() == ["0.0.0.1", "127.0.0.1", "192.0.2.1", "255.255.255.255"]
    assert np.array_equal(ip_ints(text), addr)


def test_bundled_ranges_match_a_fresh_derivation() -> None:
    path = resources.files("icarus").joinpath("data", "sim", "ranges.json")
    bundled = {(h["org"], h["country"]): h for h in json.loads(path.read_text())["holders"]}
    sample = [{"kind": "home", "country": "DK", "asn": 3292, "org": "TDC Holding A/S"},
              {"kind": "tor", "country": "AT", "asn": 208323,
               "org": "Foundation for Applied Privacy"}]
    derived = derive_ranges(sample)["holders"]
    for h in derived:
        assert h == bundled[(h["org"], h["country"])]
