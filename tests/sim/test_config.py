"""World configuration: presets, TOML overrides with clear refusals, and the TOML it writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from icarus.core.errors import ConfigError
from icarus.sim.config import (
    SCALES,
    WorldConfig,
    config_to_toml,
    load_config,
    preset,
)


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "world.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_presets_grow_with_scale() -> None:
    people = [preset(s, seed=1).population.people for s in SCALES]
    assert people == sorted(people) and len(set(people)) == len(people)
    assert preset("tiny", seed=1).population.people == 300
    assert preset("small", seed=1).population.people == 3000


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ConfigError, match="huge"):
        load_config("huge", seed=1)


def test_window_defaults_are_utc_and_end_follows_days() -> None:
    cfg = load_config("tiny", seed=3)
    assert cfg.window.start.utcoffset() == timedelta(0)
    assert (cfg.end - cfg.window.start).days == cfg.window.days


def test_overrides_apply_on_top_of_the_preset(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[population]\npeople = 5000\nbenign_share = 0.4\n"
                           "[window]\nstart = 2023-01-02T03:00:00+02:00\n")
    cfg = load_config("tiny", path, seed=1)
    assert cfg.population.people == 5000
    assert cfg.population.benign_share == 0.4
    assert cfg.population.networks == preset("tiny", seed=1).population.networks
    assert cfg.window.start == datetime(2023, 1, 2, 1, 0, tzinfo=UTC)
    assert cfg.window.days == 14


def test_integers_are_accepted_for_floats(tmp_path: Path) -> None:
    cfg = load_config("tiny", _toml(tmp_path, "[behaviour]\nfiles_alpha = 2\n"), seed=1)
    assert cfg.behaviour.files_alpha == 2.0 and isinstance(cfg.behaviour.files_alpha, float)


@pytest.mark.parametrize(("text", "needle"), [
    ("[populaton]\npeople = 1\n", "unknown key 'populaton'"),
    ("[population]\nfolk = 1\n", "population.folk: unknown key"),
    ("[population]\npeople = \"many\"\n", "population.people: expected int"),
    ("[population]\npeople = 2.5\n", "population.people: expected int"),
    ("[population]\npeople = true\n", "population.people: expected int"),
    ("[population]\nbenign_share = 1.5\n", "population.benign_share: 1.5 is outside"),
    ("[window]\nstart = 2024-01-01T00:00:00\n", "window.start: expected datetime with a UTC"),
    ("[geo]\ncountries = \"mars\"\n", "geo.countries must be one of"),
    ("[population]\nlease_days_min = 9.0\nlease_days_max = 2.0\n", "lease_days_min exceeds"),
    ("population = 3\n", "'population' must be a table"),
    ("[population\n", "not valid TOML"),
    ("seed = 2\n", "'seed' disagrees"),
    ("scale = \"large\"\n", "'scale' disagrees"),
])
def test_bad_overrides_name_the_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config("tiny", path, seed=1)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_missing_override_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config("tiny", tmp_path / "absent.toml", seed=1)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ConfigError, match="seed"):
        load_config("tiny", seed=-4)


def test_other_stages_tables_are_kept_verbatim(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[sensors]\nnoise = 0.1\nnames = [\"dk1\", \"se1\"]\n"
                           "[sensors.dk1]\nclock_skew_s = 30\n")
    cfg = load_config("small", path, seed=2)
    assert cfg.extra == {"sensors": {"noise": 0.1, "names": ["dk1", "se1"],
                                     "dk1": {"clock_skew_s": 30}}}


def test_written_toml_reads_back_to_the_same_config(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[population]\npeople = 1234\n[clients]\nlow_id_share = 0.25\n"
                           "[exhibits]\nlabel = \"quote \\\" and tab\\t\\u007f\"\n")
    cfg = load_config("medium", path, seed=77)
    text = config_to_toml(cfg)
    again = load_config("medium", _toml(tmp_path, text), seed=77)
    assert again == cfg
    assert config_to_toml(again) == text


def test_written_toml_is_deterministic_and_complete() -> None:
    cfg = load_config("tiny", seed=5)
    text = config_to_toml(cfg)
    assert text == config_to_toml(load_config("tiny", seed=5))
    assert text.startswith("seed = 5\nscale = \"tiny\"\n")
    for section in ("window", "geo", "population", "clients", "behaviour"):
        for f in dataclasses.fields(getattr(cfg, section)):
            assert f"\n{f.name} = " in text, f.name
    assert "start = 2024-04-01T00:00:00Z" in text


def test_every_parameter_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "sim" / "parameters.md").read_text(
        encoding="utf-8")
    cfg = preset("tiny", seed=1)
    for section in ("window", "geo", "population", "clients", "behaviour"):
        assert f"## `[{section}]`" in text, section
        for f in dataclasses.fields(getattr(cfg, section)):
            assert f"`{f.name}`" in text, f"{section}.{f.name} is missing from parameters.md"


def test_configs_are_frozen() -> None:
    cfg = preset("tiny", seed=1)
    assert isinstance(cfg, WorldConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.population.people = 3  # type: ignore[misc]
