"""eD2k links: ``ed2k://|file|...|/``, ``|server|``, ``|serverlist|`` and ``|search|``.

A file link is ``ed2k://|file|<name>|<size>|<md4 hex>|[h=<AICH base32>|][p=<part>:<part>...|]/``,
optionally followed by ``|sources,<ip>:<port>,...|/``. Names and search terms are
percent-encoded UTF-8. Part hashes follow eMule's "red" rule: a file of ``size`` bytes has
``size // 9_728_000 + 1`` parts (a file whose size is a multiple of the part size ends with an
empty part), and the file hash is the MD4 of the concatenated part hashes (or the single part
hash itself for a one-part file). Sources and servers are IPv4 addresses only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from Crypto.Hash import MD4

from icarus.core.errors import InvalidIdentifierError
from icarus.domain.digests import Digest
from icarus.identify.kinds import parse_digest
from icarus.identify.kinds.base import base32_encode

PART_SIZE = 9_728_000
"""eD2k part size in bytes."""

_SCHEME = "ed2k://"
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")
_AICH = re.compile(r"[A-Za-z2-7]{32}")
_DECIMAL = re.compile(r"[0-9]{1,20}")
# Kept readable in names: what eMule itself leaves unescaped; '|' and '%' never are.
_NAME_SAFE = "!$&'()*+,-.;=@[]^_`{}~"


@dataclass(frozen=True, slots=True)
class Ed2kFileLink:
    """A file: name, size, ed2k hash, optional AICH root, part hashes and IPv4 sources."""

    name: str
    size: int
    ed2k: Digest
    aich: Digest | None = None
    part_hashes: tuple[bytes, ...] = ()
    sources: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        problem = _file_problem(self)
        if problem:
            raise InvalidIdentifierError(f"ed2k file link: {problem}")


@dataclass(frozen=True, slots=True)
class Ed2kServerLink:
    """An eD2k server at an IPv4 address and TCP port."""

    host: str
    port: int

    def __post_init__(self) -> None:
        problem = _endpoint_problem(self.host, self.port)
        if problem:
            raise InvalidIdentifierError(f"ed2k server link: {problem}")


@dataclass(frozen=True, slots=True)
class Ed2kServerListLink:
    """The URL of a ``server.met`` list."""

    url: str

    def __post_init__(self) -> None:
        if not re.match(r"https?://[^\s|]+$", self.url, re.IGNORECASE):
            raise InvalidIdentifierError(f"ed2k serverlist link: not an http(s) URL: {self.url!r}")


@dataclass(frozen=True, slots=True)
class Ed2kSearchLink:
    """A search term."""

    term: str

    def __post_init__(self) -> None:
        if not self.term:
            raise InvalidIdentifierError("ed2k search link: the search term is empty")


Ed2kLink = Ed2kFileLink | Ed2kServerLink | Ed2kServerListLink | Ed2kSearchLink


def expected_part_count(size: int) -> int:
    """Number of part hashes eMule lists for a file of ``size`` bytes (the "red" rule)."""
    return size // PART_SIZE + 1


def parse_ed2k_link(text: str) -> Ed2kLink:
    """Parse an ``ed2k://`` link of any of the four kinds, checking every field.

    Raises :class:`InvalidIdentifierError` naming the faulty field and quoting the link.
    """
    link = text.strip()
    if link[: len(_SCHEME)].lower() != _SCHEME:
        raise _bad("does not start with 'ed2k://'", text)
    body = link[len(_SCHEME) :]
    if not body.startswith("|") or not body.endswith("|/") or len(body) < 4:
        raise _bad("must be of the form ed2k://|type|...|/", text)
    tokens = body[1:-2].split("|")
    if "/" in tokens:
        cut = tokens.index("/")
        main, extra = tokens[:cut], tokens[cut + 1 :]
    else:
        main, extra = tokens, []
    if not main or any(not token for token in main + extra):
        raise _bad("empty field (two '|' in a row)", text)
    kind = main[0].lower()
    if extra and kind != "file":
        raise _bad(f"a {kind} link has nothing after '|/'", text)
    try:
        return _build(kind, main, extra, text)
    except _LinkError:
        raise
    except InvalidIdentifierError as exc:
        # Raised by a constructor's own checks, which cannot quote the link.
        raise InvalidIdentifierError(f"{exc}: {_cut(text)}") from None


def format_ed2k_link(link: Ed2kLink) -> str:
    """The canonical text of ``link``; ``parse_ed2k_link`` gives back an equal object.

    Hashes are written in upper-case hex and AICH in upper-case base32, as eMule writes them.
    """
    if isinstance(link, Ed2kServerLink):
        return f"ed2k://|server|{link.host}|{link.port}|/"
    if isinstance(link, Ed2kServerListLink):
        return f"ed2k://|serverlist|{link.url}|/"
    if isinstance(link, Ed2kSearchLink):
        return f"ed2k://|search|{quote(link.term, safe=_NAME_SAFE)}|/"
    fields = ["file", quote(link.name, safe=_NAME_SAFE), str(link.size), link.ed2k.hex.upper()]
    if link.aich is not None:
        fields.append("h=" + base32_encode(link.aich.value))
    if link.part_hashes:
        fields.append("p=" + ":".join(part.hex().upper() for part in link.part_hashes))
    text = "ed2k://|" + "|".join(fields) + "|/"
    if link.sources:
        text += "|sources," + ",".join(f"{ip}:{port}" for ip, port in link.sources) + "|/"
    return text


def _build(kind: str, main: list[str], extra: list[str], text: str) -> Ed2kLink:
    if kind == "file":
        return _parse_file(main[1:], extra, text)
    if kind == "server":
        if len(main) != 3:
            raise _bad("a server link is ed2k://|server|<ip>|<port>|/", text)
        return Ed2kServerLink(main[1], _port(main[2], text))
    if kind == "serverlist":
        if len(main) != 2:
            raise _bad("a serverlist link is ed2k://|serverlist|<url>|/", text)
        return Ed2kServerListLink(main[1])
    if kind == "search":
        if len(main) != 2:
            raise _bad("a search link is ed2k://|search|<term>|/", text)
        return Ed2kSearchLink(_decode(main[1], "search term", text))
    raise _bad(f"unknown link type {main[0]!r} (expected file, server, serverlist or search)", text)


def _parse_file(fields: list[str], extra: list[str], text: str) -> Ed2kFileLink:
    if len(fields) < 3:
        raise _bad("a file link needs a name, a size and an ed2k hash", text)
    name = _decode(fields[0], "file name", text)
    if not _DECIMAL.fullmatch(fields[1]):
        raise _bad(f"size {fields[1][:30]!r} is not a non-negative decimal integer", text)
    if not _HEX32.fullmatch(fields[2]):
        raise _bad(f"ed2k hash {fields[2][:40]!r} is not 32 hex digits", text)
    aich: Digest | None = None
    parts: tuple[bytes, ...] = ()
    seen: set[str] = set()
    for field in fields[3:]:
        tag = field.split("=", 1)[0].lower()
        if tag in seen:
            raise _bad(f"field {tag}= appears twice", text)
        seen.add(tag)
        if tag == "h":
            if not _AICH.fullmatch(field[2:]):
                raise _bad(f"AICH hash {field[2:][:40]!r} is not 32 base32 characters", text)
            aich = parse_digest("aich", field[2:])
        elif tag == "p":
            hexes = field[2:].split(":")
            if not all(_HEX32.fullmatch(h) for h in hexes):
                raise _bad("part hashes (p=) must be 32-hex-digit values separated by ':'", text)
            parts = tuple(bytes.fromhex(h) for h in hexes)
        else:
            raise _bad(f"unknown field {field[:30]!r} (expected h= or p=)", text)
    sources: tuple[tuple[str, int], ...] = ()
    if extra:
        if len(extra) != 1 or not extra[0].lower().startswith("sources,"):
            raise _bad("after '|/' only '|sources,<ip>:<port>,...|/' may follow", text)
        # A trailing comma is common in the wild and harmless.
        sources = tuple(_source(item, text) for item in extra[0].split(",")[1:] if item)
        if not sources:
            raise _bad("the sources list is empty", text)
    return Ed2kFileLink(name, int(fields[1]), parse_digest("ed2k", fields[2]), aich, parts, sources)


def _file_problem(link: Ed2kFileLink) -> str | None:
    if not link.name:
        return "the file name is empty"
    if link.size < 0:
        return f"negative size {link.size}"
    if link.ed2k.kind != "ed2k" or len(link.ed2k.value) != 16:
        return f"ed2k must be a 16-byte ed2k digest, got {link.ed2k}"
    if link.aich is not None and (link.aich.kind != "aich" or len(link.aich.value) != 20):
        return f"aich must be a 20-byte aich digest, got {link.aich}"
    if link.part_hashes:
        expected = expected_part_count(link.size)
        if len(link.part_hashes) != expected:
            return (
                f"{len(link.part_hashes)} part hashes for a file of {link.size} bytes, "
                f"which has {expected} parts of {PART_SIZE} bytes"
            )
        if any(len(part) != 16 for part in link.part_hashes):
            return "every part hash must be 16 bytes"
        root = link.part_hashes[0] if expected == 1 else _md4(b"".join(link.part_hashes))
        if root != link.ed2k.value:
            return "the part hashes do not hash to the file's ed2k hash"
    for host, port in link.sources:
        problem = _endpoint_problem(host, port)
        if problem:
            return f"source {problem}"
    return None


def _endpoint_problem(host: str, port: int) -> str | None:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return f"{host[:40]!r} is not an IPv4 address (dotted quad)"
    if not 1 <= port <= 65535:
        return f"port {port} is outside 1-65535"
    return None


def _source(item: str, text: str) -> tuple[str, int]:
    host, colon, port = item.rpartition(":")
    if not colon:
        raise _bad(f"source {item[:40]!r} is not <ip>:<port>", text)
    return host, _port(port, text)


def _port(text_port: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text_port):
        raise _bad(f"port {text_port[:20]!r} is not a decimal number", text)
    return int(text_port)


def _decode(field: str, what: str, text: str) -> str:
    try:
        return unquote(field, errors="strict")
    except UnicodeDecodeError:
        raise _bad(f"the {what} is not percent-encoded UTF-8", text) from None


def _md4(data: bytes) -> bytes:
    # MD4 is what ed2k is defined on; this is identification, not security.
    return bytes(MD4.new(data).digest())  # noqa: S303


def _cut(text: str, limit: int = 120) -> str:
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


class _LinkError(InvalidIdentifierError):
    """An error that already quotes the link."""


def _bad(problem: str, text: str) -> _LinkError:
    return _LinkError(f"ed2k link: {problem}: {_cut(text)}")
