"""Project VIC VICS JSON (1.x and 2.0; hash sets and cases), streamed with ijson.

A VICS file is one OData-flavoured JSON object: a context key and a ``value`` array. The key
gives the version (``odata.metadata`` = 1.x, ``@odata.context`` = 2.0), the URL's fragment the
shape: ``#Media`` = a hash set whose ``value[]`` are Media; ``#Cases`` = cases whose media are in
``value[i].Media[]``. For 2.0 the URL also names a region (``Default``, ``US``, ``UK``,
``CUSTOM``): :func:`read_envelope` gives it so the importer can choose the category scheme.

Files reach many GB, so nothing loads the whole document. The file is read twice: a short pass
over the parse events until the ``value`` key checks the envelope (so a foreign file is refused
before any record is yielded), then ``ijson.items`` builds one Media dict at a time (in C with the
yajl2_c backend). The context key must therefore come before ``value``, as every producer writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import ijson

from icarus.bank.formats.base import UTF8_BOM, require_sniff, strip_bom
from icarus.bank.formats.vics_media import media_record
from icarus.core.errors import CorruptInputError, FormatMismatchError, InputError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind

CONTEXT_KEYS = ("@odata.context", "odata.metadata")

_SNIFF = re.compile(rb'^\s*\{.*?"(@odata\.context|odata\.metadata)"\s*:\s*"([^"]*)"', re.DOTALL)
_FRAGMENT = re.compile(r"#(Media|Cases)\b")
_VERSION = re.compile(r"DataModels/(\d+(?:\.\d+)*)\.xml(?:/([^/$#]+))?", re.IGNORECASE)


def _backend() -> ModuleType:
    try:
        return ijson.get_backend("yajl2_c")  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - depends on how ijson was built
        return ijson  # type: ignore[no-any-return]


BACKEND = _backend()


@dataclass(frozen=True, slots=True)
class VicsEnvelope:
    """What the context key says about a VICS file."""

    context: str
    version: str
    """``"1.3"``, ``"2.0"``...; ``"1"`` or ``"2"`` when the URL does not name it."""
    region: str | None
    """2.0 only: ``Default``, ``US``, ``UK``, ``CUSTOM``..."""
    shape: str
    """``"media"`` (a hash set) or ``"cases"``."""

    @property
    def items_prefix(self) -> str:
        """The ijson prefix of the Media objects."""
        return "value.item" if self.shape == "media" else "value.item.Media.item"


def envelope_from_context(key: str, context: str) -> VicsEnvelope | None:
    """The envelope described by a context ``key`` and its URL; ``None`` if not VICS."""
    fragment = _FRAGMENT.search(context)
    if key not in CONTEXT_KEYS or fragment is None:
        return None
    found = _VERSION.search(context)
    default_version = "2" if key == "@odata.context" else "1"
    version = found.group(1) if found else default_version
    region = found.group(2) if found and found.group(2) else None
    return VicsEnvelope(context, version, region, fragment.group(1).lower())


class _TrackedReader:
    """A binary reader that skips a BOM and remembers which bytes were read last (for errors)."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.chunk = b""
        self.chunk_start = 0
        self.offset = 0
        if fh.read(len(UTF8_BOM)) == UTF8_BOM:
            self.offset = len(UTF8_BOM)
        else:
            fh.seek(0)

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        if data:
            self.chunk = data
            self.chunk_start = self.offset
            self.offset += len(data)
        return data


class VicsFormat:
    """Project VIC VICS JSON, versions 1.x and 2.0, hash sets and cases."""

    NAME = "vics"
    DESCRIPTION = "Project VIC VICS JSON (1.x, 2.0)"
    DEFAULT_SCHEME = "vics-us"
    DEFAULT_KIND = SetKind.ALERT

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if ``head`` opens a JSON object with a VICS context key and fragment."""
        found = _SNIFF.match(strip_bom(head))
        if found is None:
            return False
        key = found.group(1).decode("ascii")
        return envelope_from_context(key, found.group(2).decode("utf-8", "replace")) is not None

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the Media of a VICS file (see the module doc)."""
        require_sniff(self, path)
        envelope = read_envelope(path)
        with _open(path) as fh:
            reader = _TrackedReader(fh)
            index = 0
            try:
                for media in BACKEND.items(reader, envelope.items_prefix, use_float=True):
                    index += 1
                    record = media_record(media, index, sink)
                    if record is not None:
                        yield record
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise _corrupt(path, reader, index, exc) from None


def read_envelope(path: Path) -> VicsEnvelope:
    """The envelope of the VICS file at ``path``, read from the keys before ``value``.

    Raises :class:`FormatMismatchError` if the file is not a VICS object with its context key
    before ``value``, :class:`CorruptInputError` if the JSON breaks before ``value``.
    """
    key_seen: str | None = None
    envelope: VicsEnvelope | None = None
    found_value = False
    with _open(path) as fh:
        reader = _TrackedReader(fh)
        try:
            events = BACKEND.parse(reader)
            first = next(events, None)
            if first is None or first[1] != "start_map":
                raise FormatMismatchError("not a VICS file: not a JSON object", path=path)
            for prefix, event, value in events:
                if prefix == "" and event == "map_key":
                    if value == "value":
                        found_value = next(events, ("", "", None))[1] == "start_array"
                        break
                    key_seen = value
                elif prefix == key_seen and key_seen in CONTEXT_KEYS and event == "string":
                    envelope = envelope_from_context(key_seen, _as_str(value)) or envelope
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            if envelope is None:
                message = f"not a VICS file: {_first_line(exc)}"
                raise FormatMismatchError(message, path=path) from None
            raise _corrupt(path, reader, 0, exc) from None
    if envelope is None:
        raise FormatMismatchError(
            "not a VICS file: no odata context (#Media or #Cases) before the value array",
            path=path,
        )
    if not found_value:
        raise CorruptInputError("the VICS object has no value array", path=path)
    return envelope


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


def _corrupt(path: Path, reader: _TrackedReader, index: int, exc: Exception) -> CorruptInputError:
    message = _first_line(exc)
    after = f"after record {index}" if index else "before the first record"
    if "premature EOF" in message:
        end = reader.offset
        where = f"the JSON ends prematurely at byte {end} (line {_line_of(path, end)}, {after})"
    else:
        offset = _error_offset(str(exc), reader.chunk, reader.chunk_start)
        if offset is None:
            where = f"JSON error in bytes {reader.chunk_start}-{reader.offset}"
        else:
            where = f"JSON error at byte {offset} (line {_line_of(path, offset)})"
        where += f" ({after}): {message}{_context(exc)}"
    return CorruptInputError(where, path=path)


def _error_offset(message: str, chunk: bytes, chunk_start: int) -> int | None:
    """The file offset of a yajl error, found by locating its context line in the last chunk.

    yajl renders the text around the error (newlines shown as spaces) after a padding of 10 to
    40 spaces so that the error falls under the caret of the next line; the padding is not
    known when the text itself starts with spaces, so each possible one is tried.
    """
    lines = message.split("\n")
    if len(lines) < 3 or "^" not in lines[2]:
        return None
    rendered = lines[1].encode("utf-8", "replace")
    caret = lines[2].index("^")
    text = chunk.replace(b"\n", b" ").replace(b"\r", b" ")
    for pad in range(10, min(caret, len(rendered)) + 1):
        snippet = rendered[pad:]
        found = text.find(snippet) if snippet else -1
        if found >= 0 and text.find(snippet, found + 1) < 0:
            return chunk_start + found + caret - pad
    return None


def _line_of(path: Path, offset: int) -> int:
    """The line (from 1) holding byte ``offset``: the file is read again, on the error path only."""
    line = 1
    with _open(path) as fh:
        remaining = offset
        while remaining > 0:
            block = fh.read(min(remaining, 1 << 20))
            if not block:
                break
            line += block.count(b"\n")
            remaining -= len(block)
    return line


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _context(exc: Exception) -> str:
    lines = str(exc).splitlines()
    snippet = lines[1].strip() if len(lines) > 2 else ""
    return f"; near {snippet!r}" if snippet else ""


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


FORMAT = VicsFormat()
