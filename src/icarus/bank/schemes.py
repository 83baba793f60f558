"""Category schemes: what a hash set's own category values mean, in Icarus's one model.

The same number means different things by jurisdiction (Project VIC US 0 is "non-pertinent",
legacy DHS 0 is "uncategorised"), so the scheme is a setting of each hash set, never guessed from
the data. A scheme maps ``(source category, flags)`` to a :class:`Mapped` result.

Unknown values: a value the scheme does not list is filed as :attr:`Category.UNCATEGORISED`,
severity NONE, with ``known=False`` so the caller can warn (once per distinct value is enough).
An absent category (``None``) is always known: it means uncategorised.

Severity grades only CSAM (LOW = UK grade C, MEDIUM = CSAM of unknown grade or UK B, HIGH = UK A
or INTERPOL Baseline); every other category has severity NONE: the category itself says what it is.

Built-in schemes (:data:`SCHEMES`): ``vics-us``, ``dhs-legacy``, ``uk-caid``, ``icse``, ``nsrl``,
``uncategorised``, and ``custom`` (a TOML file, :func:`load_custom_scheme`). A whole file of one
category uses :class:`FixedScheme`, named ``fixed:<category>:<severity>``. :func:`scheme_for`
turns any of these names back into a scheme.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from icarus.core.errors import InputError, UsageError
from icarus.core.plugins import Registry
from icarus.domain.categories import Category, Flag, Severity


class Mapped(NamedTuple):
    """What an entry is in Icarus's terms."""

    category: Category
    severity: Severity
    known: bool = True
    """False when the source value is not in the scheme (then filed as uncategorised)."""


UNKNOWN = Mapped(Category.UNCATEGORISED, Severity.NONE, known=False)
UNCATEGORISED = Mapped(Category.UNCATEGORISED, Severity.NONE)


class Scheme(Protocol):
    """A category scheme: a stable name and a mapping."""

    @property
    def NAME(self) -> str:  # noqa: N802 - the plugin contract uses a constant-style name
        """Stable, lower-case: recorded with the hash set."""
        ...

    @property
    def DESCRIPTION(self) -> str:  # noqa: N802
        """One line for ``icarus bank formats``."""
        ...

    def map(self, source_category: str | None, flags: frozenset[str]) -> Mapped:
        """The Icarus category and severity of an entry (see the module doc)."""
        ...


def normalise_value(value: str) -> str:
    """A source value as schemes compare it: trimmed, case-folded, ``"01"`` as ``"1"``."""
    text = value.strip().casefold()
    return str(int(text)) if text.isdigit() else text


@dataclass(frozen=True)
class TableScheme:
    """A scheme given by a table of normalised source values (see :func:`normalise_value`)."""

    NAME: str
    DESCRIPTION: str
    table: dict[str, Mapped] = field(default_factory=dict)
    default: Mapped = UNKNOWN
    """The result for values not in the table."""
    source: Path | None = None
    """The TOML file a custom scheme was loaded from."""

    def map(self, source_category: str | None, flags: frozenset[str]) -> Mapped:
        """The table's entry for ``source_category``; ``default`` if it has none."""
        if source_category is None or not source_category.strip():
            return UNCATEGORISED
        return self.table.get(self._key(source_category), self.default)

    def _key(self, value: str) -> str:
        return normalise_value(value)


_UK_GRADE = re.compile(r"^(?:cat(?:egory)?|grade)?[\s.:-]*([abc])$")


@dataclass(frozen=True)
class UkCaidScheme(TableScheme):
    """UK CAID: grades A/B/C written as letters ("A", "cat b", "Category C") or integers."""

    def _key(self, value: str) -> str:
        key = normalise_value(value)
        found = _UK_GRADE.match(key)
        return found.group(1) if found else key


@dataclass(frozen=True)
class ConstantScheme:
    """Every entry gets one category; ``baseline_severity`` applies to Baseline entries."""

    NAME: str
    DESCRIPTION: str
    category: Category
    severity: Severity
    baseline_severity: Severity | None = None

    def map(self, source_category: str | None, flags: frozenset[str]) -> Mapped:
        """The constant category; the Baseline severity when the entry has that flag."""
        if self.baseline_severity is not None and Flag.BASELINE.value in flags:
            return Mapped(self.category, self.baseline_severity)
        return Mapped(self.category, self.severity)


class FixedScheme(ConstantScheme):
    """A whole file of one category (a plain list the importer vouches for).

    ``severity`` defaults to MEDIUM for CSAM and NONE otherwise. Named
    ``fixed:<category>:<severity>`` so :func:`scheme_for` can rebuild it.
    """

    def __init__(self, category: Category, severity: Severity | None = None) -> None:
        grade = default_severity(category) if severity is None else severity
        name = f"fixed:{category.value}:{grade.name.lower()}"
        super().__init__(name, f"every entry {category.value}, severity {grade.name.lower()}",
                         category, grade)


def _m(category: Category, severity: Severity = Severity.NONE) -> Mapped:
    return Mapped(category, severity)


VICS_US = TableScheme("vics-us", "Project VIC US (current): 0 non-pertinent, 1 CSAM, 2 "
                      "exploitative/age difficult, 3 CGI/animation, 4 comparison", {
    "0": _m(Category.NON_PERTINENT),
    "1": _m(Category.CSAM, Severity.MEDIUM),
    "2": _m(Category.EXPLOITATIVE),
    "3": _m(Category.CGI),
    "4": _m(Category.COMPARISON),
})
DHS_LEGACY = TableScheme("dhs-legacy", "legacy DHS: 0 uncategorised, 1 CSAM, 2 exploitative/"
                         "age difficult, 3 CGI/animation, 4 exemplar/comparison, 5 non-pertinent", {
    "0": _m(Category.UNCATEGORISED),
    "1": _m(Category.CSAM, Severity.MEDIUM),
    "2": _m(Category.EXPLOITATIVE),
    "3": _m(Category.CGI),
    "4": _m(Category.COMPARISON),
    "5": _m(Category.NON_PERTINENT),
})
# ASSUMPTION: the integers of UK VICS files are not publicly confirmed. 1/2/3 = A/B/C and
# 0 = not indecent are this scheme's guess; a custom scheme overrides them.
UK_CAID = UkCaidScheme("uk-caid", "UK CAID grades: A (HIGH), B (MEDIUM), C (LOW) CSAM; integers "
                       "1/2/3 = A/B/C and 0 = non-pertinent are an unconfirmed assumption", {
    "a": _m(Category.CSAM, Severity.HIGH),
    "b": _m(Category.CSAM, Severity.MEDIUM),
    "c": _m(Category.CSAM, Severity.LOW),
    "1": _m(Category.CSAM, Severity.HIGH),
    "2": _m(Category.CSAM, Severity.MEDIUM),
    "3": _m(Category.CSAM, Severity.LOW),
    "0": _m(Category.NON_PERTINENT),
})
ICSE = ConstantScheme("icse", "INTERPOL ICSE: every entry CSAM (MEDIUM); Baseline entries HIGH",
                      Category.CSAM, Severity.MEDIUM, baseline_severity=Severity.HIGH)
NSRL = ConstantScheme("nsrl", "NSRL: every entry known software (known, not known good)",
                      Category.KNOWN_SOFTWARE, Severity.NONE)
UNCATEGORISED_SCHEME = ConstantScheme("uncategorised", "every entry uncategorised (plain lists)",
                                      Category.UNCATEGORISED, Severity.NONE)
CUSTOM = TableScheme("custom", "your own mapping, from a TOML file (--scheme-file)")
"""Registered so the name can be chosen; the real table comes from :func:`load_custom_scheme`."""

SCHEMES: Registry[Scheme] = Registry("category scheme")
for _scheme in (VICS_US, DHS_LEGACY, UK_CAID, ICSE, NSRL, UNCATEGORISED_SCHEME, CUSTOM):
    SCHEMES.register(_scheme)

VICS_US_CODES: dict[Category, int] = {
    Category.NON_PERTINENT: 0,
    Category.CSAM: 1,
    Category.EXPLOITATIVE: 2,
    Category.CGI: 3,
    Category.COMPARISON: 4,
    # Known software is not pertinent to an image review: VICS US 0.
    Category.KNOWN_SOFTWARE: 0,
}
"""The reverse map used by the VICS exporter; uncategorised has no code (Category omitted)."""


def vics_us_code(category: Category) -> int | None:
    """The Project VIC US integer for ``category``; ``None`` for uncategorised."""
    return VICS_US_CODES.get(category)


def load_custom_scheme(path: Path) -> TableScheme:
    """The custom scheme in the TOML file at ``path``. The file::

        description = "VIC Canada (our reading)"        # optional
        [categories]                                     # source value -> Icarus category
        "0" = { category = "non-pertinent" }
        "1" = { category = "csam", severity = 2 }        # severity 0-3 or none/low/medium/high
        "A" = "csam"                                     # a bare category: default severity
        [default]                                        # optional: values not listed
        category = "uncategorised"

    Keys are compared like :func:`normalise_value` (case-insensitive, ``"01"`` = ``"1"``). The
    severity defaults to MEDIUM for csam and NONE otherwise. Without ``[default]``, unlisted
    values are unknown (uncategorised, and the importer warns). Raises :class:`InputError`
    naming the file and the offending key.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the scheme file: {exc.strerror or exc}", path=path) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"the scheme file is not valid TOML: {exc}", path=path) from None
    extra = sorted(set(data) - {"description", "categories", "default"})
    if extra:
        raise InputError(f"unknown key {extra[0]!r} (expected description, categories, default)",
                         path=path)
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise InputError("the scheme file needs a non-empty [categories] table", path=path)
    table: dict[str, Mapped] = {}
    for raw_key, entry in categories.items():
        key = normalise_value(raw_key)
        if key in table:
            raise InputError(f"categories.{raw_key}: the same value as another key", path=path)
        table[key] = _entry(entry, f"categories.{raw_key}", path)
    default = _entry(data["default"], "default", path) if "default" in data else UNKNOWN
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise InputError("description: must be a string", path=path)
    return TableScheme("custom", description or f"custom scheme from {path.name}", table,
                       default, source=path)


def _entry(entry: Any, where: str, path: Path) -> Mapped:
    if isinstance(entry, str):
        entry = {"category": entry}
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected a category or {{category = ..., severity = ...}}",
                         path=path)
    extra = sorted(set(entry) - {"category", "severity"})
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r} (expected category, severity)",
                         path=path)
    if "category" not in entry:
        raise InputError(f"{where}: category is missing", path=path)
    try:
        category = parse_category(entry["category"])
        severity = (default_severity(category) if "severity" not in entry
                    else parse_severity(entry["severity"]))
    except ValueError as exc:
        raise InputError(f"{where}: {exc}", path=path) from None
    return Mapped(category, severity)


def parse_category(value: object) -> Category:
    """A category from its value (``"non-pertinent"``) or name (``"NON_PERTINENT"``)."""
    if isinstance(value, str):
        text = value.strip().lower()
        for category in Category:
            if text in (category.value, category.name.lower()):
                return category
    valid = ", ".join(c.value for c in Category)
    raise ValueError(f"unknown category {value!r}; choose one of: {valid}")


def parse_severity(value: object) -> Severity:
    """A severity from 0-3 or its name (none, low, medium, high)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= max(Severity):
        return Severity(value)
    if isinstance(value, str) and value.strip().upper() in Severity.__members__:
        return Severity[value.strip().upper()]
    raise ValueError(f"unknown severity {value!r}; use 0-3 or none, low, medium, high")


def default_severity(category: Category) -> Severity:
    """MEDIUM for CSAM (grade unknown), NONE for every other category."""
    return Severity.MEDIUM if category is Category.CSAM else Severity.NONE


def scheme_for(name: str, *, scheme_file: Path | None = None,
               category: str | None = None) -> Scheme:
    """The scheme called ``name`` (a registered name, ``custom`` with ``scheme_file``, or
    ``fixed:<category>[:<severity>]``); with ``category``, a :func:`FixedScheme`.

    ``category`` applies to files without categories: combined with a scheme other than
    ``uncategorised`` it is refused (a VICS file must not have its categories overwritten).
    Raises :class:`UsageError` for any inconsistent combination.
    """
    key = name.strip().lower()
    if scheme_file is not None and key != "custom":
        raise UsageError(f"a scheme file is used with scheme 'custom', not {name!r}")
    if category is not None:
        if key not in ("uncategorised", "fixed"):
            raise UsageError(f"a category for the whole file cannot be combined with scheme "
                             f"{name!r}: the file has its own categories")
        return FixedScheme(_category(category))
    if key.startswith("fixed:"):
        parts = key.split(":")
        if len(parts) > 3:
            raise UsageError(f"a fixed scheme is fixed:<category>[:<severity>], not {name!r}")
        return FixedScheme(_category(parts[1]), _severity(parts[2]) if len(parts) == 3 else None)
    if key == "custom":
        if scheme_file is None:
            raise UsageError("scheme 'custom' needs a scheme file (TOML)")
        return load_custom_scheme(scheme_file)
    return SCHEMES.get(key)


def _category(text: str) -> Category:
    try:
        return parse_category(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _severity(text: str) -> Severity:
    try:
        return parse_severity(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
