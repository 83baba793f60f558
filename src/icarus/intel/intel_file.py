"""Reading earlier-operations intelligence (format ``icarus-earlier-intel`` version 1).

The format is docs/formats/earlier-intel-v1.md. When ``jsonschema`` is installed (a development
dependency) the document is first checked against the bundled JSON Schema; whether or not it
is, every field this reader uses is checked here, so bad input always raises an
:class:`~icarus.core.errors.InputError` naming the file and the field (e.g.
``subjects[3].identifiers[0].value``). Dangling references are warnings, as the format asks:
they are reported to the sink and in :attr:`EarlierIntel.warnings`, and the rest is used.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from icarus.core.errors import CorruptInputError, FormatMismatchError, InputError
from icarus.core.sinks import RecordSink
from icarus.domain.digests import Digest

__all__ = ["Address", "EarlierIntel", "EarlierNetwork", "EarlierSubject", "Identifier",
           "Operation", "parse_earlier_intel", "read_earlier_intel"]

IDENTIFIER_KINDS = ("edonkey-user-hash", "gnutella-guid")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX = {"md5": re.compile(r"[0-9a-f]{32}"), "ed2k": re.compile(r"[0-9a-f]{32}"),
        "sha1": re.compile(r"[0-9a-f]{40}")}
_SEEN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


@dataclass(frozen=True, slots=True)
class Operation:
    """The operation a package comes from; nothing in it was seen after ``date``."""

    name: str
    date: date
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Identifier:
    """A persistent client identifier: ``kind`` is one of :data:`IDENTIFIER_KINDS`."""

    kind: str
    value: bytes
    client: str | None = None
    nickname: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    """An address a subject was seen at, and when (UTC)."""

    ip: str
    seen: datetime


@dataclass(frozen=True, slots=True)
class EarlierSubject:
    """A person an earlier operation named."""

    ref: str
    country: str
    network: str | None
    identifiers: tuple[Identifier, ...]
    addresses: tuple[Address, ...]


@dataclass(frozen=True, slots=True)
class EarlierNetwork:
    """A sharing network an earlier operation uncovered; ``content`` as Icarus digests."""

    ref: str
    name: str
    members: tuple[str, ...]
    content: tuple[Digest, ...]


@dataclass(frozen=True, slots=True)
class EarlierIntel:
    """One earlier-intelligence package, references checked (dangling ones dropped)."""

    operation: Operation
    subjects: tuple[EarlierSubject, ...]
    networks: tuple[EarlierNetwork, ...]
    source: str = ""
    warnings: tuple[str, ...] = ()

    def network(self, ref: str) -> EarlierNetwork | None:
        """The network named ``ref``, or ``None``."""
        return next((n for n in self.networks if n.ref == ref), None)


def read_earlier_intel(path: Path, *, sink: RecordSink | None = None,
                       schema: bool = True) -> EarlierIntel:
    """Read and check the package at ``path``. Raises :class:`InputError` (naming the file
    and the field) if it is not JSON, not this format, or a field is invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read earlier-intel file: {exc}", path=path) from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CorruptInputError(f"not valid JSON: {exc}", path=path) from exc
    return parse_earlier_intel(doc, source=str(path), sink=sink, schema=schema)


def parse_earlier_intel(doc: Any, *, source: str = "<earlier-intel>",
                        sink: RecordSink | None = None, schema: bool = True) -> EarlierIntel:
    """Check a decoded document and build :class:`EarlierIntel`. ``schema=False`` skips the
    JSON Schema check (the reader's own checks always run)."""
    if not isinstance(doc, dict) or doc.get("format") != "icarus-earlier-intel":
        raise FormatMismatchError("not an icarus-earlier-intel document (field 'format')",
                                  path=source)
    if doc.get("version") != 1:
        raise InputError(f"field 'version': unsupported version {doc.get('version')!r} "
                         "(this reader knows 1)", path=source)
    if schema:
        _schema_check(doc, source)
    r = _Reader(source)
    op = r.obj(doc, "", ("format", "version", "operation", "subjects", "networks"))
    o = r.obj(op["operation"], "operation", ("name", "date"))
    operation = Operation(r.text(o, "operation", "name"), r.day(o, "operation", "date"),
                          r.opt(o, "operation", "reference"))
    subjects = tuple(r.subject(s, f"subjects[{i}]")
                     for i, s in enumerate(r.array(op, "", "subjects")))
    networks = tuple(r.network(n, f"networks[{i}]")
                     for i, n in enumerate(r.array(op, "", "networks")))
    r.unique([s.ref for s in subjects], "subjects")
    r.unique([n.ref for n in networks], "networks")
    subjects, networks, warnings = _check_refs(subjects, networks)
    for w in warnings:
        if sink is not None:
            sink.warn(source, w)
    return EarlierIntel(operation, subjects, networks, source, warnings)


def _schema_check(doc: dict[str, Any], source: str) -> None:
    try:  # imported by name: jsonschema ships no type stubs
        jsonschema: Any = importlib.import_module("jsonschema")
    except ImportError:  # a runtime install without dev extras: our own checks still run
        return
    text = resources.files("icarus").joinpath("data", "schemas",
                                              "earlier-intel-v1.schema.json").read_text("utf-8")
    validator = jsonschema.Draft202012Validator(
        json.loads(text), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise InputError(f"field '{where.lstrip('.') or '(document)'}': {error.message}",
                         path=source)


def _check_refs(subjects: tuple[EarlierSubject, ...], networks: tuple[EarlierNetwork, ...]
                ) -> tuple[tuple[EarlierSubject, ...], tuple[EarlierNetwork, ...], tuple[str, ...]]:
    """Drop dangling references (the format says: report them, use the rest)."""
    s_refs = {s.ref for s in subjects}
    n_refs = {n.ref for n in networks}
    warnings: list[str] = []
    fixed_s = []
    for s in subjects:
        if s.network is not None and s.network not in n_refs:
            warnings.append(f"subject {s.ref}: network {s.network!r} is not in 'networks'")
            s = EarlierSubject(s.ref, s.country, None, s.identifiers, s.addresses)
        fixed_s.append(s)
    fixed_n = []
    for n in networks:
        bad = [m for m in n.members if m not in s_refs]
        warnings.extend(f"network {n.ref}: member {m!r} is not in 'subjects'" for m in bad)
        fixed_n.append(EarlierNetwork(n.ref, n.name, tuple(m for m in n.members
                                                           if m in s_refs), n.content))
    return tuple(fixed_s), tuple(fixed_n), tuple(warnings)


class _Reader:
    """Field checks that name the file and the field of each failure."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"field '{where}': {message}", path=self.source)

    def obj(self, value: Any, where: str, required: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where or "(document)", "expected an object")
        for key in required:
            if key not in value:
                raise self.fail(f"{where}.{key}".lstrip("."), "missing")
        return value

    def array(self, obj: dict[str, Any], where: str, key: str) -> list[Any]:
        value = obj[key]
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}".lstrip("."), "expected an array")
        return value

    def text(self, obj: dict[str, Any], where: str, key: str,
             pattern: re.Pattern[str] | None = None) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value or (pattern and not pattern.fullmatch(value)):
            raise self.fail(f"{where}.{key}".lstrip("."), f"invalid value {value!r}")
        return value

    def opt(self, obj: dict[str, Any], where: str, key: str,
            pattern: re.Pattern[str] | None = None) -> str | None:
        return None if obj.get(key) is None else self.text(obj, where, key, pattern)

    def day(self, obj: dict[str, Any], where: str, key: str) -> date:
        try:
            return date.fromisoformat(self.text(obj, where, key))
        except ValueError as exc:
            raise self.fail(f"{where}.{key}", f"not a YYYY-MM-DD date: {obj[key]!r}") from exc

    def unique(self, refs: list[str], where: str) -> None:
        seen: set[str] = set()
        for i, ref in enumerate(refs):
            if ref in seen:
                raise self.fail(f"{where}[{i}].ref", f"ref {ref!r} appears more than once")
            seen.add(ref)

    def subject(self, value: Any, where: str) -> EarlierSubject:
        s = self.obj(value, where, ("ref", "country", "network", "identifiers", "addresses"))
        country = self.text(s, where, "country", re.compile(r"[A-Z]{2}"))
        network = self.opt(s, where, "network", _REF)
        idents = []
        for i, item in enumerate(self.array(s, where, "identifiers")):
            w = f"{where}.identifiers[{i}]"
            d = self.obj(item, w, ("kind", "value"))
            if d["kind"] not in IDENTIFIER_KINDS:
                raise self.fail(f"{w}.kind", f"unknown identifier kind {d['kind']!r}")
            hex_value = self.text(d, w, "value", _HEX["md5"])
            idents.append(Identifier(d["kind"], bytes.fromhex(hex_value),
                                     self.opt(d, w, "client"),
                                     self.opt(d, w, "nickname")))
        addresses = []
        for i, item in enumerate(self.array(s, where, "addresses")):
            w = f"{where}.addresses[{i}]"
            a = self.obj(item, w, ("ip", "seen"))
            try:
                ip = str(ipaddress.ip_address(self.text(a, w, "ip")))
            except ValueError as exc:
                raise self.fail(f"{w}.ip", f"not an IP address: {a['ip']!r}") from exc
            seen = self.text(a, w, "seen", _SEEN)
            addresses.append(Address(ip, datetime.fromisoformat(seen[:-1]).replace(tzinfo=UTC)))
        return EarlierSubject(self.text(s, where, "ref", _REF), country, network,
                              tuple(idents), tuple(addresses))

    def network(self, value: Any, where: str) -> EarlierNetwork:
        n = self.obj(value, where, ("ref", "name", "members", "content"))
        members = []
        for i, m in enumerate(self.array(n, where, "members")):
            if not isinstance(m, str) or not _REF.fullmatch(m):
                raise self.fail(f"{where}.members[{i}]", f"invalid ref {m!r}")
            members.append(m)
        content = []
        for i, item in enumerate(self.array(n, where, "content")):
            w = f"{where}.content[{i}]"
            d = self.obj(item, w, ("kind", "value"))
            if d["kind"] not in _HEX:
                raise self.fail(f"{w}.kind", f"unknown digest kind {d['kind']!r}")
            content.append(Digest(d["kind"], bytes.fromhex(
                self.text(d, w, "value", _HEX[d["kind"]]))))
        return EarlierNetwork(self.text(n, where, "ref", _REF),
                              self.text(n, where, "name"), tuple(dict.fromkeys(members)),
                              tuple(content))
