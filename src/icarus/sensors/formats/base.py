"""The sighting-reader contract, the shared field validation, and format detection.

A reader is a plugin with a stable ``NAME``. ``sniff(path, head)`` says whether the file's first
bytes look like its format; ``read(path, sink)`` streams ``(line, SightingRecord)`` pairs with
bounded memory. A file not of the format raises :class:`FormatMismatchError` before anything is
yielded; a malformed record goes to ``sink.reject`` and reading goes on.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from icarus.core.errors import FormatMismatchError, InvalidIdentifierError
from icarus.core.plugins import Registry
from icarus.core.sinks import RecordSink
from icarus.identify.kinds import parse_digest

HEAD_BYTES = 65536
NETWORKS = frozenset({"edonkey", "kad", "gnutella", "bittorrent"})
CONTENT_KINDS = frozenset({"ed2k", "sha1", "md5", "sha256", "tth", "btih", "btih-v2"})
EVIDENCE = ("advertised", "browsed", "handshake", "download-verified")
V1_FIELDS = frozenset({
    "v", "record_id", "observed_at", "network", "ip", "port", "content_kind", "content_id",
    "file_name", "file_size", "user_hash", "ed2k_client_id", "guid", "peer_id", "client",
    "nickname", "sensor", "evidence",
})
V1_REQUIRED = ("observed_at", "network", "ip", "port", "content_kind", "content_id", "sensor",
               "evidence")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_HEX = re.compile(r"[0-9a-f]*")
STR_LIMITS = {"record_id": 128, "file_name": 1024, "client": 128, "nickname": 256,
               "sensor": 128}
_HEX_IDS = {"user_hash": 16, "guid": 16, "peer_id": 20}
_OPT_TEXT = ("record_id", "file_name", "client", "nickname")
_OPTIONAL = (*_HEX_IDS, *_OPT_TEXT, "file_size", "ed2k_client_id")


class RecordError(ValueError):
    """One record is malformed; the message is the reason written to quarantine."""


@dataclass(frozen=True, slots=True)
class SightingRecord:
    """One sighting normalised to the v1 fields: UTC time, canonical address, raw digests."""

    observed_at: datetime
    network: str
    ip: str
    port: int
    content_kind: str
    content_id: bytes
    sensor: str
    evidence: str
    record_id: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    user_hash: bytes | None = None
    ed2k_client_id: int | None = None
    guid: bytes | None = None
    peer_id: bytes | None = None
    client: str | None = None
    nickname: str | None = None


class SightingReader(Protocol):
    """A sighting file format."""

    @property
    def NAME(self) -> str:  # noqa: N802 - the plugin contract uses a constant-style name
        ...

    def sniff(self, path: Path, head: bytes) -> bool:
        """Whether ``head`` (the file's first bytes) looks like this format."""
        ...

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Stream the records; malformed ones go to ``sink``."""
        ...


def read_head(path: Path) -> bytes:
    """The first :data:`HEAD_BYTES` bytes of ``path`` (an :class:`InputError` if unreadable)."""
    try:
        with path.open("rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise FormatMismatchError(f"cannot read: {exc.strerror}", path=path) from None


def require_format(reader: SightingReader, path: Path) -> None:
    """Raise :class:`FormatMismatchError` unless ``reader`` claims ``path``."""
    if not reader.sniff(path, read_head(path)):
        raise FormatMismatchError(f"not a {reader.NAME} file", path=path)


def first_line(head: bytes) -> str:
    """The first line of ``head`` as text (BOM removed; '' if not UTF-8)."""
    try:
        text = head.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8-sig")
    return text.split("\n", 1)[0].rstrip("\r")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise RecordError(f"{name}: expected a non-empty string, got {value!r}")
    limit = STR_LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise RecordError(f"{name}: longer than {limit} characters")
    return value


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RecordError(f"{name}: expected an integer from {low} to {high}, got {value!r}")
    return value


def parse_time(value: Any) -> datetime:
    """A v1 ``observed_at`` (RFC 3339 text with Z, or an aware datetime) as a UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise RecordError("observed_at: a timestamp without time zone")
        return value.astimezone(UTC)
    if not isinstance(value, str) or not _TS.fullmatch(value):
        raise RecordError(f"observed_at: expected YYYY-MM-DDTHH:MM:SS[.ffffff]Z, got {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"observed_at: not a valid date and time: {value!r}") from None


def parse_ip(value: Any) -> str:
    """The canonical text of an IPv4 or IPv6 address."""
    if not isinstance(value, str):
        raise RecordError(f"ip: expected an address, got {value!r}")
    try:
        return canonical_ip(value)
    except ValueError:
        raise RecordError(f"ip: not an IPv4 or IPv6 address: {value!r}") from None


@lru_cache(maxsize=1 << 16)
def canonical_ip(value: str) -> str:
    """The canonical text of an address (``ValueError`` if none); cached per distinct value."""
    # Peers reappear on the same address many times: parsing each once pays.
    return str(ipaddress.ip_address(value))


@lru_cache(maxsize=1 << 16)
def digest_bytes(kind: str, text: str) -> bytes:
    """:func:`parse_digest`'s bytes, cached per distinct value; raises as it does."""
    # A file names few distinct contents many times; failures raise and are not cached.
    return parse_digest(kind, text).value


def _hex_id(name: str, value: Any, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise RecordError(f"{name}: expected {2 * size} lower-case hex digits, got {value!r}")
    return bytes.fromhex(value)


def build_record(fields: Mapping[str, Any]) -> SightingRecord:
    """Validate v1 fields (absent = missing or None) into a record; :class:`RecordError` if bad."""
    get = fields.get
    missing = [f for f in V1_REQUIRED if get(f) is None or get(f) == ""]
    if missing:
        raise RecordError(f"missing required field(s): {', '.join(missing)}")
    network = fields["network"]
    if network not in NETWORKS:
        raise RecordError(f"network: expected one of {sorted(NETWORKS)}, got {network!r}")
    kind = fields["content_kind"]
    if kind not in CONTENT_KINDS:
        raise RecordError(f"content_kind: expected one of {sorted(CONTENT_KINDS)}, got {kind!r}")
    if not isinstance(fields["content_id"], str):
        raise RecordError(f"content_id: expected a string, got {fields['content_id']!r}")
    try:
        digest = digest_bytes(kind, fields["content_id"])
    except InvalidIdentifierError as exc:
        raise RecordError(f"content_id: {exc}") from None
    evidence = fields["evidence"]
    if evidence not in EVIDENCE:
        raise RecordError(f"evidence: expected one of {list(EVIDENCE)}, got {evidence!r}")
    # Optional fields: absent, None and "" all mean absent.
    opt: dict[str, Any] = {}
    for name in _OPTIONAL:
        value = get(name)
        if value is not None and value != "":
            opt[name] = value
    for name, size in _HEX_IDS.items():
        if name in opt:
            opt[name] = _hex_id(name, opt[name], size)
    for name in _OPT_TEXT:
        if name in opt:
            opt[name] = _text(name, opt[name])
    size = opt.pop("file_size", None)
    cid = opt.pop("ed2k_client_id", None)
    return SightingRecord(
        observed_at=parse_time(fields["observed_at"]), network=network,
        ip=parse_ip(fields["ip"]), port=_integer("port", fields["port"], 0, 65535),
        content_kind=kind, content_id=digest, sensor=_text("sensor", fields["sensor"]),
        evidence=evidence,
        file_size=None if size is None else _integer("file_size", size, 0, 2**63 - 1),
        ed2k_client_id=None if cid is None else _integer("ed2k_client_id", cid, 0, 2**32 - 1),
        **opt,
    )


READERS: Registry[SightingReader] = Registry("sighting format")


def detect(path: Path) -> SightingReader:
    """The one registered reader that claims ``path``; else :class:`FormatMismatchError`."""
    head = read_head(path)
    claims = [r for r in READERS if r.sniff(path, head)]
    if len(claims) != 1:
        tried = ", ".join(READERS.names())
        what = "no format" if not claims else "several formats (" + ", ".join(
            r.NAME for r in claims) + ")"
        raise FormatMismatchError(f"{what} claims this file (tried: {tried}); use --format",
                                  path=path)
    return claims[0]
