"""Named random streams: reproducible per (seed, name), independent of use order."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from icarus.core.errors import UsageError
from icarus.sim.rng import Streams, draw_distinct, pareto_int, ranks, stream_key, zipf_weights


def test_same_seed_and_name_give_the_same_draws() -> None:
    a = Streams(42).get("population.roles").random(100)
    b = Streams(42).get("population.roles").random(100)
    assert np.array_equal(a, b)


def test_each_get_restarts_the_stream() -> None:
    streams = Streams(1)
    first = streams.get("x").integers(0, 1 << 30, 10)
    again = streams.get("x").integers(0, 1 << 30, 10)
    assert np.array_equal(first, again)


def test_names_and_seeds_give_independent_streams() -> None:
    base = Streams(1).get("geo").random(50)
    assert not np.array_equal(base, Streams(1).get("geo2").random(50))
    assert not np.array_equal(base, Streams(2).get("geo").random(50))


def test_a_stream_does_not_depend_on_other_streams_use() -> None:
    quiet = Streams(9)
    busy = Streams(9)
    busy.get("other").random(10_000)
    assert np.array_equal(quiet.get("target").random(20), busy.get("target").random(20))


def test_stream_key_is_crc32_of_the_utf8_name() -> None:
    assert stream_key("behaviour.sessions.0") == zlib.crc32(b"behaviour.sessions.0")
    assert stream_key("é") == zlib.crc32("é".encode())


def test_the_generator_matches_the_documented_derivation() -> None:
    seq = np.random.SeedSequence(entropy=5, spawn_key=(zlib.crc32(b"content"),))
    expected = np.random.default_rng(seq).random(5)
    assert np.array_equal(Streams(5).get("content").random(5), expected)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_bad_seeds_are_refused(seed: object) -> None:
    with pytest.raises(UsageError, match="seed"):
        Streams(seed)  # type: ignore[arg-type]


def test_empty_stream_name_is_refused() -> None:
    with pytest.raises(UsageError, match="name"):
        Streams(0).get("")


def test_pareto_int_has_the_exact_integer_ccdf() -> None:
    x = pareto_int(Streams(1).get("t"), np.full(200_000, 1.21))
    assert x.min() >= 1
    for k in (1, 2, 10, 100):
        assert (x >= k).mean() == pytest.approx(k ** -1.21, rel=0.05, abs=2e-4)


def test_ranks_number_positions_within_groups() -> None:
    assert ranks(np.array([2, 0, 3, 1])).tolist() == [0, 1, 0, 1, 2, 0]


def test_draw_distinct_gives_distinct_items_and_respects_held() -> None:
    rng = Streams(2).get("t")
    pool = np.arange(100, 160)
    need = np.array([0, 5, 60, 70, 30])
    held = (np.array([1, 1, 4]), np.array([100, 101, 500]))  # 500 is not in the pool
    owner, item = draw_distinct(rng, need, pool, zipf_weights(rng, pool.size, 1.0), held)
    got = np.bincount(owner, minlength=need.size)
    assert got.tolist() == [0, 5, 60, 60, 30]  # owner 3 asked for more than the pool
    assert len(set(zip(owner.tolist(), item.tolist(), strict=True))) == owner.size
    assert np.isin(item, pool).all()
    assert not ((owner == 1) & np.isin(item, [100, 101])).any()


def test_draw_distinct_favours_heavy_items() -> None:
    rng = Streams(3).get("t")
    weight = np.ones(1000)
    weight[:10] = 200.0
    owner, item = draw_distinct(rng, np.full(2000, 3), np.arange(1000), weight)
    assert (item < 10).mean() > 0.5  # 10 items hold ~2/3 of the weight
    assert owner.size == 6000
