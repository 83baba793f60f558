"""The contract of a hash-set format, and the helpers the formats share.

A format is a plugin: a module with a class implementing :class:`HashSetFormat` and an instance
``FORMAT``, listed in :data:`icarus.bank.formats.BUILTIN`.

The contract:

* ``sniff(path, head)`` is cheap and never raises: it looks at ``head`` (the first
  :data:`HEAD_SIZE` bytes; a SQLite format may also open the database) and says whether the
  file is of this format.
* ``read(path, sink)`` streams :class:`~icarus.domain.bank.BankRecord` objects with bounded memory.

  - Not this format: :class:`FormatMismatchError` naming the file, raised before anything is
    yielded (the header or envelope is checked first).
  - One malformed record: ``sink.reject(position, reason, raw)`` and reading goes on; something
    odd but usable: ``sink.warn(position, message)``. Positions read ``line 12``,
    ``record 7 (MediaID 123)``, ``row 40 of FILE``.
  - The structure breaks beyond one record (truncated JSON, a syntax error): raise
    :class:`CorruptInputError` naming the file and the position; the caller imports nothing of it.

Text decoding, for every text format: a UTF-8 BOM is skipped; each line is decoded as UTF-8 and,
if that fails, as Latin-1 (:func:`decode_text`). Latin-1 never fails and keeps one character per
byte, so a vendor's Windows-1252 file name survives readable and nothing is silently replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from icarus.core.errors import FormatMismatchError, InputError, InvalidIdentifierError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind
from icarus.domain.digests import Digest
from icarus.identify.kinds import KINDS, HashKind

HEAD_SIZE = 64 * 1024
"""How much of a file ``sniff`` gets to see."""

UTF8_BOM = b"\xef\xbb\xbf"

HEX_KIND_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
"""Plain-list digest kinds told apart by the length of their hex text."""


class HashSetFormat(Protocol):
    """A hash-set file format: detection by sniffing, and a streaming reader."""

    NAME: str
    """Stable, lower-case: recorded with every import."""
    DESCRIPTION: str
    DEFAULT_SCHEME: str
    """The category scheme a set of this format uses unless the importer names another."""
    DEFAULT_KIND: SetKind

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the file whose first bytes are ``head`` is of this format; never raises."""
        ...

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the file's records; rejects and warnings go to ``sink`` (see module doc)."""
        ...


def read_head(path: Path, size: int = HEAD_SIZE) -> bytes:
    """The first ``size`` bytes of ``path``; :class:`InputError` if it cannot be read."""
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark."""
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


def decode_text(raw: bytes) -> str:
    """UTF-8 if ``raw`` is valid UTF-8, else Latin-1 (never fails, loses no byte)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number from 1, text without its line ending)`` for every line of ``path``.

    Streams in binary so that one badly encoded line cannot stop the file (see
    :func:`decode_text`); a BOM on the first line is dropped.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                raw = strip_bom(raw)
            yield number, decode_text(raw.rstrip(b"\r\n"))


def significant_lines(head: bytes, limit: int = 5) -> list[str]:
    """Up to ``limit`` complete, non-blank, non-``#`` lines of ``head``, for sniffing; none if
    ``head`` holds a NUL byte (binary).

    The last line of ``head`` is dropped when ``head`` was cut mid-line, so a sniffer never
    judges half a line.
    """
    if b"\x00" in head:
        return []  # binary (a database, an image): no text format applies
    text = strip_bom(head)
    lines = text.split(b"\n")
    if len(head) >= HEAD_SIZE and len(lines) > 1:
        lines = lines[:-1]
    out: list[str] = []
    for raw in lines:
        line = decode_text(raw.rstrip(b"\r")).strip()
        if line and not line.startswith("#"):
            out.append(line)
            if len(out) >= limit:
                break
    return out


def require_sniff(fmt: HashSetFormat, path: Path) -> bytes:
    """Check that ``path`` is of ``fmt`` before reading; :class:`FormatMismatchError` if not.

    Returns the head that was sniffed.
    """
    head = read_head(path)
    if not fmt.sniff(path, head):
        raise FormatMismatchError(f"not a {fmt.DESCRIPTION} file ({fmt.NAME})", path=path)
    return head


def parse_hash(kind: str, text: str) -> Digest:
    """``text`` as a digest of ``kind``, through the kind's plugin.

    Raises :class:`InvalidIdentifierError` whose message says what is wrong.
    """
    # Fast path for exact-length hex of a kind without extra checks (millions of rows per
    # import); anything else goes through the kind's own parser, which also words the error.
    length = _HEX_LENGTH.get(kind)
    if length is None:
        length = _HEX_LENGTH.setdefault(kind, _fast_hex_length(kind))
    if len(text) == length:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if 2 * len(raw) == length:
            return Digest(kind, raw)
    return KINDS.get(kind).parse(text)


_HEX_LENGTH: dict[str, int] = {}


def _fast_hex_length(kind: str) -> int:
    """The hex length the fast path accepts for ``kind``; -1 when it must not be used."""
    plugin = KINDS.get(kind)
    plain = type(plugin).validate is HashKind.validate
    if plugin.TEXT != "hex" or plugin.SIZE is None or not plain:
        return -1
    return 2 * plugin.SIZE


def try_hash(kind: str, text: object) -> Digest | InvalidIdentifierError | None:
    """Like :func:`parse_hash` for an optional field: ``None`` when absent or empty, the error
    (returned, not raised) when present but invalid."""
    if text is None:
        return None
    if not isinstance(text, str):
        return InvalidIdentifierError(f"{kind} is not text: {text!r}")
    if not text.strip():
        return None
    try:
        return parse_hash(kind, text)
    except InvalidIdentifierError as exc:
        return exc


_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f", ""})
_COMMON: dict[object, bool] = {"true": True, "false": False, "True": True, "False": False}


def parse_bool(value: object) -> bool | None:
    """A boolean written as JSON ``true``, ``"true"``, ``yes``/``no``, ``Y``/``N``, ``1``/``0``.

    ``None`` (the JSON null) and the empty string are ``False``; anything else unrecognised
    returns ``None`` so the caller can warn.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        common = _COMMON.get(value)
        if common is not None:
            return common
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


_WS = re.compile(r"\s+")


def normalise_header(name: str) -> str:
    """A column name compared without case, surrounding quotes or repeated whitespace."""
    return _WS.sub(" ", name.strip().strip('"').strip()).lower()


def parse_size(value: object) -> int | None:
    """A file size from an int or a decimal string; ``None`` if absent, raises ValueError if bad."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float) and value.is_integer():
        size = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        size = int(value.strip())
    else:
        raise ValueError(f"not a size: {value!r}")
    if size < 0:
        raise ValueError(f"negative size: {size}")
    return size
