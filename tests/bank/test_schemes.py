"""Category schemes: each jurisdiction's values onto the one Icarus model."""

from __future__ import annotations

from pathlib import Path

import pytest

from icarus.bank.schemes import (
    SCHEMES,
    FixedScheme,
    Mapped,
    load_custom_scheme,
    scheme_for,
    vics_us_code,
)
from icarus.core.errors import InputError, UsageError
from icarus.domain.categories import Category, Severity

C, S = Category, Severity
NO_FLAGS: frozenset[str] = frozenset()


def test_registered_names() -> None:
    assert set(SCHEMES.names()) == {"vics-us", "dhs-legacy", "uk-caid", "icse", "nsrl",
                                    "uncategorised", "custom"}


@pytest.mark.parametrize(("scheme", "value", "category", "severity"), [
    ("vics-us", "0", C.NON_PERTINENT, S.NONE),
    ("vics-us", "1", C.CSAM, S.MEDIUM),
    ("vics-us", "2", C.EXPLOITATIVE, S.NONE),
    ("vics-us", "3", C.CGI, S.NONE),
    ("vics-us", "4", C.COMPARISON, S.NONE),
    ("vics-us", None, C.UNCATEGORISED, S.NONE),
    ("vics-us", " 01 ", C.CSAM, S.MEDIUM),
    ("dhs-legacy", "0", C.UNCATEGORISED, S.NONE),
    ("dhs-legacy", "1", C.CSAM, S.MEDIUM),
    ("dhs-legacy", "2", C.EXPLOITATIVE, S.NONE),
    ("dhs-legacy", "3", C.CGI, S.NONE),
    ("dhs-legacy", "4", C.COMPARISON, S.NONE),
    ("dhs-legacy", "5", C.NON_PERTINENT, S.NONE),
    ("uk-caid", "A", C.CSAM, S.HIGH),
    ("uk-caid", "b", C.CSAM, S.MEDIUM),
    ("uk-caid", "Category C", C.CSAM, S.LOW),
    ("uk-caid", "cat a", C.CSAM, S.HIGH),
    ("uk-caid", "1", C.CSAM, S.HIGH),
    ("uk-caid", "2", C.CSAM, S.MEDIUM),
    ("uk-caid", "3", C.CSAM, S.LOW),
    ("uk-caid", "0", C.NON_PERTINENT, S.NONE),
    ("icse", None, C.CSAM, S.MEDIUM),
    ("nsrl", None, C.KNOWN_SOFTWARE, S.NONE),
    ("uncategorised", None, C.UNCATEGORISED, S.NONE),
])
def test_known_values(scheme: str, value: str | None, category: Category,
                      severity: Severity) -> None:
    assert SCHEMES.get(scheme).map(value, NO_FLAGS) == Mapped(category, severity, known=True)


@pytest.mark.parametrize(("scheme", "value"), [
    ("vics-us", "5"), ("vics-us", "-1"), ("vics-us", "A"), ("dhs-legacy", "6"),
    ("uk-caid", "D"), ("uk-caid", "4"),
])
def test_unknown_values_are_uncategorised_and_flagged(scheme: str, value: str) -> None:
    assert SCHEMES.get(scheme).map(value, NO_FLAGS) == Mapped(C.UNCATEGORISED, S.NONE,
                                                             known=False)


def test_zero_means_different_things_by_scheme() -> None:
    assert SCHEMES.get("vics-us").map("0", NO_FLAGS).category is C.NON_PERTINENT
    assert SCHEMES.get("dhs-legacy").map("0", NO_FLAGS).category is C.UNCATEGORISED


def test_icse_baseline_is_high() -> None:
    icse = SCHEMES.get("icse")
    assert icse.map(None, frozenset({"baseline"})) == Mapped(C.CSAM, S.HIGH)
    assert icse.map(None, frozenset({"distributed"})) == Mapped(C.CSAM, S.MEDIUM)


def test_fixed_scheme_and_its_name_round_trip() -> None:
    fixed = FixedScheme(C.CSAM)
    assert fixed.NAME == "fixed:csam:medium"
    assert fixed.map("whatever", NO_FLAGS) == Mapped(C.CSAM, S.MEDIUM)
    assert FixedScheme(C.COMPARISON).map(None, NO_FLAGS) == Mapped(C.COMPARISON, S.NONE)
    again = scheme_for(fixed.NAME)
    assert again.NAME == fixed.NAME
    assert scheme_for("fixed:csam:high").map(None, NO_FLAGS) == Mapped(C.CSAM, S.HIGH)


def test_scheme_for_category_applies_to_uncategorised_lists_only() -> None:
    assert scheme_for("uncategorised", category="csam").NAME == "fixed:csam:medium"
    with pytest.raises(UsageError, match="has its own categories"):
        scheme_for("vics-us", category="csam")
    with pytest.raises(UsageError, match="unknown category 'evil'"):
        scheme_for("uncategorised", category="evil")


def test_scheme_for_names_and_errors(tmp_path: Path) -> None:
    assert scheme_for("VICS-US").NAME == "vics-us"
    with pytest.raises(UsageError, match="choose one of"):
        scheme_for("vic-canada")
    with pytest.raises(UsageError, match="needs a scheme file"):
        scheme_for("custom")
    with pytest.raises(UsageError, match="scheme 'custom'"):
        scheme_for("vics-us", scheme_file=tmp_path / "x.toml")
    with pytest.raises(UsageError, match="unknown severity"):
        scheme_for("fixed:csam:extreme")


CUSTOM = """
description = "test mapping"
[categories]
"0" = { category = "non-pertinent" }
"1" = { category = "csam", severity = 3 }
"A" = { category = "csam", severity = "low" }
"2" = "exploitative"
"""


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scheme.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_scheme(tmp_path: Path) -> None:
    scheme = scheme_for("custom", scheme_file=_toml(tmp_path, CUSTOM))
    assert (scheme.NAME, scheme.DESCRIPTION) == ("custom", "test mapping")
    assert scheme.map("0", NO_FLAGS) == Mapped(C.NON_PERTINENT, S.NONE)
    assert scheme.map("1", NO_FLAGS) == Mapped(C.CSAM, S.HIGH)
    assert scheme.map("a", NO_FLAGS) == Mapped(C.CSAM, S.LOW)
    assert scheme.map("2", NO_FLAGS) == Mapped(C.EXPLOITATIVE, S.NONE)
    assert scheme.map("9", NO_FLAGS) == Mapped(C.UNCATEGORISED, S.NONE, known=False)


def test_custom_default(tmp_path: Path) -> None:
    scheme = load_custom_scheme(_toml(tmp_path, CUSTOM + '[default]\ncategory = "csam"\n'))
    assert scheme.map("9", NO_FLAGS) == Mapped(C.CSAM, S.MEDIUM, known=True)


@pytest.mark.parametrize(("text", "error"), [
    ("[categories\n", "not valid TOML"),
    ("[other]\n", "unknown key 'other'"),
    ("description = 'x'\n", "needs a non-empty [categories] table"),
    ('[categories]\n"1" = { category = "csam", severty = 2 }\n',
     "categories.1: unknown key 'severty'"),
    ('[categories]\n"1" = { category = "bad" }\n', "categories.1: unknown category 'bad'"),
    ('[categories]\n"1" = { category = "csam", severity = 9 }\n',
     "categories.1: unknown severity 9"),
    ('[categories]\n"1" = { severity = 2 }\n', "categories.1: category is missing"),
    ('[categories]\n"a" = "csam"\n"A" = "cgi"\n', "categories.A: the same value as another"),
    ('[categories]\n"1" = "csam"\n[default]\ncategory = "nope"\n', "default: unknown category"),
])
def test_custom_scheme_errors_name_the_file_and_key(tmp_path: Path, text: str,
                                                    error: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_custom_scheme(path)
    assert str(path) in str(caught.value)
    assert error in str(caught.value)


def test_reverse_map_agrees_with_vics_us() -> None:
    vics_us = SCHEMES.get("vics-us")
    for category in (C.NON_PERTINENT, C.CSAM, C.EXPLOITATIVE, C.CGI, C.COMPARISON):
        code = vics_us_code(category)
        assert code is not None
        assert vics_us.map(str(code), NO_FLAGS).category is category
    assert vics_us_code(C.UNCATEGORISED) is None
